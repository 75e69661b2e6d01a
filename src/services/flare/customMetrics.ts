// `custommetricsprovider.log`: the external metrics provider's state in the layout of the
// original's template (`Custom Metrics Provider` / `External Metrics`, then one block per stored
// metric), with what ours knows besides: why a metric is invalid, the HPA metrics it does not
// serve, the last refresh and the last store error. Pure.
import type { ExternalMetricsStatus } from "../ExternalMetrics.ts"

const yamlList = (entries: ReadonlyArray<readonly [string, string]>): ReadonlyArray<string> =>
  entries.length === 0 ? ["  []"] : entries.map(([k, v]) => `  - ${k}: ${v}`)

export const renderCustomMetrics = (status: ExternalMetricsStatus, nowMs: number): string => {
  const lines = [
    "Custom Metrics Provider",
    "=======================",
    "External Metrics",
    "================",
    `  ConfigMap name: ${status.configMap}`,
    `  Number of external metrics detected: ${status.total}`,
    `  Valid: ${status.valid}`,
    `  This replica: ${status.leader ? "leader (queries Datadog, writes the ConfigMap)" : "follower (serves its copy of the ConfigMap)"}`
  ]
  if (status.copy !== undefined) lines.push(`  Copy: from the ${status.copy.source}, ${status.copy.ageSeconds} s old`)
  if (status.lastRefresh !== undefined) {
    const r = status.lastRefresh
    lines.push(
      `  Last refresh: ${Math.max(0, Math.round((nowMs - r.at) / 1000))} s ago, ${r.queries} queries in ${r.calls} calls (${r.failedCalls} failed), ${r.durationMs} ms`
    )
  }
  if (status.storeError !== undefined) lines.push(`  Store error: ${status.storeError}`)
  for (const m of status.metrics) {
    lines.push(
      "",
      "  hpa:",
      `  - name: ${m.reference.name}`,
      `  - namespace: ${m.reference.namespace}`,
      "  labels:",
      ...yamlList(Object.entries(m.labels)),
      `  metricName: ${m.metricName}`,
      `  ts: ${m.ts}`,
      `  valid: ${m.valid}`,
      `  value: ${m.value}`
    )
    if (m.reason !== undefined) lines.push(`  reason: ${m.reason}`)
  }
  if (status.problems.length > 0) {
    lines.push("", "  Not served:")
    for (const p of status.problems) {
      lines.push(`  - ${p.reference.namespace}/${p.reference.name} ${p.metricName}: ${p.reason}`)
    }
  }
  return `${lines.join("\n")}\n`
}
