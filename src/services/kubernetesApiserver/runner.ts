// Where the kubernetes_apiserver check's work (event collection, control-plane checks) runs: on
// the leader, under the lease; or, with the instance option `skip_leader_election` (set when the
// original's check is dispatched to one runner as a cluster check), on this replica whatever the
// lease says, as the original does.
import * as Effect from "effect/Effect"
import { LeaderLease, type LeaderLeaseShape, makeDisabledLeaderLease } from "../../layers/LeaderLease.ts"
import { ApiserverCheckConfig } from "./confd.ts"

export const checkRunner: Effect.Effect<LeaderLeaseShape["whileLeader"], never, LeaderLease | ApiserverCheckConfig> =
  Effect.gen(function* () {
    const lease = yield* LeaderLease
    if (!(yield* ApiserverCheckConfig).skipLeaderElection) return lease.whileLeader
    yield* Effect.logInfo("skip_leader_election: the kubernetes_apiserver check runs on this replica")
    return (yield* makeDisabledLeaderLease(lease.identity)).whileLeader
  })
