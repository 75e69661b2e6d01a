/** Pure: what the demo prints, from what it gathered. */
import type { EventBody, MetricQuery, ServiceCheckBody } from "../fakeDatadog/index.ts"

export const banner = (title: string): string => `\n${"=".repeat(title.length + 8)}\n=== ${title} ===\n`

const STATUS_NAMES = ["OK", "WARNING", "CRITICAL", "UNKNOWN"] as const

const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

const clip = (text: string, width: number) => {
  const line = text.replace(/\s+/g, " ").trim()
  return line.length <= width ? line : `${line.slice(0, width - 1)}…`
}

/** How many of each, first `shown` of each kind in arrival order. */
export const datadogReport = (
  received: {
    readonly url: string
    readonly requests: ReadonlyArray<{ readonly method: string; readonly path: string }>
    readonly events: ReadonlyArray<EventBody>
    readonly serviceChecks: ReadonlyArray<ServiceCheckBody>
    readonly metricQueries: ReadonlyArray<MetricQuery>
  },
  shown = 4
): string => {
  const byPath = new Map<string, number>()
  for (const r of received.requests) byPath.set(`${r.method} ${r.path}`, (byPath.get(`${r.method} ${r.path}`) ?? 0) + 1)
  const lines = [
    `${count(received.requests.length, "request")} to ${received.url}:`,
    ...[...byPath].map(([path, n]) => `  ${String(n).padStart(4)}  ${path}`),
    "",
    `Events: ${received.events.length}${received.events.length > shown ? `, the first ${shown}` : ""}:`
  ]
  for (const e of received.events.slice(0, shown)) {
    lines.push(`  [${e.alert_type ?? "info"}] ${e.title}  (host ${e.host ?? "-"})`)
    lines.push(`      ${clip(e.text.replace(/%%%/g, ""), 110)}`)
    lines.push(`      tags: ${clip((e.tags ?? []).join(", "), 104)}`)
  }
  const checks = received.serviceChecks
  lines.push("", `Service checks: ${checks.length}${checks.length > shown ? `, the last ${shown}` : ""}:`)
  for (const c of checks.slice(-shown)) {
    const status = STATUS_NAMES[c.status] ?? String(c.status)
    lines.push(`  ${c.check} ${status} "${c.message ?? ""}"  (host ${c.host_name}; ${(c.tags ?? []).join(", ")})`)
  }
  const queries = received.metricQueries
  const distinct = [...new Set(queries.map((q) => q.query))]
  lines.push("", `Metric queries: ${queries.length}, ${count(distinct.length, "distinct query", "distinct queries")}:`)
  for (const q of distinct.slice(0, shown)) lines.push(`  ${q}`)
  return lines.join("\n")
}

export interface QueryHints {
  readonly clusterToken: string
  readonly cmdPort: number
  readonly metricsPort: number
  readonly healthPort: number
  readonly node: string
  readonly namespace: string
  readonly kubeconfig: string
  readonly externalMetricPath: string
  readonly datadogUrl: string
  readonly cliEnv: string
  readonly logs: ReadonlyArray<string>
  readonly leaderPid: number
  readonly interactive: boolean
}

/** The lines that say how to query the running demo. */
export const queryHints = (h: QueryHints): string =>
  [
    "The node-agent API, as a node agent calls it (the cluster token):",
    `  curl -sk -H "Authorization: Bearer ${h.clusterToken}" https://127.0.0.1:${h.cmdPort}/api/v1/tags/pod/${h.node}`,
    `  curl -sk -H "Authorization: Bearer ${h.clusterToken}" https://127.0.0.1:${h.cmdPort}/api/v1/tags/node/${h.node}`,
    `  curl -sk -H "Authorization: Bearer ${h.clusterToken}" https://127.0.0.1:${h.cmdPort}/api/v1/tags/namespace/${h.namespace}`,
    "The external metric the HPA reads, through the API server's aggregator:",
    `  kubectl --kubeconfig ${h.kubeconfig} get --raw "${h.externalMetricPath}"`,
    `  kubectl --kubeconfig ${h.kubeconfig} get hpa,deployments,pods,endpointslices -n ${h.namespace}`,
    "What the fake Datadog API received (keys redacted):",
    `  curl -s ${h.datadogUrl}/fake/requests`,
    "The CLI against a replica (also: metamap, config):",
    `  ${h.cliEnv} node src/main.ts status`,
    "Telemetry and health:",
    `  curl -s http://127.0.0.1:${h.metricsPort}/metrics`,
    `  curl -s http://127.0.0.1:${h.healthPort}/ready`,
    "Logs (JSON lines):",
    ...h.logs.map((l) => `  tail -f ${l}`),
    `Fail over: kill ${h.leaderPid}   (the leader: the other takes over within its 15 s lease; this demo says when)`,
    ...(h.interactive ? ["Type a number and Enter to set demo.queue.depth; the HPA follows."] : []),
    "",
    "Ctrl-C stops the agents, the control plane and the fake Datadog API, and removes the demo's files."
  ].join("\n")
