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

export interface ReplicaView {
  readonly name: string
  readonly pid: number
  readonly leader: boolean
  readonly cmdPort: number
  readonly ready: {
    readonly status: number
    readonly healthy: ReadonlyArray<string>
    readonly unhealthy: ReadonlyArray<string>
  }
  /** Selected lines of /metrics. */
  readonly metrics: ReadonlyArray<string>
}

/** The stand-in for `datadog-cluster-agent status` where the checkout has none yet. */
export const replicaReport = (replicas: ReadonlyArray<ReplicaView>): string =>
  replicas
    .map((r) =>
      [
        `${r.name} (pid ${r.pid}, command port ${r.cmdPort}): ${r.leader ? "LEADER" : "follower"}`,
        `  /ready: ${r.ready.status} ${r.ready.status === 200 ? "healthy" : "UNHEALTHY"}; healthy: ${r.ready.healthy.join(", ") || "-"}${
          r.ready.unhealthy.length > 0 ? `; unhealthy: ${r.ready.unhealthy.join(", ")}` : ""
        }`,
        ...r.metrics.map((m) => `  ${m}`)
      ].join("\n")
    )
    .join("\n\n")

/** Metric families worth a line in the stand-in status: the family, its label, the labels that tell series apart. */
export const STATUS_METRICS: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
  ["kube_store_objects", "objects watched", ["kind"]],
  ["leader_election_transitions_total", "leader transitions", []],
  ["kubernetes_apiserver_kube_events", "Kubernetes events seen", ["kind", "type", "reason"]],
  ["kubernetes_apiserver_emitted_events", "Datadog events sent", ["kind", "type"]],
  ["external_metrics", "external metrics", ["valid"]],
  ["datadog_requests", "Datadog API requests", ["status"]],
  ["api_requests", "node-agent API requests", ["handler", "status"]]
]

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/

/** Pure: one line per family of `STATUS_METRICS` present in `/metrics`: its total, then each series. */
export const selectMetrics = (text: string): ReadonlyArray<string> => {
  const samples = text.split("\n").flatMap((line) => {
    const m = SAMPLE.exec(line)
    if (m === null) return []
    const labels = new Map([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] ?? "", l[2] ?? ""]))
    return [{ family: m[1] ?? "", labels, value: Number(m[3]) }]
  })
  const out: Array<string> = []
  for (const [family, label, keys] of STATUS_METRICS) {
    const series = samples.filter((s) => s.family === family)
    if (series.length === 0) continue
    const total = series.reduce((sum, s) => sum + s.value, 0)
    // A true/false label reads better with its name.
    const labelText = (key: string, value: string) =>
      value === "true" || value === "false" ? `${key}=${value}` : value
    const parts =
      keys.length === 0
        ? []
        : series.map((s) => `${keys.map((k) => labelText(k, s.labels.get(k) ?? "")).join("/")} ${s.value}`)
    out.push(`${label}: ${total}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`)
  }
  return out
}

/** Pure: `{"Healthy":[...],"Unhealthy":[...]}` of a health probe. */
export const parseHealth = (status: number, body: string): ReplicaView["ready"] => {
  try {
    const parsed = JSON.parse(body) as { Healthy?: Array<string>; Unhealthy?: Array<string> }
    return { status, healthy: parsed.Healthy ?? [], unhealthy: parsed.Unhealthy ?? [] }
  } catch {
    return { status, healthy: [], unhealthy: [body.trim() || "no answer"] }
  }
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
