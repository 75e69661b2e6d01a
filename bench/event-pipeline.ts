// The event pipeline: how fast Kubernetes events go from the API server to the Datadog events API
// (bundled), against a bare LIST+WATCH of the same events in the same round, and how much memory
// the agent holds with 10,000 events it cannot ship.
//
//   node bench/event-pipeline.ts [--events 10000] [--objects 50] [--runs 3] [--settle 30]
//        [--agent PATH/dist/main.js | --worktree] [--plain] [--max-events-per-run N]
//        [--datadog-latency MS] [--skip-memory] [--timeout 900] [--out FILE]
//
// Everything runs against a real control plane of its own (dev/controlPlane: etcd, kube-apiserver
// with its watch cache, kube-controller-manager) and the fake Datadog API (dev/fakeDatadog, in this
// process). The agent is a process of its own, `node dist/main.js start` as the image runs it:
//   - the bundle `npm run build` makes, built here from the commit checked out (HEAD, `git archive`
//     into a temporary directory: tsc, then scripts/bundle.ts), so others' uncommitted work in
//     the checkout is not measured; `--worktree` builds the working tree instead, `--agent` runs a
//     given build (e.g. `dist/main.js` after `npm run build`);
//   - with the Dockerfile's runtime settings (MALLOC_*, NODE_OPTIONS, read from the Dockerfile;
//     `--plain`: without);
//   - in-cluster credentials, as in a pod: a ServiceAccount bound to cluster-admin, its token and
//     the CA in a directory that a preload maps onto /var/run/secrets/kubernetes.io/serviceaccount
//     (bench/idle-floor.ts), so client-node is not loaded (a kubeconfig would load it);
//   - DD_LEADER_ELECTION=false, DD_COLLECT_KUBERNETES_EVENTS=true, DD_DD_URL=<the fake>, and a
//     conf.d `kubernetes_apiserver.d/conf.yaml` with `collect_events: true,
//     min_collection_interval: 1` (and `max_events_per_run` when given).
//
// Each round:
//   1. idle: no bench events in the cluster; the agent is started, collects (nothing), and its
//      RSS (/proc/<pid>/status VmRSS) is read after `--settle` seconds; Node alone
//      (`node -e setInterval`) with the same settings, the same way.
//   2. `--events` Events are created in namespace `bench-events` (raw HTTPS with keep-alive,
//      25 at a time), spread over `--objects` involved objects, with unique messages
//      `occurrence-<n>`: a burst waiting for the collector, which is not running.
//   3. throughput, the agent: the token ConfigMap is deleted (the agent lists everything as new),
//      the agent is started; from its log line "collecting Kubernetes events" (the token read,
//      the LIST about to start) until the fake Datadog has received every occurrence (parsed out
//      of the bundled texts, `<count> **Bench**: occurrence-<n>\n`): the time of arrival of the
//      request that completed the set. Also counted: Datadog events (POSTs), occurrences received
//      twice, the token writes (PUTs of ConfigMaps, from the API server's own /metrics, with
//      their server-side latency), the agent's and the control plane's CPU.
//   4. throughput, the floor, in a child process of its own (`--bare`): a LIST of all Events,
//      pages of 500 with gzip as the agent's transport asks, then a WATCH from the list's
//      resourceVersion, counting the occurrences, with the same service-account token. Then
//      the token-write floor: 200 sequential PUTs of a ConfigMap of 8 KB (about a token in the
//      middle of a batch), each with the resourceVersion the last one returned, as TokenStore
//      writes. 3 and 4 alternate which runs first from round to round.
//   5. RSS with the events in flight: the fake Datadog answers 503 to /api/v1/events, the token is
//      deleted, the agent started; once its /metrics says `kubernetes_apiserver_events_queued`
//      ≥ `--events`, it settles for `--settle` seconds and its RSS is read (and VmHWM, and the heap
//      from its `nodejs_heap_size_used_bytes`). Then the events are deleted. The settle must cover
//      the agent's idle collection (src/lib/idleGc.ts): the RSS drops by ~40 MB some 15–20 s after
//      the queue is full; the highest sample of the settle (before it) is reported too.
// `--datadog-latency MS` delays every answer of the fake's /api/v1/events (the agent's and the POST
// floor's), as a real Datadog across the internet would; `--skip-memory` runs only 2–4.
// Ratios are taken per round (agent ÷ the floor of the same round), then the median.
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import * as Https from "node:https"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath, pathToFileURL } from "node:url"
import { gunzip } from "node:zlib"
import { type ControlPlane, startControlPlane } from "../dev/controlPlane/controlPlane.ts"
import { type FakeDatadog, type RecordedRequest, startFakeDatadog } from "../dev/fakeDatadog/index.ts"
import { messageOf } from "../test/support/agentProcess.ts"
import { freePort, type ProcMemory, procMemory, serviceAccountPreload, shippedEnv } from "./idle-floor.ts"
import { median } from "./stats.ts"
import { parseArgs } from "./synthetic.ts"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const { flags } = parseArgs(process.argv.slice(2))
const num = (name: string, fallback: number) => Number(flags.get(name) ?? fallback)

const NAMESPACE = "bench-events"
const REASON = "Bench"
const TOKEN_CONFIGMAP = "datadogtoken"
/** The namespace of the agent's own objects (token ConfigMap) and of its ServiceAccount. */
const AGENT_NAMESPACE = "default"
const occurrencePattern = /\*\*Bench\*\*: occurrence-(\d+)\n/g

// ---------------------------------------------------------------------------------------------
// A small HTTPS client for the API server: keep-alive, JSON, gzip.

interface Answer {
  readonly status: number
  readonly body: string
  /** When the response head arrived (ms since the epoch). */
  readonly headAt: number
}

interface Api {
  readonly request: (method: string, path: string, body?: unknown, gzip?: boolean) => Promise<Answer>
  readonly json: <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => Promise<T>
  /** Opens a WATCH; resolves when the response head arrives, with a way to close it. */
  readonly openWatch: (path: string) => Promise<{ readonly status: number; readonly close: () => void }>
  readonly destroy: () => void
}

const makeApi = (
  server: string,
  tls: { readonly ca: string; readonly cert?: string; readonly key?: string },
  bearer?: string
): Api => {
  const url = new URL(server)
  const agent = new Https.Agent({ keepAlive: true, maxSockets: 64, ...tls })
  const headers = (extra: Record<string, string>) => ({
    Accept: "application/json",
    ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
    ...extra
  })
  const request = (method: string, path: string, body?: unknown, gzip = false) =>
    new Promise<Answer>((ok, fail) => {
      const payload = body === undefined ? undefined : JSON.stringify(body)
      const req = Https.request(
        {
          agent,
          hostname: url.hostname,
          port: url.port,
          method,
          path,
          headers: headers({
            ...(payload === undefined ? {} : { "Content-Type": "application/json" }),
            ...(gzip ? { "Accept-Encoding": "gzip" } : {})
          })
        },
        (res) => {
          const headAt = Date.now()
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("error", fail)
          res.on("end", () => {
            const raw = Buffer.concat(chunks)
            const done = (b: Buffer) => ok({ status: res.statusCode ?? 0, body: b.toString("utf8"), headAt })
            if (res.headers["content-encoding"] === "gzip") gunzip(raw, (e, b) => (e === null ? done(b) : fail(e)))
            else done(raw)
          })
        }
      )
      req.on("error", fail)
      req.end(payload)
    })
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const a = await request(method, path, body)
    if (a.status >= 300) throw new Error(`${method} ${path}: ${a.status} ${a.body.slice(0, 400)}`)
    return JSON.parse(a.body) as T
  }
  const openWatch = (path: string) =>
    new Promise<{ status: number; close: () => void }>((ok, fail) => {
      const req = Https.request(
        { agent: false, ...tls, hostname: url.hostname, port: url.port, method: "GET", path, headers: headers({}) },
        (res) => {
          res.resume()
          ok({ status: res.statusCode ?? 0, close: () => req.destroy() })
        }
      )
      req.on("error", (e) => fail(e))
      req.end()
    })
  return { request, json, openWatch, destroy: () => agent.destroy() }
}

// ---------------------------------------------------------------------------------------------
// The floor (`--bare`, in a child process): LIST + WATCH that only counts, then sequential PUTs.

interface BareResult {
  readonly startedAt: number
  /** When the last LIST page was in and counted. */
  readonly listedAt: number
  /** When the WATCH from the list's resourceVersion answered. */
  readonly watchingAt: number
  readonly seconds: number
  readonly occurrences: number
  readonly items: number
  readonly pages: number
  readonly cpuSeconds: number
  readonly puts: number
  readonly putMs: Latency
  /** Sequential POSTs of a bundled event's size to the fake Datadog, as the agent's client sends them. */
  readonly postMs: Latency
}

interface Latency {
  readonly median: number
  readonly mean: number
  readonly p90: number
}

const latency = (times: ReadonlyArray<number>): Latency => {
  const sorted = [...times].sort((a, b) => a - b)
  return {
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    mean: times.reduce((s, x) => s + x, 0) / Math.max(1, times.length),
    p90: sorted[Math.floor(sorted.length * 0.9)] ?? Number.NaN
  }
}

const bare = async (): Promise<void> => {
  const server = flags.get("server") as string
  const dir = flags.get("sa-dir") as string
  const expect = num("expect", 0)
  const api = makeApi(
    server,
    { ca: readFileSync(join(dir, "ca.crt"), "utf8") },
    readFileSync(join(dir, "token"), "utf8").trim()
  )
  const seen = new Uint8Array(expect)
  let occurrences = 0
  let items = 0
  let pages = 0
  const cpu = process.cpuUsage()
  const startedAt = Date.now()
  let next: string | undefined
  let resourceVersion = ""
  do {
    const query = new URLSearchParams({ limit: "500" })
    if (next !== undefined) query.set("continue", next)
    const a = await api.request("GET", `/api/v1/events?${query}`, undefined, true)
    if (a.status !== 200) throw new Error(`LIST: ${a.status} ${a.body.slice(0, 300)}`)
    const page = JSON.parse(a.body) as {
      metadata: { continue?: string; resourceVersion?: string }
      items: Array<{ message?: string }>
    }
    for (const e of page.items) {
      items++
      const m = /^occurrence-(\d+)$/.exec(e.message ?? "")
      const n = m === null ? -1 : Number(m[1])
      if (n >= 0 && n < expect && seen[n] === 0) {
        seen[n] = 1
        occurrences++
      }
    }
    pages++
    resourceVersion = page.metadata.resourceVersion ?? resourceVersion
    next = page.metadata.continue || undefined
  } while (next !== undefined)
  const listedAt = Date.now()
  const watch = await api.openWatch(
    `/api/v1/events?watch=1&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion=${resourceVersion}`
  )
  const watchingAt = Date.now()
  watch.close()
  if (watch.status !== 200) throw new Error(`WATCH: ${watch.status}`)
  const used = process.cpuUsage(cpu)

  // The token-write floor: a ConfigMap of about a token's size, replaced again and again.
  const puts = num("puts", 200)
  const name = "dca-bench-put-floor"
  const data = { "event.tokenKey": "1", "event.tokenShipped": "x".repeat(num("put-bytes", 8192)) }
  await api.request("DELETE", `/api/v1/namespaces/${AGENT_NAMESPACE}/configmaps/${name}`)
  let cm = await api.json<{ metadata: { resourceVersion: string } }>(
    "POST",
    `/api/v1/namespaces/${AGENT_NAMESPACE}/configmaps`,
    { metadata: { name }, data }
  )
  const times: Array<number> = []
  for (let i = 0; i < puts; i++) {
    const t = performance.now()
    cm = await api.json("PUT", `/api/v1/namespaces/${AGENT_NAMESPACE}/configmaps/${name}`, {
      metadata: { name, resourceVersion: cm.metadata.resourceVersion },
      data: { ...data, "event.tokenKey": String(i) }
    })
    times.push(performance.now() - t)
  }
  await api.request("DELETE", `/api/v1/namespaces/${AGENT_NAMESPACE}/configmaps/${name}`)
  api.destroy()

  // The Datadog floor: a bundled event of six lines (what a batch of 300 over 50 objects makes),
  // POSTed one after the other over one keep-alive connection, as the agent's client does.
  const datadog = new URL(flags.get("datadog") as string)
  const http = new Http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 1 })
  const lines = Array.from({ length: 6 }, (_, i) => `1 **${REASON}**: floor-${i}\n`).join(" ")
  const event = JSON.stringify({
    title: "Events from the ConfigMap bench-events/object-0",
    text: `%%% \n${lines} \n _Events emitted by the bench seen at 2026-01-01 00:00:00 +0000 UTC since 2026-01-01 00:00:00 +0000 UTC_ \n\n %%%`,
    date_happened: 1_767_225_600,
    priority: "normal",
    host: "bench-node",
    tags: ["kube_kind:ConfigMap", "kube_name:object-0", `kube_namespace:${NAMESPACE}`, "source_component:bench"],
    alert_type: "info",
    aggregation_key: "kubernetes_apiserver:floor",
    source_type_name: "kubernetes"
  })
  const post = () =>
    new Promise<void>((ok, fail) => {
      const req = Http.request(
        {
          agent: http,
          hostname: datadog.hostname,
          port: datadog.port,
          method: "POST",
          path: "/api/v1/events",
          headers: {
            "Content-Type": "application/json",
            "DD-API-KEY": "0123456789abcdef0123456789abcdef",
            "Accept-Encoding": "gzip, deflate"
          }
        },
        (res) => {
          res.resume()
          res.on("end", () =>
            res.statusCode === 202 || res.statusCode === 200 ? ok() : fail(new Error(`POST ${res.statusCode}`))
          )
        }
      )
      req.on("error", fail)
      req.end(event)
    })
  const postTimes: Array<number> = []
  for (let i = 0; i < puts; i++) {
    const t = performance.now()
    await post()
    postTimes.push(performance.now() - t)
  }
  http.destroy()
  const result: BareResult = {
    startedAt,
    listedAt,
    watchingAt,
    seconds: (Math.max(listedAt, watchingAt) - startedAt) / 1000,
    occurrences,
    items,
    pages,
    cpuSeconds: (used.user + used.system) / 1e6,
    puts,
    putMs: latency(times),
    postMs: latency(postTimes)
  }
  console.log(`RESULT ${JSON.stringify(result)}`)
}

if (flags.has("bare")) {
  await bare()
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------
// The driver.

const events = num("events", 10_000)
const objects = num("objects", 50)
const runs = num("runs", 3)
const settle = num("settle", 30)
const maxEventsPerRun = flags.get("max-events-per-run")
const plain = flags.has("plain")
/** Added to every answer of the fake Datadog's /api/v1/events in the throughput runs (ms). */
const datadogLatency = num("datadog-latency", 0)
/** Only the throughput runs (no idle, Node alone or in-flight measurement). */
const skipMemory = flags.has("skip-memory")
/** How long the agent may take to deliver every occurrence before the run fails (s). */
const timeoutSeconds = num("timeout", 900)
const work = mkdtempSync(join(tmpdir(), "dca-bench-events-"))

/** The agent to run: a given build, or the bundle built here from HEAD (or the working tree). */
const buildAgent = (): { main: string; source: string } => {
  const given = flags.get("agent")
  if (given !== undefined) return { main: resolve(given), source: `given: ${resolve(given)}` }
  const tree = join(work, "agent")
  mkdirSync(tree)
  const worktree = flags.has("worktree")
  const commit = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: repo, encoding: "utf8" }).trim()
  const files = ["src", "scripts", "tsconfig.json", "tsconfig.build.json", "package.json"]
  if (worktree) for (const f of files) cpSync(join(repo, f), join(tree, f), { recursive: true })
  else {
    const archive = execFileSync("git", ["archive", "HEAD", ...files], { cwd: repo, maxBuffer: 256 * 1024 * 1024 })
    execFileSync("tar", ["-x", "-C", tree], { input: archive })
  }
  symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"))
  const step = (args: ReadonlyArray<string>) => {
    const r = spawnSync(process.execPath, args, { cwd: tree, encoding: "utf8" })
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed:\n${r.stdout}${r.stderr}`)
  }
  step([join(tree, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"])
  step(["scripts/bundle.ts", "--from", "build", "--out", "dist"])
  return { main: join(tree, "dist/main.js"), source: worktree ? `working tree (HEAD ${commit})` : `HEAD ${commit}` }
}

const spread = (xs: ReadonlyArray<number>, digits = 1) =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`

/** CPU seconds (user + system) of a process so far. */
const cpuOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/** The environment of a child: this process's minus what changes memory or points elsewhere. */
const cleanEnv = (): Record<string, string> => {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("DD_") || k.startsWith("MALLOC_") || k.startsWith("KUBERNETES_")) continue
    if (k === "NODE_OPTIONS" || k === "KUBECONFIG") continue
    env[k] = v
  }
  return env
}
const settings = plain ? {} : shippedEnv()

interface AgentProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly metricsPort: number
  /** The time (agent's log timestamp) of the first log line matching, waiting for it. */
  readonly logged: (pattern: RegExp, timeoutMs?: number) => Promise<number>
  readonly output: () => string
  readonly stop: () => Promise<void>
}

const startAgent = async (main: string, plane: ControlPlane, datadog: FakeDatadog, saDir: string, confd: string) => {
  const metricsPort = await freePort()
  const home = mkdtempSync(join(work, "agent-home-"))
  const env = {
    ...cleanEnv(),
    ...settings,
    DD_API_KEY: "0123456789abcdef0123456789abcdef",
    DD_CLUSTER_AGENT_AUTH_TOKEN: "benchbenchbenchbenchbenchbenchbench",
    DD_AUTH_TOKEN_FILE_PATH: join(home, "auth_token"),
    DD_CLUSTER_AGENT_CMD_PORT: String(await freePort()),
    DD_METRICS_PORT: String(metricsPort),
    DD_HOSTNAME: "bench-node",
    DD_KUBE_RESOURCES_NAMESPACE: AGENT_NAMESPACE,
    DD_DD_URL: datadog.url,
    DD_LEADER_ELECTION: "false",
    DD_COLLECT_KUBERNETES_EVENTS: "true",
    DD_CONFD_PATH: confd,
    KUBERNETES_SERVICE_HOST: "127.0.0.1",
    KUBERNETES_SERVICE_PORT: String(plane.ports.apiServer),
    DCA_BENCH_SERVICE_ACCOUNT_DIR: saDir,
    HOME: home,
    NODE_ENV: "production",
    DOCKER_DD_AGENT: "true"
  }
  const child = spawn(process.execPath, ["--import", pathToFileURL(serviceAccountPreload()).href, main, "start"], {
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  const waiters: Array<() => void> = []
  const on = (chunk: Buffer) => {
    out += chunk.toString("utf8")
    for (const w of waiters.splice(0)) w()
  }
  child.stdout?.on("data", on)
  child.stderr?.on("data", on)
  const exited = new Promise<void>((ok) => child.on("exit", () => ok()))
  child.on("exit", () => {
    for (const w of waiters.splice(0)) w()
  })
  const find = (pattern: RegExp): number | undefined => {
    for (const line of out.split("\n")) {
      if (!line.startsWith("{")) continue
      const l = JSON.parse(line) as Record<string, unknown>
      if (pattern.test(messageOf(l))) return Date.parse(String(l.timestamp ?? ""))
    }
    return undefined
  }
  const logged = async (pattern: RegExp, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const at = find(pattern)
      if (at !== undefined) return at
      if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}):\n${out.slice(-3000)}`)
      if (Date.now() > deadline) throw new Error(`no log line ${pattern} within ${timeoutMs} ms:\n${out.slice(-3000)}`)
      await Promise.race([new Promise<void>((ok) => waiters.push(ok)), sleep(500)])
    }
  }
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM")
    await Promise.race([exited, sleep(15_000)])
    if (child.exitCode === null) child.kill("SIGKILL")
    await exited
  }
  return { child, pid: child.pid as number, metricsPort, logged, output: () => out, stop } satisfies AgentProcess
}

const scrape = async (port: number): Promise<string> => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  return res.text()
}
const metricValue = (text: string, name: string): number => {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(text)
  return m === null ? Number.NaN : Number(m[1])
}

/** Sums the samples of `name` whose labels include every one of `labels`. */
const sumMetric = (text: string, name: string, labels: ReadonlyArray<string>): number => {
  let sum = 0
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue
    if (labels.every((l) => line.includes(l))) sum += Number(line.slice(line.lastIndexOf(" ") + 1))
  }
  return sum
}

/** What the fake Datadog received: each occurrence once (and how often twice), and when the set was whole. */
const receiver = (datadog: FakeDatadog) => {
  const counts = new Uint16Array(events)
  let distinct = 0
  let duplicates = 0
  let posts = 0
  let completedAt = Number.NaN
  let next = 0
  const arrivals: Array<number> = []
  const poll = () => {
    const requests: ReadonlyArray<RecordedRequest> = datadog.requests({ path: "/api/v1/events" })
    for (; next < requests.length; next++) {
      const r = requests[next] as RecordedRequest
      if (!r.done) break
      if (!r.accepted) continue
      posts++
      arrivals.push(r.time)
      const text = (r.body as { text?: string } | undefined)?.text ?? ""
      for (const m of text.matchAll(occurrencePattern)) {
        const n = Number(m[1])
        if (n >= events) continue
        const c = counts[n] as number
        counts[n] = c + 1
        if (c === 0) distinct++
        else duplicates++
      }
      if (distinct === events && Number.isNaN(completedAt)) completedAt = r.time
    }
    return { distinct, duplicates, posts, completedAt, arrivals }
  }
  return poll
}

const main = async () => {
  const agent = buildAgent()
  console.error(`agent: ${agent.source} (${agent.main}); settings: ${plain ? "none" : JSON.stringify(settings)}`)
  const plane = await startControlPlane()
  const datadog = await startFakeDatadog()
  try {
    const admin = makeApi(plane.server, { ca: plane.caPem, cert: plane.admin.certPem, key: plane.admin.keyPem })

    // In-cluster credentials for the agent and the floor: a ServiceAccount bound to cluster-admin.
    await admin.json("POST", "/api/v1/namespaces", { metadata: { name: NAMESPACE } })
    await admin.json("POST", `/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts`, {
      metadata: { name: "dca-bench" }
    })
    await admin.json("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
      metadata: { name: "dca-bench" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: "dca-bench", namespace: AGENT_NAMESPACE }]
    })
    const token = await admin.json<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${AGENT_NAMESPACE}/serviceaccounts/dca-bench/token`,
      { spec: { expirationSeconds: 86_400 } }
    )
    const saDir = join(work, "serviceaccount")
    mkdirSync(saDir)
    writeFileSync(join(saDir, "token"), token.status.token)
    writeFileSync(join(saDir, "ca.crt"), plane.caPem)
    writeFileSync(join(saDir, "namespace"), AGENT_NAMESPACE)

    const confd = join(work, "conf.d")
    mkdirSync(join(confd, "kubernetes_apiserver.d"), { recursive: true })
    writeFileSync(
      join(confd, "kubernetes_apiserver.d", "conf.yaml"),
      [
        "init_config:",
        "instances:",
        "  - collect_events: true",
        "    min_collection_interval: 1",
        ...(maxEventsPerRun === undefined ? [] : [`    max_events_per_run: ${maxEventsPerRun}`]),
        ""
      ].join("\n")
    )

    const deleteToken = async () => {
      const a = await admin.request("DELETE", `/api/v1/namespaces/${AGENT_NAMESPACE}/configmaps/${TOKEN_CONFIGMAP}`)
      if (a.status !== 200 && a.status !== 404) throw new Error(`delete the token: ${a.status} ${a.body}`)
    }
    const benchEventCount = async () =>
      (
        await admin.json<{ items: Array<unknown>; metadata: { remainingItemCount?: number } }>(
          "GET",
          `/api/v1/namespaces/${NAMESPACE}/events?limit=1`
        )
      ).items.length
    const deleteEvents = async () => {
      await admin.json("DELETE", `/api/v1/namespaces/${NAMESPACE}/events`)
      while ((await benchEventCount()) > 0) await sleep(250)
    }
    const createEvents = async () => {
      const now = new Date().toISOString().replace(/\.\d+Z$/, "Z")
      const started = performance.now()
      let n = 0
      const worker = async () => {
        for (let i = n++; i < events; i = n++) {
          const object = i % objects
          await admin.json("POST", `/api/v1/namespaces/${NAMESPACE}/events`, {
            metadata: { name: `occurrence-${i}` },
            involvedObject: {
              kind: "ConfigMap",
              name: `object-${object}`,
              namespace: NAMESPACE,
              uid: `00000000-0000-4000-8000-${String(object).padStart(12, "0")}`
            },
            reason: REASON,
            message: `occurrence-${i}`,
            type: "Normal",
            source: { component: "bench" },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1
          })
        }
      }
      await Promise.all(Array.from({ length: 25 }, worker))
      return (performance.now() - started) / 1000
    }
    const apiServerWrites = async () => {
      const text = (await admin.request("GET", "/metrics")).body
      const labels = ['resource="configmaps"', 'verb="PUT"']
      return {
        puts: sumMetric(text, "apiserver_request_total", labels),
        seconds: sumMetric(text, "apiserver_request_duration_seconds_sum", labels)
      }
    }
    const controlPlaneCpu = () => plane.pids.reduce((s, pid) => s + cpuOf(pid), 0)

    /** Samples the RSS of `pid` once a second for `settle` seconds, then reads /proc once more. */
    const settleAndRead = async (pid: number): Promise<ProcMemory & { samples: Array<number> }> => {
      const samples: Array<number> = []
      for (let s = 0; s < settle; s++) {
        await sleep(1000)
        samples.push(procMemory(pid).rssMB)
      }
      return { ...procMemory(pid), samples }
    }

    const runIdle = async () => {
      await deleteToken()
      datadog.reset()
      const a = await startAgent(agent.main, plane, datadog, saDir, confd)
      try {
        await a.logged(/collecting Kubernetes events/)
        const memory = await settleAndRead(a.pid)
        const metrics = await scrape(a.metricsPort)
        return {
          ...memory,
          heapUsedMB: metricValue(metrics, "nodejs_heap_size_used_bytes") / 2 ** 20,
          queued: metricValue(metrics, "kubernetes_apiserver_events_queued")
        }
      } finally {
        await a.stop()
      }
    }

    const runNode = async () => {
      const child = spawn(process.execPath, ["-e", "console.log('ready'); setInterval(() => {}, 1 << 30)"], {
        env: { ...cleanEnv(), ...settings },
        stdio: ["ignore", "pipe", "inherit"]
      })
      await new Promise<void>((ok) => child.stdout?.once("data", () => ok()))
      const memory = await settleAndRead(child.pid as number)
      child.kill("SIGTERM")
      return memory
    }

    /** The latency of `--datadog-latency` on /api/v1/events (for the agent and the POST floor alike). */
    const datadogAsConfigured = () => {
      datadog.clearFaults()
      if (datadogLatency > 0) datadog.inject({ kind: "latency", ms: datadogLatency }, { path: "/api/v1/events" })
    }

    const runAgentThroughput = async () => {
      await deleteToken()
      datadog.reset()
      datadogAsConfigured()
      const poll = receiver(datadog)
      const writesBefore = await apiServerWrites()
      const cpBefore = controlPlaneCpu()
      const spawnedAt = Date.now()
      const a = await startAgent(agent.main, plane, datadog, saDir, confd)
      try {
        const collectingAt = await a.logged(/collecting Kubernetes events/)
        const deadline = Date.now() + 1000 * timeoutSeconds
        let got = poll()
        while (Number.isNaN(got.completedAt)) {
          if (a.child.exitCode !== null) throw new Error(`the agent exited:\n${a.output().slice(-3000)}`)
          if (Date.now() > deadline)
            throw new Error(
              `only ${got.distinct} of ${events} occurrences within ${timeoutSeconds} s:\n${a.output().slice(-3000)}`
            )
          await sleep(25)
          got = poll()
        }
        const cpuSeconds = cpuOf(a.pid)
        const peakMB = procMemory(a.pid).peakMB
        // A moment for a late duplicate or a last token write, then the totals.
        await sleep(1500)
        got = poll()
        const writesAfter = await apiServerWrites()
        const puts = writesAfter.puts - writesBefore.puts
        const seconds = (got.completedAt - collectingAt) / 1000
        const gaps = got.arrivals.slice(1).map((t, i) => t - (got.arrivals[i] as number))
        return {
          /** From the first POST's arrival to the last's. */
          shippingSeconds: ((got.arrivals.at(-1) ?? Number.NaN) - (got.arrivals[0] ?? Number.NaN)) / 1000,
          firstPostSeconds: ((got.arrivals[0] ?? Number.NaN) - collectingAt) / 1000,
          /** Between one Datadog event and the next: POST, answer, token PUT, next POST. */
          cycleMs: latency(gaps),
          seconds,
          eventsPerSecond: events / seconds,
          fromSpawnSeconds: (got.completedAt - spawnedAt) / 1000,
          startupSeconds: (collectingAt - spawnedAt) / 1000,
          datadogEvents: got.posts,
          received: got.distinct,
          duplicates: got.duplicates,
          tokenWrites: puts,
          tokenWriteServerMs: (1000 * (writesAfter.seconds - writesBefore.seconds)) / Math.max(1, puts),
          agentCpuSeconds: cpuSeconds,
          controlPlaneCpuSeconds: controlPlaneCpu() - cpBefore,
          peakMB
        }
      } finally {
        await a.stop()
      }
    }

    /** The floor in a child (not spawnSync: the fake Datadog in this process must answer it). */
    const runBare = async (): Promise<BareResult> => {
      datadogAsConfigured()
      const child = spawn(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          "--bare",
          "--server",
          plane.server,
          "--sa-dir",
          saDir,
          "--datadog",
          datadog.url,
          "--expect",
          String(events)
        ],
        { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] }
      )
      let stdout = ""
      let stderr = ""
      child.stdout?.on("data", (c: Buffer) => {
        stdout += c.toString("utf8")
      })
      child.stderr?.on("data", (c: Buffer) => {
        stderr += c.toString("utf8")
      })
      const code = await new Promise<number | null>((ok) => child.on("close", (c) => ok(c)))
      const line = stdout.split("\n").find((l) => l.startsWith("RESULT "))
      if (line === undefined) throw new Error(`the bare LIST+WATCH failed (${code}):\n${stderr.slice(-3000)}`)
      return JSON.parse(line.slice("RESULT ".length)) as BareResult
    }

    const runInFlight = async () => {
      await deleteToken()
      datadog.reset()
      const fault = datadog.inject({ kind: "status", status: 503 }, { path: "/api/v1/events" })
      const a = await startAgent(agent.main, plane, datadog, saDir, confd)
      try {
        const collectingAt = await a.logged(/collecting Kubernetes events/)
        let queued = 0
        const deadline = Date.now() + 300_000
        while (!(queued >= events)) {
          if (Date.now() > deadline) throw new Error(`queued ${queued} of ${events} after 300 s`)
          await sleep(250)
          queued = metricValue(await scrape(a.metricsPort), "kubernetes_apiserver_events_queued")
        }
        const queuedAfterSeconds = (Date.now() - collectingAt) / 1000
        const memory = await settleAndRead(a.pid)
        const metrics = await scrape(a.metricsPort)
        const accepted = datadog.requests({ path: "/api/v1/events" }).filter((r) => r.accepted).length
        return {
          ...memory,
          heapUsedMB: metricValue(metrics, "nodejs_heap_size_used_bytes") / 2 ** 20,
          queued: metricValue(metrics, "kubernetes_apiserver_events_queued"),
          queuedAfterSeconds,
          answered503: fault.applied(),
          accepted
        }
      } finally {
        await a.stop()
        fault.remove()
      }
    }

    const rounds: Array<Record<string, unknown>> = []
    for (let round = 0; round < runs; round++) {
      await deleteEvents()
      const idle = skipMemory ? undefined : await runIdle()
      const node = skipMemory ? undefined : await runNode()
      if (idle !== undefined && node !== undefined)
        console.error(
          `round ${round + 1}: idle agent ${idle.rssMB} MB (heap ${idle.heapUsedMB.toFixed(1)} MB, queued ${idle.queued}), Node alone ${node.rssMB} MB`
        )
      const createSeconds = await createEvents()
      console.error(
        `round ${round + 1}: created ${events} events in ${createSeconds.toFixed(1)} s (${(events / createSeconds).toFixed(0)}/s)`
      )
      const bareFirst = round % 2 === 1
      let floor: BareResult | undefined
      if (bareFirst) floor = await runBare()
      const ours = await runAgentThroughput()
      if (!bareFirst) floor = await runBare()
      const bareRun = floor as BareResult
      if (bareRun.occurrences !== events) throw new Error(`the floor counted ${bareRun.occurrences} of ${events}`)
      const bareEps = events / bareRun.seconds
      console.error(
        `round ${round + 1}: agent ${ours.seconds.toFixed(2)} s = ${ours.eventsPerSecond.toFixed(0)} events/s (start-up ${ours.startupSeconds.toFixed(2)} s; ${ours.datadogEvents} Datadog events, ${ours.duplicates} duplicates, ${ours.tokenWrites} token PUTs at ${ours.tokenWriteServerMs.toFixed(1)} ms server-side, agent CPU ${ours.agentCpuSeconds.toFixed(1)} s, control plane CPU ${ours.controlPlaneCpuSeconds.toFixed(1)} s, peak ${ours.peakMB} MB; first POST after ${ours.firstPostSeconds.toFixed(2)} s, then one every ${ours.cycleMs.median.toFixed(1)} ms (median)); floor ${bareRun.seconds.toFixed(2)} s = ${bareEps.toFixed(0)} events/s (${bareRun.pages} pages, CPU ${bareRun.cpuSeconds.toFixed(2)} s), PUT floor ${bareRun.putMs.median.toFixed(1)} ms, POST floor ${bareRun.postMs.median.toFixed(1)} ms (medians); ratio ${(ours.eventsPerSecond / bareEps).toFixed(3)}`
      )
      const inFlight = idle === undefined ? undefined : await runInFlight()
      if (idle !== undefined && inFlight !== undefined)
        console.error(
          `round ${round + 1}: ${inFlight.queued} queued after ${inFlight.queuedAfterSeconds.toFixed(1)} s: RSS ${inFlight.rssMB} MB (peak ${inFlight.peakMB}, heap ${inFlight.heapUsedMB.toFixed(1)} MB; ${inFlight.answered503} answered 503, ${inFlight.accepted} accepted); +${(inFlight.rssMB - idle.rssMB).toFixed(1)} MB over idle = ${((1024 * (inFlight.rssMB - idle.rssMB)) / events).toFixed(2)} KB per event`
        )
      rounds.push({ round: round + 1, createSeconds, idle, node, ours, floor: bareRun, bareFirst, inFlight })
    }
    await deleteEvents()
    admin.destroy()

    // --- summary --------------------------------------------------------------------------------
    type R = {
      createSeconds: number
      idle: { rssMB: number; heapUsedMB: number; samples: Array<number> }
      node: { rssMB: number }
      ours: Awaited<ReturnType<typeof runAgentThroughput>>
      floor: BareResult
      inFlight: Awaited<ReturnType<typeof runInFlight>>
    }
    const rs = rounds as unknown as Array<R>
    const col = (f: (r: R) => number) => rs.map(f)
    const row = (label: string, digits: number, ...fs: Array<(r: R) => number>) =>
      `| ${label} | ${fs.map((f) => spread(col(f), digits)).join(" / ")} |`
    const floorEps = (r: R) => events / r.floor.seconds
    const extra = (r: R) => r.inFlight.rssMB - r.idle.rssMB
    const options = [
      `agent ${agent.source}`,
      plain ? "plain" : "the image's settings",
      ...(maxEventsPerRun === undefined ? [] : [`max_events_per_run ${maxEventsPerRun}`]),
      ...(datadogLatency > 0 ? [`Datadog latency ${datadogLatency} ms`] : [])
    ]
    const lines = [
      `event pipeline: ${events} events over ${objects} objects, ${runs} rounds, ${options.join(", ")}; median (min–max)`,
      "",
      "| | value |",
      "|---|---|",
      row("agent: LIST to last occurrence at Datadog (s)", 2, (r) => r.ours.seconds),
      row("agent: events/s", 0, (r) => r.ours.eventsPerSecond),
      row("floor (bare LIST+WATCH): s", 2, (r) => r.floor.seconds),
      row("floor: events/s", 0, floorEps),
      row("**agent ÷ floor (events/s, per round)**", 3, (r) => r.ours.eventsPerSecond / floorEps(r)),
      row("agent: Datadog events (POSTs)", 0, (r) => r.ours.datadogEvents),
      row("agent: token writes (ConfigMap PUTs)", 0, (r) => r.ours.tokenWrites),
      row('agent: "collecting" to the first POST (s)', 2, (r) => r.ours.firstPostSeconds),
      row("agent: first POST to last (s)", 2, (r) => r.ours.shippingSeconds),
      row(
        "agent: one Datadog event to the next, median / mean (ms)",
        1,
        (r) => r.ours.cycleMs.median,
        (r) => r.ours.cycleMs.mean
      ),
      row("agent: token write, the API server's own latency (ms)", 1, (r) => r.ours.tokenWriteServerMs),
      row(
        "floor: sequential 8 KB ConfigMap PUT, client-side, median / mean (ms)",
        1,
        (r) => r.floor.putMs.median,
        (r) => r.floor.putMs.mean
      ),
      row(
        "floor: sequential POST of a bundled event to the fake, median / mean (ms)",
        2,
        (r) => r.floor.postMs.median,
        (r) => r.floor.postMs.mean
      ),
      row(
        "share of the agent's time: token writes × mean PUT floor / POSTs × mean POST floor",
        2,
        (r) => (r.ours.tokenWrites * r.floor.putMs.mean) / 1000 / r.ours.seconds,
        (r) => (r.ours.datadogEvents * r.floor.postMs.mean) / 1000 / r.ours.seconds
      ),
      row("agent: duplicates", 0, (r) => r.ours.duplicates),
      row(
        "agent CPU / control plane CPU during the run (s)",
        1,
        (r) => r.ours.agentCpuSeconds,
        (r) => r.ours.controlPlaneCpuSeconds
      ),
      row('agent: start-up to "collecting" (s)', 2, (r) => r.ours.startupSeconds),
      row("agent: peak RSS while draining (MB)", 1, (r) => r.ours.peakMB),
      row("creating the events (events/s, 25 at a time)", 0, (r) => events / r.createSeconds)
    ]
    // Only with the memory runs (not with --skip-memory).
    const memoryLines = () => [
      row("RSS idle, 0 events (MB)", 1, (r) => r.idle.rssMB),
      row(`RSS with ${events} queued, Datadog answering 503 (MB)`, 1, (r) => r.inFlight.rssMB),
      row(
        "RSS, highest 1 s sample while settling: idle / in flight (MB; before the agent's idle GC)",
        1,
        (r) => Math.max(...r.idle.samples),
        (r) => Math.max(...r.inFlight.samples)
      ),
      row("peak RSS (VmHWM) with them (MB)", 1, (r) => r.inFlight.peakMB),
      row("Node alone (MB)", 1, (r) => r.node.rssMB),
      row("RSS in flight − idle (MB, per round)", 1, extra),
      row("per event (KB, per round)", 2, (r) => (1024 * extra(r)) / events),
      row(
        "heap used idle / in flight (MB)",
        1,
        (r) => r.idle.heapUsedMB,
        (r) => r.inFlight.heapUsedMB
      ),
      row(
        "RSS ÷ Node alone: idle / in flight",
        2,
        (r) => r.idle.rssMB / r.node.rssMB,
        (r) => r.inFlight.rssMB / r.node.rssMB
      )
    ]
    console.log([...lines, ...(skipMemory ? [] : memoryLines())].join("\n"))
    const out = flags.get("out") ?? join(tmpdir(), `dca-bench-event-pipeline-${Date.now()}.json`)
    writeFileSync(
      out,
      JSON.stringify(
        { events, objects, runs, settle, agent: agent.source, plain, maxEventsPerRun, datadogLatency, rounds },
        null,
        2
      )
    )
    console.log(`\nall results: ${out}`)
  } finally {
    await datadog.close()
    await plane.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

await main()
