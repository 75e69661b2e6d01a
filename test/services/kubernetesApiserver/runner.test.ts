import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/testing/TestClock"
import { LeaderLease } from "../../../src/layers/LeaderLease.ts"
import { ApiserverCheckConfig } from "../../../src/services/kubernetesApiserver/confd.ts"
import { defaultInstance } from "../../../src/services/kubernetesApiserver/instance.ts"
import { checkRunner } from "../../../src/services/kubernetesApiserver/runner.ts"

/** A replica that never leads: its lease never runs leader work. */
const follower = Layer.succeed(
  LeaderLease,
  LeaderLease.of({
    identity: "follower-1",
    isLeader: Effect.succeed(false),
    leadership: Stream.make(false),
    status: Effect.succeed({ state: "Running", leaderName: "someone-else", transitions: 3 }),
    whileLeader: () => Effect.never
  })
)

const runsWork = (skipLeaderElection: boolean) =>
  Effect.gen(function* () {
    const run = yield* checkRunner
    const ran = yield* Deferred.make<void>()
    const fiber = yield* Effect.forkChild(run("check", Deferred.succeed(ran, undefined)))
    // The work either runs or waits for a leadership that never comes: give it a (test) minute.
    const awaited = yield* Effect.forkChild(Effect.timeoutOption(Deferred.await(ran), "1 minute"))
    yield* TestClock.adjust("1 minute")
    const done = yield* Fiber.join(awaited)
    yield* Fiber.interrupt(fiber)
    return Option.isSome(done)
  }).pipe(
    Effect.provide(
      Layer.merge(follower, ApiserverCheckConfig.layerWith({ ...defaultInstance(true), skipLeaderElection }))
    )
  )

describe("checkRunner", () => {
  it.effect("runs the check's work under the leader lease: a follower does not run it", () =>
    Effect.gen(function* () {
      expect(yield* runsWork(false)).toBe(false)
    })
  )

  it.effect("with skip_leader_election, runs it on this replica whatever the lease says", () =>
    Effect.gen(function* () {
      expect(yield* runsWork(true)).toBe(true)
    })
  )
})
