// The agent's wiring: every feature, what it runs on, and the shared services under it, on one
// screen. `start` builds this layer and runs it until SIGTERM/SIGINT.
//
//   every replica   Telemetry (:5000), health probes, the API server probe, the node-agent API
//                   (:5005, with the status page of every feature for the CLI), the metadata
//                   mapper, the cluster ID, the Datadog API key check, and with
//                   DD_EXTERNAL_METRICS_PROVIDER_ENABLED the external metrics API (:8443) over
//                   the provider's copy of the metrics (the provider's Datadog queries and
//                   ConfigMap writes run on the leader only)
//   leader only     event collection, control-plane checks: each runs under the leader lease,
//                   started when this replica becomes leader and stopped, and finished, before
//                   the lease could pass to another (always leader with DD_LEADER_ELECTION=false)
//   shared          Watches (one list/watch and store per watched kind, declared below from the
//                   enabled features), LeaderLease, TokenStore, the RBAC self-check (a feature
//                   whose rights are refused is stopped, or not started: RbacCheck.ts), the
//                   kubernetes_apiserver check's options (conf.d), Health, AuthTokens,
//                   KubeClient, DatadogClient
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AuthTokens } from "./layers/AuthTokens.ts"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "./layers/Config.ts"
import { DatadogClient, DatadogKeyCheckLive } from "./layers/DatadogClient.ts"
import { KubeClient } from "./layers/KubeClient.ts"
import { LeaderLease } from "./layers/LeaderLease.ts"
import { TokenStore } from "./layers/TokenStore.ts"
import { ApiServerProbe } from "./services/ApiServerProbe.ts"
import { ClusterId } from "./services/ClusterId.ts"
import { ControlPlaneCheck } from "./services/ControlPlaneCheck.ts"
import { EventCollector } from "./services/EventCollector.ts"
import { ExternalMetrics } from "./services/ExternalMetrics.ts"
import { ExternalMetricsApi } from "./services/ExternalMetricsApi.ts"
import { Flare } from "./services/flare/Flare.ts"
import { Health } from "./services/Health.ts"
import { ApiserverCheckConfig } from "./services/kubernetesApiserver/confd.ts"
import { MetadataMapper } from "./services/MetadataMapper.ts"
import { NodeAgentApi } from "./services/NodeAgentApi.ts"
import { RbacCheck } from "./services/RbacCheck.ts"
import { Status } from "./services/Status.ts"
import { TelemetryLive } from "./services/Telemetry.ts"
import { type AnyWatchRequest, Watches } from "./streams/Watches.ts"

/**
 * The external metrics provider and its API when enabled and the RBAC self-check at start finds
 * their rights; else only its (disabled) status.
 */
const ExternalMetricsLive = Layer.unwrap(
  Effect.gen(function* () {
    const config = yield* ClusterAgentConfig
    const permitted = config.externalMetricsEnabled && (yield* (yield* RbacCheck).permittedAtStart("externalMetrics"))
    return permitted
      ? ExternalMetricsApi.layer.pipe(Layer.provideMerge(ExternalMetrics.layer))
      : ExternalMetrics.disabled
  })
)

/** Features that run on every replica. */
const EveryReplica = Layer.mergeAll(TelemetryLive, ApiServerProbe.layer, DatadogKeyCheckLive, ExternalMetricsLive).pipe(
  Layer.provideMerge(Layer.mergeAll(MetadataMapper.layer, ClusterId.layer))
)

/** Features that run on the leader only (each asks LeaderLease to run it while leading). */
const LeaderOnly = Layer.mergeAll(EventCollector.layer, ControlPlaneCheck.layer)

/** The command port (every replica), over every feature: it serves their status to the CLI. */
const CommandPort = NodeAgentApi.layer.pipe(Layer.provide(Flare.layer), Layer.provideMerge(Status.layer))

/** The watched kinds of the enabled features: each kind is listed and watched once. */
export const agentWatches = (config: ClusterAgentConfigShape): ReadonlyArray<AnyWatchRequest> => [
  ...MetadataMapper.watches(config),
  ...ExternalMetrics.watches(config)
]

const WatchesLive = Layer.unwrap(
  Effect.gen(function* () {
    return Watches.layer(agentWatches(yield* ClusterAgentConfig))
  })
)

/** Every feature of the agent, with the shared services they use. */
export const AgentLive = CommandPort.pipe(
  Layer.provideMerge(Layer.mergeAll(EveryReplica, LeaderOnly)),
  Layer.provideMerge(Layer.mergeAll(LeaderLease.layer, TokenStore.layer, RbacCheck.layer)),
  Layer.provideMerge(WatchesLive),
  Layer.provideMerge(
    Layer.mergeAll(ApiserverCheckConfig.layer, Health.layer, AuthTokens.layer, KubeClient.layer, DatadogClient.layer)
  )
)
