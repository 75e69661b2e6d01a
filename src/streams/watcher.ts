// The list+watch loop of one kind, as a Stream of watcher events that never fails. Every decision
// (when to relist, where to resume, when to back off) is the pure machine of watchMachine.ts;
// this shell performs its actions and reports how each request went:
//
//   LIST (paginated) ──▶ Init, InitPage…, InitDone ──▶ WATCH from the list's resourceVersion
//        ▲                                                 │ events ──▶ Apply / Delete
//        │ 410 Gone, 500                                   │ BOOKMARK ──▶ resourceVersion only
//        └──────────────────────────────── resume from the last resourceVersion when the server
//                                          ends the watch, it goes silent (idle timeout), or it
//                                          fails (after the named backoff Schedule)
//
// This is our own loop rather than client-node's informer (kubernetes-notes A5–A6): that one
// never asks for bookmarks, does not paginate, and stops for good on most errors.
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { KubeClientShape } from "../layers/KubeClient.ts"
import type { KubeError } from "../layers/kube/errors.ts"
import type { KubeObject, WatchEvent } from "../layers/kube/types.ts"
import { reconnectBackoff } from "../lib/backoff.ts"
import type { WatchRequest } from "./request.ts"
import type { Keyed, WatcherEvent } from "./store.ts"
import { keyOf } from "./strip.ts"
import { start, step, type WatchAction, type WatchOutcome, type WatchState } from "./watchMachine.ts"

export interface WatcherOptions {
  /** Objects per LIST page. */
  readonly pageSize: number
  /** Server-side bound of one WATCH request; each request asks for a random value in [1×, 2×). */
  readonly watchTimeout: Duration.Duration
  /** A watch that delivers nothing (not even a bookmark) for this long is restarted. */
  readonly idleTimeout: Duration.Duration
  /** Delays between failed attempts; restarts from the first delay after any progress. */
  readonly backoff: Schedule.Schedule<unknown, unknown>
  /** Resume from this resourceVersion instead of listing first (a stored cursor). */
  readonly resumeFrom?: string | undefined
}

export const defaultWatcherOptions = (restclientTimeout: Duration.Duration): WatcherOptions => ({
  pageSize: 500,
  watchTimeout: restclientTimeout,
  // Longer than the longest server-side timeout: only a watch that is really stuck trips it.
  idleTimeout: Duration.sum(Duration.times(restclientTimeout, 2), Duration.seconds(30)),
  backoff: reconnectBackoff
})

const relists = Metric.counter("kube_watch_relists_total", { description: "Complete LISTs of a watched kind" })
const restarts = Metric.counter("kube_watch_restarts_total", {
  description: "WATCH requests restarted, by why (ended, idle, gone, failed)"
})
const events = Metric.counter("kube_watch_events_total", { description: "Watch events received" })
const lastEventAt = Metric.gauge("kube_watch_last_event_timestamp_seconds", {
  description: "When the last watch event or bookmark of a kind arrived, in seconds since the epoch"
})
const sinceLastEvent = Metric.gauge("kube_watch_seconds_since_last_event", {
  description: "Seconds since the last watch event or bookmark of a kind (updated every 5 s)"
})

const idle = Symbol("idle")

const why = (outcome: WatchOutcome): string =>
  outcome._tag === "WatchFailed" ? (outcome.reason === "Gone" ? "gone" : "failed") : outcome._tag.toLowerCase()

/** Runs the loop forever, handing every watcher event to `emit` (which may apply backpressure). */
export const runWatcher = <T>(
  kube: KubeClientShape,
  request: WatchRequest<T>,
  options: WatcherOptions,
  emit: (event: WatcherEvent<T>) => Effect.Effect<void>
): Effect.Effect<never> =>
  Effect.gen(function* () {
    const attrs = { kind: request.name }
    const selectors = { labelSelector: request.labelSelector, fieldSelector: request.fieldSelector }
    const keyed = (o: KubeObject): Keyed<T> => ({ key: keyOf(o), object: request.strip(o) })
    const lastEvent = yield* Ref.make(yield* Clock.currentTimeMillis)
    const touch = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* Ref.set(lastEvent, now)
      yield* Metric.update(Metric.withAttributes(lastEventAt, attrs), now / 1000)
    })
    const logged = (message: string, error?: KubeError) =>
      Effect.logWarning(message).pipe(
        Effect.annotateLogs(error === undefined ? attrs : { ...attrs, reason: error.reason, error: error.message })
      )

    let state: WatchState
    let action: WatchAction
    ;({ state, action } = start(options.resumeFrom))

    /** LIST every page and emit the relist. */
    const list = Effect.gen(function* () {
      yield* emit({ _tag: "Init" })
      let resourceVersion = ""
      const listed = yield* kube.listAll(request.resource, { ...selectors, limit: options.pageSize }).pipe(
        Stream.runForEach((page) => {
          resourceVersion = page.metadata.resourceVersion ?? resourceVersion
          return emit({ _tag: "InitPage", objects: page.items.map(keyed) })
        }),
        Effect.result
      )
      if (listed._tag === "Failure") {
        yield* logged("LIST failed, retrying", listed.failure)
        return { _tag: "ListFailed", reason: listed.failure.reason } satisfies WatchOutcome
      }
      if (resourceVersion === "") {
        // Without a version a WATCH would start "from now" and replay everything as ADDED.
        yield* Effect.logWarning("LIST returned no resourceVersion, retrying").pipe(Effect.annotateLogs(attrs))
        return { _tag: "ListFailed", reason: "Decode" } satisfies WatchOutcome
      }
      yield* emit({ _tag: "InitDone", resourceVersion })
      yield* touch
      yield* Metric.update(Metric.withAttributes(relists, attrs), 1)
      return { _tag: "Listed", resourceVersion } satisfies WatchOutcome
    })

    const onEvent = (event: WatchEvent) =>
      Effect.gen(function* () {
        yield* touch
        if (event.type !== "BOOKMARK") {
          yield* Metric.update(Metric.withAttributes(events, attrs), 1)
          const { key, object } = keyed(event.object)
          yield* emit(event.type === "DELETED" ? { _tag: "Delete", key, object } : { _tag: "Apply", key, object })
        }
        ;({ state } = step(state, { _tag: "Event", resourceVersion: event.object.metadata?.resourceVersion }))
      })

    /** One WATCH from `resourceVersion`, until the server ends it, it fails or it goes silent. */
    const watch = (resourceVersion: string) =>
      Effect.gen(function* () {
        const jitter = yield* Random.next
        const timeoutSeconds = Math.max(1, Math.floor(Duration.toSeconds(options.watchTimeout) * (1 + jitter)))
        const startedAt = yield* Clock.currentTimeMillis
        let silent = false
        const ran = yield* kube
          .watch(request.resource, { ...selectors, resourceVersion, allowWatchBookmarks: true, timeoutSeconds })
          .pipe(
            Stream.map((e): WatchEvent | typeof idle => e),
            Stream.timeoutOrElse({ duration: options.idleTimeout, orElse: () => Stream.succeed(idle) }),
            Stream.runForEach((e) =>
              e === idle
                ? Effect.sync(() => {
                    silent = true
                  })
                : onEvent(e)
            ),
            Effect.result
          )
        if (ran._tag === "Failure") {
          const error = ran.failure
          if (error.reason === "Gone") {
            yield* Effect.logInfo("watch resourceVersion expired, listing again").pipe(Effect.annotateLogs(attrs))
          } else {
            yield* logged("WATCH failed, retrying", error)
          }
          return { _tag: "WatchFailed", reason: error.reason } satisfies WatchOutcome
        }
        if (silent) {
          yield* Effect.logWarning("watch silent for too long, restarting it").pipe(
            Effect.annotateLogs({ ...attrs, idleTimeout: Duration.format(options.idleTimeout) })
          )
          return { _tag: "Idle" } satisfies WatchOutcome
        }
        return { _tag: "Ended", elapsedMillis: (yield* Clock.currentTimeMillis) - startedAt } satisfies WatchOutcome
      })

    // "Seconds since the last event", refreshed every 5 s for as long as the loop runs.
    yield* Effect.forkChild(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* Metric.update(Metric.withAttributes(sinceLastEvent, attrs), (now - (yield* Ref.get(lastEvent))) / 1000)
      }).pipe(Effect.repeat(Schedule.spaced("5 seconds")))
    )

    let backoff = yield* Schedule.toStepWithSleep(options.backoff)
    for (;;) {
      let outcome: WatchOutcome
      switch (action._tag) {
        case "List":
          outcome = yield* list
          break
        case "Watch":
          outcome = yield* watch(action.resourceVersion)
          yield* Metric.update(Metric.withAttributes(restarts, { ...attrs, why: why(outcome) }), 1)
          break
        case "Backoff":
          // The first failure after progress starts the schedule over, from its first delay.
          if (action.attempt === 1) backoff = yield* Schedule.toStepWithSleep(options.backoff)
          yield* Effect.ignore(backoff(undefined))
          outcome = { _tag: "Slept" }
          break
        case "Continue":
          return yield* Effect.die("watch machine: Continue outside a WATCH")
      }
      ;({ state, action } = step(state, outcome))
    }
  })

/** The loop as a Stream: consumers pace it (the buffer is small, so a slow reflector slows LISTs). */
export const watcher = <T>(kube: KubeClientShape, request: WatchRequest<T>, options: WatcherOptions) =>
  Stream.callback<WatcherEvent<T>>((queue) => runWatcher(kube, request, options, (e) => Queue.offer(queue, e)), {
    bufferSize: 64
  })
