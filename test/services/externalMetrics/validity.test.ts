/** How a refresh's outcome changes a metric's entry: valid, stale, no data, and failed chunks. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { QueryOutcome } from "../../../src/services/externalMetrics/points.ts"
import type { ExternalMetricEntry } from "../../../src/services/externalMetrics/types.ts"
import { applyOutcome } from "../../../src/services/externalMetrics/validity.ts"

const NOW = 1_700_000_000
const MAX_AGE = 120

const entry = (overrides: Partial<ExternalMetricEntry> = {}): ExternalMetricEntry => ({
  metricName: "nginx.net.request_per_s",
  labels: { kube_container_name: "nginx" },
  reference: { type: "horizontal", name: "nginx-hpa", namespace: "shop", uid: "u-1" },
  value: 7,
  ts: NOW - 30,
  valid: true,
  ...overrides
})

const point = (value: number, ts: number): QueryOutcome => ({ _tag: "Point", value, ts })
const RATE_LIMITED = "Datadog answered 429 (rate limited; X-RateLimit-Reset 12 s)"
const failed: QueryOutcome = { _tag: "Failed", reason: RATE_LIMITED }

describe("applyOutcome", () => {
  it("a fresh point: its value and time, valid, no problem", () => {
    const { entry: e, problem } = applyOutcome(entry({ valid: false }), point(2.5, NOW - 60), NOW, MAX_AGE)
    expect(e).toEqual(entry({ value: 2.5, ts: NOW - 60, valid: true }))
    expect(problem).toBeUndefined()
  })

  it("a point exactly max age old is still valid; one second more is not", () => {
    expect(applyOutcome(entry(), point(1, NOW - MAX_AGE), NOW, MAX_AGE).entry.valid).toBe(true)
    const stale = applyOutcome(entry(), point(1, NOW - MAX_AGE - 1), NOW, MAX_AGE)
    expect(stale.entry).toEqual(entry({ value: 1, ts: NOW, valid: false }))
    expect(stale.problem).toBe("the newest point is 121 s old, older than max age 120 s")
  })

  it("no data: invalid at once, ts now, the previous value kept, the reason as problem", () => {
    const noData: QueryOutcome = { _tag: "NoData", reason: "no series returned for q in the last 300 seconds" }
    const { entry: e, problem } = applyOutcome(entry(), noData, NOW, MAX_AGE)
    expect(e).toEqual(entry({ ts: NOW, valid: false }))
    expect(problem).toBe(noData.reason)
  })

  it("no outcome (the query was not answered): invalid", () => {
    const { entry: e, problem } = applyOutcome(entry(), undefined, NOW, MAX_AGE)
    expect(e).toEqual(entry({ ts: NOW, valid: false }))
    expect(problem).toMatch(/no result/)
  })

  it("a failed chunk keeps a valid entry unchanged while its value is within max age, and says so", () => {
    const previous = entry({ ts: NOW - 100 })
    const { entry: e, problem } = applyOutcome(previous, failed, NOW, MAX_AGE)
    expect(e).toBe(previous)
    expect(problem).toBe(
      `${RATE_LIMITED}; serving the last value, from 100 s ago, until it is older than max age 120 s`
    )
  })

  it("a failed chunk invalidates the entry once its last value is older than max age", () => {
    const { entry: e, problem } = applyOutcome(entry({ ts: NOW - 121 }), failed, NOW, MAX_AGE)
    expect(e).toEqual(entry({ ts: NOW, valid: false }))
    expect(problem).toMatch(/^Datadog answered 429 .*; the last value, from 121 s ago, is older than max age 120 s$/)
  })

  it("a failed chunk leaves an invalid entry invalid, with the failure as problem", () => {
    const { entry: e, problem } = applyOutcome(entry({ valid: false, ts: NOW - 5 }), failed, NOW, MAX_AGE)
    expect(e).toEqual(entry({ ts: NOW, valid: false }))
    expect(problem).toBe(RATE_LIMITED)
  })

  it("repeated failures serve the last good value exactly until max age, then invalidate it", () => {
    let current = applyOutcome(entry(), point(3, NOW), NOW, MAX_AGE).entry
    const validity: Array<boolean> = []
    for (let t = NOW + 30; t <= NOW + 180; t += 30) {
      current = applyOutcome(current, failed, t, MAX_AGE).entry
      validity.push(current.valid)
    }
    // 30, 60, 90, 120 s old: served; 150 s: invalid, and it stays so.
    expect(validity).toEqual([true, true, true, true, false, false])
    expect(current.value).toBe(3)
  })

  it("an entry is valid exactly when it holds a point no older than max age", () => {
    const outcome = fc.oneof(
      fc.record({
        _tag: fc.constant("Point" as const),
        value: fc.double({ noNaN: true }),
        ts: fc.integer({ min: NOW - 600, max: NOW })
      }),
      fc.record({ _tag: fc.constant("NoData" as const), reason: fc.string() }),
      fc.record({ _tag: fc.constant("Failed" as const), reason: fc.string() })
    )
    const previous = fc.record({
      valid: fc.boolean(),
      ts: fc.integer({ min: NOW - 600, max: NOW }),
      value: fc.double({ noNaN: true })
    })
    fc.assert(
      fc.property(
        previous,
        fc.option(outcome, { nil: undefined }),
        fc.integer({ min: 0, max: 600 }),
        (prev, o, maxAge) => {
          const { entry: e, problem } = applyOutcome(entry(prev), o, NOW, maxAge)
          if (e.valid) expect(NOW - e.ts).toBeLessThanOrEqual(maxAge)
          else {
            expect(e.ts).toBe(NOW)
            expect(problem).toBeDefined()
          }
          if (o?._tag === "Point") expect(e.value).toBe(o.value)
          else if (o?._tag !== "Failed" || !e.valid) expect(e.value).toBe(prev.value)
          // The identity of the entry never changes.
          expect(e.metricName).toBe("nginx.net.request_per_s")
          expect(e.reference.uid).toBe("u-1")
        }
      )
    )
  })
})
