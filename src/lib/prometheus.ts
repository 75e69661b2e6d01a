// Pure: Effect metric snapshots as the Prometheus text exposition format (0.0.4), line for line
// what effect's `PrometheusMetrics.format` writes. That module also defines an HTTP route, so
// importing it loads effect's HTTP server stack (several MB of memory) that /metrics does not use.
import type * as Metric from "effect/Metric"

export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

const sanitizeMetricName = (name: string): string => {
  let s = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  if (/^[0-9:]/.test(s)) s = `_${s}`
  return s.replace(/_+/g, "_").replace(/_$/, "")
}

const sanitizeLabelName = (name: string): string => {
  let s = name.replace(/[^a-zA-Z0-9_]/g, "_")
  if (/^[0-9]/.test(s)) s = `_${s}`
  return s.replace(/_+/g, "_")
}

const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return value.toString()
}

const formatLabels = (
  attributes: Metric.Metric.AttributeSet | undefined,
  extra?: ReadonlyArray<readonly [string, string]>
): string => {
  const labels: Array<string> = []
  if (attributes) {
    for (const [key, value] of Object.entries(attributes)) {
      // Effect's own unit attributes are not labels.
      if (key === "unit" || key === "time_unit") continue
      labels.push(`${sanitizeLabelName(key)}="${escapeLabelValue(String(value))}"`)
    }
  }
  for (const [key, value] of extra ?? []) labels.push(`${sanitizeLabelName(key)}="${escapeLabelValue(value)}"`)
  return labels.length > 0 ? `{${labels.join(",")}}` : ""
}

const typeName = {
  Counter: "counter",
  Gauge: "gauge",
  Histogram: "histogram",
  Summary: "summary",
  Frequency: "counter"
} as const

const formatSnapshot = (name: string, m: Metric.Metric.Snapshot, lines: Array<string>): void => {
  switch (m.type) {
    case "Counter":
      lines.push(`${name}${formatLabels(m.attributes)} ${formatValue(m.state.count)}`)
      return
    case "Gauge":
      lines.push(`${name}${formatLabels(m.attributes)} ${formatValue(m.state.value)}`)
      return
    case "Histogram": {
      // Effect's buckets are [boundary, cumulative count]; +Inf is the total count.
      for (const [boundary, cumulative] of m.state.buckets) {
        if (boundary === Number.POSITIVE_INFINITY) continue
        lines.push(`${name}_bucket${formatLabels(m.attributes, [["le", boundary.toString()]])} ${cumulative}`)
      }
      lines.push(`${name}_bucket${formatLabels(m.attributes, [["le", "+Inf"]])} ${m.state.count}`)
      const base = formatLabels(m.attributes)
      lines.push(`${name}_sum${base} ${formatValue(m.state.sum)}`)
      lines.push(`${name}_count${base} ${m.state.count}`)
      return
    }
    case "Summary": {
      for (const [quantile, value] of m.state.quantiles) {
        if (value === undefined) continue
        lines.push(`${name}${formatLabels(m.attributes, [["quantile", quantile.toString()]])} ${formatValue(value)}`)
      }
      const base = formatLabels(m.attributes)
      lines.push(`${name}_sum${base} ${formatValue(m.state.sum)}`)
      lines.push(`${name}_count${base} ${m.state.count}`)
      return
    }
    case "Frequency":
      for (const [key, count] of m.state.occurrences) {
        lines.push(`${name}${formatLabels(m.attributes, [["key", key]])} ${count}`)
      }
      return
  }
}

/** The exposition of `snapshot` (from `Metric.snapshotUnsafe`): one family per name, HELP and TYPE first. */
export const formatPrometheus = (snapshot: ReadonlyArray<Metric.Metric.Snapshot>): string => {
  const families = new Map<string, Array<Metric.Metric.Snapshot>>()
  for (const m of snapshot) {
    const name = sanitizeMetricName(m.id)
    const family = families.get(name)
    if (family === undefined) families.set(name, [m])
    else family.push(m)
  }
  const lines: Array<string> = []
  for (const [name, metrics] of families) {
    const first = metrics[0] as Metric.Metric.Snapshot
    if (first.description) lines.push(`# HELP ${name} ${escapeHelp(first.description)}`)
    lines.push(`# TYPE ${name} ${typeName[first.type]}`)
    for (const m of metrics) formatSnapshot(name, m, lines)
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : ""
}
