// Kubernetes event collection (leader only): follows the cluster's Events from the stored token,
// bundles them into Datadog events (contract §3.4) and ships them, moving the token only once
// Datadog has accepted what it covers. The token's meaning and the rules that keep it are in
// eventCollector/pipeline.ts; this file runs them:
//
//   Watches.watch(events, resumeFrom: token) ─▶ ingest ─▶ pipeline queue ─▶ every interval, or
//   as soon as max_events_per_run are queued: bundle ─▶ Datadog, one event at a time, each retried
//   until accepted ─▶ TokenStore.write after each (the cursor, and the occurrences accepted above
//   it) ─▶ the batch is in: the cursor moves past it
//
// At-least-once to Datadog, and each occurrence once: the token is written after every Datadog
// event, before the next one leaves, so a leader that dies leaves its successor only the event
// in flight to send again (Datadog's API has no idempotency key; nothing can close that last
// window). A 410 (a token older than the API server's history) relists, and the pipeline ships
// only what is newer than the token.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import type * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "../layers/Config.ts"
import {
  type DatadogApiError,
  DatadogClient,
  type EventCreateRequest,
  isKeyRejected,
  isRetryable
} from "../layers/DatadogClient.ts"
import type { KubeError } from "../layers/kube/errors.ts"
import { compareResourceVersions } from "../layers/kube/resourceVersion.ts"
import type { KubeObject } from "../layers/kube/types.ts"
import type { LeaderLease } from "../layers/LeaderLease.ts"
import { type EventToken, TokenStore } from "../layers/TokenStore.ts"
import { reconnectBackoff } from "../lib/backoff.ts"
import type { WatchRequest } from "../streams/request.ts"
import { meta, text } from "../streams/strip.ts"
import { Watches } from "../streams/Watches.ts"
import { makePipeline } from "./eventCollector/pipeline.ts"
import { makeDedupe } from "./events/dedupe.ts"
import { eventFieldSelector } from "./events/filters.ts"
import { type Emitted, type TransformMode, transformEvents } from "./events/transform.ts"
import { type EventView, eventsResource, occurrenceKey, stripEvent } from "./events/view.ts"
import { ApiserverCheckConfig } from "./kubernetesApiserver/confd.ts"
import type { ApiserverCheckInstance } from "./kubernetesApiserver/instance.ts"
import { checkRunner } from "./kubernetesApiserver/runner.ts"
import { RbacCheck } from "./RbacCheck.ts"

/** One Event as the collector keeps it: its place in the API server's history, and its fields. */
export interface IngestedEvent {
  readonly resourceVersion: string
  readonly occurrence: string
  /** Undefined when the object could not be read (logged once, at ingest; never shipped). */
  readonly view: EventView | undefined
  readonly problem?: KubeError | undefined
}

/** The stripper: total, so that an unreadable Event still lets the cursor pass it. */
export const ingestEvent = (o: KubeObject): IngestedEvent => {
  const m = meta(o)
  const resourceVersion = text(m.resourceVersion)
  const decoded = stripEvent(o)
  return Result.isSuccess(decoded)
    ? { resourceVersion, occurrence: occurrenceKey(decoded.success), view: decoded.success }
    : { resourceVersion, occurrence: `${text(m.uid)}@${resourceVersion}`, view: undefined, problem: decoded.failure }
}

/** Every Event of the cluster (minus the filtered types), through the shared watch layer. */
export const eventsRequest = (fieldSelector: string | undefined): WatchRequest<IngestedEvent> => ({
  name: "events",
  resource: eventsResource,
  fieldSelector,
  strip: ingestEvent
})

export interface CollectorOptions {
  /** The most Kubernetes events in one batch (`max_events_per_run`). */
  readonly maxEventsPerRun: number
  /** How long events wait to be bundled before they are shipped (`min_collection_interval`). */
  readonly interval: Duration.Duration
  /** `filtered_event_types` as a field selector. */
  readonly fieldSelector: string | undefined
  readonly mode: TransformMode
  /** Events held before the watch is paused (memory bound while Datadog is unreachable). */
  readonly maxQueued: number
  /** Delays between attempts to ship an event or write the token. */
  readonly retry: Schedule.Schedule<unknown, unknown>
}

// --- telemetry (contract §3.4 names) -------------------------------------------------------------

const kubeEvents = Metric.counter("kubernetes_apiserver_kube_events", {
  description: "Kubernetes events collected, by kind, component, type, reason and source"
})
const emittedEvents = Metric.counter("kubernetes_apiserver_emitted_events", {
  description: "Datadog events accepted by Datadog, by kind, type, source and whether bundled"
})
const rejectedEvents = Metric.counter("kubernetes_apiserver_rejected_events", {
  description: "Datadog events that Datadog refused as malformed (400-class) and were not retried"
})
const queuedEvents = Metric.gauge("kubernetes_apiserver_events_queued", {
  description: "Kubernetes events collected and not yet accepted by Datadog"
})
const tokenAt = Metric.gauge("kubernetes_apiserver_event_token_timestamp_seconds", {
  description: "When the event token was last written, in seconds since the epoch"
})

// --- what the status page shows ----------------------------------------------------------------

/** Counts since this process started, over every leadership term; written by `collectEvents`. */
export interface EventCollectionStats {
  /** Kubernetes events taken in (new ones: not already shipped or seen). */
  collected: number
  /** Datadog events Datadog accepted. */
  sent: number
  /** Datadog events Datadog refused as malformed, or given up on; each is dropped. */
  dropped: number
  /** Kubernetes events collected and not yet accepted by Datadog. */
  queued: number
  /** When Datadog last accepted an event (ms since the epoch). */
  lastSentAt: number | undefined
  /** When the token was last written. */
  tokenWrittenAt: number | undefined
  /** Since when this replica collects (its leadership term); undefined while it does not. */
  collectingSince: number | undefined
}

export const newEventCollectionStats = (): EventCollectionStats => ({
  collected: 0,
  sent: 0,
  dropped: 0,
  queued: 0,
  lastSentAt: undefined,
  tokenWrittenAt: undefined,
  collectingSince: undefined
})

// --- one leadership term --------------------------------------------------------------------------

/**
 * Collects from the stored token until interrupted (leadership lost, or shutdown). Fails only
 * when the token cannot be read; the caller restarts it.
 */
export const collectEvents = (
  options: CollectorOptions,
  stats: EventCollectionStats = newEventCollectionStats()
): Effect.Effect<never, KubeError, Watches | TokenStore | DatadogClient | Scope.Scope> =>
  Effect.gen(function* () {
    const watches = yield* Watches
    const tokens = yield* TokenStore
    const datadog = yield* DatadogClient
    const token = yield* tokens.read
    stats.collectingSince = yield* Clock.currentTimeMillis
    yield* Effect.logInfo("collecting Kubernetes events").pipe(
      Effect.annotateLogs({ resumeFrom: token.resourceVersion || "(list)", maxEventsPerRun: options.maxEventsPerRun })
    )
    const seen = makeDedupe()
    // The time of the event being ingested, for the dedupe window (the pipeline is plain code).
    let clock = yield* Clock.currentTimeMillis
    // Occurrences Datadog accepted above the cursor (a batch in progress), with their versions:
    // saved with the token after every Datadog event, so a successor skips them.
    const shippedAbove = new Map<string, string>()
    for (const entry of token.shipped) {
      const [resourceVersion = "", occurrence = ""] = entry.split(shippedSeparator, 2)
      shippedAbove.set(occurrence, resourceVersion)
      seen.add(occurrence, clock)
    }
    const pipeline = makePipeline<IngestedEvent>({
      cursor: token.resourceVersion,
      resourceVersionOf: (e) => e.resourceVersion,
      occurrenceOf: (e) => e.occurrence,
      compare: compareResourceVersions,
      remember: (occurrence) => seen.add(occurrence, clock)
    })
    // "A full batch is queued" and "the queue has room again": signals, not data.
    const full = yield* Queue.sliding<void>(1)
    const room = yield* Queue.sliding<void>(1)
    let saved: EventToken = token
    let listedAt = token.timestamp

    const ingest = (event: Parameters<typeof pipeline.ingest>[0]) =>
      Effect.gen(function* () {
        while (pipeline.queued() >= options.maxQueued) yield* Queue.take(room)
        clock = yield* Clock.currentTimeMillis
        if (event._tag === "InitDone") listedAt = new Date(clock)
        const added = pipeline.ingest(event)
        stats.collected += added
        stats.queued = pipeline.queued()
        if (event._tag === "Apply" && added > 0 && event.object.view === undefined) yield* logUnreadable(event.object)
        if (event._tag === "InitDone" && added > 0) {
          yield* Effect.logInfo("events listed").pipe(Effect.annotateLogs({ new: added }))
        }
        yield* Metric.update(queuedEvents, pipeline.queued())
        if (pipeline.queued() >= options.maxEventsPerRun) yield* Queue.offer(full, undefined)
      })

    /** Writes the cursor and what is accepted above it; retried before anything more is sent. */
    const save = Effect.gen(function* () {
      const cursor = pipeline.cursor()
      for (const [occurrence, resourceVersion] of shippedAbove) {
        if (compareResourceVersions(resourceVersion, cursor) <= 0) shippedAbove.delete(occurrence)
      }
      const shipped = [...shippedAbove].map(([occurrence, rv]) => `${rv}${shippedSeparator}${occurrence}`)
      if (cursor === saved.resourceVersion && shipped.join("\n") === saved.shipped.join("\n")) return
      const next: EventToken = { resourceVersion: cursor, timestamp: listedAt, shipped }
      yield* tokens.write(next).pipe(
        Effect.tapError((e) =>
          Effect.logWarning("could not write the event token, retrying before shipping more").pipe(
            Effect.annotateLogs({ reason: e.reason, error: e.message })
          )
        ),
        Effect.retry(options.retry)
      )
      saved = next
      stats.tokenWrittenAt = yield* Clock.currentTimeMillis
      yield* Metric.update(tokenAt, stats.tokenWrittenAt / 1000)
    })

    /** Ships the next batch, saving progress after each Datadog event; false when nothing was queued. */
    const flushOnce = Effect.gen(function* () {
      const batch = pipeline.take(options.maxEventsPerRun)
      yield* Queue.offer(room, undefined)
      if (batch === undefined) return false
      const views = batch.items.flatMap((e) => (e.view === undefined ? [] : [e.view]))
      const { emitted, received, oversized } = transformEvents(views, options.mode)
      for (const labels of received) yield* Metric.update(Metric.withAttributes(kubeEvents, labels), 1)
      for (const v of oversized) yield* logOversized(v)
      for (const [i, e] of emitted.entries()) {
        const accepted = yield* shipOne(datadog.submitEvent, e, options.retry)
        if (accepted) {
          stats.sent++
          stats.lastSentAt = yield* Clock.currentTimeMillis
        } else stats.dropped++
        for (const member of e.members) shippedAbove.set(occurrenceKey(member), member.resourceVersion)
        if (i < emitted.length - 1) yield* save
      }
      pipeline.accepted(batch)
      stats.queued = pipeline.queued()
      yield* Metric.update(queuedEvents, pipeline.queued())
      yield* save
      return true
    })

    const flusher = Effect.gen(function* () {
      for (;;) {
        if (pipeline.queued() < options.maxEventsPerRun) {
          // A "full" signal left from a batch the loop below already shipped is stale.
          yield* Queue.clear(full)
          yield* Effect.raceFirst(Queue.take(full), Effect.sleep(options.interval))
        }
        while ((yield* flushOnce) && pipeline.queued() >= options.maxEventsPerRun) {}
      }
    })

    yield* Effect.forkScoped(flusher)
    return yield* watches
      .watch(eventsRequest(options.fieldSelector), { resumeFrom: token.resourceVersion || undefined })
      .pipe(Stream.runForEach(ingest), Effect.andThen(Effect.die("the event watch ended")), Effect.scoped)
  }).pipe(
    // The term is over: this replica does not collect, and what it queued goes with it.
    Effect.ensuring(
      Effect.sync(() => {
        stats.collectingSince = undefined
        stats.queued = 0
      })
    )
  )

/**
 * The most Kubernetes events in one batch. The token lists the batch's accepted occurrences
 * (about 62 bytes each) until the batch is in, and a ConfigMap holds at most 1 MiB: 2,000 keep
 * it near 124 KB (an 18,000-event batch overflowed it and stalled collection).
 */
export const maxBatch = 2_000

/** Between a version and an occurrence in the token's list of accepted occurrences. */
const shippedSeparator = "|"

const logUnreadable = (e: IngestedEvent) =>
  Effect.logWarning("skipping an unreadable Event").pipe(
    Effect.annotateLogs({ resourceVersion: e.resourceVersion, error: e.problem?.message ?? "" })
  )

const logOversized = (v: EventView) =>
  Effect.logWarning("dropping an event whose message alone passes Datadog's text limit").pipe(
    Effect.annotateLogs({ event: `${v.namespace}/${v.name}`, reason: v.reason, bytes: v.message.length })
  )

/** Throttling, outages, timeouts, a rejected key (fixed by the user) and unreadable answers. */
const worthRetrying = (e: DatadogApiError): boolean => isRetryable(e) || isKeyRejected(e) || e.reason === "Decode"

/**
 * One Datadog event, retried until Datadog takes it: throttling, outages, timeouts, a rejected
 * key and unreadable answers are waited out (the events stay queued); an event Datadog refuses
 * as malformed is logged with its title and dropped, since no retry can make it pass. True when
 * Datadog accepted it.
 */
const shipOne = (
  submit: (event: EventCreateRequest) => Effect.Effect<string, DatadogApiError>,
  emitted: Emitted,
  retry: Schedule.Schedule<unknown, unknown>
) =>
  submit(emitted.event).pipe(
    Effect.tapError((e) =>
      Effect.logWarning("Datadog did not take an event, retrying").pipe(
        Effect.annotateLogs({ reason: e.reason, error: e.message, title: emitted.event.title })
      )
    ),
    Effect.retry({ schedule: retry, while: worthRetrying }),
    Effect.matchEffect({
      onSuccess: () => Effect.as(Metric.update(Metric.withAttributes(emittedEvents, emitted.labels), 1), true),
      onFailure: (e) =>
        Effect.as(
          worthRetrying(e)
            ? Effect.logError("gave up sending an event to Datadog; it is dropped").pipe(
                Effect.annotateLogs({ reason: e.reason, error: e.message, title: emitted.event.title })
              )
            : Effect.andThen(
                Effect.logError("Datadog refused an event as malformed; it is dropped").pipe(
                  Effect.annotateLogs({ reason: e.reason, error: e.message, title: emitted.event.title })
                ),
                Metric.update(rejectedEvents, 1)
              ),
          false
        )
    })
  )

// --- the feature ----------------------------------------------------------------------------------

/** Pure: the collector's options from the agent's configuration and the check's instance. */
export const collectorOptions = (
  config: Pick<ClusterAgentConfigShape, "clusterName" | "effectiveHostname">,
  instance: ApiserverCheckInstance
): CollectorOptions => {
  const maxEventsPerRun = Math.min(instance.maxEventsPerRun, maxBatch)
  return {
    maxEventsPerRun,
    interval: instance.minCollectionInterval,
    fieldSelector: eventFieldSelector(instance.filteredEventTypes),
    mode: {
      unbundle: instance.unbundleEvents,
      bundleUnspecified: instance.bundleUnspecifiedEvents,
      collectedEventTypes: instance.collectedEventTypes,
      filteringEnabled: instance.filteringEnabled,
      clusterName: config.clusterName,
      defaultHost: config.effectiveHostname,
      instanceTags: instance.tags
    },
    maxQueued: Math.max(10_000, 10 * maxEventsPerRun),
    retry: reconnectBackoff
  }
}

/** Pure: what is probably not meant in the collector's configuration (logged at start, shown by `status`). */
export const eventCollectionWarnings = (
  config: Pick<ClusterAgentConfigShape, "leaderElection">,
  instance: ApiserverCheckInstance
): ReadonlyArray<string> => {
  if (!instance.collectEvents) return []
  const warnings: Array<string> = []
  if (!config.leaderElection && !instance.skipLeaderElection) {
    warnings.push(
      "event collection runs with leader election off: this replica acts as the leader; run one replica or set DD_LEADER_ELECTION=true"
    )
  }
  if (instance.maxEventsPerRun > maxBatch) {
    warnings.push(
      `max_events_per_run ${instance.maxEventsPerRun} is above ${maxBatch}: batches hold ${maxBatch} events`
    )
  }
  return warnings
}

export interface EventCollectorShape {
  /** `collect_events` (DD_COLLECT_KUBERNETES_EVENTS, or the check's instance). */
  readonly enabled: boolean
  /** The counts so far, as of now. */
  readonly stats: Effect.Effect<Readonly<EventCollectionStats>>
}

/**
 * Event collection when `collect_events` (default `DD_COLLECT_KUBERNETES_EVENTS`) is on, on the
 * leader (see runner.ts) while the RBAC self-check finds its rights granted: each leadership term
 * resumes from the token.
 */
export class EventCollector extends Context.Service<EventCollector, EventCollectorShape>()("dca/EventCollector") {
  static readonly layer: Layer.Layer<
    EventCollector,
    never,
    ClusterAgentConfig | ApiserverCheckConfig | LeaderLease | RbacCheck | Watches | TokenStore | DatadogClient
  > = Layer.effect(
    EventCollector,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const instance = yield* ApiserverCheckConfig
      const stats = newEventCollectionStats()
      const shape = EventCollector.of({ enabled: instance.collectEvents, stats: Effect.sync(() => ({ ...stats })) })
      if (!instance.collectEvents) return shape
      const run = yield* checkRunner
      const rbac = yield* RbacCheck
      for (const warning of eventCollectionWarnings(config, instance)) {
        yield* Effect.logWarning(warning).pipe(Effect.annotateLogs({ file: instance.source }))
      }
      yield* Effect.forkScoped(
        rbac.whilePermitted(
          "eventCollection",
          run("event collection", collectEvents(collectorOptions(config, instance), stats))
        )
      )
      return shape
    })
  )
}
