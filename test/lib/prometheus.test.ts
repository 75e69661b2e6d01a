import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { formatPrometheus } from "../../src/lib/prometheus.ts"
import { parsePrometheus } from "../support/prometheus.ts"

// Every kind of metric, with labels that need sanitizing and escaping, names that need fixing.
const record = Effect.gen(function* () {
  yield* Metric.update(Metric.counter("requests_total", { description: "Requests\nserved \\ total" }), 3)
  yield* Metric.update(
    Metric.withAttributes(Metric.counter("requests_total"), { handler: 'tags "pod"', "status-code": "200" }),
    2
  )
  yield* Metric.update(Metric.counter("big_total", { bigint: true }), 12345678901234567890n)
  yield* Metric.update(Metric.gauge("9lag.seconds__", { description: "odd name" }), 0.25)
  yield* Metric.update(Metric.gauge("nan_gauge"), Number.NaN)
  yield* Metric.update(Metric.gauge("inf_gauge"), Number.POSITIVE_INFINITY)
  const histogram = Metric.histogram("latency_seconds", {
    description: "Latency",
    boundaries: Metric.linearBoundaries({ start: 0.1, width: 0.1, count: 3 })
  })
  for (const v of [0.05, 0.15, 0.5, 2]) yield* Metric.update(histogram, v)
  const summary = Metric.summary("sizes", { maxAge: "1 minute", maxSize: 10, quantiles: [0.5, 0.99] })
  for (const v of [1, 2, 3, 4]) yield* Metric.update(summary, v)
  yield* Metric.update(Metric.summary("empty_summary", { maxAge: "1 minute", maxSize: 10, quantiles: [0.5] }), 1)
  const frequency = Metric.frequency("codes", { description: "Status codes" })
  for (const v of ["200", "200", "404"]) yield* Metric.update(frequency, v)
})

describe("formatPrometheus", () => {
  it.effect("writes what effect's PrometheusMetrics writes, for every kind of metric", () =>
    Effect.gen(function* () {
      yield* record
      const context = yield* Effect.context<never>()
      const ours = formatPrometheus(Metric.snapshotUnsafe(context))
      expect(ours).toBe(PrometheusMetrics.formatUnsafe(context))
      // And it is valid exposition text.
      const parsed = parsePrometheus(ours)
      expect(parsed.types.get("latency_seconds")).toBe("histogram")
      expect(parsed.types.get("_9lag_seconds")).toBe("gauge")
      expect(ours).toContain('requests_total{handler="tags \\"pod\\"",status_code="200"} 2')
      expect(ours).toContain("# HELP requests_total Requests\\nserved \\\\ total")
      expect(ours).toContain("big_total 12345678901234567890")
      expect(ours).toContain('latency_seconds_bucket{le="+Inf"} 4')
      expect(ours).toContain('codes{key="404"} 1')
    })
  )

  it("is empty without metrics", () => {
    expect(formatPrometheus([])).toBe("")
  })
})
