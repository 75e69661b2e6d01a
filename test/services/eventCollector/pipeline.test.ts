import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { makePipeline, type Pipeline } from "../../../src/services/eventCollector/pipeline.ts"
import type { WatcherEvent } from "../../../src/streams/store.ts"

/** A stand-in Event: one object of the API server at one resourceVersion. */
interface Ev {
  readonly uid: string
  readonly count: number
  readonly rv: string
}

const occurrence = (e: Ev) => `${e.uid}#${e.count}`
const byRv = (a: string, b: string) => Number(a === "" ? 0 : a) - Number(b === "" ? 0 : b)

const pipelineFrom = (cursor: string): Pipeline<Ev> => {
  const seen = new Set<string>()
  return makePipeline<Ev>({
    cursor,
    resourceVersionOf: (e) => e.rv,
    occurrenceOf: occurrence,
    compare: byRv,
    remember: (o) => !seen.has(o) && seen.add(o) !== undefined
  })
}

const apply = (object: Ev): WatcherEvent<Ev> => ({ _tag: "Apply", key: object.uid, object })
const relist = (objects: ReadonlyArray<Ev>, resourceVersion?: string): ReadonlyArray<WatcherEvent<Ev>> => [
  { _tag: "Init" },
  { _tag: "InitPage", objects: objects.map((object) => ({ key: object.uid, object })) },
  { _tag: "InitDone", resourceVersion }
]

describe("the event pipeline", () => {
  it("ships watch events in order and moves the cursor to the last accepted", () => {
    const p = pipelineFrom("10")
    expect(p.ingest(apply({ uid: "a", count: 1, rv: "11" }))).toBe(1)
    expect(p.ingest(apply({ uid: "b", count: 1, rv: "12" }))).toBe(1)
    const batch = p.take(10)
    expect(batch?.items.map((e) => e.uid)).toEqual(["a", "b"])
    expect(p.cursor()).toBe("10")
    expect(batch === undefined ? undefined : p.accepted(batch)).toBe("12")
    expect(p.take(10)).toBeUndefined()
  })

  it("skips what the token already covers", () => {
    const p = pipelineFrom("20")
    expect(p.ingest(apply({ uid: "a", count: 1, rv: "20" }))).toBe(0)
    expect(p.ingest(apply({ uid: "a", count: 1, rv: "7" }))).toBe(0)
    expect(p.queued()).toBe(0)
    expect(p.take(10)).toBeUndefined()
  })

  it("holds a relist until it is complete, then queues it by resourceVersion", () => {
    const p = pipelineFrom("")
    p.ingest({ _tag: "Init" })
    p.ingest({ _tag: "InitPage", objects: [{ key: "z", object: { uid: "z", count: 1, rv: "5" } }] })
    expect(p.relisting()).toBe(true)
    expect(p.take(10)).toBeUndefined()
    p.ingest({ _tag: "InitPage", objects: [{ key: "a", object: { uid: "a", count: 3, rv: "9" } }] })
    p.ingest({ _tag: "InitPage", objects: [{ key: "m", object: { uid: "m", count: 1, rv: "2" } }] })
    p.ingest({ _tag: "InitDone" })
    expect(p.relisting()).toBe(false)
    const first = p.take(2)
    expect(first?.items.map((e) => e.rv)).toEqual(["2", "5"])
    // A prefix of a relist is a valid cursor: a leader dying now resumes after "5", not after "9".
    expect(first === undefined ? undefined : p.accepted(first)).toBe("5")
  })

  it("a relist after a 410 does not queue again what this leader already has", () => {
    const p = pipelineFrom("")
    p.ingest(apply({ uid: "a", count: 1, rv: "3" }))
    const batch = p.take(10)
    if (batch !== undefined) p.accepted(batch)
    p.ingest(apply({ uid: "b", count: 1, rv: "4" }))
    for (const e of relist([
      { uid: "b", count: 1, rv: "4" },
      { uid: "a", count: 2, rv: "6" }
    ]))
      p.ingest(e)
    const next = p.take(10)
    expect(next?.items.map(occurrence)).toEqual(["b#1", "a#2"])
    expect(next === undefined ? undefined : p.accepted(next)).toBe("6")
  })

  it("does not move the cursor past an older occurrence queued while a batch was out", () => {
    const p = pipelineFrom("")
    p.ingest(apply({ uid: "a", count: 1, rv: "10" }))
    const out = p.take(10)
    // While "a" is being shipped, a relist brings an occurrence the watch never delivered.
    for (const e of relist([
      { uid: "a", count: 1, rv: "10" },
      { uid: "old", count: 1, rv: "8" }
    ]))
      p.ingest(e)
    expect(out === undefined ? undefined : p.accepted(out)).toBeUndefined()
    expect(p.cursor()).toBe("")
    const rest = p.take(10)
    expect(rest?.items.map((e) => e.uid)).toEqual(["old"])
    // Both batches are in: the cursor reaches the higher one.
    expect(rest === undefined ? undefined : p.accepted(rest)).toBe("10")
  })

  it("deleted events are passed over, never shipped, and let the cursor move", () => {
    const p = pipelineFrom("1")
    expect(p.ingest({ _tag: "Delete", key: "a", object: { uid: "a", count: 4, rv: "2" } })).toBe(0)
    const batch = p.take(10)
    expect(batch).toEqual({ items: [], upTo: "2" })
    expect(batch === undefined ? undefined : p.accepted(batch)).toBe("2")
  })

  it("a batch holds at most `max` events", () => {
    const p = pipelineFrom("")
    for (let i = 1; i <= 7; i++) p.ingest(apply({ uid: `e${i}`, count: 1, rv: String(i) }))
    expect(p.take(3)?.items).toHaveLength(3)
    expect(p.queued()).toBe(4)
  })
})

// --- a simulated API server, Datadog and token ConfigMap, with crashes -----------------------------

type Op =
  | { readonly _tag: "create" }
  | { readonly _tag: "modify"; readonly pick: number }
  | { readonly _tag: "delete"; readonly pick: number }
  | { readonly _tag: "deliver"; readonly n: number }
  | { readonly _tag: "relist"; readonly seed: number }
  | { readonly _tag: "ship"; readonly max: number }
  | { readonly _tag: "commit" }
  | { readonly _tag: "crash"; readonly compacted: boolean }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ _tag: "create" } as const) },
  { weight: 3, arbitrary: fc.nat(50).map((pick) => ({ _tag: "modify", pick }) as const) },
  { weight: 1, arbitrary: fc.nat(50).map((pick) => ({ _tag: "delete", pick }) as const) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }).map((n) => ({ _tag: "deliver", n }) as const) },
  { weight: 1, arbitrary: fc.nat().map((seed) => ({ _tag: "relist", seed }) as const) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }).map((max) => ({ _tag: "ship", max }) as const) },
  { weight: 2, arbitrary: fc.constant({ _tag: "commit" } as const) },
  { weight: 1, arbitrary: fc.boolean().map((compacted) => ({ _tag: "crash", compacted }) as const) }
)

const shuffled = <A>(items: ReadonlyArray<A>, seed: number): Array<A> => {
  const out = [...items]
  let s = seed || 1
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648
    const j = s % (i + 1)
    ;[out[i], out[j]] = [out[j] as A, out[i] as A]
  }
  return out
}

interface Outcome {
  /** Every occurrence the API server ever held (history order). */
  readonly produced: ReadonlyArray<string>
  /** The live objects at the end. */
  readonly current: ReadonlyArray<string>
  /** What Datadog received, in order. */
  readonly shipped: ReadonlyArray<string>
  /** Occurrences Datadog accepted after the last token a dead leader managed to write. */
  readonly inDoubt: ReadonlySet<string>
  readonly token: string
  readonly lastRv: string
  /** A relist (after a 410, or a compacted token) shows the live objects, not every change. */
  readonly relistedEver: boolean
}

const simulate = (ops: ReadonlyArray<Op>): Outcome => {
  const history: Array<{ readonly deleted: boolean; readonly object: Ev }> = []
  const live = new Map<string, Ev>()
  let nextUid = 0
  const rvNow = () => String(history.length)
  const record = (object: Ev, deleted: boolean) => {
    history.push({ deleted, object })
    if (deleted) live.delete(object.uid)
    else live.set(object.uid, object)
  }

  const shipped: Array<string> = []
  const inDoubt = new Set<string>()
  let token = ""
  let relistedEver = false
  // The running leader: its pipeline and how far its WATCH has delivered.
  let pipeline = pipelineFrom(token)
  let delivered = 0
  let shippedByThis: Array<Ev> = []

  const deliverUpTo = (until: number) => {
    for (; delivered < until; delivered++) {
      const h = history[delivered] as (typeof history)[number]
      pipeline.ingest(h.deleted ? { _tag: "Delete", key: h.object.uid, object: h.object } : apply(h.object))
    }
  }
  const relistNow = (seed: number) => {
    relistedEver = true
    for (const e of relist(shuffled([...live.values()], seed), rvNow())) pipeline.ingest(e)
    delivered = history.length
  }
  const ship = (max: number): boolean => {
    const batch = pipeline.take(max)
    if (batch === undefined) return false
    for (const e of batch.items) {
      shipped.push(occurrence(e))
      shippedByThis.push(e)
    }
    pipeline.accepted(batch)
    return true
  }

  for (const o of ops) {
    switch (o._tag) {
      case "create":
        record({ uid: `u${nextUid++}`, count: 1, rv: String(history.length + 1) }, false)
        break
      case "modify":
      case "delete": {
        const uids = [...live.keys()]
        const uid = uids[o.pick % Math.max(1, uids.length)]
        const was = uid === undefined ? undefined : live.get(uid)
        if (was === undefined) break
        const rv = String(history.length + 1)
        record(o._tag === "modify" ? { ...was, count: was.count + 1, rv } : { ...was, rv }, o._tag === "delete")
        break
      }
      case "deliver":
        deliverUpTo(Math.min(history.length, delivered + o.n))
        break
      case "relist":
        relistNow(o.seed)
        break
      case "ship":
        ship(o.max)
        break
      case "commit":
        token = pipeline.cursor()
        break
      case "crash": {
        // What this leader shipped above the last token it wrote may be shipped again.
        for (const e of shippedByThis) if (byRv(e.rv, token) > 0) inDoubt.add(occurrence(e))
        shippedByThis = []
        pipeline = pipelineFrom(token)
        if (o.compacted) {
          relistNow(history.length)
        } else {
          delivered = Number(token === "" ? 0 : token)
        }
        break
      }
    }
  }
  // The last leader catches up and drains.
  deliverUpTo(history.length)
  while (ship(1000)) {}
  token = pipeline.cursor()
  return {
    produced: history.filter((h) => !h.deleted).map((h) => occurrence(h.object)),
    current: [...live.values()].map(occurrence),
    shipped,
    inDoubt,
    token,
    lastRv: rvNow(),
    relistedEver
  }
}

describe("the event pipeline over random histories, deliveries and leader crashes", () => {
  const ops = fc.array(op, { maxLength: 120 })

  const check = (property: (out: Outcome) => void) =>
    fc.assert(
      fc.property(ops, (o) => property(simulate(o))),
      { numRuns: 300 }
    )

  it("nothing shipped twice, except what a dead leader shipped above its last token", () =>
    check((out) => {
      const counts = new Map<string, number>()
      for (const s of out.shipped) counts.set(s, (counts.get(s) ?? 0) + 1)
      for (const [occ, n] of counts) if (n > 1) expect(out.inDoubt.has(occ), `${occ} shipped ${n} times`).toBe(true)
    }))

  it("nothing lost: every live occurrence is shipped, and every occurrence without relists", () =>
    check((out) => {
      const shipped = new Set(out.shipped)
      for (const occ of out.current) expect(shipped.has(occ), `${occ} lost`).toBe(true)
      // Without a relist every leader resumes by WATCH, which replays every change.
      if (!out.relistedEver) for (const occ of out.produced) expect(shipped.has(occ), `${occ} lost`).toBe(true)
    }))

  it("after draining, the token is the last resourceVersion delivered", () =>
    check((out) => {
      expect(out.token).toBe(out.lastRv === "0" ? "" : out.lastRv)
    }))
})
