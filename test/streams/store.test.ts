import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { Store, type WatcherEvent } from "../../src/streams/store.ts"

interface Obj {
  readonly key: string
  readonly version: number
}

const obj = fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e"), version: fc.nat(100) })
const event: fc.Arbitrary<WatcherEvent<Obj>> = fc.oneof(
  { weight: 5, arbitrary: obj.map((object) => ({ _tag: "Apply", object }) as const) },
  { weight: 2, arbitrary: obj.map((object) => ({ _tag: "Delete", object }) as const) },
  { weight: 1, arbitrary: fc.constant({ _tag: "Init" } as const) },
  { weight: 2, arbitrary: fc.array(obj, { maxLength: 4 }).map((objects) => ({ _tag: "InitPage", objects }) as const) },
  { weight: 1, arbitrary: fc.constant({ _tag: "InitDone" } as const) }
)

/**
 * The model: a map with last-write-wins; a relist (Init ... InitDone) replaces it with the
 * listed objects plus whatever was applied or deleted while the relist was in progress.
 */
const model = (events: ReadonlyArray<WatcherEvent<Obj>>) => {
  let live = new Map<string, Obj>()
  let pending: Map<string, Obj> | undefined
  let synced = false
  for (const e of events) {
    if (e._tag === "Init") pending = new Map()
    else if (e._tag === "InitPage") {
      pending ??= new Map()
      for (const o of e.objects) pending.set(o.key, o)
    } else if (e._tag === "InitDone") {
      live = pending ?? new Map()
      pending = undefined
      synced = true
    } else if (e._tag === "Apply") {
      live.set(e.object.key, e.object)
      pending?.set(e.object.key, e.object)
    } else {
      live.delete(e.object.key)
      pending?.delete(e.object.key)
    }
  }
  return { live, synced }
}

describe("Store", () => {
  it("equals a last-write-wins model after any sequence of watcher events", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const store = new Store<Obj>((o) => o.key)
        for (const e of events) store.apply(e)
        const expected = model(events)
        expect(new Map([...store.values()].map((o) => [o.key, o]))).toEqual(expected.live)
        expect(store.synced()).toBe(expected.synced)
        expect(store.size()).toBe(expected.live.size)
      })
    )
  })

  it("readers never see a half-done relist", () => {
    const store = new Store<Obj>((o) => o.key)
    store.apply({ _tag: "Apply", object: { key: "a", version: 1 } })
    store.apply({ _tag: "Init" })
    store.apply({ _tag: "InitPage", objects: [{ key: "b", version: 1 }] })
    expect([...store.values()]).toEqual([{ key: "a", version: 1 }])
    const change = store.apply({ _tag: "InitDone" })
    expect([...store.values()]).toEqual([{ key: "b", version: 1 }])
    expect(change?._tag).toBe("Replaced")
  })

  it("reports what changed, with the previous object", () => {
    const store = new Store<Obj>((o) => o.key)
    expect(store.apply({ _tag: "Apply", object: { key: "a", version: 1 } })).toEqual({
      _tag: "Applied",
      previous: undefined,
      current: { key: "a", version: 1 }
    })
    expect(store.apply({ _tag: "Apply", object: { key: "a", version: 2 } })).toMatchObject({
      previous: { key: "a", version: 1 }
    })
    expect(store.apply({ _tag: "Delete", object: { key: "a", version: 3 } })).toEqual({
      _tag: "Deleted",
      previous: { key: "a", version: 2 }
    })
    // Deleting what is not there changes nothing.
    expect(store.apply({ _tag: "Delete", object: { key: "z", version: 1 } })).toBeUndefined()
  })
})
