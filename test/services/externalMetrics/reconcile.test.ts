import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { configMapKey } from "../../../src/services/externalMetrics/configMap.ts"
import { answers, reconcile } from "../../../src/services/externalMetrics/reconcile.ts"
import type { ExternalMetricEntry, MetricRequest } from "../../../src/services/externalMetrics/types.ts"

const request = (name: string, metricName: string, labels: Record<string, string> = {}, uid = `uid-${name}`) =>
  ({ metricName, labels, reference: { type: "horizontal", name, namespace: "ns", uid } }) satisfies MetricRequest

const answered = (r: MetricRequest, value: number): ExternalMetricEntry => ({ ...r, value, ts: 100, valid: true })

describe("reconcile (the leader's store against the HPAs)", () => {
  it("keeps answers, adds placeholders, drops what no HPA asks for", () => {
    const kept = request("a", "m1")
    const gone = request("b", "m2")
    const current = new Map([
      [configMapKey(kept), answered(kept, 1)],
      [configMapKey(gone), answered(gone, 2)]
    ])
    const fresh = request("c", "m3", { env: "prod" })
    const next = reconcile(current, [kept, fresh], 500)
    expect([...next.entries.keys()]).toEqual([configMapKey(kept), configMapKey(fresh)])
    expect(next.entries.get(configMapKey(kept))).toBe(current.get(configMapKey(kept)))
    expect(next.entries.get(configMapKey(fresh))).toEqual({ ...fresh, value: 0, ts: 500, valid: false })
    expect(next.added).toEqual([configMapKey(fresh)])
    expect(next.removed).toEqual([configMapKey(gone)])
  })

  it("replaces the entry of a recreated HPA (new uid) or of changed labels", () => {
    const old = request("a", "m", { env: "prod" }, "old-uid")
    const current = new Map([[configMapKey(old), answered(old, 7)]])
    for (const now of [request("a", "m", { env: "prod" }, "new-uid"), request("a", "m", { env: "dev" }, "old-uid")]) {
      const next = reconcile(current, [now], 9)
      expect(next.entries.get(configMapKey(now))).toEqual({ ...now, value: 0, ts: 9, valid: false })
      expect(next.added).toEqual([configMapKey(now)])
      expect(next.removed).toEqual([configMapKey(old)])
    }
  })

  const requests = fc.array(
    fc.record({
      name: fc.constantFrom("a", "b", "c", "d"),
      metric: fc.constantFrom("m1", "m2", "m3"),
      env: fc.constantFrom("prod", "dev"),
      uid: fc.constantFrom("1", "2")
    }),
    { maxLength: 12 }
  )
  const toRequests = (rs: ReadonlyArray<{ name: string; metric: string; env: string; uid: string }>) =>
    rs.map((r) => request(r.name, r.metric, { env: r.env }, r.uid))

  it("holds one entry per requested key, and each kept entry answers its request", () =>
    fc.assert(
      fc.property(requests, requests, (before, after) => {
        const first = reconcile(new Map(), toRequests(before), 1)
        const current = new Map([...first.entries].map(([k, e]) => [k, { ...e, value: 5, valid: true }] as const))
        const next = reconcile(current, toRequests(after), 2)
        expect(new Set(next.entries.keys())).toEqual(new Set(toRequests(after).map(configMapKey)))
        for (const [key, e] of next.entries) {
          const r = toRequests(after).find((x) => configMapKey(x) === key)
          expect(r).toBeDefined()
          if (next.added.includes(key)) expect(e).toEqual({ ...r, value: 0, ts: 2, valid: false })
          else expect(r !== undefined && answers(e, r)).toBe(true)
        }
        for (const key of next.removed) expect(next.entries.get(key)).not.toBe(current.get(key))
        for (const key of current.keys()) {
          if (!next.removed.includes(key)) expect(next.entries.get(key)).toBe(current.get(key))
        }
      })
    ))
})
