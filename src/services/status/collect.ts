// The status object, from the services: `gatherStatus` reads each one (and the event token
// ConfigMap: one GET), `assembleStatus` turns what it read into the status sections, purely.
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "../../layers/Config.ts"
import { DatadogClient, type EndpointStatus, type KeyStatus } from "../../layers/DatadogClient.ts"
import { KubeClient } from "../../layers/KubeClient.ts"
import { LeaderLease, type LeaderStatus } from "../../layers/LeaderLease.ts"
import { decodeToken, type EventToken } from "../../layers/TokenStore.ts"
import { Watches, type WatchStats } from "../../streams/Watches.ts"
import { versionString } from "../../version.ts"
import { ApiServerProbe, type ApiServerStatus } from "../ApiServerProbe.ts"
import { ControlPlaneCheck, type ControlPlaneRun } from "../ControlPlaneCheck.ts"
import { type EventCollectionStats, EventCollector } from "../EventCollector.ts"
import { ExternalMetrics, type ExternalMetricsStatus } from "../ExternalMetrics.ts"
import { ApiserverCheckConfig } from "../kubernetesApiserver/confd.ts"
import type { ApiserverCheckInstance } from "../kubernetesApiserver/instance.ts"
import { MetadataMapper, type MetadataMapperStats } from "../MetadataMapper.ts"
import { isPermitted, RbacCheck, type RbacReport } from "../RbacCheck.ts"
import { fixText, grantText, refusedText, ruleText } from "../rbac/review.ts"
import type { Feature } from "../rbac/rights.ts"
import type { AgentStatus } from "./model.ts"
import { configurationWarnings } from "./warnings.ts"

/** What the services said, as plain values. */
export interface StatusInputs {
  readonly now: number
  readonly startedAt: number
  readonly pid: number
  readonly node: string
  readonly config: ClusterAgentConfigShape
  readonly instance: ApiserverCheckInstance
  readonly apiServer: ApiServerStatus
  readonly watches: ReadonlyArray<WatchStats>
  readonly leader: LeaderStatus
  readonly isLeader: boolean
  readonly mapper: MetadataMapperStats | undefined
  readonly events: { readonly enabled: boolean; readonly stats: Readonly<EventCollectionStats> }
  /** The stored token, or why it could not be read; undefined when there is none yet. */
  readonly token: { readonly token: EventToken } | { readonly error: string } | undefined
  readonly controlPlane: {
    readonly mode: "componentstatuses" | "readyz"
    readonly lastRun: ControlPlaneRun | undefined
  }
  readonly externalMetrics: ExternalMetricsStatus
  readonly keyStatus: KeyStatus
  readonly datadogEndpoints: { readonly api: string; readonly query: string }
  readonly endpointStatus: ReadonlyArray<EndpointStatus>
  readonly rbac: RbacReport | undefined
  readonly rbacIntervalSeconds: number
}

const iso = (ms: number): string => new Date(ms).toISOString()
const isoOf = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : iso(ms))

/** Only the keys whose value is defined (the schema's optional keys are absent, never undefined). */
const defined = <T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>
  }

/** Go's time.RFC1123 in UTC, as the original's leader election status prints it. */
export const rfc1123 = (date: Date): string => date.toUTCString().replace(/GMT$/, "UTC")

const serviceCheckNames = ["OK", "WARNING", "CRITICAL", "UNKNOWN"] as const

const leaderWorkState = (
  enabled: boolean,
  feature: Feature,
  inputs: StatusInputs
): AgentStatus["eventCollection"]["state"] => {
  if (!enabled) return "disabled"
  if (!isPermitted(inputs.rbac, feature)) return "missingRights"
  return inputs.isLeader || inputs.instance.skipLeaderElection ? "running" : "follower"
}

/** Pure: the status object. */
export const assembleStatus = (inputs: StatusInputs): AgentStatus => {
  const { config, instance, leader, events } = inputs
  const em = inputs.externalMetrics
  const token = inputs.token
  return {
    version: versionString(),
    collectedAt: iso(inputs.now),
    startedAt: iso(inputs.startedAt),
    pid: inputs.pid,
    hostname: config.effectiveHostname,
    node: inputs.node,
    logLevel: config.logLevel,
    apiServer: defined({
      server: inputs.apiServer.server,
      connected: inputs.apiServer.connected,
      gitVersion: inputs.apiServer.gitVersion,
      since: isoOf(inputs.apiServer.since),
      lastError: inputs.apiServer.lastError
    }),
    watches: inputs.watches.map((w) =>
      defined({
        kind: w.kind,
        objects: w.objects,
        synced: w.synced,
        relists: w.relists,
        events: w.events,
        lastEvent: isoOf(w.lastEventAt)
      })
    ),
    leaderelection: defined({
      status: leader.state,
      leaderName: leader.state === "Failing" ? undefined : leader.leaderName,
      acquiredTime: leader.acquiredTime === undefined ? undefined : rfc1123(leader.acquiredTime),
      renewedTime: leader.renewedTime === undefined ? undefined : rfc1123(leader.renewedTime),
      transitions: leader.state === "Disabled" ? undefined : `${leader.transitions} transitions`,
      error: leader.error,
      identity: config.identity,
      isLeader: inputs.isLeader
    }),
    metadataMapper: {
      enabled: inputs.mapper !== undefined,
      synced: inputs.mapper?.synced ?? false,
      nodes: inputs.mapper?.nodes ?? 0,
      pods: inputs.mapper?.pods ?? 0,
      podsWithServices: inputs.mapper?.podsWithServices ?? 0,
      services: inputs.mapper?.services ?? 0,
      endpointSlices: inputs.mapper?.endpointSlices ?? 0,
      namespaces: inputs.mapper?.namespaces ?? 0
    },
    eventCollection: defined({
      state: leaderWorkState(events.enabled, "eventCollection", inputs),
      tokenConfigMap: `${config.effectiveNamespace}/${config.tokenName}`,
      token:
        token !== undefined && "token" in token
          ? { resourceVersion: token.token.resourceVersion, listedAt: iso(token.token.timestamp.getTime()) }
          : undefined,
      tokenError: token !== undefined && "error" in token ? token.error : undefined,
      collectingSince: isoOf(events.stats.collectingSince),
      lastSent: isoOf(events.stats.lastSentAt),
      tokenWritten: isoOf(events.stats.tokenWrittenAt),
      collected: events.stats.collected,
      sent: events.stats.sent,
      dropped: events.stats.dropped,
      queued: events.stats.queued
    }),
    controlPlaneCheck: defined({
      state: leaderWorkState(true, "controlPlaneCheck", inputs),
      mode: inputs.controlPlane.mode,
      lastRun:
        inputs.controlPlane.lastRun === undefined
          ? undefined
          : defined({
              at: iso(inputs.controlPlane.lastRun.at),
              checks: inputs.controlPlane.lastRun.checks.map((c) => ({
                component: c.component,
                status: serviceCheckNames[c.status] ?? "UNKNOWN"
              })),
              submitError: inputs.controlPlane.lastRun.submitError
            })
    }),
    customMetrics: defined({
      state: em.enabled ? "running" : config.externalMetricsEnabled ? "missingRights" : "disabled",
      configMap: em.configMap,
      leader: em.leader,
      copy: em.copy,
      total: em.total,
      valid: em.valid,
      metrics: em.metrics.map((m) =>
        defined({
          metricName: m.metricName,
          labels: { ...m.labels },
          hpa: `${m.reference.namespace}/${m.reference.name}`,
          value: m.value,
          timestamp: iso(m.ts * 1000),
          valid: m.valid,
          reason: m.reason
        })
      ),
      problems: em.problems.map((p) => ({
        hpa: `${p.reference.namespace}/${p.reference.name}`,
        metricName: p.metricName,
        reason: p.reason
      })),
      lastRefresh:
        em.lastRefresh === undefined
          ? undefined
          : {
              at: iso(em.lastRefresh.at),
              queries: em.lastRefresh.queries,
              calls: em.lastRefresh.calls,
              failedCalls: em.lastRefresh.failedCalls,
              durationMs: Math.round(em.lastRefresh.durationMs)
            },
      storeError: em.storeError
    }),
    datadogApi: {
      apiUrl: inputs.datadogEndpoints.api,
      queryUrl: inputs.datadogEndpoints.query,
      apiKey: defined({
        state: inputs.keyStatus.state,
        masked: inputs.keyStatus.apiKey,
        checkedAt: isoOf(inputs.keyStatus.checkedAt),
        lastError: inputs.keyStatus.lastError
      }),
      endpoints: inputs.endpointStatus.map((e) =>
        defined({
          endpoint: e.endpoint,
          lastSuccess: isoOf(e.lastSuccessAt),
          lastError: e.lastError,
          lastErrorAt: isoOf(e.lastErrorAt),
          rateLimit: e.rateLimit === undefined ? undefined : defined({ ...e.rateLimit })
        })
      )
    },
    rbac: defined({
      checkedAt: isoOf(inputs.rbac?.checkedAt),
      intervalSeconds: inputs.rbacIntervalSeconds,
      features: (inputs.rbac?.verdicts ?? []).map((v) => ({
        feature: v.feature,
        title: v.title,
        state: v.state,
        ifMissing: v.ifMissing,
        consequence: v.consequence,
        missing: v.missing.map((m) =>
          defined({
            role: grantText(m.right.grant),
            rule: ruleText(m.right.rule, m.verbs),
            refused: refusedText(m.right.rule, m.verbs),
            fallback: m.right.fallback,
            fix: fixText(m)
          })
        ),
        errors: [...v.errors]
      }))
    }),
    warnings: [...configurationWarnings(config, instance)]
  }
}

/** Reads the stored event token without creating it (status never writes). */
const readToken = (config: ClusterAgentConfigShape, now: number) =>
  Effect.gen(function* () {
    const kube = yield* KubeClient
    return yield* kube.getConfigMap(config.effectiveNamespace, config.tokenName).pipe(
      Effect.map((cm): StatusInputs["token"] => {
        const decoded = decodeToken(cm.data, new Date(now))
        return decoded.missing ? undefined : { token: decoded.token }
      }),
      Effect.catch((e) => Effect.succeed(e.reason === "NotFound" ? undefined : { error: e.message }))
    )
  })

export type StatusServices =
  | ClusterAgentConfig
  | ApiserverCheckConfig
  | ApiServerProbe
  | Watches
  | LeaderLease
  | MetadataMapper
  | EventCollector
  | ControlPlaneCheck
  | ExternalMetrics
  | DatadogClient
  | RbacCheck
  | KubeClient

/** Reads every service, then assembles the status; `startedAt` is when the agent started (ms). */
export const gatherStatus = (startedAt: number): Effect.Effect<AgentStatus, never, StatusServices> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const config = yield* ClusterAgentConfig
    const lease = yield* LeaderLease
    const events = yield* EventCollector
    const controlPlane = yield* ControlPlaneCheck
    const datadog = yield* DatadogClient
    const rbac = yield* RbacCheck
    const inputs = yield* Effect.all(
      {
        apiServer: Effect.flatMap(ApiServerProbe, (p) => p.status),
        watches: Effect.flatMap(Watches, (w) => w.stats),
        leader: lease.status,
        isLeader: lease.isLeader,
        mapper: Effect.map(MetadataMapper, (m) => m.stats()),
        eventStats: events.stats,
        token: events.enabled ? readToken(config, now) : Effect.succeed(undefined),
        lastRun: controlPlane.lastRun,
        externalMetrics: Effect.flatMap(ExternalMetrics, (e) => e.status),
        keyStatus: datadog.keyStatus,
        endpointStatus: datadog.endpointStatus,
        rbac: rbac.report
      },
      { concurrency: "unbounded" }
    )
    return assembleStatus({
      now,
      startedAt,
      pid: process.pid,
      node: process.version,
      config,
      instance: yield* ApiserverCheckConfig,
      apiServer: inputs.apiServer,
      watches: inputs.watches,
      leader: inputs.leader,
      isLeader: inputs.isLeader,
      mapper: inputs.mapper,
      events: { enabled: events.enabled, stats: inputs.eventStats },
      token: inputs.token,
      controlPlane: { mode: controlPlane.mode, lastRun: inputs.lastRun },
      externalMetrics: inputs.externalMetrics,
      keyStatus: inputs.keyStatus,
      datadogEndpoints: datadog.endpoints,
      endpointStatus: inputs.endpointStatus,
      rbac: inputs.rbac,
      rbacIntervalSeconds: Math.round(Duration.toSeconds(rbac.interval))
    })
  }).pipe(Effect.withSpan("Status.gather"))
