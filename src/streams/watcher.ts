// The list+watch loop of one kind, as a Stream of watcher events that never fails:
//
//   LIST (paginated) ──▶ Init, InitPage…, InitDone ──▶ WATCH from the list's resourceVersion
//        ▲                                                 │ events ──▶ Apply / Delete
//        │ 410 Gone                                        │ BOOKMARK ──▶ resourceVersion only
//        └──────────────────────────────── resume from the last resourceVersion when the server
//                                          ends the watch, the watchdog finds it silent, or it
//                                          fails (after a capped, jittered backoff)
//
// This is our own loop rather than client-node's informer (kubernetes-notes A5–A6): that one
// never asks for bookmarks, does not paginate, and stops for good on most errors.
import { Clock, Duration, Effect, Metric, Queue, Ref, Schedule, Stream } from "effect"
import type { KubeClientShape, KubeError } from "../layers/KubeClient.ts"
import type { KubeObject } from "../layers/kube/types.ts"
import { reconnectBackoff } from "../lib/backoff.ts"
import type { Kind } from "./objects.ts"
import type { WatcherEvent } from "./store.ts"

export interface WatcherOptions {
  /** Objects per LIST page. */
  readonly pageSize: number
  /** Server-side bound of one WATCH request; each request asks for a random value in [1×, 2×). */
  readonly watchTimeout: Duration.Duration
  /** A watch that delivers nothing (not even a bookmark) for this long is restarted. */
  readonly idleTimeout: Duration.Duration
  /** Delays between failed attempts; restarts from the first delay after any progress. */
  readonly backoff: Schedule.Schedule<unknown, unknown>
}

export const defaultWatcherOptions = (restclientTimeout: Duration.Duration): WatcherOptions => ({
  pageSize: 500,
  watchTimeout: restclientTimeout,
  // Longer than the longest server-side timeout: only a watch that is really stuck trips it.
  idleTimeout: Duration.sum(Duration.times(restclientTimeout, 2), Duration.seconds(30)),
  backoff: reconnectBackoff
})

/** How one WATCH request ended. */
export type WatchOutcome =
  | { readonly _tag: "Ended" }
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Gone" }
  | { readonly _tag: "Failed"; readonly error: KubeError }

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

const resourceVersionOf = (o: KubeObject): string | undefined => o.metadata?.resourceVersion

/** Runs the loop forever, handing every watcher event to `emit` (which may apply backpressure). */
export const runWatcher = <T>(
  kube: KubeClientShape,
  kind: Kind<T>,
  options: WatcherOptions,
  emit: (event: WatcherEvent<T>) => Effect.Effect<void>
): Effect.Effect<never> =>
  Effect.gen(function* () {
    const attrs = { kind: kind.name }
    const lastEvent = yield* Ref.make(yield* Clock.currentTimeMillis)
    const touch = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* Ref.set(lastEvent, now)
      yield* Metric.update(Metric.withAttributes(lastEventAt, attrs), now / 1000)
    })

    /** LIST every page and emit the relist; returns the list's resourceVersion. */
    const relist = Effect.gen(function* () {
      yield* emit({ _tag: "Init" })
      let resourceVersion = ""
      yield* kube.listAll(kind.resource, { limit: options.pageSize }).pipe(
        Stream.runForEach((page) => {
          resourceVersion = page.metadata.resourceVersion ?? resourceVersion
          return emit({ _tag: "InitPage", objects: page.items.map(kind.strip) })
        })
      )
      yield* emit({ _tag: "InitDone" })
      yield* touch
      yield* Metric.update(Metric.withAttributes(relists, attrs), 1)
      return resourceVersion
    })

    /** One WATCH from `from`; the resourceVersion it reached is kept in `at`. */
    const watchOnce = (at: Ref.Ref<string>, progressed: Ref.Ref<boolean>) =>
      Effect.gen(function* () {
        const base = Duration.toSeconds(options.watchTimeout)
        const timeoutSeconds = Math.max(1, Math.floor(base * (1 + Math.random())))
        const consume = kube
          .watch(kind.resource, { resourceVersion: yield* Ref.get(at), allowWatchBookmarks: true, timeoutSeconds })
          .pipe(
            Stream.runForEach((event) =>
              Effect.gen(function* () {
                yield* touch
                yield* Ref.set(progressed, true)
                const rv = resourceVersionOf(event.object as KubeObject)
                if (event.type !== "BOOKMARK") {
                  yield* Metric.update(Metric.withAttributes(events, attrs), 1)
                  const object = kind.strip(event.object as KubeObject)
                  yield* emit(event.type === "DELETED" ? { _tag: "Delete", object } : { _tag: "Apply", object })
                }
                if (rv !== undefined && rv !== "") yield* Ref.set(at, rv)
              })
            ),
            Effect.as<WatchOutcome>({ _tag: "Ended" }),
            Effect.catch(
              (error): Effect.Effect<WatchOutcome> =>
                Effect.succeed(error.reason === "Gone" ? { _tag: "Gone" } : { _tag: "Failed", error })
            )
          )
        // The watchdog: wakes when the watch could first have gone idle, and again until it has.
        const watchdog = Effect.gen(function* () {
          const idleMillis = Duration.toMillis(options.idleTimeout)
          for (;;) {
            const now = yield* Clock.currentTimeMillis
            const silentFor = now - (yield* Ref.get(lastEvent))
            if (silentFor >= idleMillis) return { _tag: "Idle" } as WatchOutcome
            yield* Effect.sleep(Duration.millis(idleMillis - silentFor))
          }
        })
        return yield* Effect.raceFirst(consume, watchdog)
      })

    // "Seconds since the last event", refreshed every 5 s for as long as the loop runs.
    yield* Effect.forkChild(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* Metric.update(Metric.withAttributes(sinceLastEvent, attrs), (now - (yield* Ref.get(lastEvent))) / 1000)
      }).pipe(Effect.repeat(Schedule.spaced("5 seconds")))
    )

    let step = yield* Schedule.toStepWithSleep(options.backoff)
    const resetBackoff = Effect.gen(function* () {
      step = yield* Schedule.toStepWithSleep(options.backoff)
    })
    const backoff = (what: string, error: KubeError) =>
      Effect.gen(function* () {
        yield* Effect.logWarning(`${what} failed, retrying`).pipe(
          Effect.annotateLogs({ kind: kind.name, reason: error.reason, error: error.message })
        )
        yield* Effect.ignore(step(error))
      })

    const at = yield* Ref.make("")
    const progressed = yield* Ref.make(false)
    let needsList = true
    for (;;) {
      if (needsList) {
        const listed = yield* Effect.result(relist)
        if (listed._tag === "Failure") {
          yield* backoff("LIST", listed.failure)
          continue
        }
        yield* Ref.set(at, listed.success)
        yield* resetBackoff
        needsList = false
      }
      yield* Ref.set(progressed, false)
      const startedAt = yield* Clock.currentTimeMillis
      const outcome = yield* watchOnce(at, progressed)
      yield* Metric.update(Metric.withAttributes(restarts, { ...attrs, why: outcome._tag.toLowerCase() }), 1)
      if (yield* Ref.get(progressed)) yield* resetBackoff
      switch (outcome._tag) {
        case "Ended":
          // A watch the server closes at once, with nothing in it, is not a timeout but a
          // misbehaving server or proxy: back off instead of hammering it.
          if (!(yield* Ref.get(progressed)) && (yield* Clock.currentTimeMillis) - startedAt < 1000) {
            yield* Effect.ignore(step(undefined))
          }
          break
        case "Idle":
          yield* Effect.logWarning("watch silent for too long, restarting it").pipe(
            Effect.annotateLogs({ kind: kind.name, idleTimeout: Duration.format(options.idleTimeout) })
          )
          // Count the restart as activity, or the next watch would be judged idle at once.
          yield* touch
          break
        case "Gone":
          yield* Effect.logInfo("watch resourceVersion expired, listing again").pipe(
            Effect.annotateLogs({ kind: kind.name })
          )
          needsList = true
          break
        case "Failed":
          // A 500 while resuming can mean the version was compacted under the server; relist.
          if (outcome.error.reason === "ServerError") needsList = true
          yield* backoff("WATCH", outcome.error)
          break
      }
    }
  })

/** The loop as a Stream: consumers pace it (the buffer is small, so a slow reflector slows LISTs). */
export const watcher = <T>(kube: KubeClientShape, kind: Kind<T>, options: WatcherOptions) =>
  Stream.callback<WatcherEvent<T>>((queue) => runWatcher(kube, kind, options, (e) => Queue.offer(queue, e)), {
    bufferSize: 64
  })
