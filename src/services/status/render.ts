// Pure: the text of `datadog-cluster-agent status` from a status object: the original's title
// and section banners, the Leader Election section in the original's layout (contract §4), then
// one section per feature. Ages are computed from the status's own `collectedAt`, so the same
// object always renders the same text.
import type { AgentStatus } from "./model.ts"

type Section = ReadonlyArray<string>

const banner = (title: string): Section => {
  const rule = "=".repeat(title.length)
  return [rule, title, rule]
}

/** `2024-05-01 12:00:00 UTC`. */
export const utc = (instant: string): string => `${instant.replace("T", " ").replace(/\.\d+Z$|Z$/, "")} UTC`

/** `42s`, `5m 2s`, `3h 4m`, `2d 1h`. */
export const duration = (millis: number): string => {
  const s = Math.max(0, Math.floor(millis / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
}

const ago = (instant: string, now: string): string => `${duration(Date.parse(now) - Date.parse(instant))} ago`

/** `2024-05-01 12:00:00 UTC (3m 2s ago)`. */
const when = (instant: string | undefined, now: string, never = "never"): string =>
  instant === undefined ? never : `${utc(instant)} (${ago(instant, now)})`

const yesNo = (b: boolean) => (b ? "yes" : "no")

/** Rows as columns padded to their widest cell. */
const table = (rows: ReadonlyArray<ReadonlyArray<string>>, indent = "  "): Section => {
  const widths: Array<number> = []
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length)
  }
  return rows.map((row) => `${indent}${row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ")}`.trimEnd())
}

const header = (s: AgentStatus): Section => [
  ...banner(`Datadog Cluster Agent (v${s.version})`),
  "",
  `  Status date: ${utc(s.collectedAt)}`,
  `  Agent start: ${when(s.startedAt, s.collectedAt)}`,
  `  Pid: ${s.pid}`,
  `  Node.js Version: ${s.node}`,
  `  Log Level: ${s.logLevel}`,
  `  Hostname: ${s.hostname}`
]

const apiServer = (s: AgentStatus): Section => {
  const a = s.apiServer
  const state = a.connected
    ? `Connected${a.gitVersion === undefined ? "" : ` (Kubernetes ${a.gitVersion})`}`
    : a.since === undefined
      ? "Connecting"
      : "Not connected"
  return [
    ...banner("API Server"),
    `  Server: ${a.server}`,
    `  Status: ${state}${a.since === undefined ? "" : ` since ${when(a.since, s.collectedAt)}`}`,
    ...(a.lastError === undefined || a.connected ? [] : [`  Last error: ${a.lastError}`])
  ]
}

const watches = (s: AgentStatus): Section => [
  ...banner("Watches"),
  ...(s.watches.length === 0
    ? ["  No watch running."]
    : table([
        ["Kind", "Objects", "Synced", "Relists", "Events", "Last event"],
        ...s.watches.map((w) => [
          w.kind,
          w.objects === undefined ? "-" : String(w.objects),
          w.synced === undefined ? "-" : yesNo(w.synced),
          String(w.relists),
          String(w.events),
          w.lastEvent === undefined ? "none yet" : ago(w.lastEvent, s.collectedAt)
        ])
      ]))
]

/** The original's layout (leaderelection.tmpl). */
const leaderElection = (s: AgentStatus): Section => {
  const l = s.leaderelection
  const lines = [...banner("Leader Election"), `  Leader Election Status:  ${l.status}`]
  if (l.status === "Failing") lines.push(`  Error: ${l.error ?? ""}`)
  else if (l.status === "Running") {
    lines.push(
      `  Leader Name is: ${l.leaderName ?? ""}`,
      `  Last Acquisition of the lease: ${l.acquiredTime ?? ""}`,
      `  Renewed leadership: ${l.renewedTime ?? ""}`,
      `  Number of leader transitions: ${l.transitions ?? "0 transitions"}`
    )
  }
  lines.push(`  This replica: ${l.identity} (${l.isLeader ? "leader" : "follower"})`)
  return lines
}

const metadataMapper = (s: AgentStatus): Section => {
  const m = s.metadataMapper
  if (!m.enabled) {
    return [
      ...banner("Metadata Mapper"),
      "  Disabled (DD_KUBERNETES_COLLECT_METADATA_TAGS or DD_USE_METADATA_MAPPER is false)"
    ]
  }
  return [
    ...banner("Metadata Mapper"),
    `  Status: ${m.synced ? "Synced" : "Not synced yet"}`,
    `  Nodes: ${m.nodes}  Pods: ${m.pods} (${m.podsWithServices} backed by a service)  Services: ${m.services}  EndpointSlices: ${m.endpointSlices}  Namespaces: ${m.namespaces}`
  ]
}

const leaderWork = (state: AgentStatus["eventCollection"]["state"], disabled: string): string => {
  switch (state) {
    case "disabled":
      return `Disabled (${disabled})`
    case "missingRights":
      return "Stopped: a Kubernetes right it needs is missing (see RBAC Self-Check)"
    case "follower":
      return "Not running on this replica: another replica leads"
    case "running":
      return "Running on this replica"
  }
}

const eventCollection = (s: AgentStatus): Section => {
  const e = s.eventCollection
  const lines = [
    ...banner("Kubernetes Events"),
    `  Status: ${leaderWork(e.state, "DD_COLLECT_KUBERNETES_EVENTS is false")}`
  ]
  if (e.state === "disabled") return lines
  const token =
    e.token !== undefined
      ? `resourceVersion ${e.token.resourceVersion === "" ? '"" (lists everything)' : e.token.resourceVersion}, last full list ${when(e.token.listedAt, s.collectedAt)}`
      : e.tokenError !== undefined
        ? `cannot read it: ${e.tokenError}`
        : "none yet"
  lines.push(`  Token (ConfigMap ${e.tokenConfigMap}): ${token}`)
  if (e.collectingSince !== undefined) lines.push(`  Collecting since: ${when(e.collectingSince, s.collectedAt)}`)
  lines.push(
    `  Last event sent to Datadog: ${when(e.lastSent, s.collectedAt)}`,
    `  Token last written: ${when(e.tokenWritten, s.collectedAt)}`,
    `  Since start: ${e.collected} collected, ${e.sent} sent, ${e.dropped} dropped, ${e.queued} queued`
  )
  return lines
}

const controlPlane = (s: AgentStatus): Section => {
  const c = s.controlPlaneCheck
  const lines = [
    ...banner("Control Plane Check"),
    `  Status: ${leaderWork(c.state, "")}`,
    `  Mode: ${c.mode === "componentstatuses" ? "componentstatuses (or /readyz when refused or gone)" : "/readyz (use_component_status: false)"}`
  ]
  const run = c.lastRun
  if (run === undefined) return [...lines, "  Last run: none on this replica"]
  lines.push(`  Last run: ${when(run.at, s.collectedAt)}`)
  for (const check of run.checks) lines.push(`    ${check.component}: ${check.status}`)
  lines.push(run.submitError === undefined ? "  Sent to Datadog" : `  Not sent to Datadog: ${run.submitError}`)
  return lines
}

const labelsText = (labels: Readonly<Record<string, string>>): string => {
  const entries = Object.entries(labels)
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}:${v}`).join(",")}}`
}

const customMetrics = (s: AgentStatus): Section => {
  const c = s.customMetrics
  const lines = [...banner("Custom Metrics Server")]
  if (c.state === "disabled") return [...lines, "  Disabled"]
  if (c.state === "missingRights") {
    return [
      ...lines,
      "  Not started: a Kubernetes right it needs is missing (see RBAC Self-Check); it starts when the agent restarts with the right granted"
    ]
  }
  lines.push(
    `  ConfigMap name: ${c.configMap}`,
    `  Role: ${c.leader ? "leader (queries Datadog, writes the ConfigMap)" : "follower (serves the ConfigMap's copy)"}`
  )
  if (c.copy !== undefined)
    lines.push(`  Copy served: from the ${c.copy.source}, ${duration(c.copy.ageSeconds * 1000)} old`)
  if (c.lastRefresh !== undefined) {
    const r = c.lastRefresh
    lines.push(
      `  Last refresh: ${when(r.at, s.collectedAt)}: ${r.queries} queries in ${r.calls} calls (${r.failedCalls} failed), ${r.durationMs} ms`
    )
  }
  if (c.storeError !== undefined) lines.push(`  Store error: ${c.storeError}`)
  lines.push("  External Metrics", `    Total: ${c.total}`, `    Valid: ${c.valid}`)
  for (const m of c.metrics) {
    lines.push(
      `    - ${m.metricName}${labelsText(m.labels)} (HPA ${m.hpa})`,
      `      Value: ${m.value}  Timestamp: ${utc(m.timestamp)}  Valid: ${m.valid}`,
      ...(m.reason === undefined ? [] : [`      Reason: ${m.reason}`])
    )
  }
  if (c.problems.length > 0) {
    lines.push("  Metrics not served")
    for (const p of c.problems) lines.push(`    - ${p.metricName} (HPA ${p.hpa}): ${p.reason}`)
  }
  return lines
}

const rateLimitText = (r: NonNullable<AgentStatus["datadogApi"]["endpoints"][number]["rateLimit"]>): string => {
  const left =
    r.remaining === undefined ? "" : `${r.remaining}${r.limit === undefined ? "" : `/${r.limit}`} requests left`
  const reset = r.reset === undefined ? "" : `resets in ${duration(r.reset * 1000)}`
  return [left, reset].filter((p) => p !== "").join(", ")
}

const datadogApi = (s: AgentStatus): Section => {
  const d = s.datadogApi
  const key = d.apiKey
  const keyState = key.state === "valid" ? "Valid" : key.state === "invalid" ? "Invalid" : "Not checked yet"
  const lines = [
    ...banner("Datadog API"),
    `  API: ${d.apiUrl}`,
    `  Metric queries: ${d.queryUrl}`,
    `  API Key ${key.masked}: ${keyState}${key.checkedAt === undefined ? "" : `, checked ${when(key.checkedAt, s.collectedAt)}`}`,
    ...(key.lastError === undefined || key.state === "valid" ? [] : [`    ${key.lastError}`])
  ]
  for (const e of d.endpoints) {
    lines.push(`  ${e.endpoint}`, `    Last success: ${when(e.lastSuccess, s.collectedAt)}`)
    if (e.lastErrorAt !== undefined)
      lines.push(`    Last error: ${when(e.lastErrorAt, s.collectedAt)}: ${e.lastError ?? ""}`)
    const limit = e.rateLimit === undefined ? "" : rateLimitText(e.rateLimit)
    if (limit !== "") lines.push(`    Rate limit: ${limit}`)
  }
  return lines
}

const rbac = (s: AgentStatus): Section => {
  const r = s.rbac
  const lines = [...banner("RBAC Self-Check")]
  if (r.checkedAt === undefined) return [...lines, "  Not checked yet"]
  lines.push(`  Checked: ${when(r.checkedAt, s.collectedAt)}, every ${duration(r.intervalSeconds * 1000)}`)
  for (const f of r.features) {
    const state = f.state === "granted" ? "OK" : f.state === "missing" ? `MISSING RIGHTS: ${f.consequence}` : "UNKNOWN"
    lines.push(`  ${f.title}: ${state}`)
    for (const m of f.missing) {
      lines.push(
        `    - may not ${m.refused}${m.fallback === undefined ? "" : ` (${m.fallback})`}`,
        `      to fix it, ${m.fix}`
      )
    }
    for (const e of f.errors) lines.push(`    - could not ask: ${e}`)
  }
  return lines
}

const warnings = (s: AgentStatus): Section => [
  ...banner("Configuration Warnings"),
  ...(s.warnings.length === 0 ? ["  None"] : s.warnings.map((w) => `  - ${w}`))
]

/** Pure: the text status, sections separated by a blank line, ending with a newline. */
export const renderStatusText = (status: AgentStatus): string =>
  `${[
    header,
    apiServer,
    watches,
    leaderElection,
    metadataMapper,
    eventCollection,
    controlPlane,
    customMetrics,
    datadogApi,
    rbac,
    warnings
  ]
    .map((section) => section(status).join("\n"))
    .join("\n\n")}\n`
