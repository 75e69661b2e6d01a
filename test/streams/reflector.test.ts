import { describe, expect, it } from "@effect/vitest"
import { type Cause, Effect, Fiber, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { reflect } from "../../src/streams/reflector.ts"
import type { StoreChange, WatcherEvent } from "../../src/streams/store.ts"

interface Obj {
  readonly key: string
  readonly n: number
}

const obj = fc.record({ key: fc.constantFrom("a", "b", "c", "d"), n: fc.nat(1000) })
const event: fc.Arbitrary<WatcherEvent<Obj>> = fc.oneof(
  { weight: 5, arbitrary: obj.map((object) => ({ _tag: "Apply", key: object.key, object }) as const) },
  { weight: 2, arbitrary: obj.map((object) => ({ _tag: "Delete", key: object.key, object }) as const) },
  {
    weight: 1,
    arbitrary: fc.array(obj, { maxLength: 4 }).map((objects) => ({
      _tag: "InitPage" as const,
      objects: objects.map((object) => ({ key: object.key, object }))
    }))
  },
  { weight: 1, arbitrary: fc.constantFrom({ _tag: "Init" } as const, { _tag: "InitDone" } as const) }
)

/** What a subscriber rebuilds from its changes alone. */
const follower = () => {
  const state = new Map<string, number>()
  const versions: Array<number> = []
  const follow = (change: StoreChange<Obj>) => {
    versions.push(change.version)
    if (change._tag === "Replaced") {
      state.clear()
      for (const [k, o] of change.current) state.set(k, o.n)
    } else if (change._tag === "Applied") state.set(change.key, change.current.n)
    else state.delete(change.key)
  }
  return { state, versions, follow }
}

const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 30 }))

describe("reflect", () => {
  it("every subscriber, whenever it joins and however far it lags, ends with the store's state", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(event, fc.boolean(), fc.nat(3)), { minLength: 1, maxLength: 60 }), (steps) =>
        Effect.runPromise(
          Effect.scoped(
            Effect.gen(function* () {
              const queue = yield* Queue.unbounded<WatcherEvent<Obj>, Cause.Done>()
              const reflected = yield* reflect("things", Stream.fromQueue(queue), "1 hour")
              const followers: Array<ReturnType<typeof follower>> = []
              const join = Effect.gen(function* () {
                const f = follower()
                followers.push(f)
                yield* reflected.changes.pipe(
                  Stream.runForEach((c) => Effect.sync(() => f.follow(c))),
                  Effect.forkScoped
                )
              })
              yield* join
              // Events arrive in bursts (the writer runs ahead of the subscribers), and new
              // subscribers join between them.
              for (const [e, joins, pause] of steps) {
                yield* Queue.offer(queue, e)
                if (joins) yield* join
                for (let i = 0; i < pause; i++) yield* Effect.yieldNow
              }
              yield* Queue.offer(queue, { _tag: "Init" })
              yield* Queue.offer(queue, { _tag: "InitDone" })
              yield* Queue.offer(queue, { _tag: "Apply", key: "z", object: { key: "z", n: 1 } })
              yield* settle
              const store = new Map([...reflected.store.snapshot()].map(([k, o]) => [k, o.n]))
              for (const f of followers) {
                expect(f.state).toEqual(store)
                // In order, nothing twice.
                for (let i = 1; i < f.versions.length; i++) {
                  expect(f.versions[i]).toBeGreaterThan(f.versions[i - 1] ?? 0)
                }
                expect(f.versions.at(-1)).toBe(reflected.store.version())
              }
            })
          )
        )
      ),
      { numRuns: 200 }
    )
  })

  it.effect("synced completes at the first complete list, not before", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<WatcherEvent<Obj>, Cause.Done>()
      const reflected = yield* reflect("things", Stream.fromQueue(queue), "1 hour")
      const synced = yield* Effect.forkChild(reflected.synced)
      yield* Queue.offerAll(queue, [
        { _tag: "Init" },
        { _tag: "InitPage", objects: [{ key: "a", object: { key: "a", n: 1 } }] }
      ])
      yield* settle
      expect(synced.pollUnsafe()).toBeUndefined()
      yield* Queue.offer(queue, { _tag: "InitDone" })
      yield* Fiber.join(synced)
      expect(reflected.store.get("a")).toEqual({ key: "a", n: 1 })
    })
  )

  it.effect("re-delivers the whole store to subscribers every resync period", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<WatcherEvent<Obj>, Cause.Done>()
      const reflected = yield* reflect("things", Stream.fromQueue(queue), "5 minutes")
      const seen: Array<StoreChange<Obj>["_tag"]> = []
      yield* reflected.changes.pipe(
        Stream.runForEach((c) => Effect.sync(() => seen.push(c._tag))),
        Effect.forkScoped
      )
      yield* Queue.offerAll(queue, [
        { _tag: "Init" },
        { _tag: "InitPage", objects: [{ key: "a", object: { key: "a", n: 1 } }] },
        { _tag: "InitDone" }
      ])
      yield* settle
      expect(seen).toEqual(["Replaced"])
      yield* TestClock.adjust("4 minutes")
      yield* settle
      expect(seen).toEqual(["Replaced"])
      yield* TestClock.adjust("1 minute")
      yield* settle
      expect(seen).toEqual(["Replaced", "Replaced"])
      yield* TestClock.adjust("5 minutes")
      yield* settle
      expect(seen).toEqual(["Replaced", "Replaced", "Replaced"])
    })
  )

  it.effect("a subscriber that joins before the first list gets no empty state, only the list", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<WatcherEvent<Obj>, Cause.Done>()
      const reflected = yield* reflect("things", Stream.fromQueue(queue), "1 hour")
      const seen: Array<StoreChange<Obj>> = []
      yield* reflected.changes.pipe(
        Stream.runForEach((c) => Effect.sync(() => seen.push(c))),
        Effect.forkScoped
      )
      yield* settle
      expect(seen).toEqual([])
      yield* Queue.offerAll(queue, [{ _tag: "Init" }, { _tag: "InitDone" }])
      yield* settle
      expect(seen.map((c) => c._tag)).toEqual(["Replaced"])
    })
  )
})
