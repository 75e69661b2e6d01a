// The leader's event collector (EventCollector.ts collectEvents): one leadership term, from the
// stored token through the watch layer to Datadog, on an in-memory API server (list/watch
// replay by resourceVersion, a compacted history that answers 410) and an in-memory Datadog,
// with the TestClock driving the flush interval and the retries; then on the fake Datadog
// HTTP server with the real client, for the answers (503, 429, 400) as they arrive on the wire.
//
// What a Datadog event carries is read back from its text: every test's Kubernetes event has a
// unique message "ev-…", which the bundle lists as "**reason**: ev-…".
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { DatadogClient, type DatadogClientShape, defaultRetryPolicy } from "../../src/layers/DatadogClient.ts"
import { TokenStore } from "../../src/layers/TokenStore.ts"
import {
  type CollectorOptions,
  collectEvents,
  collectorOptions,
  type EventCollectionStats,
  maxBatch,
  newEventCollectionStats
} from "../../src/services/EventCollector.ts"
import type { TransformMode } from "../../src/services/events/transform.ts"
import { defaultInstance } from "../../src/services/kubernetesApiserver/instance.ts"
import { makeWatches, Watches } from "../../src/streams/Watches.ts"
import type { WatcherOptions } from "../../src/streams/watcher.ts"
import { clientOptions, metricValue, until, useFakeDatadog } from "../layers/datadog/support.ts"
import { captureLogs } from "../support/effectTest.ts"
import {
  carried,
  datadogError,
  type EventSpec,
  type EventsCluster,
  eventsCluster,
  memoryDatadog,
  occurrenceOf,
  tokenName,
  tokenNamespace
} from "../support/eventCollectorFakes.ts"

const watcherOptions: WatcherOptions = {
  pageSize: 500,
  watchTimeout: Duration.minutes(5),
  // Longer than any test's clock: a quiet watch is never restarted behind a test's back.
  idleTimeout: Duration.hours(10),
  backoff: Schedule.spaced("1 second")
}

const mode: TransformMode = {
  unbundle: false,
  bundleUnspecified: false,
  collectedEventTypes: [],
  filteringEnabled: false,
  clusterName: "",
  defaultHost: "dca-host",
  instanceTags: ["team:platform"]
}

const interval = Duration.seconds(10)

const defaults: CollectorOptions = {
  maxEventsPerRun: 100,
  interval,
  fieldSelector: undefined,
  mode,
  maxQueued: 10_000,
  retry: Schedule.spaced("1 second")
}

/** Lets forked fibers (watcher, ingest, flusher) run to their next wait. */
const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 100 }))

/** Moves the TestClock, letting everything it wakes run. */
const tick = (d: Duration.Input) =>
  Effect.gen(function* () {
    yield* settle
    yield* TestClock.adjust(d)
    yield* settle
  })

/** One second at a time (each retry of a refused call waits one). */
const seconds = (n: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* tick("1 second")
  })

/** A leadership term over the cluster and a Datadog client, in the test's scope. */
const collect = (
  cluster: EventsCluster,
  datadog: DatadogClientShape,
  options: Partial<CollectorOptions> = {},
  stats?: EventCollectionStats
) =>
  Effect.gen(function* () {
    const watches = yield* makeWatches(cluster.kube, watcherOptions, Duration.minutes(5), [])
    const fiber = yield* collectEvents({ ...defaults, ...options }, stats).pipe(
      Effect.provideService(Watches, watches),
      Effect.provideService(TokenStore, TokenStore.make(cluster.kube, tokenNamespace, tokenName)),
      Effect.provideService(DatadogClient, datadog),
      Effect.forkScoped
    )
    yield* settle
    return fiber
  })

const pod = (object: string, message: string, extra: Partial<EventSpec> = {}): EventSpec => ({
  object,
  message,
  ...extra
})

/** Every Kubernetes event the accepted Datadog events carry, in order. */
const shipped = (accepted: ReadonlyArray<{ readonly text: string }>) => accepted.flatMap(carried)

/** The Datadog attempts (accepted or refused), in order. */
const posts = (timeline: ReadonlyArray<string>) => timeline.filter((l) => l.startsWith("POST"))

describe("collectEvents: counts for the status page", () => {
  it.effect("collected, sent, queued, when the last event was sent and the token written, while collecting", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      const cursor = yield* cluster.add(pod("web-1", "ev-old"))
      cluster.seedToken(cursor)
      yield* TestClock.setTime(1_000_000)
      const stats = newEventCollectionStats()
      const fiber = yield* collect(cluster, datadog.client, {}, stats)
      yield* cluster.add(pod("web-1", "ev-1"))
      yield* cluster.add(pod("web-2", "ev-2"))
      yield* settle
      expect(stats).toMatchObject({ collected: 2, sent: 0, queued: 2, collectingSince: 1_000_000 })
      yield* tick(interval)
      const at = 1_000_000 + Duration.toMillis(interval)
      expect(stats).toEqual({
        collected: 2,
        sent: 2,
        dropped: 0,
        queued: 0,
        lastSentAt: at,
        tokenWrittenAt: at,
        collectingSince: 1_000_000
      })
      // The term ends (leadership lost): not collecting any more, the counts stay.
      yield* Fiber.interrupt(fiber)
      expect(stats).toMatchObject({ collectingSince: undefined, sent: 2, queued: 0 })
    })
  )
})

describe("collectEvents: from the token", () => {
  it.effect("resumes above the token: ships only newer events, bundled per object, and ends at the last", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      yield* cluster.add(pod("web-1", "ev-old-1"))
      const cursor = yield* cluster.add(pod("web-1", "ev-old-2"))
      const newRv = yield* cluster.add(pod("web-2", "ev-new-1", { type: "Warning", reason: "BackOff" }))
      const last = yield* cluster.add(pod("web-1", "ev-new-2"))
      cluster.seedToken(cursor)

      yield* collect(cluster, datadog.client)
      expect(cluster.watchFrom).toEqual([cursor])
      expect(cluster.lists).toHaveLength(0)
      yield* tick(interval)

      expect(shipped(datadog.accepted).sort()).toEqual(["ev-new-1", "ev-new-2"])
      // One Datadog event per involved object (and type), in the order the objects first appear.
      const [first, second] = datadog.accepted
      expect(datadog.accepted).toHaveLength(2)
      expect(first).toMatchObject({
        title: "Events from the Pod shop/web-2",
        aggregationKey: "kubernetes_apiserver:uid-web-2",
        alertType: "warning",
        sourceTypeName: "kubernetes"
      })
      expect(first?.tags).toEqual(
        expect.arrayContaining([
          "kube_kind:Pod",
          "kube_name:web-2",
          "kube_namespace:shop",
          "pod_name:web-2",
          "source_component:kubelet",
          "team:platform"
        ])
      )
      expect(first?.text).toContain("**BackOff**: ev-new-1")
      expect(second).toMatchObject({ title: "Events from the Pod shop/web-1", alertType: "info" })

      // The token is written after each Datadog event: first the cursor with what is accepted
      // above it, then, once the batch is in, the cursor past it.
      expect(cluster.timeline.filter((l) => l.startsWith("POST") || l.startsWith("PUT"))).toEqual([
        "POST Events from the Pod shop/web-2",
        `PUT token ${cursor} shipped=[${newRv}|${occurrenceOf(pod("web-2", "ev-new-1"))}]`,
        "POST Events from the Pod shop/web-1",
        `PUT token ${last} shipped=[]`
      ])
      expect(cluster.token()).toEqual({ resourceVersion: last, shipped: [] })
    })
  )

  it.effect("an empty token lists what exists, ships it, and ends at the list's version or later", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      yield* cluster.add(pod("web-1", "ev-a"))
      yield* cluster.add(pod("web-2", "ev-b"))
      const listed = cluster.latest()

      // No ConfigMap at all: the store creates it with "" (list everything).
      yield* TestClock.setTime(Date.parse("2026-03-01T10:00:00Z"))
      yield* collect(cluster, datadog.client)
      expect(cluster.puts[0]).toEqual({ resourceVersion: "", shipped: [] })
      expect(cluster.lists).toHaveLength(1)
      expect(cluster.watchFrom).toEqual([listed])

      yield* tick(interval)
      expect(shipped(datadog.accepted).sort()).toEqual(["ev-a", "ev-b"])
      expect(cluster.token()).toEqual({ resourceVersion: listed, shipped: [] })
      // The token's time is that of the list (contract §3.1), not of the write 10 s later.
      expect(cluster.tokenData()?.["event.tokenTimestamp"]).toBe("2026-03-01T10:00:00Z")

      // What the watch brings after the list follows.
      const later = yield* cluster.add(pod("web-3", "ev-c"))
      yield* tick(interval)
      expect(shipped(datadog.accepted)).toEqual(["ev-a", "ev-b", "ev-c"])
      expect(cluster.token()).toEqual({ resourceVersion: later, shipped: [] })
    })
  )

  it.effect("occurrences in the token's shipped list are not sent again; a later occurrence of the same Event is", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      const cursor = yield* cluster.add(pod("web-1", "ev-before"))
      const sentRv = yield* cluster.add(pod("web-1", "ev-sent"))
      yield* cluster.add(pod("web-2", "ev-unsent"))
      // A predecessor killed mid-batch: Datadog took ev-sent, the cursor had not moved yet.
      cluster.seedToken(cursor, [`${sentRv}|${occurrenceOf(pod("web-1", "ev-sent"))}`])

      yield* collect(cluster, datadog.client)
      yield* tick(interval)
      expect(shipped(datadog.accepted)).toEqual(["ev-unsent"])

      // ev-sent happens again (count 2): a new occurrence, shipped.
      const again = yield* cluster.update(pod("web-1", "ev-sent", { count: 2, lastTimestamp: "2026-03-01T10:05:00Z" }))
      yield* tick(interval)
      expect(shipped(datadog.accepted)).toEqual(["ev-unsent", "ev-sent×2"])
      // The shipped list is dropped once the cursor passes it.
      expect(cluster.token()).toEqual({ resourceVersion: again, shipped: [] })
    })
  )
})

describe("collectEvents: 410 Gone", () => {
  it.effect("a token older than the API server's history relists and ships only what is newer than the token", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      yield* cluster.add(pod("web-1", "ev-old-1"))
      const cursor = yield* cluster.add(pod("web-2", "ev-old-2"))
      yield* cluster.add(pod("web-1", "ev-new-1"))
      yield* cluster.add(pod("web-3", "ev-new-2"))
      const latest = yield* cluster.add(pod("web-2", "ev-new-3"))
      cluster.seedToken(cursor)
      cluster.compactBelow(Number(latest))

      yield* collect(cluster, datadog.client)
      expect(cluster.watchFrom).toEqual([cursor, latest])
      expect(cluster.lists).toHaveLength(1)
      yield* tick(interval)

      expect(shipped(datadog.accepted).sort()).toEqual(["ev-new-1", "ev-new-2", "ev-new-3"])
      expect(cluster.token()).toEqual({ resourceVersion: latest, shipped: [] })
    })
  )

  it.effect("a 410 mid-term replays in the relist what is still queued: each event is shipped once", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      const resumed = yield* cluster.add(pod("web-1", "ev-old"))
      cluster.seedToken(resumed)
      yield* collect(cluster, datadog.client)

      // Watched and queued (the interval has not passed)...
      yield* cluster.add(pod("web-1", "ev-q-1"))
      yield* cluster.add(pod("web-2", "ev-q-2"))
      yield* settle
      // ...then the API server restarts: the watch breaks, the history it resumes from is gone,
      // and an event came in that no watch saw.
      const unseen = cluster.addUnwatched(pod("web-3", "ev-unseen"))
      cluster.compactBelow(Number(unseen))
      yield* cluster.breakWatches(cluster.transportError())
      yield* tick("1 second") // the watcher's backoff
      expect(cluster.lists).toHaveLength(1)
      expect(cluster.timeline.filter((l) => l.startsWith("WATCH"))).toEqual([
        `WATCH ${resumed}`,
        `WATCH ${Number(unseen) - 1}: 410`,
        `WATCH ${unseen}`
      ])

      yield* tick(interval)
      expect(shipped(datadog.accepted).sort()).toEqual(["ev-q-1", "ev-q-2", "ev-unseen"])
      expect(cluster.token()).toEqual({ resourceVersion: unseen, shipped: [] })

      // And later intervals send nothing again.
      yield* tick(interval)
      yield* tick(interval)
      expect(shipped(datadog.accepted)).toHaveLength(3)
    })
  )
})

describe("collectEvents: Datadog refusing", () => {
  it.effect(
    "while Datadog refuses (5xx, 429, rejected key, unreadable answer) the token holds; all arrive once after",
    () =>
      Effect.gen(function* () {
        const cluster = yield* eventsCluster
        const datadog = yield* memoryDatadog(cluster.timeline)
        const cursor = cluster.latest()
        cluster.seedToken(cursor)
        yield* collect(cluster, datadog.client)
        const rv1 = yield* cluster.add(pod("web-1", "ev-1"))
        yield* cluster.add(pod("web-2", "ev-2"))
        const last = yield* cluster.add(pod("web-3", "ev-3"))

        const refusals = [
          datadogError("ServerError", 503),
          datadogError("RateLimited", 429),
          datadogError("Forbidden", 403),
          datadogError("Decode"),
          datadogError("Timeout"),
          datadogError("Transport")
        ]
        let refusing = true
        let refused = 0
        datadog.answer((event) => {
          if (!event.title.endsWith("web-2") || !refusing) return undefined
          return refusals[refused++ % refusals.length]
        })
        yield* tick(interval)
        yield* seconds(8)

        // web-1 went through; web-2 is retried every second; web-3 waits behind it.
        expect(posts(cluster.timeline)).toEqual([
          "POST Events from the Pod shop/web-1",
          ...Array.from({ length: 9 }, (_, i) => `POST Events from the Pod shop/web-2: ${refusals[i % 6]?.reason}`)
        ])
        // The token names what Datadog took, and its cursor has not moved.
        expect(cluster.token()).toEqual({
          resourceVersion: cursor,
          shipped: [`${rv1}|${occurrenceOf(pod("web-1", "ev-1"))}`]
        })

        refusing = false
        yield* seconds(1)
        expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2", "ev-3"])
        expect(cluster.token()).toEqual({ resourceVersion: last, shipped: [] })
        yield* tick(interval)
        expect(datadog.accepted).toHaveLength(3)
      })
  )

  it.effect(
    "an event Datadog refuses as malformed (400) is dropped with an error log and counted; the rest go on",
    () => {
      const logs = captureLogs()
      return Effect.gen(function* () {
        const cluster = yield* eventsCluster
        const datadog = yield* memoryDatadog(cluster.timeline)
        cluster.seedToken(cluster.latest())
        yield* collect(cluster, datadog.client)
        yield* cluster.add(pod("web-1", "ev-1"))
        yield* cluster.add(pod("web-2", "ev-bad"))
        const last = yield* cluster.add(pod("web-3", "ev-3"))
        datadog.answer((event) => (event.title.endsWith("web-2") ? datadogError("BadRequest", 400) : undefined))
        const rejectedBefore = yield* metricValue("kubernetes_apiserver_rejected_events", {})

        yield* tick(interval)
        expect(posts(cluster.timeline)).toEqual([
          "POST Events from the Pod shop/web-1",
          "POST Events from the Pod shop/web-2: BadRequest",
          "POST Events from the Pod shop/web-3"
        ])
        expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-3"])
        expect(cluster.token()).toEqual({ resourceVersion: last, shipped: [] })
        expect((yield* metricValue("kubernetes_apiserver_rejected_events", {})) - rejectedBefore).toBe(1)
        const dropped = logs.lines.filter((l) => l.level === "Error")
        expect(dropped.map((l) => [l.message, l.annotations.title, l.annotations.reason])).toEqual([
          ["Datadog refused an event as malformed; it is dropped", "Events from the Pod shop/web-2", "BadRequest"]
        ])

        // Not retried later either.
        yield* tick(interval)
        yield* seconds(5)
        expect(datadog.attempts).toHaveLength(3)
      }).pipe(Effect.provide(logs.layer))
    }
  )
})

describe("collectEvents: flush cadence", () => {
  it.effect(
    "nothing leaves before the interval unless max_events_per_run are queued; a full batch leaves at once",
    () =>
      Effect.gen(function* () {
        const cluster = yield* eventsCluster
        const datadog = yield* memoryDatadog(cluster.timeline)
        cluster.seedToken(cluster.latest())
        yield* collect(cluster, datadog.client, { maxEventsPerRun: 3 })

        yield* cluster.add(pod("web-1", "ev-1"))
        yield* cluster.add(pod("web-2", "ev-2"))
        yield* tick(Duration.millis(9_900))
        expect(datadog.attempts).toHaveLength(0)
        yield* tick(Duration.millis(100))
        expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2"])

        // Seven at once: two full batches leave without waiting, the seventh waits for the interval.
        const batch = ["ev-3", "ev-4", "ev-5", "ev-6", "ev-7", "ev-8", "ev-9"]
        let last = ""
        for (const [i, message] of batch.entries()) last = yield* cluster.add(pod(`api-${i}`, message))
        yield* settle
        expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2", "ev-3", "ev-4", "ev-5", "ev-6", "ev-7", "ev-8"])
        expect(cluster.token().resourceVersion).toBe(String(Number(last) - 1))
        yield* tick(Duration.millis(9_900))
        expect(shipped(datadog.accepted)).toHaveLength(8)
        yield* tick(Duration.millis(100))
        expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2", ...batch])
        expect(cluster.token()).toEqual({ resourceVersion: last, shipped: [] })
      })
  )

  // A full batch that arrives while a flush is in progress is shipped by the flusher's inner loop
  // without taking its "full" signal: a stale signal must not send the next partial batch early.
  it.effect("a partial batch waits for the interval even after full batches arrived during a flush", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      datadog.setLatency("1 second")
      cluster.seedToken(cluster.latest())
      yield* collect(cluster, datadog.client, { maxEventsPerRun: 3 })

      for (const message of ["ev-1", "ev-2", "ev-3"]) yield* cluster.add(pod("web-1", message))
      yield* settle
      expect(datadog.attempts).toHaveLength(1) // a full batch leaves at once (t = 0)
      // Another full batch while the first is in flight, then one event while the second is.
      for (const message of ["ev-4", "ev-5", "ev-6"]) yield* cluster.add(pod("web-2", message))
      yield* tick("1 second")
      expect(datadog.attempts).toHaveLength(2)
      yield* cluster.add(pod("web-3", "ev-7"))
      yield* tick("1 second")
      expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2", "ev-3", "ev-4", "ev-5", "ev-6"])

      // ev-7 is one event of three: it waits for the interval (observed: sent at once, t = 2 s).
      expect(datadog.attempts).toHaveLength(2)
      yield* tick(Duration.millis(9_900))
      expect(datadog.attempts).toHaveLength(2)
      yield* tick(Duration.millis(100))
      yield* tick("1 second")
      expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2", "ev-3", "ev-4", "ev-5", "ev-6", "ev-7"])
    })
  )

  it.effect("one batch holds at most max_events_per_run Kubernetes events", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      cluster.seedToken(cluster.latest())
      yield* collect(cluster, datadog.client, { maxEventsPerRun: 2 })
      // One object: each batch is one bundle.
      yield* cluster.add(pod("web-1", "ev-1"))
      yield* cluster.add(pod("web-1", "ev-2"))
      yield* cluster.add(pod("web-1", "ev-3"))
      yield* settle
      expect(datadog.accepted.map(carried)).toEqual([["ev-1", "ev-2"]])
      yield* tick(interval)
      expect(datadog.accepted.map(carried)).toEqual([["ev-1", "ev-2"], ["ev-3"]])
    })
  )
})

describe("collectEvents: the token write", () => {
  it.effect("a refused token write is retried, and no further Datadog event leaves before it succeeds", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      const cursor = cluster.latest()
      cluster.seedToken(cursor)
      yield* collect(cluster, datadog.client)
      const rv1 = yield* cluster.add(pod("web-1", "ev-1"))
      yield* cluster.add(pod("web-2", "ev-2"))
      const last = yield* cluster.add(pod("web-3", "ev-3"))
      let refusing = true
      cluster.refusePuts(() => (refusing ? cluster.putError() : undefined))

      yield* tick(interval)
      yield* seconds(6)
      expect(posts(cluster.timeline)).toEqual(["POST Events from the Pod shop/web-1"])
      expect(cluster.timeline.filter((l) => l.endsWith("refused")).length).toBeGreaterThanOrEqual(6)
      expect(cluster.token()).toEqual({ resourceVersion: cursor, shipped: [] })
      expect(
        logs.lines.some((l) => l.message === "could not write the event token, retrying before shipping more")
      ).toBe(true)

      refusing = false
      yield* seconds(1)
      const steps = cluster.timeline.filter(
        (l) => l.startsWith("POST") || (l.startsWith("PUT") && !l.endsWith("refused"))
      )
      expect(steps).toEqual([
        "POST Events from the Pod shop/web-1",
        `PUT token ${cursor} shipped=[${rv1}|${occurrenceOf(pod("web-1", "ev-1"))}]`,
        "POST Events from the Pod shop/web-2",
        expect.stringMatching(new RegExp(`^PUT token ${cursor} shipped=\\[.+,.+\\]$`)),
        "POST Events from the Pod shop/web-3",
        `PUT token ${last} shipped=[]`
      ])
      expect(shipped(datadog.accepted)).toEqual(["ev-1", "ev-2", "ev-3"])
    }).pipe(Effect.provide(logs.layer))
  })
})

describe("collectEvents: unreadable Events", () => {
  it.effect("an Event that cannot be decoded is skipped with a warning, and the cursor passes it", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const cluster = yield* eventsCluster
      const datadog = yield* memoryDatadog(cluster.timeline)
      cluster.seedToken(cluster.latest())
      yield* collect(cluster, datadog.client)
      yield* cluster.add(pod("web-1", "ev-1"))
      const bad = yield* cluster.addRaw({
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "web-2.garbled", namespace: "shop", uid: "event-garbled" },
        involvedObject: { kind: "Pod", name: "web-2", namespace: "shop", uid: "uid-web-2" },
        reason: "Started",
        message: "ev-garbled",
        count: "7"
      })
      yield* settle
      const warned = logs.lines.filter((l) => l.message === "skipping an unreadable Event")
      expect(warned).toHaveLength(1)
      expect(warned[0]?.annotations.resourceVersion).toBe(bad)
      expect(String(warned[0]?.annotations.error)).toContain("count")

      yield* tick(interval)
      expect(shipped(datadog.accepted)).toEqual(["ev-1"])
      expect(cluster.token()).toEqual({ resourceVersion: bad, shipped: [] })

      // A batch of nothing but an unreadable Event moves the cursor too, without a Datadog event.
      const bad2 = yield* cluster.addRaw({ metadata: { name: "x", namespace: "shop", uid: "u" }, involvedObject: 3 })
      yield* tick(interval)
      expect(datadog.attempts).toHaveLength(1)
      expect(cluster.token()).toEqual({ resourceVersion: bad2, shipped: [] })
    }).pipe(Effect.provide(logs.layer))
  })
})

// --- on the wire: the fake Datadog HTTP server and the real client ---------------------------------

describe("collectEvents over HTTP (fake Datadog)", () => {
  const fake = useFakeDatadog()
  // Real I/O: real time, short waits, and conditions instead of sleeps.
  const live: Partial<CollectorOptions> = { interval: Duration.millis(50), retry: Schedule.spaced("20 millis") }
  // The client surfaces each failure at once: the collector's own retry is under test.
  const client = () => DatadogClient.make(clientOptions(fake.url, { retry: { ...defaultRetryPolicy, retries: 0 } }))

  it.live(
    "503s then 429s: nothing is accepted and the token holds; once Datadog accepts, everything arrives once",
    () =>
      Effect.gen(function* () {
        const cluster = yield* eventsCluster
        const cursor = cluster.latest()
        cluster.seedToken(cursor)
        const unavailable = fake.inject({ kind: "status", status: 503 }, { path: "/api/v1/events" })
        fake.inject({ kind: "rateLimit", reset: 0 }, { path: "/api/v1/events", times: 2 })
        yield* collect(cluster, yield* client(), live)
        yield* cluster.add(pod("web-1", "ev-1"))
        yield* cluster.add(pod("web-2", "ev-2"))
        const last = yield* cluster.add(pod("web-3", "ev-3"))

        yield* until("three refused attempts", () => unavailable.applied() >= 3)
        expect(fake.events()).toHaveLength(0)
        expect(cluster.token()).toEqual({ resourceVersion: cursor, shipped: [] })

        unavailable.remove()
        yield* until("the token at the last event", () => cluster.token().resourceVersion === last)
        expect(fake.events().flatMap(carried)).toEqual(["ev-1", "ev-2", "ev-3"])
        const statuses = fake.requests({ path: "/api/v1/events" }).map((r) => r.status)
        expect(statuses.filter((s) => s === 429)).toHaveLength(2)
        expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(3)
        expect(cluster.token()).toEqual({ resourceVersion: last, shipped: [] })
      })
  )

  it.live("a 400 drops that event (counted in rejected_events) and the others go through", () =>
    Effect.gen(function* () {
      const cluster = yield* eventsCluster
      cluster.seedToken(cluster.latest())
      const rejectedBefore = yield* metricValue("kubernetes_apiserver_rejected_events", {})
      fake.inject({ kind: "status", status: 400 }, { path: "/api/v1/events", times: 1 })
      yield* collect(cluster, yield* client(), live)
      yield* cluster.add(pod("web-1", "ev-dropped"))
      yield* cluster.add(pod("web-2", "ev-2"))
      const last = yield* cluster.add(pod("web-3", "ev-3"))

      yield* until("the token at the last event", () => cluster.token().resourceVersion === last)
      expect(fake.events().flatMap(carried)).toEqual(["ev-2", "ev-3"])
      expect(fake.requests({ path: "/api/v1/events" }).map((r) => r.status)).toEqual([400, 202, 202])
      expect((yield* metricValue("kubernetes_apiserver_rejected_events", {})) - rejectedBefore).toBe(1)
    })
  )
})

describe("collectorOptions", () => {
  const config = { clusterName: "prod", effectiveHostname: "dca-0" }

  it("takes the check's options, and the agent's host and cluster name for hosts", () => {
    const options = collectorOptions(config, {
      ...defaultInstance(true),
      filteredEventTypes: ["Pulled"],
      tags: ["team:core"],
      unbundleEvents: true
    })
    expect(options).toMatchObject({
      maxEventsPerRun: 300,
      fieldSelector: "reason!=Pulled",
      maxQueued: 10_000,
      mode: { unbundle: true, clusterName: "prod", defaultHost: "dca-0", instanceTags: ["team:core"] }
    })
    expect(Duration.toSeconds(options.interval)).toBe(15)
  })

  it("caps batches at maxBatch: the token lists a batch's accepted occurrences and a ConfigMap holds 1 MiB", () => {
    const options = collectorOptions(config, { ...defaultInstance(true), maxEventsPerRun: 18_000 })
    expect(options.maxEventsPerRun).toBe(maxBatch)
    expect(options.maxQueued).toBe(10 * maxBatch)
    // 62 bytes per listed occurrence stays far below the 1 MiB limit.
    expect(maxBatch * 62).toBeLessThan((1024 * 1024) / 4)
  })
})
