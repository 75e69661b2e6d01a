import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Queue, Schedule } from "effect"
import { object, page, scriptedWatches } from "../../dev/fakeKubeClient.ts"
import { KubeError } from "../../src/layers/kube/errors.ts"
import type { KubeObject } from "../../src/layers/kube/types.ts"
import type { WatchRequest } from "../../src/streams/request.ts"
import type { WatcherEvent } from "../../src/streams/store.ts"
import { runWatcher, type WatcherOptions } from "../../src/streams/watcher.ts"
import { advance } from "../support/effectTest.ts"

const kind: WatchRequest<string> = {
  name: "things",
  resource: { group: "", version: "v1", resource: "things" },
  strip: (o: KubeObject) => `${o.metadata?.name}@${o.metadata?.resourceVersion}`
}

/** What a test compares: the events with their keys checked and dropped. */
type Seen =
  | { readonly _tag: "Init" | "InitDone" }
  | { readonly _tag: "InitPage"; readonly objects: Array<string> }
  | {
      readonly _tag: "Apply" | "Delete"
      readonly object: string
    }
const seen = (e: WatcherEvent<string>): Seen => {
  const keyOk = (key: string, object: string) => {
    if (key !== `ns/${object.split("@")[0]}`) throw new Error(`key ${key} does not match ${object}`)
  }
  switch (e._tag) {
    case "Init":
    case "InitDone":
      return { _tag: e._tag }
    case "InitPage":
      for (const o of e.objects) keyOk(o.key, o.object)
      return { _tag: "InitPage", objects: e.objects.map((o) => o.object) }
    default:
      keyOk(e.key, e.object)
      return { _tag: e._tag, object: e.object }
  }
}

const options = (overrides: Partial<WatcherOptions> = {}): WatcherOptions => ({
  pageSize: 2,
  watchTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(150),
  // Deterministic for timing assertions: 1 s, 2 s, 4 s ... capped at 8 s.
  backoff: Schedule.exponential("1 second", 2).pipe(
    Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, Duration.seconds(8))))
  ),
  ...overrides
})

const transport = new KubeError({ reason: "Transport", verb: "WATCH", path: "/api/v1/things", detail: "reset" })
const gone = new KubeError({ reason: "Gone", verb: "WATCH", path: "/api/v1/things", detail: "too old" })

/** Starts the loop; returns the script, the emitted events, and a way to await the next session. */
const start = (opts: WatcherOptions = options()) =>
  Effect.gen(function* () {
    const script = yield* scriptedWatches
    const emitted: Array<Seen> = []
    yield* Effect.forkChild(runWatcher(script.kube, kind, opts, (e) => Effect.sync(() => emitted.push(seen(e)))))
    yield* Effect.yieldNow
    // The loop reaches its next request within a few scheduler turns, without time passing.
    const nextSession = Effect.gen(function* () {
      for (let turn = 0; turn < 100; turn++) {
        yield* Effect.yieldNow
        const s = yield* Queue.poll(script.sessions)
        if (s._tag === "Some") return s.value
      }
      throw new Error("no WATCH request was made")
    })
    return { ...script, emitted, nextSession }
  })

describe("runWatcher", () => {
  it.effect("lists every page, swaps it in whole, then watches from the list's resourceVersion", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, {
        pages: [page("100", [object("a", "90"), object("b", "91")], "next"), page("100", [object("c", "92")])]
      })
      const session = yield* w.nextSession
      expect(w.listCalls).toEqual([{ limit: 2 }])
      expect(w.emitted).toEqual([
        { _tag: "Init" },
        { _tag: "InitPage", objects: ["a@90", "b@91"] },
        { _tag: "InitPage", objects: ["c@92"] },
        { _tag: "InitDone" }
      ])
      expect(session.options).toMatchObject({ resourceVersion: "100", allowWatchBookmarks: true })
      // The server-side timeout is randomised in [1x, 2x) of the configured one.
      expect(session.options?.timeoutSeconds).toBeGreaterThanOrEqual(60)
      expect(session.options?.timeoutSeconds).toBeLessThan(120)
    })
  )

  it.effect("turns watch events into Apply/Delete, bookmarks only move the resourceVersion", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [])] })
      const first = yield* w.nextSession
      yield* Queue.offerAll(first.events, [
        { type: "ADDED", object: object("a", "101") },
        { type: "MODIFIED", object: object("a", "102") },
        { type: "DELETED", object: object("a", "103") },
        { type: "BOOKMARK", object: { metadata: { resourceVersion: "150" } } }
      ])
      yield* Queue.end(first.events)
      const second = yield* w.nextSession
      // Init, InitPage (empty), InitDone, then the watch's events.
      expect(w.emitted.slice(3)).toEqual([
        { _tag: "Apply", object: "a@101" },
        { _tag: "Apply", object: "a@102" },
        { _tag: "Delete", object: "a@103" }
      ])
      // A watch the server ends is resumed from the last resourceVersion, without a relist.
      expect(second.options?.resourceVersion).toBe("150")
      expect(w.listCalls).toHaveLength(1)
    })
  )

  it.effect("410 Gone relists at once, and the next watch starts from the new list", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [object("a", "100")])] })
      const first = yield* w.nextSession
      yield* Queue.offer(first.events, { type: "BOOKMARK", object: { metadata: { resourceVersion: "110" } } })
      yield* Queue.offer(w.lists, { pages: [page("500", [object("b", "499")])] })
      yield* Queue.fail(first.events, gone)
      const second = yield* w.nextSession
      expect(w.listCalls).toHaveLength(2)
      expect(w.emitted.slice(-3)).toEqual([
        { _tag: "Init" },
        { _tag: "InitPage", objects: ["b@499"] },
        { _tag: "InitDone" }
      ])
      expect(second.options?.resourceVersion).toBe("500")
    })
  )

  it.effect("410 Gone on the first watch after a LIST relists only after a backoff", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [])] })
      const first = yield* w.nextSession
      yield* Queue.offer(w.lists, { pages: [page("200", [])] })
      yield* Queue.fail(first.events, gone)
      yield* advance("750 millis", "250 millis")
      expect(w.listCalls).toHaveLength(1)
      yield* advance("250 millis", "250 millis")
      const second = yield* w.nextSession
      expect(w.listCalls).toHaveLength(2)
      expect(second.options?.resourceVersion).toBe("200")
    })
  )

  it.effect("failures back off exponentially up to the cap, and progress resets the backoff", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [])] })
      let session = yield* w.nextSession
      const delays: Array<number> = []
      for (let i = 0; i < 6; i++) {
        yield* Queue.fail(session.events, transport)
        let waited = 0
        for (;;) {
          yield* advance("250 millis", "250 millis")
          waited += 250
          const next = yield* Queue.poll(w.sessions)
          if (next._tag === "Some") {
            session = next.value
            break
          }
        }
        delays.push(waited)
      }
      expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000])
      // An event shows the watch works again: the next failure waits the first delay.
      yield* Queue.offer(session.events, { type: "ADDED", object: object("x", "200") })
      yield* Queue.fail(session.events, transport)
      yield* advance("750 millis", "250 millis")
      expect((yield* Queue.poll(w.sessions))._tag).toBe("None")
      yield* advance("250 millis", "250 millis")
      const resumed = yield* Queue.poll(w.sessions)
      expect(resumed._tag === "Some" && resumed.value.options?.resourceVersion).toBe("200")
      expect(w.listCalls).toHaveLength(1)
    })
  )

  it.effect("a failed LIST is retried with backoff, and nothing half-listed is swapped in", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { error: transport })
      yield* Effect.yieldNow
      expect(w.emitted).toEqual([{ _tag: "Init" }])
      yield* Queue.offer(w.lists, { pages: [page("7", [object("a", "7")])] })
      yield* advance("1 second", "250 millis")
      yield* w.nextSession
      expect(w.emitted).toEqual([
        { _tag: "Init" },
        { _tag: "Init" },
        { _tag: "InitPage", objects: ["a@7"] },
        { _tag: "InitDone" }
      ])
    })
  )

  it.effect("a LIST without a resourceVersion is not swapped in, and is retried after a backoff", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("", [object("a", "7")])] })
      yield* Effect.yieldNow.pipe(Effect.repeat({ times: 10 }))
      expect(w.emitted.map((e) => e._tag)).toEqual(["Init", "InitPage"])
      yield* Queue.offer(w.lists, { pages: [page("8", [object("a", "8")])] })
      yield* advance("1 second", "250 millis")
      const session = yield* w.nextSession
      expect(w.listCalls).toHaveLength(2)
      expect(w.emitted.at(-1)).toEqual({ _tag: "InitDone" })
      expect(session.options?.resourceVersion).toBe("8")
    })
  )

  it.effect("the watchdog restarts a watch that stays silent, from the same resourceVersion", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [])] })
      const first = yield* w.nextSession
      yield* Queue.offer(first.events, { type: "BOOKMARK", object: { metadata: { resourceVersion: "120" } } })
      yield* advance("149 seconds", "1 second")
      expect((yield* Queue.poll(w.sessions))._tag).toBe("None")
      yield* advance("2 seconds", "1 second")
      const second = yield* Queue.poll(w.sessions)
      expect(second._tag === "Some" && second.value.options?.resourceVersion).toBe("120")
      // The silent session was abandoned: events offered to it now go nowhere.
      expect(w.listCalls).toHaveLength(1)
    })
  )

  it.effect("a watch the server closes at once, empty, is retried with backoff, not in a hot loop", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [])] })
      let session = yield* w.nextSession
      const delays: Array<number> = []
      for (let i = 0; i < 3; i++) {
        yield* Queue.end(session.events)
        let waited = 0
        for (;;) {
          yield* Effect.yieldNow
          const next = yield* Queue.poll(w.sessions)
          if (next._tag === "Some") {
            session = next.value
            break
          }
          yield* advance("250 millis", "250 millis")
          waited += 250
        }
        delays.push(waited)
      }
      expect(delays).toEqual([1000, 2000, 4000])
      // A watch that lasted (the server's timeout) is resumed at once.
      yield* advance("5 seconds", "1 second")
      yield* Queue.end(session.events)
      yield* Effect.yieldNow
      expect((yield* Queue.poll(w.sessions))._tag).toBe("Some")
    })
  )

  it.effect("a 500 while resuming relists (the version may be compacted under the server)", () =>
    Effect.gen(function* () {
      const w = yield* start()
      yield* Queue.offer(w.lists, { pages: [page("100", [])] })
      const first = yield* w.nextSession
      yield* Queue.offer(w.lists, { pages: [page("300", [])] })
      yield* Queue.fail(
        first.events,
        new KubeError({ reason: "ServerError", verb: "WATCH", path: "/api/v1/things", status: 500, detail: "x" })
      )
      yield* advance("1 second", "250 millis")
      const second = yield* w.nextSession
      expect(w.listCalls).toHaveLength(2)
      expect(second.options?.resourceVersion).toBe("300")
    })
  )
})
