import { describe, expect, it } from "@effect/vitest"
import type { ExternalMetricEntry } from "../../../src/services/externalMetrics/types.ts"
import { indexCopy, lookupIn, type MetricsCopy, namesIn } from "../../../src/services/externalMetrics/view.ts"

const entry = (metricName: string, labels: Record<string, string>, ts: number, valid = true): ExternalMetricEntry => ({
  metricName,
  labels,
  ts,
  value: 3,
  valid,
  reference: { type: "horizontal", name: `hpa-${metricName}`, namespace: "ns", uid: "u" }
})

const limits = { maxCopyAgeMs: 60_000, maxValueAgeSeconds: 180 }

const copy = (
  entries: Record<string, ExternalMetricEntry>,
  loadedAt: number,
  source: MetricsCopy["source"] = "configmap"
) =>
  indexCopy({
    entries: new Map(Object.entries(entries)),
    reasons: new Map([["bad", "Datadog said no"]]),
    loadedAt,
    source
  })

describe("a replica's copy as the API serves it", () => {
  const now = 1_000_000_000
  const nowS = now / 1000

  it("finds entries by metric name compared lower-cased", () => {
    const c = copy({ a: entry("Nginx.Requests", { app: "x" }, nowS - 10) }, now)
    const found = lookupIn(c, "nginx.requests", now, limits)
    expect(found).toEqual({
      _tag: "Entries",
      entries: [{ metricName: "Nginx.Requests", labels: { app: "x" }, value: 3, ts: nowS - 10, valid: true }]
    })
    expect(namesIn(c)).toEqual(["nginx.requests"])
    expect(lookupIn(c, "other", now, limits)).toEqual({ _tag: "Entries", entries: [] })
  })

  it("serves nothing before the first read, or from a copy older than twice the refresh rate", () => {
    expect(lookupIn(undefined, "m", now, limits)._tag).toBe("Unavailable")
    const c = copy({ a: entry("m", {}, nowS) }, now - 60_000)
    expect(lookupIn(c, "m", now, limits)._tag).toBe("Entries")
    const stale = lookupIn(c, "m", now + 1, limits)
    expect(stale).toEqual({ _tag: "Unavailable", reason: expect.stringContaining("copy is 60 s old (limit 60 s)") })
  })

  it("serves an invalid entry as invalid with the reason the replica knows", () => {
    const c = copy({ bad: entry("m", {}, nowS, false), other: entry("n", {}, nowS, false) }, now, "leader")
    expect(lookupIn(c, "m", now, limits)).toMatchObject({ entries: [{ valid: false, reason: "Datadog said no" }] })
    expect(lookupIn(c, "n", now, limits)).toMatchObject({ entries: [{ valid: false, reason: "no valid value yet" }] })
  })

  it("never presents a value the leader stopped renewing as fresh", () => {
    const c = copy({ a: entry("m", {}, nowS - 180) }, now)
    expect(lookupIn(c, "m", now, limits)).toMatchObject({ entries: [{ valid: true }] })
    expect(lookupIn(c, "m", now + 1000, limits)).toMatchObject({
      entries: [{ valid: false, reason: expect.stringContaining("181 s old and has not been renewed") }]
    })
  })
})
