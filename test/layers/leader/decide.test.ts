// The pure decisions, one rule at a time (the interleavings are in simulation.test.ts).
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
  expire,
  initialState,
  isHealthy,
  leadsAt,
  nextDelay,
  type Observed,
  observe,
  reasonDeadline,
  releasedRecord,
  type Snapshot,
  stopAtOf,
  validUntil
} from "../../../src/layers/leader/decide.ts"
import { emptyRecord, type LeaderRecord } from "../../../src/layers/leader/record.ts"
import { acquireDelay, timingsFor } from "../../../src/layers/leader/timings.ts"

const t = timingsFor(60_000)
const me = "dca-a"

const rec = (holder: string, extra: Partial<LeaderRecord> = {}): LeaderRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 60,
  acquireTime: new Date("2026-01-01T00:00:00Z"),
  renewTime: new Date("2026-01-01T00:00:10Z"),
  transitions: 4,
  ...extra
})
const snap = (record: LeaderRecord, version = "1", problems: Snapshot["problems"] = []): Snapshot<string> => ({
  record,
  problems,
  version,
  object: `object@${version}`
})
const seen = (record: LeaderRecord, observedAt: number, version = "1"): Observed<string> => ({
  snapshot: snap(record, version),
  observedAt
})
const input = (observed: Observed | undefined, now: number, wallNow = 1_767_225_700_123) => ({
  observed,
  identity: me,
  now,
  wallNow,
  timings: t,
  precision: 1
})

describe("timings", () => {
  it("derive from the lease duration like the original's, and satisfy client-go's validation", () => {
    expect(t).toMatchObject({ leaseDuration: 60_000, renewDeadline: 30_000, retryPeriod: 15_000, jitterFactor: 1.2 })
    expect(t.stopGrace).toBe(3750)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3600 }), (seconds) => {
        const x = timingsFor(seconds * 1000)
        expect(x.leaseDuration).toBeGreaterThan(x.renewDeadline)
        expect(x.renewDeadline).toBeGreaterThan(x.jitterFactor * x.retryPeriod)
        // A failed renewal gets at least two more tries before the work is stopped.
        expect(x.renewDeadline - x.stopGrace - x.retryPeriod).toBeGreaterThanOrEqual(2 * x.renewRetry)
      })
    )
  })

  it("refuse what the record cannot carry", () => {
    expect(() => timingsFor(500)).toThrow(RangeError)
    expect(() => timingsFor(1500)).toThrow(RangeError)
  })

  it("jitter acquire attempts between 1 and 2.2 retry periods", () => {
    expect(acquireDelay(t, 0)).toBe(15_000)
    expect(acquireDelay(t, 0.999999)).toBeCloseTo(33_000, 0)
  })
})

describe("observe", () => {
  it("keeps the first sighting of a version, and restarts it when the version changes", () => {
    const first = observe(undefined, snap(rec("b"), "7"), 100)
    expect(first.observedAt).toBe(100)
    expect(observe(first, snap(rec("b"), "7"), 900).observedAt).toBe(100)
    expect(observe(first, snap(rec("b"), "8"), 900).observedAt).toBe(900)
  })
})

describe("decide", () => {
  it("creates the lock when there is none", () => {
    expect(decide(input(undefined, 0))).toEqual({
      _tag: "Create",
      record: {
        holderIdentity: me,
        leaseDurationSeconds: 60,
        acquireTime: new Date(1_767_225_700_123),
        renewTime: new Date(1_767_225_700_123),
        transitions: 0
      }
    })
  })

  it("renews its own record: acquire time and transitions stay, renew time moves", () => {
    const d = decide(input(seen(rec(me), 0), 5000))
    expect(d).toEqual({
      _tag: "Write",
      takeover: false,
      record: { ...rec(me), renewTime: new Date(1_767_225_700_123) }
    })
  })

  it("writes nothing when the renewal would store the same record (same second on a ConfigMap)", () => {
    const record = rec(me, { renewTime: new Date("2026-01-01T00:00:10Z") })
    const wallNow = new Date("2026-01-01T00:00:10.900Z").getTime()
    expect(decide({ ...input(seen(record, 0), 1000, wallNow), precision: 1000 })).toEqual({ _tag: "Unchanged" })
    expect(decide({ ...input(seen(record, 0), 1000, wallNow), precision: 1 })._tag).toBe("Write")
  })

  it("waits while another holder's record has not stayed unchanged for its lease duration", () => {
    expect(decide(input(seen(rec("b"), 1000), 60_999))).toEqual({ _tag: "Wait", holder: "b", until: 61_000 })
    expect(decide(input(seen(rec("b"), 1000), 61_000))).toMatchObject({ _tag: "Write", takeover: true })
  })

  it("a live foreign lease is never taken before a full lease duration of local observation", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((h) => h !== me),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: -1e9, max: 1e9 }),
        fc.integer({ min: 0, max: 4_000_000 }),
        (holder, seconds, observedAt, elapsed) => {
          const d = decide(
            input(seen(rec(holder, { leaseDurationSeconds: seconds }), observedAt), observedAt + elapsed)
          )
          expect(d._tag).toBe(elapsed < seconds * 1000 ? "Wait" : "Write")
        }
      )
    )
  })

  it("uses the record's lease duration, never its times (another node's clock)", () => {
    // Renewed "in the future" or "long ago" by the writer's clock: only local observation counts.
    const future = rec("b", { renewTime: new Date("2099-01-01T00:00:00Z"), leaseDurationSeconds: 15 })
    expect(decide(input(seen(future, 0), 15_000))._tag).toBe("Write")
    const past = rec("b", { renewTime: new Date("2000-01-01T00:00:00Z"), leaseDurationSeconds: 15 })
    expect(decide(input(seen(past, 0), 14_999))._tag).toBe("Wait")
  })

  it("a released record (no holder) is taken at once", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 0, max: 100 }), (observedAt, elapsed) => {
        const released = releasedRecord(rec("b"), 0, 1)
        expect(decide(input(seen(released, observedAt), observedAt + elapsed))).toMatchObject({
          _tag: "Write",
          takeover: true,
          record: { holderIdentity: me, transitions: 5 }
        })
      })
    )
  })

  it("a takeover counts one more transition and starts a new acquire time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 2 }), fc.boolean(), (transitions, released) => {
        const record = rec(released ? "" : "b", { transitions })
        const d = decide(input(seen(record, 0), 60_000))
        expect(d).toEqual({
          _tag: "Write",
          takeover: true,
          record: {
            holderIdentity: me,
            leaseDurationSeconds: 60,
            acquireTime: new Date(1_767_225_700_123),
            renewTime: new Date(1_767_225_700_123),
            transitions: transitions + 1
          }
        })
      })
    )
  })

  it("a garbled record counts as held by an unknown replica for at least our lease duration, even naming us", () => {
    const problems = [{ field: "spec.renewTime", problem: "bad" }]
    const garbled = (holder: string, seconds: number): Observed => ({
      snapshot: snap(rec(holder, { leaseDurationSeconds: seconds }), "1", problems),
      observedAt: 0
    })
    expect(validUntil(garbled("b", 1), t)).toBe(60_000)
    expect(validUntil(garbled("b", 120), t)).toBe(120_000)
    expect(decide(input(garbled(me, 0), 59_999))).toMatchObject({ _tag: "Wait" })
    expect(decide(input(garbled("", 0), 59_999))).toMatchObject({ _tag: "Wait" })
    expect(decide(input(garbled("b", 0), 60_000))).toMatchObject({ _tag: "Write", takeover: true })
  })

  it("truncates the times it writes to what the lock stores", () => {
    const d = decide({ ...input(undefined, 0, Date.parse("2026-01-01T00:00:10.999Z")), precision: 1000 })
    expect(d).toMatchObject({ record: { renewTime: new Date("2026-01-01T00:00:10Z") } })
  })

  it("the released record: no holder, 1 s, times now, same transitions", () => {
    expect(releasedRecord(rec(me), Date.parse("2026-01-01T00:01:00.5Z"), 1000)).toEqual({
      holderIdentity: "",
      leaseDurationSeconds: 1,
      acquireTime: new Date("2026-01-01T00:01:00Z"),
      renewTime: new Date("2026-01-01T00:01:00Z"),
      transitions: 4
    })
  })
})

describe("leadership terms", () => {
  const leading = (renewedAt: number): ElectorState<string> => ({
    observed: seen(rec(me), renewedAt + 100),
    term: { since: 0, renewedAt },
    lastContact: renewedAt + 100
  })

  it("work stops a grace before the deadline, which is a renew deadline after the last renewal started", () => {
    const term = { since: 50, renewedAt: 1000 }
    expect(deadlineOf(term, t)).toBe(31_000)
    expect(stopAtOf(term, t)).toBe(27_250)
    expect(leadsAt(term, 27_249, t)).toBe(true)
    expect(leadsAt(term, 27_250, t)).toBe(false)
    expect(leadsAt(undefined, 0, t)).toBe(false)
  })

  it("a successful write starts a term, or extends the running one from when the write started", () => {
    const won = afterWrite<string>(initialState, snap(rec(me), "2"), 100, 180, t)
    expect(won.state.term).toEqual({ since: 180, renewedAt: 100 })
    expect(won.state.observed).toEqual({ snapshot: snap(rec(me), "2"), observedAt: 180 })
    const renewed = afterWrite(won.state, snap(rec(me), "3"), 15_000, 15_050, t)
    expect(renewed.state.term).toEqual({ since: 180, renewedAt: 15_000 })
    expect(renewed.ended).toBeUndefined()
  })

  it("a write answered after its own stop time leads nowhere", () => {
    const late = afterWrite(leading(0), snap(rec(me), "2"), 0, 26_250, t)
    expect(late.state.term).toBeUndefined()
    expect(late.ended).toBe(reasonDeadline)
  })

  it("after the stop time the term ends; a later success starts a new one", () => {
    const ended = expire(leading(0), 26_250, t)
    expect(ended).toEqual({ state: { ...leading(0), term: undefined }, ended: reasonDeadline })
    expect(expire(leading(0), 26_249, t).ended).toBeUndefined()
    const again = afterWrite(ended.state, snap(rec(me), "4"), 26_300, 26_400, t)
    expect(again.state.term).toEqual({ since: 26_400, renewedAt: 26_300 })
  })

  it("reading another holder ends the term at once", () => {
    const read = afterRead(leading(0), snap(rec("b"), "9"), 5000, me, t)
    expect(read.state.term).toBeUndefined()
    expect(read.ended).toBe("the lock is now held by b")
    expect(read.state.lastContact).toBe(5000)
    expect(afterRead(leading(0), snap(rec(me), "9"), 5000, me, t).state.term).toEqual({ since: 0, renewedAt: 0 })
    expect(afterRead(leading(0), snap(emptyRecord, "9"), 5000, me, t).ended).toBe("the lock is now held by nobody")
  })

  it("a read of a missing lock forgets the observation but not the term", () => {
    const read = afterRead(leading(0), undefined, 5000, me, t)
    expect(read.state.observed).toBeUndefined()
    expect(read.state.term).toEqual({ since: 0, renewedAt: 0 })
  })

  it("releasing ends the term", () => {
    const released = afterRelease(leading(0), snap(releasedRecord(rec(me), 0, 1), "5"), 3000)
    expect(released.state.term).toBeUndefined()
    expect(released.ended).toBe("released the lock")
  })

  it("the fast path writes directly only over our own record, while our view of it is valid", () => {
    expect(canWriteDirectly(leading(0), me, 60_099, t)).toBe(true)
    expect(canWriteDirectly(leading(0), me, 60_100, t)).toBe(false)
    expect(canWriteDirectly(leading(0), "dca-b", 1000, t)).toBe(false)
    expect(canWriteDirectly(initialState, me, 0, t)).toBe(false)
  })

  it("a leader renews every retry period and retries a failure sooner; others wait a jittered retry period", () => {
    expect(nextDelay(leading(0), "Written", 1000, t, 0.5)).toBe(15_000)
    expect(nextDelay(leading(0), "Failed", 1000, t, 0.5)).toBe(3750)
    expect(nextDelay(leading(0), "Unchanged", 1000, t, 0.5)).toBe(3750)
    expect(nextDelay(initialState, "Waiting", 1000, t, 0.5)).toBe(15_000 * 1.6)
    expect(nextDelay(leading(0), "Failed", 26_250, t, 0)).toBe(15_000)
  })
})

describe("readiness", () => {
  const base: ElectorState = { observed: undefined, term: undefined, lastContact: 1000 }

  it("is unhealthy before the lock ever answered", () => {
    expect(isHealthy(initialState, 0, t, 15_000)).toBe(false)
  })

  it("a follower is healthy while the lock answered within a lease duration plus the tolerance", () => {
    expect(isHealthy(base, 1000 + 75_000, t, 15_000)).toBe(true)
    expect(isHealthy(base, 1000 + 75_001, t, 15_000)).toBe(false)
  })

  it("a replica that believes it leads but has not renewed within a lease duration is stuck", () => {
    const stuck = { ...base, term: { since: 0, renewedAt: 0 }, lastContact: 60_000 }
    expect(isHealthy(stuck, 60_000, t, 15_000)).toBe(true)
    expect(isHealthy(stuck, 60_001, t, 15_000)).toBe(false)
  })
})
