// Property tests of the election over random interleavings, simulated purely: 2-5 candidates,
// each with its own clock (random offset; rates equal, or apart by less than the documented
// bound LeaseDuration/RenewDeadline = 2), a shared lock with optimistic concurrency, and
// requests that are delayed (also past the attempt timeout, when the elector has given up but
// the write still lands), dropped before the server, or applied with the answer lost.
// Candidates crash or stop gracefully (release) at random times.
//
// Each candidate runs LeaderLease's attempt (fast path, read, decide, write) with the very
// functions of src/layers/leader/decide.ts, and its leader work runs by the rule the elector
// uses: from the winning answer until the renew deadline of its last renewal. That is the
// latest the work may still be stopping (the elector interrupts it a stop grace earlier), so
// it is stricter than the stop-before-deadline rule `leadsAt`, which is checked as well.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  afterRead,
  afterRelease,
  afterWrite,
  canWriteDirectly,
  deadlineOf,
  decide,
  type ElectorState,
  heldBy,
  initialState,
  leadsAt,
  nextDelay,
  type Outcome,
  releasedRecord,
  type Snapshot,
  type Step,
  type Term
} from "../../../src/layers/leader/decide.ts"
import { emptyRecord, type LeaderRecord } from "../../../src/layers/leader/record.ts"
import { type Timings, timingsFor } from "../../../src/layers/leader/timings.ts"

const timings8s = timingsFor(8000) // deadline 4 s, retry 2 s, grace and renew retry 0.5 s, attempt timeout 1 s

/** Deterministic randomness for one run (fast-check picks the seed and the parameters). */
const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
  return ((x ^ (x >>> 14)) >>> 0) / 4294967296
}

type Obj = { readonly rv: number }
type Snap = Snapshot<Obj>
type Initial = "absent" | "released" | "foreign" | "garbled"

interface Params {
  readonly n: number
  readonly seed: number
  readonly offsets: ReadonlyArray<number>
  readonly rates: ReadonlyArray<number>
  readonly failRate: number
  /** Largest one-way delay of a request, in ms (the attempt timeout is 1000). */
  readonly maxDelay: number
  readonly precision: number
  readonly initial: Initial
  /** Per candidate: when (real ms) it crashes or stops gracefully, if it does. */
  readonly stops: ReadonlyArray<{ readonly at: number; readonly graceful: boolean } | null>
}

interface Candidate {
  readonly id: string
  readonly offset: number
  readonly rate: number
  state: ElectorState<Obj>
  /** The latest term, kept after it ends: its work may run until its deadline. */
  lastTerm: Term | undefined
  alive: boolean
  /** Graceful stop: leader work stopped, the loop interrupted, only the release runs. */
  closing: boolean
  /** Independent bookkeeping: when (local) this candidate first saw each stored version. */
  readonly firstSeen: Map<number, number>
  terms: number
}

interface Stored {
  readonly record: LeaderRecord
  readonly problems: Snap["problems"]
  readonly rv: number
}

interface Result {
  readonly terms: number
  readonly violations: ReadonlyArray<string>
  /** Real ms from each release landing to the next holder's write landing. */
  readonly handovers: ReadonlyArray<number>
}

const simulate = (p: Params, horizon: number, T: Timings = timings8s): Result => {
  const rnd = mulberry32(p.seed)
  const violations: Array<string> = []
  const handovers: Array<number> = []
  let releasedAt: number | undefined
  let now = 0
  let seq = 0
  const queue: Array<{ t: number; seq: number; run: () => void }> = []
  const at = (t: number, run: () => void) => {
    queue.push({ t, seq: seq++, run })
  }

  // --- the API server: one object, resourceVersion checked on every write ---
  let rv = 1
  let stored: Stored | undefined =
    p.initial === "absent"
      ? undefined
      : p.initial === "released"
        ? { record: releasedRecord({ ...emptyRecord, transitions: 2 }, 0, 1), problems: [], rv }
        : p.initial === "foreign"
          ? {
              record: { ...emptyRecord, holderIdentity: "old-agent", leaseDurationSeconds: 8, transitions: 2 },
              problems: [],
              rv
            }
          : {
              record: { ...emptyRecord, holderIdentity: "old-agent", transitions: 2 },
              problems: [{ field: "spec.renewTime", problem: "garbled" }],
              rv
            }
  const snapOf = (s: Stored): Snap => ({
    record: s.record,
    problems: s.problems,
    version: String(s.rv),
    object: { rv: s.rv }
  })

  /** Server-side checks of every write: one more transition per change of holder, none per renewal. */
  const checkWrite = (before: LeaderRecord, after: LeaderRecord, writer: string) => {
    if (after.holderIdentity === "") {
      if (after.transitions !== before.transitions) violations.push(`release by ${writer} changed the transition count`)
    } else if (after.holderIdentity !== before.holderIdentity) {
      if (after.transitions !== before.transitions + 1) {
        violations.push(`takeover by ${writer}: transitions ${before.transitions} → ${after.transitions}`)
      }
    } else if (
      after.transitions !== before.transitions ||
      after.acquireTime?.getTime() !== before.acquireTime?.getTime()
    ) {
      violations.push(`renewal by ${writer} changed the transitions or the acquire time`)
    }
  }
  const server = {
    get: (): Snap | undefined => (stored === undefined ? undefined : snapOf(stored)),
    create: (record: LeaderRecord): Snap | "conflict" => {
      if (stored !== undefined) return "conflict"
      stored = { record, problems: [], rv: ++rv }
      return snapOf(stored)
    },
    update: (held: Snap, record: LeaderRecord, writer: string): Snap | "conflict" => {
      if (stored === undefined || stored.rv !== held.object.rv) return "conflict"
      checkWrite(stored.record, record, writer)
      if (record.holderIdentity === "") releasedAt = now
      else if (releasedAt !== undefined) {
        handovers.push(now - releasedAt)
        releasedAt = undefined
      }
      stored = { record, problems: [], rv: ++rv }
      return snapOf(stored)
    }
  }

  // --- candidates ---
  const candidates: Array<Candidate> = Array.from({ length: p.n }, (_, i) => ({
    id: `dca-${i}`,
    offset: p.offsets[i] ?? 0,
    rate: p.rates[i] ?? 1,
    state: initialState,
    lastTerm: undefined,
    alive: true,
    closing: false,
    firstSeen: new Map(),
    terms: 0
  }))
  const local = (c: Candidate) => c.offset + c.rate * now
  // Wall clocks: skewed by minutes, for the record's times only.
  const wall = (c: Candidate) => 1_767_225_600_000 + c.offset * 7 + c.rate * now

  const apply = (c: Candidate, step: Step<Obj>) => {
    c.state = step.state
    const term = step.state.term
    if (term !== undefined) {
      if (c.lastTerm === undefined || term.since !== c.lastTerm.since) c.terms++
      c.lastTerm = term
    }
  }
  const mayRunWork = (c: Candidate) =>
    c.alive &&
    !c.closing &&
    c.lastTerm !== undefined &&
    local(c) >= c.lastTerm.since &&
    local(c) < deadlineOf(c.lastTerm, T)
  const believes = (c: Candidate) => c.alive && !c.closing && leadsAt(c.state.term, local(c), T)

  const noteSeen = (c: Candidate, snap: Snap | undefined) => {
    if (snap !== undefined && !c.firstSeen.has(snap.object.rv)) c.firstSeen.set(snap.object.rv, local(c))
  }

  /**
   * One request: reaches the server after a delay (unless dropped) and is applied there; the
   * answer comes back after another delay (unless lost), or the attempt gives up at `deadline`.
   */
  const request = <A>(deadline: number, serve: () => A, done: (answer: A | "failed") => void) => {
    const there = now + rnd() * p.maxDelay
    const back = there + rnd() * p.maxDelay
    const dropped = rnd() < p.failRate / 2
    const lost = rnd() < p.failRate / 2
    let answer: A | undefined
    if (!dropped) at(there, () => (answer = serve()))
    if (back > deadline) at(deadline, () => done("failed"))
    else at(back, () => done(dropped || lost ? "failed" : (answer as A)))
  }

  /** LeaderLease's attempt, step for step. */
  const attempt = (c: Candidate) => {
    if (!c.alive || c.closing) return
    const startedAt = local(c)
    const wallNow = wall(c)
    const deadline = now + T.attemptTimeout / c.rate
    let finished = false
    const finish = (outcome: Outcome) => {
      if (finished || !c.alive || c.closing) return
      finished = true
      const delay = nextDelay(c.state, outcome, local(c), T, rnd())
      at(now + delay / c.rate, () => attempt(c))
    }
    const base = { identity: c.id, wallNow, timings: T, precision: p.precision }
    const wrote = (answer: Snap | "conflict" | "failed") => {
      if (finished || !c.alive || c.closing) return
      if (answer === "conflict" || answer === "failed") return finish("Failed")
      apply(c, afterWrite(c.state, answer, startedAt, local(c), T))
      finish("Written")
    }
    const slowPath = () =>
      request(deadline, server.get, (answer) => {
        if (finished || !c.alive || c.closing) return
        if (answer === "failed") return finish("Failed")
        noteSeen(c, answer)
        apply(c, afterRead(c.state, answer, local(c), c.id, T))
        const observed = c.state.observed
        const d = decide({ ...base, observed, now: local(c) })
        if (d._tag === "Wait") return finish("Waiting")
        if (d._tag === "Unchanged") return finish("Unchanged")
        if (d._tag === "Create") return request(deadline, () => server.create(d.record), wrote)
        const held = observed?.snapshot as Snap
        if (d.takeover && (held.record.holderIdentity !== "" || held.problems.length > 0)) {
          // Independent check: the claim was seen unchanged for its lease duration, locally.
          const first = c.firstSeen.get(held.object.rv) ?? Number.POSITIVE_INFINITY
          const needed = Math.max(
            held.record.leaseDurationSeconds * 1000,
            held.problems.length > 0 ? T.leaseDuration : 0
          )
          if (local(c) - first < needed) violations.push(`${c.id} took over a live claim after ${local(c) - first} ms`)
        }
        request(deadline, () => server.update(held, d.record, c.id), wrote)
      })

    const held = c.state.observed
    if (held !== undefined && canWriteDirectly(c.state, c.id, startedAt, T)) {
      const d = decide({ ...base, observed: held, now: startedAt })
      if (d._tag === "Unchanged") return finish("Unchanged")
      if (d._tag === "Write") {
        return request(
          deadline,
          () => server.update(held.snapshot, d.record, c.id),
          (answer) => {
            if (finished || !c.alive || c.closing) return
            if (answer === "conflict" || answer === "failed") {
              if (now >= deadline) return finish("Failed")
              return slowPath()
            }
            wrote(answer)
          }
        )
      }
    }
    slowPath()
  }

  /** LeaderLease's shutdown: work and loop stop, then release what is still ours. */
  const release = (c: Candidate) => {
    const deadline = now + T.renewDeadline / c.rate
    const write = (held: Snap, then: (answer: Snap | "conflict" | "failed") => void) =>
      request(deadline, () => server.update(held, releasedRecord(held.record, wall(c), p.precision), c.id), then)
    const observed = c.state.observed
    if (observed === undefined || !heldBy(observed.snapshot, c.id)) return
    write(observed.snapshot, (answer) => {
      if (answer === "conflict") {
        request(deadline, server.get, (current) => {
          if (current !== "failed" && current !== undefined && heldBy(current, c.id)) {
            write(current, (again) => {
              if (again !== "conflict" && again !== "failed") apply(c, afterRelease(c.state, again, local(c)))
            })
          }
        })
      } else if (answer !== "failed") apply(c, afterRelease(c.state, answer, local(c)))
    })
  }

  for (const c of candidates) at(rnd() * T.retryPeriod, () => attempt(c))
  p.stops.slice(0, p.n).forEach((stop, i) => {
    const c = candidates[i] as Candidate
    if (stop === null) return
    at(stop.at, () => {
      if (stop.graceful) {
        c.closing = true
        release(c)
      } else c.alive = false
    })
  })

  while (queue.length > 0) {
    queue.sort((a, b) => a.t - b.t || a.seq - b.seq)
    const next = queue.shift() as (typeof queue)[number]
    if (next.t > horizon) break
    now = next.t
    next.run()
    const running = candidates.filter(mayRunWork).map((c) => c.id)
    if (running.length > 1) violations.push(`at ${now.toFixed(1)} ms leader work may run on ${running.join(", ")}`)
    const leading = candidates.filter(believes).map((c) => c.id)
    if (leading.length > 1) violations.push(`at ${now.toFixed(1)} ms ${leading.join(", ")} believe they lead`)
    if (violations.length > 0) break
  }
  return { terms: candidates.reduce((n, c) => n + c.terms, 0), violations, handovers }
}

const stop = fc.option(fc.record({ at: fc.integer({ min: 0, max: 120_000 }), graceful: fc.boolean() }), { nil: null })

const params = (rates: fc.Arbitrary<ReadonlyArray<number>>): fc.Arbitrary<Params> =>
  fc.record({
    n: fc.integer({ min: 2, max: 5 }),
    seed: fc.integer(),
    offsets: fc.array(fc.integer({ min: -10_000_000, max: 10_000_000 }), { minLength: 5, maxLength: 5 }),
    rates,
    failRate: fc.constantFrom(0, 0.05, 0.2, 0.5),
    maxDelay: fc.constantFrom(0, 20, 300, 700),
    precision: fc.constantFrom(1, 1000),
    initial: fc.constantFrom<Initial>("absent", "released", "foreign", "garbled"),
    stops: fc.array(stop, { minLength: 5, maxLength: 5 })
  })

const equalRates = fc.constant([1, 1, 1, 1, 1])
// Any two rates within [0.8, 1.5] differ by a factor below 1.875 < 2.
const skewedRates = fc.array(fc.double({ min: 0.8, max: 1.5, noNaN: true }), { minLength: 5, maxLength: 5 })

describe("election over random interleavings (pure simulation)", () => {
  it("never lets two candidates run leader work at once (equal clock rates)", () => {
    fc.assert(
      fc.property(params(equalRates), (p) => {
        expect(simulate(p, 160_000).violations).toEqual([])
      }),
      { numRuns: 300 }
    )
  })

  it("never lets two candidates run leader work at once (clock rates apart by less than 2×)", () => {
    fc.assert(
      fc.property(params(skewedRates), (p) => {
        expect(simulate(p, 160_000).violations).toEqual([])
      }),
      { numRuns: 300 }
    )
  })

  it("elects someone when requests do not fail", () => {
    fc.assert(
      fc.property(params(skewedRates), (p) => {
        // Round trips well inside the attempt timeout, so attempts can succeed.
        const result = simulate(
          { ...p, failRate: 0, maxDelay: Math.min(p.maxDelay, 120), stops: [null, null, null, null, null] },
          160_000
        )
        expect(result.violations).toEqual([])
        expect(result.terms).toBeGreaterThan(0)
      }),
      { numRuns: 100 }
    )
  })

  it("a released lock is taken at once: by the next attempt of another candidate, not after a lease duration", () => {
    let handovers = 0
    fc.assert(
      fc.property(params(equalRates), (p) => {
        const maxDelay = Math.min(p.maxDelay, 120)
        // Everyone stops gracefully, one after the other, so each release has a successor.
        const stops = [0, 1, 2, 3, 4].map((i) => (i < p.n - 1 ? { at: 20_000 + i * 30_000, graceful: true } : null))
        const result = simulate({ ...p, failRate: 0, maxDelay, stops }, 160_000)
        expect(result.violations).toEqual([])
        // An attempt in flight, then one jittered retry period, then a read and a write.
        const bound = timings8s.attemptTimeout + timings8s.retryPeriod * 2.2 + 4 * maxDelay
        expect(bound).toBeLessThan(timings8s.leaseDuration)
        for (const gap of result.handovers) expect(gap).toBeLessThanOrEqual(bound)
        handovers += result.handovers.length
      }),
      { numRuns: 100 }
    )
    expect(handovers).toBeGreaterThan(50)
  })

  it("the rate bound matters: with one clock 4× faster than another, two leaders do happen", () => {
    const apart = fc.constant([1, 4, 1, 4, 1])
    const overlapping = fc
      .sample(params(apart), { numRuns: 400, seed: 1 })
      .filter(
        (p) => simulate({ ...p, failRate: 0.5, stops: [null, null, null, null, null] }, 160_000).violations.length > 0
      )
    expect(overlapping.length).toBeGreaterThan(0)
  })

  it("would catch two leaders: followers that wait only half the renew deadline are caught", () => {
    // The checker must be able to fail: with a lease shorter than the renew deadline, a follower
    // takes over while the old leader's work may still run.
    const broken: Timings = { ...timings8s, leaseDuration: timings8s.renewDeadline / 2 }
    const caught = fc
      .sample(params(equalRates), { numRuns: 200, seed: 7 })
      .filter((p) => simulate({ ...p, failRate: 0.3, maxDelay: 20 }, 160_000, broken).violations.length > 0)
    expect(caught.length).toBeGreaterThan(0)
  })
})
