// The external metrics provider's engine (contract §6.2, §6.3): HPAs in, Datadog values out.
//
//   every replica   follows autoscaling/v2 HPAs through the shared watch layer; serves its copy
//                   of the metrics to the API (ServedMetrics); a follower re-reads the ConfigMap
//                   every DD_EXTERNAL_METRICS_PROVIDER_LOCAL_COPY_REFRESH_RATE
//   leader          every batch window: reconciles the store with the HPAs (new metrics get a
//                   placeholder, metrics of deleted HPAs go), queries Datadog for the new ones at
//                   once and for all of them every refresh period (chunked, in parallel), writes
//                   the ConfigMap (optimistic concurrency), and records the HPA events
//
// A failed Datadog chunk costs only its own metrics, and only once their last good value is older
// than max age (externalMetrics/validity.ts). The pure parts are in externalMetrics/.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "../layers/Config.ts"
import { DatadogClient, type DatadogClientShape } from "../layers/DatadogClient.ts"
import { KubeClient, type KubeClientShape, type KubeError } from "../layers/KubeClient.ts"
import type { ConfigMap } from "../layers/kube/schemas.ts"
import { LeaderLease } from "../layers/LeaderLease.ts"
import type { Reflected } from "../streams/reflector.ts"
import { Watches } from "../streams/Watches.ts"
import { decodeEntries, newConfigMap, renderConfigMap } from "./externalMetrics/configMap.ts"
import { discoverMetrics, type HpaMetrics, hpaWatch } from "./externalMetrics/hpa.ts"
import { handledEvent, problemEvent } from "./externalMetrics/hpaEvents.ts"
import { effectiveMaxAge, metricQuery } from "./externalMetrics/query.ts"
import { reconcile } from "./externalMetrics/reconcile.ts"
import { queryOutcomes } from "./externalMetrics/refresh.ts"
import { ServedMetrics } from "./externalMetrics/served.ts"
import {
  disabledStatus,
  type ExternalMetricsStatus,
  type LastRefresh,
  providerStatus
} from "./externalMetrics/status.ts"
import type { ExternalMetricEntry } from "./externalMetrics/types.ts"
import { applyOutcome } from "./externalMetrics/validity.ts"
import {
  type IndexedCopy,
  indexCopy,
  lookupIn,
  type MetricsCopy,
  namesIn,
  type ViewLimits
} from "./externalMetrics/view.ts"

export type { ExternalMetricsStatus, LastRefresh, MetricStatus } from "./externalMetrics/status.ts"

export interface ExternalMetricsShape {
  readonly status: Effect.Effect<ExternalMetricsStatus>
}

const joinLeader = { join_leader: "true" }
const metricsGauge = Metric.gauge("external_metrics", {
  description: "External metrics in this replica's copy, by validity"
})
const processedValue = Metric.gauge("external_metrics_processed_value", {
  description: "The value of each external metric the leader last got from Datadog, by metric"
})
const delaySeconds = Metric.gauge("external_metrics_delay_seconds", {
  description: "Age of each external metric's point when the leader last queried it, by metric"
})

const storeRights = (config: ClusterAgentConfigShape) =>
  `the agent's ServiceAccount needs get, update on configmaps named ${config.hpaConfigMapName} and create on configmaps in namespace ${config.effectiveNamespace}`

const describeStoreError = (config: ClusterAgentConfigShape, e: KubeError): string =>
  e.reason === "Forbidden" ? `${e.message}: ${storeRights(config)}` : e.message

/** Reads the store, creating it when missing. */
const loadStore = (kube: KubeClientShape, namespace: string, name: string): Effect.Effect<ConfigMap, KubeError> =>
  kube.getConfigMap(namespace, name).pipe(
    Effect.catchIf(
      (e) => e.reason === "NotFound",
      () =>
        kube.createConfigMap(namespace, newConfigMap(namespace, name)).pipe(
          Effect.catchIf(
            (e) => e.reason === "Conflict" || e.apiReason === "AlreadyExists",
            () => kube.getConfigMap(namespace, name)
          )
        )
    )
  )

const sameData = (a: ConfigMap["data"], b: ConfigMap["data"]): boolean => {
  const ak = Object.keys(a ?? {})
  const bk = Object.keys(b ?? {})
  return ak.length === bk.length && ak.every((k) => a?.[k] === b?.[k])
}

export interface ProviderDeps {
  readonly config: ClusterAgentConfigShape
  readonly kube: KubeClientShape
  readonly datadog: DatadogClientShape
  readonly hpas: Reflected<(typeof hpaWatch)["strip"] extends (o: never) => infer T ? T : never>
}

/** The provider's state and loops, for the life of the scope. */
export const makeProvider = Effect.fnUntraced(function* (deps: ProviderDeps) {
  const { config, kube, datadog, hpas } = deps
  const namespace = config.effectiveNamespace
  const name = config.hpaConfigMapName
  const rollup = Duration.toSeconds(config.externalMetricsRollup)
  const maxAge = effectiveMaxAge(Duration.toSeconds(config.externalMetricsMaxAge), rollup)
  const refreshMs = Duration.toMillis(config.externalMetricsRefreshPeriod)
  const copyRefreshMs = Duration.toMillis(config.externalMetricsLocalCopyRefreshRate)
  const limits: ViewLimits = {
    maxCopyAgeMs: 2 * copyRefreshMs,
    maxValueAgeSeconds: maxAge + (refreshMs + copyRefreshMs) / 1000
  }
  // The API's lookups are synchronous: read the clock of the layer's fiber (TestClock in tests).
  const clock = yield* Clock.clockWith(Effect.succeed)

  let indexed: IndexedCopy | undefined
  let leading = false
  let lastRefresh: LastRefresh | undefined
  let storeError: string | undefined

  const publish = (copy: MetricsCopy) =>
    Effect.gen(function* () {
      indexed = indexCopy(copy)
      let valid = 0
      for (const e of copy.entries.values()) if (e.valid) valid += 1
      yield* Metric.update(Metric.withAttributes(metricsGauge, { ...joinLeader, valid: "true" }), valid)
      yield* Metric.update(
        Metric.withAttributes(metricsGauge, { ...joinLeader, valid: "false" }),
        copy.entries.size - valid
      )
    })

  const served = ServedMetrics.of({
    names: () => namesIn(indexed),
    lookup: (metricName) => lookupIn(indexed, metricName, clock.currentTimeMillisUnsafe(), limits)
  })

  const discovered = (): HpaMetrics => discoverMetrics(hpas.store.snapshot())

  // --- leader ---------------------------------------------------------------------------
  const recorded = new Set<string>()
  const recordEvents = (found: HpaMetrics, now: Date) =>
    Effect.gen(function* () {
      const events = [
        ...found.requests.map((r) => handledEvent(r.reference, config.identity, now)),
        ...found.problems.filter((p) => p.reference.uid !== "").map((p) => problemEvent(p, config.identity, now))
      ].filter((e) => !recorded.has(`${e.metadata?.namespace}/${e.metadata?.name}`))
      yield* Effect.forEach(
        events,
        (event) => {
          const id = `${event.metadata?.namespace}/${event.metadata?.name}`
          return kube.createEvent(event.metadata?.namespace ?? "", event).pipe(
            Effect.andThen(Effect.sync(() => recorded.add(id))),
            Effect.catch((e) =>
              e.reason === "Conflict" || e.apiReason === "AlreadyExists"
                ? Effect.sync(() => recorded.add(id))
                : Effect.logWarning("cannot record an event on an HPA").pipe(
                    Effect.annotateLogs({
                      event: id,
                      error: e.reason === "Forbidden" ? `${e.message}: the agent needs create on events` : e.message
                    })
                  )
            )
          )
        },
        { concurrency: 4, discard: true }
      )
    })

  const refresh = (
    entries: Map<string, ExternalMetricEntry>,
    keys: ReadonlyArray<string>,
    reasons: Map<string, string>
  ) =>
    Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const now = Math.floor(started / 1000)
      const queryOf = (e: ExternalMetricEntry) =>
        metricQuery(config.externalMetricsAggregator, e.metricName, e.labels, rollup)
      const queries = keys.flatMap((k) => {
        const e = entries.get(k)
        return e === undefined ? [] : [queryOf(e)]
      })
      const result = yield* queryOutcomes(datadog.queryMetrics, queries, {
        chunkSize: config.externalMetricsChunkSize,
        bucketSeconds: Duration.toSeconds(config.externalMetricsBucketSize),
        now
      })
      for (const key of keys) {
        const previous = entries.get(key)
        if (previous === undefined) continue
        const { entry, problem } = applyOutcome(previous, result.outcomes.get(queryOf(previous)), now, maxAge)
        entries.set(key, entry)
        if (problem === undefined) reasons.delete(key)
        else reasons.set(key, problem)
        if (entry.valid) {
          const metric = { ...joinLeader, metric: entry.metricName }
          yield* Metric.update(Metric.withAttributes(processedValue, metric), entry.value)
          yield* Metric.update(Metric.withAttributes(delaySeconds, metric), Math.max(0, now - entry.ts))
        }
      }
      const ended = yield* Clock.currentTimeMillis
      lastRefresh = {
        at: ended,
        queries: new Set(queries).size,
        calls: result.calls,
        failedCalls: result.failedCalls,
        durationMs: ended - started
      }
      if (result.failedCalls > 0) {
        yield* Effect.logWarning("some Datadog metric queries failed").pipe(
          Effect.annotateLogs({ calls: result.calls, failedCalls: result.failedCalls })
        )
      }
    })

  const term = Effect.gen(function* () {
    yield* hpas.synced
    let configMap = yield* loadStore(kube, namespace, name)
    const stored = decodeEntries(configMap.data)
    if (stored.invalid.length > 0) {
      yield* Effect.logInfo("dropping entries the provider cannot read from the metrics ConfigMap").pipe(
        Effect.annotateLogs({
          configMap: `${namespace}/${name}`,
          keys: stored.invalid.map((i) => `${i.key} (${i.reason})`).join(", ")
        })
      )
    }
    let entries = new Map(stored.entries)
    const reasons = new Map<string, string>()
    let refreshedAt = Number.NEGATIVE_INFINITY
    leading = true

    const write = Effect.gen(function* () {
      const desired = renderConfigMap(configMap, entries, new Date(yield* Clock.currentTimeMillis))
      if (sameData(configMap.data, desired.data)) return
      configMap = yield* kube.replaceConfigMap(namespace, desired).pipe(
        Effect.catchIf(
          (e) => e.reason === "Conflict",
          // Someone else wrote (an old leader's last write): ours is the store now.
          () =>
            Effect.flatMap(loadStore(kube, namespace, name), (fresh) =>
              kube.replaceConfigMap(namespace, renderConfigMap(fresh, entries, new Date()))
            )
        ),
        Effect.catchIf(
          (e) => e.reason === "NotFound",
          () =>
            Effect.flatMap(loadStore(kube, namespace, name), (fresh) =>
              kube.replaceConfigMap(namespace, renderConfigMap(fresh, entries, new Date()))
            )
        )
      )
    })

    const tick = Effect.gen(function* () {
      const nowMs = yield* Clock.currentTimeMillis
      const found = discovered()
      const next = reconcile(entries, found.requests, Math.floor(nowMs / 1000))
      entries = new Map(next.entries)
      for (const key of next.removed) reasons.delete(key)
      for (const key of next.added) reasons.set(key, "no value yet: waiting for the first Datadog query")
      const due = nowMs - refreshedAt >= refreshMs
      const keys = due ? [...entries.keys()] : next.added
      if (keys.length > 0) yield* refresh(entries, keys, reasons)
      if (due) refreshedAt = nowMs
      yield* publish({ entries, reasons: new Map(reasons), loadedAt: nowMs, source: "leader" })
      yield* write.pipe(
        Effect.andThen(
          Effect.sync(() => {
            storeError = undefined
          })
        ),
        Effect.catch((e) => {
          storeError = describeStoreError(config, e)
          return Effect.logWarning("cannot write the metrics ConfigMap").pipe(
            Effect.annotateLogs({ configMap: `${namespace}/${name}`, error: storeError })
          )
        })
      )
      yield* recordEvents(found, new Date(nowMs))
    })

    yield* Effect.forever(Effect.andThen(tick, Effect.sleep(config.externalMetricsBatchWindow)))
  }).pipe(
    Effect.tapError((e) =>
      Effect.sync(() => {
        storeError = describeStoreError(config, e)
      })
    ),
    Effect.mapError((e) => new Error(describeStoreError(config, e))),
    Effect.ensuring(
      Effect.sync(() => {
        leading = false
      })
    )
  )

  // --- follower ---------------------------------------------------------------------------
  let failing = false
  const readCopy = Effect.gen(function* () {
    const configMap = yield* kube.getConfigMap(namespace, name)
    // The leader may have taken over meanwhile: its own copy is newer than the ConfigMap.
    if (leading) return
    const { entries } = decodeEntries(configMap.data)
    yield* publish({ entries, reasons: new Map(), loadedAt: yield* Clock.currentTimeMillis, source: "configmap" })
    storeError = undefined
    if (failing) yield* Effect.logInfo("reading the metrics ConfigMap again")
    failing = false
  }).pipe(
    Effect.catch((e) =>
      Effect.gen(function* () {
        storeError = describeStoreError(config, e)
        if (e.reason === "NotFound" && indexed === undefined) return // no leader has written yet
        if (!failing) {
          yield* Effect.logWarning("cannot read the metrics ConfigMap: this replica's copy will turn stale").pipe(
            Effect.annotateLogs({ configMap: `${namespace}/${name}`, error: storeError })
          )
        }
        failing = true
      })
    )
  )
  const followLoop = Effect.forever(
    Effect.andThen(
      Effect.suspend(() => (leading ? Effect.void : readCopy)),
      Effect.sleep(config.externalMetricsLocalCopyRefreshRate)
    )
  )

  const status: Effect.Effect<ExternalMetricsStatus> = Effect.map(Clock.currentTimeMillis, (nowMs) =>
    providerStatus({
      configMap: `${namespace}/${name}`,
      indexed,
      limits,
      nowMs,
      leader: leading,
      problems: hpas.store.synced() ? discovered().problems : [],
      lastRefresh,
      storeError
    })
  )

  return { served, status, term, followLoop }
})

export class ExternalMetrics extends Context.Service<ExternalMetrics, ExternalMetricsShape>()("dca/ExternalMetrics") {
  /** The kinds the provider watches when enabled. */
  static readonly watches = (config: ClusterAgentConfigShape) => (config.externalMetricsEnabled ? [hpaWatch] : [])

  /** Status when the provider is off. */
  static readonly disabled: Layer.Layer<ExternalMetrics, never, ClusterAgentConfig> = Layer.effect(
    ExternalMetrics,
    Effect.map(ClusterAgentConfig, (config) =>
      ExternalMetrics.of({
        status: Effect.succeed(disabledStatus(`${config.effectiveNamespace}/${config.hpaConfigMapName}`))
      })
    )
  )

  /** The provider: its loops run for the life of the layer; it serves ServedMetrics to the API. */
  static readonly layer: Layer.Layer<
    ExternalMetrics | ServedMetrics,
    never,
    ClusterAgentConfig | KubeClient | DatadogClient | Watches | LeaderLease
  > = Layer.effectContext(
    Effect.gen(function* () {
      const watches = yield* Watches
      const lease = yield* LeaderLease
      const provider = yield* makeProvider({
        config: yield* ClusterAgentConfig,
        kube: yield* KubeClient,
        datadog: yield* DatadogClient,
        hpas: yield* watches.reflect(hpaWatch)
      })
      yield* Effect.forkScoped(provider.followLoop)
      yield* Effect.forkScoped(lease.whileLeader("external-metrics", provider.term))
      return Context.make(ExternalMetrics, ExternalMetrics.of({ status: provider.status })).pipe(
        Context.add(ServedMetrics, provider.served)
      )
    }) as Effect.Effect<
      Context.Context<ExternalMetrics | ServedMetrics>,
      never,
      Scope.Scope | ClusterAgentConfig | KubeClient | DatadogClient | Watches | LeaderLease
    >
  )
}
