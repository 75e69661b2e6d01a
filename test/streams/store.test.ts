import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Store, type StoreChange, type WatcherEvent } from "../../src/streams/store.ts"

/** A stored object; `rev` is unique per generated object so that writes are told apart. */
interface Obj {
  readonly name: string
  readonly rev: number
}

const keys = ["a", "b", "c", "d", "e"] as const
const key = fc.constantFrom(...keys)
const obj = (name: string, rev: number): Obj => ({ name, rev })
const keyed = fc.record({ key, rev: fc.nat(1000) }).map(({ key, rev }) => ({ key, object: obj(key, rev) }))

/** What the tests do to a store: a watcher event, or one of the two calls that hand out the whole state. */
type Op = WatcherEvent<Obj> | { readonly _tag: "Frozen" } | { readonly _tag: "Resync" }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: keyed.map(({ key, object }) => ({ _tag: "Apply", key, object }) as const) },
  { weight: 3, arbitrary: keyed.map(({ key, object }) => ({ _tag: "Delete", key, object }) as const) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Init" } as const) },
  {
    weight: 2,
    arbitrary: fc.array(keyed, { maxLength: 4 }).map((objects) => ({ _tag: "InitPage", objects }) as const)
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "InitDone" } as const) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Frozen" } as const) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Resync" } as const) }
)
const ops = fc.array(op, { maxLength: 80 })
const numRuns = 500

/** A change as the model predicts it: everything but the store's version number. */
type Unversioned<C> = C extends unknown ? Omit<C, "version"> : never

/**
 * The model: a map with last-write-wins; a relist (Init ... InitDone) replaces it with the
 * listed objects plus whatever was applied or deleted while the relist was in progress. It says
 * what each event must return (before the store's own version numbers, which the tests add).
 */
class Model {
  live = new Map<string, Obj>()
  pending: Map<string, Obj> | undefined
  synced = false
  version = 0

  /** The change an event must return, without its version; undefined when nothing visible changes. */
  apply(e: WatcherEvent<Obj>): Unversioned<StoreChange<Obj>> | undefined {
    switch (e._tag) {
      case "Init":
        this.pending = new Map()
        return undefined
      case "InitPage":
        this.pending ??= new Map()
        for (const o of e.objects) this.pending.set(o.key, o.object)
        return undefined
      case "InitDone": {
        const previous = this.live
        this.live = this.pending ?? new Map()
        this.pending = undefined
        this.synced = true
        return { _tag: "Replaced", previous, current: new Map(this.live) }
      }
      case "Apply": {
        const previous = this.live.get(e.key)
        this.live.set(e.key, e.object)
        this.pending?.set(e.key, e.object)
        return { _tag: "Applied", key: e.key, previous, current: e.object }
      }
      case "Delete": {
        this.pending?.delete(e.key)
        const previous = this.live.get(e.key)
        if (previous === undefined) return undefined
        this.live.delete(e.key)
        return { _tag: "Deleted", key: e.key, previous }
      }
    }
  }
}

/** A copy of a change's maps as they are now, to compare with the same maps later. */
const copyOf = (change: StoreChange<Obj> & { readonly _tag: "Replaced" }) => ({
  change,
  previous: new Map(change.previous),
  current: new Map(change.current)
})

describe("Store (model-based)", () => {
  it("equals a last-write-wins model after every event, and returns the change the model predicts", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const store = new Store<Obj>()
        const model = new Model()
        for (const o of sequence) {
          if (o._tag === "Frozen" || o._tag === "Resync") continue
          const before = new Map(model.live)
          const expected = model.apply(o)
          const change = store.apply(o)
          if (expected === undefined) {
            expect(change).toBeUndefined()
          } else {
            model.version++
            expect(change).toEqual({ ...expected, version: model.version })
            if (change?._tag === "Replaced") expect(change.previous).toEqual(before)
          }
          expect(new Map(store.snapshot())).toEqual(model.live)
          expect(store.size()).toBe(model.live.size)
          expect(store.synced()).toBe(model.synced)
          expect(store.version()).toBe(model.version)
          expect([...store.values()]).toEqual([...store.snapshot().values()])
          for (const k of keys) {
            expect(store.get(k)).toEqual(model.live.get(k))
            expect(store.has(k)).toBe(model.live.has(k))
          }
        }
      }),
      { numRuns }
    )
  })

  it("versions strictly increase by one per returned change; frozen() does not count", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const store = new Store<Obj>()
        let last = store.version()
        expect(last).toBe(0)
        for (const o of sequence) {
          const change = o._tag === "Frozen" ? undefined : o._tag === "Resync" ? store.resync() : store.apply(o)
          if (o._tag === "Frozen") {
            expect(store.frozen().version).toBe(last)
          } else if (change !== undefined) {
            expect(change.version).toBe(last + 1)
            last = change.version
          }
          expect(store.version()).toBe(last)
        }
      }),
      { numRuns }
    )
  })

  it("the maps of a Replaced change and of frozen() never change after later events", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const store = new Store<Obj>()
        const handedOut: Array<ReturnType<typeof copyOf>> = []
        for (const o of sequence) {
          const change = o._tag === "Frozen" ? store.frozen() : o._tag === "Resync" ? store.resync() : store.apply(o)
          if (change?._tag === "Replaced") handedOut.push(copyOf(change))
        }
        for (const { change, previous, current } of handedOut) {
          expect(change.current).toEqual(current)
          expect(change.previous).toEqual(previous)
        }
      }),
      { numRuns }
    )
  })

  it("resync() and frozen() hand out the whole state", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const store = new Store<Obj>()
        const model = new Model()
        for (const o of sequence) {
          if (o._tag === "Resync") {
            const change = store.resync()
            expect(change._tag).toBe("Replaced")
            if (change._tag !== "Replaced") return
            expect(change.current).toEqual(model.live)
            // Nothing was replaced: previous is the same state.
            expect(change.previous).toEqual(model.live)
          } else if (o._tag === "Frozen") {
            const change = store.frozen()
            expect(change.current).toEqual(model.live)
            expect(change.previous.size).toBe(0)
            expect(change.version).toBe(store.version())
          } else {
            model.apply(o)
            store.apply(o)
          }
        }
      }),
      { numRuns }
    )
  })

  it("a Delete of a key the readers cannot see yields no change and no version", () => {
    fc.assert(
      fc.property(ops, key, (sequence, k) => {
        const store = new Store<Obj>()
        for (const o of sequence) {
          if (o._tag === "Frozen" || o._tag === "Resync") continue
          store.apply(o)
        }
        if (store.has(k)) return
        const version = store.version()
        const snapshot = new Map(store.snapshot())
        expect(store.apply({ _tag: "Delete", key: k, object: obj(k, 0) })).toBeUndefined()
        expect(store.version()).toBe(version)
        expect(new Map(store.snapshot())).toEqual(snapshot)
      }),
      { numRuns }
    )
  })
})

describe("Store (examples)", () => {
  const apply = (key: string, rev: number): WatcherEvent<Obj> => ({ _tag: "Apply", key, object: obj(key, rev) })
  const del = (key: string, rev: number): WatcherEvent<Obj> => ({ _tag: "Delete", key, object: obj(key, rev) })

  it("starts empty, unsynced, at version 0", () => {
    const store = new Store<Obj>()
    expect(store.size()).toBe(0)
    expect(store.synced()).toBe(false)
    expect(store.version()).toBe(0)
    expect(store.get("a")).toBeUndefined()
  })

  it("reports what changed, with the previous object", () => {
    const store = new Store<Obj>()
    expect(store.apply(apply("a", 1))).toEqual({
      _tag: "Applied",
      version: 1,
      key: "a",
      previous: undefined,
      current: obj("a", 1)
    })
    expect(store.apply(apply("a", 2))).toEqual({
      _tag: "Applied",
      version: 2,
      key: "a",
      previous: obj("a", 1),
      current: obj("a", 2)
    })
    expect(store.apply(del("a", 3))).toEqual({ _tag: "Deleted", version: 3, key: "a", previous: obj("a", 2) })
    expect(store.apply(del("z", 1))).toBeUndefined()
    expect(store.version()).toBe(3)
  })

  it("keys objects by the event's key, not by anything in the object", () => {
    const store = new Store<Obj>()
    store.apply({ _tag: "Apply", key: "ns/x", object: obj("other", 1) })
    expect(store.get("ns/x")).toEqual(obj("other", 1))
    expect(store.has("other")).toBe(false)
  })

  it("readers never see a half-done relist; InitDone swaps it in whole", () => {
    const store = new Store<Obj>()
    store.apply(apply("a", 1))
    expect(store.apply({ _tag: "Init" })).toBeUndefined()
    expect(store.apply({ _tag: "InitPage", objects: [{ key: "b", object: obj("b", 1) }] })).toBeUndefined()
    expect(store.apply({ _tag: "InitPage", objects: [{ key: "c", object: obj("c", 1) }] })).toBeUndefined()
    expect([...store.values()]).toEqual([obj("a", 1)])
    expect(store.synced()).toBe(false)
    const change = store.apply({ _tag: "InitDone" })
    expect(change).toEqual({
      _tag: "Replaced",
      version: 2,
      previous: new Map([["a", obj("a", 1)]]),
      current: new Map([
        ["b", obj("b", 1)],
        ["c", obj("c", 1)]
      ])
    })
    expect(store.synced()).toBe(true)
    expect(store.has("a")).toBe(false)
  })

  it("events during a relist are visible at once and belong to the new state too", () => {
    const store = new Store<Obj>()
    store.apply(apply("a", 1))
    store.apply({ _tag: "Init" })
    store.apply({ _tag: "InitPage", objects: [{ key: "b", object: obj("b", 1) }] })
    store.apply(apply("c", 2))
    expect(store.get("c")).toEqual(obj("c", 2))
    // Deleted while listing: gone from the listed state as well, though readers never saw it.
    expect(store.apply(del("b", 2))).toBeUndefined()
    store.apply({ _tag: "InitDone" })
    expect(new Map(store.snapshot())).toEqual(new Map([["c", obj("c", 2)]]))
  })

  it("an empty relist empties the store, and InitDone without Init replaces with nothing", () => {
    const store = new Store<Obj>()
    store.apply(apply("a", 1))
    store.apply({ _tag: "Init" })
    expect(store.apply({ _tag: "InitDone" })).toMatchObject({ _tag: "Replaced", current: new Map() })
    expect(store.size()).toBe(0)
    store.apply(apply("a", 2))
    expect(store.apply({ _tag: "InitDone" })).toMatchObject({ current: new Map() })
    expect(store.size()).toBe(0)
  })

  it("a Replaced change's maps stay as they were after later writes (copy-on-write)", () => {
    const store = new Store<Obj>()
    store.apply({ _tag: "Init" })
    store.apply({ _tag: "InitPage", objects: [{ key: "a", object: obj("a", 1) }] })
    const relisted = store.apply({ _tag: "InitDone" })
    const frozen = store.frozen()
    store.apply(apply("b", 1))
    store.apply(del("a", 2))
    const resynced = store.resync()
    store.apply(apply("c", 1))
    expect(relisted).toMatchObject({ current: new Map([["a", obj("a", 1)]]) })
    expect(frozen.current).toEqual(new Map([["a", obj("a", 1)]]))
    expect(resynced).toMatchObject({ previous: new Map([["b", obj("b", 1)]]), current: new Map([["b", obj("b", 1)]]) })
    expect(new Map(store.snapshot())).toEqual(
      new Map([
        ["b", obj("b", 1)],
        ["c", obj("c", 1)]
      ])
    )
  })

  it("resync() re-delivers the whole state as a new version; frozen() as of the current one", () => {
    const store = new Store<Obj>()
    store.apply(apply("a", 1))
    store.apply(apply("b", 1))
    const whole = new Map([
      ["a", obj("a", 1)],
      ["b", obj("b", 1)]
    ])
    expect(store.frozen()).toEqual({ _tag: "Replaced", version: 2, previous: new Map(), current: whole })
    expect(store.resync()).toEqual({ _tag: "Replaced", version: 3, previous: whole, current: whole })
    expect(store.version()).toBe(3)
  })
})
