import { describe, expect, it } from "@effect/vitest"
import { disabledStatus, providerStatus } from "../../../src/services/externalMetrics/status.ts"
import type { ExternalMetricEntry } from "../../../src/services/externalMetrics/types.ts"
import { indexCopy } from "../../../src/services/externalMetrics/view.ts"

const now = 1_000_000_000
const nowS = now / 1000
const limits = { maxCopyAgeMs: 60_000, maxValueAgeSeconds: 180 }

const entry = (metricName: string, ts: number, valid = true): ExternalMetricEntry => ({
  metricName,
  labels: { app: "x" },
  ts,
  value: 7,
  valid,
  reference: { type: "horizontal", name: `hpa-${metricName}`, namespace: "shop", uid: "u" }
})

const state = (entries: Record<string, ExternalMetricEntry>, loadedAt = now) => ({
  configMap: "datadog/datadog-custom-metrics",
  indexed: indexCopy({
    entries: new Map(Object.entries(entries)),
    reasons: new Map([["z-bad", "Datadog said no"]]),
    loadedAt,
    source: "configmap" as const
  }),
  limits,
  nowMs: now,
  leader: false,
  problems: []
})

describe("the provider's status", () => {
  it("judges each metric as the API would serve it now, sorted by key, with the reason", () => {
    const s = providerStatus(
      state({ "z-bad": entry("m", nowS, false), "b-old": entry("n", nowS - 181), "a-ok": entry("o", nowS - 10) })
    )
    expect(s.metrics.map((m) => [m.key, m.valid])).toEqual([
      ["a-ok", true],
      ["b-old", false],
      ["z-bad", false]
    ])
    expect(s.metrics[2]?.reason).toBe("Datadog said no")
    expect(s.metrics[1]?.reason).toMatch(/./)
    expect(s).toMatchObject({ enabled: true, total: 3, valid: 1, copy: { source: "configmap", ageSeconds: 0 } })
  })

  it("marks every metric invalid when this replica's copy is too old to be served", () => {
    const s = providerStatus(state({ a: entry("o", nowS - 10) }, now - 61_000))
    expect(s).toMatchObject({ valid: 0, total: 1, copy: { ageSeconds: 61 } })
    expect(s.metrics[0]?.reason).toContain("copy is 61 s old")
  })

  it("before the first read: no copy, no metrics; off: disabled", () => {
    expect(providerStatus({ ...state({}), indexed: undefined })).toMatchObject({ copy: undefined, total: 0 })
    expect(disabledStatus("ns/cm")).toMatchObject({ enabled: false, configMap: "ns/cm", total: 0 })
  })
})
