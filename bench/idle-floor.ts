// The idle memory floor (issue 7): where the RSS of an agent that watches an empty cluster goes.
//
//   node bench/idle-floor.ts [modules] [--dist build] [--plain]     per-module table
//   node bench/idle-floor.ts agent [--dist dist] [--seconds 15] [--plain] [--loads]
//                                                     the real `node dist/main.js start` against an
//                                                     empty API server, and bare Node, side by side
//   node bench/idle-floor.ts serve --dir DIR          the empty API server alone (prints READY <port>)
//
// Run `npm run build` first. `agent` measures `dist/`, the bundle the image ships
// (scripts/bundle.ts); `--dist build` measures tsc's output before bundling instead. `modules`
// imports tsc's output (`build/`), module by module. Both run in a temporary copy of the image's
// layout (dist/, package.json, node_modules). Every child runs with the image's settings, read
// from the Dockerfile's ENV (MALLOC_*, NODE_OPTIONS); `--plain` runs them without; `--set K=V`
// overrides one.
//
// `modules`: each row is a fresh `node --expose-gc` process that imports the listed modules
// (cumulatively, in the order the agent loaded them before issue 7; then each one alone), forces
// GC (ending with a memory-reducing one, as the agent's idle collection does, so that the young
// generation grown while loading does not count) and reports RSS and heap, next to bare Node in
// the same run.
//
// `agent`: an HTTPS server on loopback that answers like an API server holding no objects (empty
// LISTs, WATCHes that stay quiet until their timeout, /version, /readyz, the kube-system
// namespace, the cluster-id ConfigMap) and the agent started as the image starts it, with the
// in-cluster service account (no kubeconfig, so client-node is not needed). The service-account
// files live in a temporary directory: a preload (`--import`) maps the fixed path
// /var/run/secrets/kubernetes.io/serviceaccount onto it in node:fs, and does nothing else.
// The RSS is read from /proc after the agent has been idle for `--seconds` (no forced GC: the
// process is exactly the shipped one); `--loads` also lists every file the agent loaded, by package.
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import * as Https from "node:https"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath, pathToFileURL } from "node:url"
import { selfSignedLocalhost } from "../dev/controlPlane/pki.ts"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// ---------------------------------------------------------------------------------------------
// The image's settings

/** The Dockerfile's runtime ENV entries that change memory: MALLOC_* and NODE_OPTIONS. */
export const shippedEnv = (dockerfile = join(repo, "Dockerfile")): Record<string, string> => {
  const text = readFileSync(dockerfile, "utf8")
  // The last stage is the runtime image; its ENV instructions may continue over several lines.
  const runtime = text.slice(text.lastIndexOf("\nFROM "))
  const env: Record<string, string> = {}
  for (const m of runtime.matchAll(/^ENV\s+((?:[^\n]*\\\n)*[^\n]*)/gm)) {
    const body = (m[1] as string).replace(/\\\n/g, " ")
    for (const kv of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
      const key = kv[1] as string
      const raw = kv[2] as string
      const value = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, "$1") : raw
      if (key.startsWith("MALLOC_") || key === "NODE_OPTIONS") env[key] = value
    }
  }
  return env
}

// ---------------------------------------------------------------------------------------------
// An API server with no objects

const emptyList = (path: string) => {
  const resource = path.split("/").pop() ?? ""
  return { kind: "List", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: [], resource }
}

const status = (code: number, reason: string, message: string) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  code
})

/** The request handler: `created` holds the ConfigMaps the agent creates. */
const emptyApiServer = () => {
  const created = new Map<string, Record<string, unknown>>()
  let requests = 0
  let watches = 0
  const kubeSystemUid = "6f0a8c4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
  const handler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    requests++
    const url = new URL(req.url ?? "/", "https://localhost")
    const path = url.pathname
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    let body = ""
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString("utf8")
    })
    req.on("end", () => {
      if (path === "/version") {
        return json(200, { major: "1", minor: "34", gitVersion: "v1.34.0", platform: "linux/amd64" })
      }
      if (path === "/readyz" || path === "/livez" || path === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" })
        return res.end("ok")
      }
      if (path === "/api/v1/namespaces/kube-system") {
        return json(200, {
          kind: "Namespace",
          apiVersion: "v1",
          metadata: { name: "kube-system", uid: kubeSystemUid, resourceVersion: "1" }
        })
      }
      const configMap = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/)
      if (configMap !== null) {
        const [, ns, name] = configMap
        if (req.method === "POST" || req.method === "PUT") {
          const obj = JSON.parse(body) as { metadata?: Record<string, unknown> }
          const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(requests) } }
          created.set(`${ns}/${String(obj.metadata?.name)}`, stored)
          return json(req.method === "POST" ? 201 : 200, stored)
        }
        if (name !== undefined) {
          const found = created.get(`${ns}/${name}`)
          return found === undefined
            ? json(404, status(404, "NotFound", `configmaps "${name}" not found`))
            : json(200, found)
        }
      }
      if (req.method === "GET" && url.searchParams.get("watch") === "true") {
        // A watch of an empty cluster: 200, then nothing until the requested timeout.
        watches++
        console.log(`WATCH ${watches} ${path}`)
        res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" })
        res.flushHeaders()
        const seconds = Number(url.searchParams.get("timeoutSeconds") ?? "300")
        const timer = setTimeout(() => res.end(), Math.max(1, seconds) * 1000)
        res.on("close", () => clearTimeout(timer))
        return
      }
      if (req.method === "GET" && /^\/(api\/v1|apis\/[^/]+\/[^/]+)(\/namespaces\/[^/]+)?\/[a-z]+$/.test(path)) {
        return json(200, emptyList(path))
      }
      return json(404, status(404, "NotFound", `the server could not find the requested resource (${path})`))
    })
  }
  return { handler, counts: () => ({ requests, watches }) }
}

/** `serve`: writes the service account (token, ca.crt) under `dir`, listens on loopback, prints READY <port>. */
const serve = async (dir: string) => {
  const { keyPem, certPem } = selfSignedLocalhost("empty-apiserver")
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, "ca.crt"), certPem)
  writeFileSync(join(dir, "token"), "bench-token")
  writeFileSync(join(dir, "namespace"), "datadog")
  const api = emptyApiServer()
  const server = Https.createServer({ key: keyPem, cert: certPem }, api.handler)
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok))
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("no port")
  console.log(`READY ${address.port}`)
  const stop = () => {
    console.error(`empty API server: ${JSON.stringify(api.counts())}`)
    process.exit(0)
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
}

export interface EmptyApiServer {
  readonly port: number
  /** WATCH requests received so far. */
  readonly watches: () => number
  /** The service-account directory (token, ca.crt, namespace). */
  readonly dir: string
  readonly stop: () => void
}

/** Starts the empty API server in its own process (so it weighs on no measured process). */
export const startEmptyApiServer = async (): Promise<EmptyApiServer> => {
  const dir = mkdtempSync(join(tmpdir(), "dca-idle-sa-"))
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "serve", "--dir", dir], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  let watches = 0
  const port = await new Promise<number>((ok, fail) => {
    let out = ""
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const m = out.match(/READY (\d+)/)
      if (m !== null) ok(Number(m[1]))
      watches = Math.max(watches, ...[...out.matchAll(/^WATCH (\d+)/gm)].map((w) => Number(w[1])))
      out = out.slice(out.lastIndexOf("\n") + 1)
    })
    child.on("exit", (code) => fail(new Error(`empty API server exited (${code}) before listening`)))
  })
  return {
    port,
    watches: () => watches,
    dir,
    stop: () => {
      child.kill("SIGTERM")
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The agent's environment

/** A free TCP port on loopback. */
export const freePort = (): Promise<number> =>
  new Promise((ok, fail) => {
    const s = createServer()
    s.unref()
    s.on("error", fail)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => (a !== null && typeof a !== "string" ? ok(a.port) : fail(new Error("no port"))))
    })
  })

/**
 * The preload that maps the service-account path onto `DCA_BENCH_SERVICE_ACCOUNT_DIR` in node:fs
 * (the sync, callback and promise forms of the calls that read a file), for `--import`. It loads nothing but node:fs and node:module.
 */
export const serviceAccountPreload = (): string => {
  const file = join(
    tmpdir(),
    `dca-idle-sa-preload-${createHash("sha1").update(serviceAccountDir).digest("hex").slice(0, 8)}.mjs`
  )
  writeFileSync(
    file,
    `import fs from "node:fs"
import { syncBuiltinESMExports } from "node:module"
const from = ${JSON.stringify(serviceAccountDir)}
const to = process.env.DCA_BENCH_SERVICE_ACCOUNT_DIR
if (to) {
  const map = (p) => (typeof p === "string" && p.startsWith(from) ? to + p.slice(from.length) : p)
  const wrap = (target, names) => {
    for (const name of names) {
      const original = target[name]
      target[name] = (p, ...rest) => original(map(p), ...rest)
    }
  }
  wrap(fs, ["existsSync", "readFileSync", "statSync", "accessSync", "openSync", "readFile", "stat", "open"])
  wrap(fs.promises, ["readFile", "stat", "open", "access"])
  syncBuiltinESMExports()
}
`
  )
  return file
}

/** The agent's environment against `api`: in-cluster credentials, its own ports and token files. */
export const agentEnv = async (api: EmptyApiServer, work: string): Promise<Record<string, string>> => ({
  DD_API_KEY: "0123456789abcdef0123456789abcdef",
  DD_CLUSTER_AGENT_AUTH_TOKEN: "benchbenchbenchbenchbenchbenchbench",
  DD_AUTH_TOKEN_FILE_PATH: join(work, "auth_token"),
  DD_CLUSTER_AGENT_CMD_PORT: String(await freePort()),
  DD_METRICS_PORT: String(await freePort()),
  DD_HOSTNAME: "bench-node",
  DD_KUBE_RESOURCES_NAMESPACE: "datadog",
  KUBERNETES_SERVICE_HOST: "127.0.0.1",
  KUBERNETES_SERVICE_PORT: String(api.port),
  DCA_BENCH_SERVICE_ACCOUNT_DIR: api.dir,
  HOME: work,
  NODE_ENV: "production",
  DOCKER_DD_AGENT: "true"
})

/** The environment of a child: this process's, without settings that change memory, plus `extra`. */
const childEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("MALLOC_") || k === "NODE_OPTIONS" || k.startsWith("KUBERNETES_") || k === "KUBECONFIG") continue
    if (k.startsWith("DD_")) continue
    env[k] = v
  }
  return { ...env, ...extra }
}

// ---------------------------------------------------------------------------------------------
// The image's files

/**
 * A directory laid out like the image's /opt/datadog-agent: a copy of `dist` (the bundle, or tsc's
 * output), package.json, and the repository's node_modules. The image keeps only the bundle's
 * externals there (docker/runtime-modules.ts), which `start` in a pod never loads (`--loads`
 * shows it), so the rest of node_modules weighs on nothing. Returns its path.
 */
export const imageTree = (dist: string): string => {
  const tree = mkdtempSync(join(tmpdir(), "dca-image-"))
  cpSync(dist, join(tree, "dist"), { recursive: true })
  cpSync(join(repo, "package.json"), join(tree, "package.json"))
  symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"))
  return tree
}

// ---------------------------------------------------------------------------------------------
// Reading memory from /proc

const mb = (kb: number) => Math.round(kb / 102.4) / 10

export interface ProcMemory {
  readonly rssMB: number
  readonly peakMB: number
  readonly anonMB: number
  readonly fileMB: number
}

export const procMemory = (pid: number): ProcMemory => {
  const text = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (field: string) => Number(text.match(new RegExp(`^${field}:\\s+(\\d+)`, "m"))?.[1] ?? Number.NaN)
  return { rssMB: mb(kb("VmRSS")), peakMB: mb(kb("VmHWM")), anonMB: mb(kb("RssAnon")), fileMB: mb(kb("RssFile")) }
}

/** Resident memory of a process by kind of mapping: V8 heap pages (256 KiB), malloc, the node binary... */
export const residentByKind = (pid: number): Array<[string, number]> => {
  const byKind = new Map<string, number>()
  let kind = ""
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/)
    if (header !== null) {
      const size = Number.parseInt(header[2] as string, 16) - Number.parseInt(header[1] as string, 16)
      const name = header[4] ?? ""
      kind =
        name === ""
          ? size === 262144
            ? "V8 heap pages (anonymous 256 KiB)"
            : "other anonymous (malloc arenas of threads, stacks, large blocks)"
          : name === "[heap]"
            ? "malloc main arena ([heap])"
            : name === process.execPath || name.endsWith("/bin/node")
              ? "node binary (file)"
              : name.startsWith("/")
                ? "shared libraries and other files"
                : name
      continue
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/)
    if (rss !== null) byKind.set(kind, (byKind.get(kind) ?? 0) + Number(rss[1]))
  }
  return [...byKind].map(([k, v]): [string, number] => [k, mb(v)]).sort((a, b) => b[1] - a[1])
}

// ---------------------------------------------------------------------------------------------
// `modules`: one fresh process per row

/** The probe, written at the root of `tree` so that bare specifiers resolve from its node_modules. */
const probeFile = (tree: string): string => {
  const file = join(tree, "probe.mjs")
  writeFileSync(
    file,
    `import { setTimeout as sleep } from "node:timers/promises"
for (const spec of process.argv.slice(2)) {
  if (spec.startsWith("builtin:")) process.getBuiltinModule(spec.slice("builtin:".length))
  else await import(spec)
}
for (let i = 0; i < 4; i++) { globalThis.gc(); await sleep(50) }
// As the agent's idle collection does: shrinks the young generation grown while loading.
globalThis.gc({ type: "major", execution: "sync", flavor: "last-resort" })
await sleep(50)
const m = process.memoryUsage()
const mb = (b) => Math.round(b / 104857.6) / 10
console.log("PROBE " + JSON.stringify({ rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), heapTotalMB: mb(m.heapTotal), externalMB: mb(m.external) }))
`
  )
  return file
}

interface Probe {
  readonly rssMB: number
  readonly heapUsedMB: number
  readonly heapTotalMB: number
  readonly externalMB: number
}

/** `dist/x.js` → the tree's copy of it (of `--dist`, tsc's output); anything else is imported as written. */
const resolveSpec = (spec: string, tree: string): string =>
  spec.startsWith("dist/") ? pathToFileURL(join(tree, spec)).href : spec

const probe = (specs: ReadonlyArray<string>, tree: string, env: Record<string, string>): Probe => {
  const child = spawnSync(
    process.execPath,
    ["--expose-gc", probeFile(tree), ...specs.map((s) => resolveSpec(s, tree))],
    { encoding: "utf8", env: childEnv(env) }
  )
  const line = child.stdout.split("\n").find((l) => l.startsWith("PROBE "))
  if (line === undefined) throw new Error(`probe ${specs.join(" ")} failed:\n${child.stderr}`)
  return JSON.parse(line.slice("PROBE ".length)) as Probe
}

/** What the agent loads, in the order it loads it (main.ts → cli/root.ts → start.ts → ...). */
const cumulativeSteps: ReadonlyArray<{ readonly label: string; readonly specs: ReadonlyArray<string> }> = [
  { label: "Node alone", specs: [] },
  {
    label: "+ node:https, tls, crypto, zlib, net (getBuiltinModule: no ESM facade)",
    specs: ["builtin:node:https", "builtin:node:tls", "builtin:node:crypto", "builtin:node:zlib", "builtin:node:net"]
  },
  { label: "+ node:http2", specs: ["builtin:node:http2"] },
  { label: "+ `import` of node:http (its ESM facade reads the lazy WebSocket getters: undici)", specs: ["node:http"] },
  { label: "+ effect (barrel)", specs: ["effect"] },
  { label: "+ effect/cli", specs: ["effect/cli"] },
  { label: "+ effect/http", specs: ["effect/http"] },
  { label: "+ effect/observability", specs: ["effect/observability"] },
  { label: "+ @effect/platform-node (barrel)", specs: ["@effect/platform-node"] },
  { label: "+ our modules (dist/cli/root.js)", specs: ["dist/cli/root.js"] }
]

const aloneSteps: ReadonlyArray<string> = [
  "node:http",
  "builtin:node:http",
  "node:https",
  "node:tls",
  "node:http2",
  "effect",
  "effect/Effect",
  "effect/cli",
  "effect/http",
  "effect/observability",
  "@effect/platform-node",
  "@effect/platform-node/NodeRuntime",
  "@effect/platform-node/NodeServices",
  "@effect/platform-node/NodeHttpServer",
  "redis",
  "ws",
  "undici",
  "@kubernetes/client-node",
  "dist/cli/version.js",
  "dist/cli/root.js"
]

const modules = (tree: string, env: Record<string, string>, extraAlone: ReadonlyArray<string>) => {
  const rows: Array<{ row: string; probe: Probe; delta: number }> = []
  const base = probe([], tree, env)
  let previous = base
  const acc: Array<string> = []
  console.log("\n| cumulative | RSS (MB) | Δ RSS | heapUsed (MB) | heapTotal (MB) |\n|---|---|---|---|---|")
  for (const step of cumulativeSteps) {
    acc.push(...step.specs)
    const p = acc.length === 0 ? base : probe(acc, tree, env)
    const delta = p.rssMB - previous.rssMB
    rows.push({ row: step.label, probe: p, delta })
    console.log(
      `| ${step.label} | ${p.rssMB} | ${acc.length === 0 ? "" : `+${delta.toFixed(1)}`} | ${p.heapUsedMB} | ${p.heapTotalMB} |`
    )
    previous = p
  }
  console.log("\n| alone (over Node alone) | RSS (MB) | Δ RSS | heapUsed (MB) |\n|---|---|---|---|")
  for (const spec of [...aloneSteps, ...extraAlone]) {
    try {
      const p = probe([spec], tree, env)
      console.log(`| ${spec} | ${p.rssMB} | +${(p.rssMB - base.rssMB).toFixed(1)} | ${p.heapUsedMB} |`)
    } catch (e) {
      console.log(`| ${spec} | failed: ${(e as Error).message.split("\n")[0]} | | |`)
    }
  }
  return rows
}

// ---------------------------------------------------------------------------------------------
// `agent`: the real start command, and bare Node, measured alike

const loadListPreload = (out: string): string => {
  const file = join(tmpdir(), "dca-idle-loadlist.mjs")
  writeFileSync(
    file,
    `import { registerHooks } from "node:module"
import { writeFileSync } from "node:fs"
const seen = []
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context) } })
const dump = () => writeFileSync(${JSON.stringify(out)}, seen.join("\\n") + "\\n")
process.on("exit", dump)
process.on("SIGUSR2", dump)
`
  )
  return file
}

/** Groups loaded URLs by package (node_modules/<pkg>), `dist`, or builtin. */
export const byPackage = (urls: ReadonlyArray<string>): Array<[string, number]> => {
  const counts = new Map<string, number>()
  for (const url of urls) {
    const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//)
    const key =
      m !== null
        ? (m[1] as string)
        : url.startsWith("node:")
          ? "node: builtins"
          : url.includes("/dist/")
            ? "dist (ours)"
            : url
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1])
}

const waitFor = (child: ChildProcess, pattern: RegExp, ms: number): Promise<string> =>
  new Promise((ok, fail) => {
    let out = ""
    const timer = setTimeout(() => fail(new Error(`no ${pattern} within ${ms} ms:\n${out}`)), ms)
    const on = (chunk: Buffer) => {
      out += chunk.toString("utf8")
      if (pattern.test(out)) {
        clearTimeout(timer)
        ok(out)
      }
    }
    child.stdout?.on("data", on)
    child.stderr?.on("data", on)
    child.on("exit", (code) => {
      clearTimeout(timer)
      fail(new Error(`exited (${code}) before ${pattern}:\n${out}`))
    })
  })

const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((ok) => (child.exitCode !== null ? ok(child.exitCode) : child.on("exit", (code) => ok(code))))

interface AgentRun {
  readonly memory: ProcMemory
  readonly byKind: Array<[string, number]>
  readonly samples: ReadonlyArray<number>
  readonly exitCode: number | null
  readonly loads?: Array<[string, number]>
  readonly files?: number
}

/** Starts `args` (a node command line) with `env`, waits for `ready`, samples RSS for `seconds`, stops it. */
const measureProcess = async (
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  seconds: number,
  until: () => boolean = () => true
): Promise<Omit<AgentRun, "loads" | "files">> => {
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] })
  await waitFor(child, ready, 30_000)
  for (let waited = 0; !until(); waited += 100) {
    if (waited > 30_000) throw new Error("the agent opened no WATCH within 30 s")
    await sleep(100)
  }
  const samples: Array<number> = []
  for (let s = 0; s < seconds; s++) {
    await sleep(1000)
    samples.push(procMemory(child.pid as number).rssMB)
  }
  const memory = procMemory(child.pid as number)
  const byKind = residentByKind(child.pid as number)
  child.kill("SIGTERM")
  return { memory, byKind, samples, exitCode: await exitOf(child) }
}

export const runAgent = async (options: {
  /** An image tree (imageTree): dist/main.js with the node_modules it ships with. */
  readonly tree: string
  readonly env: Record<string, string>
  readonly seconds: number
  readonly loads: boolean
}): Promise<{ agent: AgentRun; node: Omit<AgentRun, "loads" | "files"> }> => {
  const api = await startEmptyApiServer()
  const work = mkdtempSync(join(tmpdir(), "dca-idle-agent-"))
  try {
    const env = childEnv({ ...options.env, ...(await agentEnv(api, work)) })
    const main = join(options.tree, "dist", "main.js")
    const preload = ["--import", pathToFileURL(serviceAccountPreload()).href]
    const started = /cluster agent started/
    // Ready: it says so, and its watches are open (after empty LISTs), so nothing is left to load.
    const watching = (n: number) => () => api.watches() >= n
    const agent = await measureProcess([...preload, main, "start"], env, started, options.seconds, watching(1))
    const node = await measureProcess(
      ["-e", "console.log('ready'); setInterval(() => {}, 1 << 30)"],
      childEnv(options.env),
      /ready/,
      options.seconds
    )
    if (!options.loads) return { agent, node }
    const list = join(work, "loads.txt")
    const child = spawn(
      process.execPath,
      [...preload, "--import", pathToFileURL(loadListPreload(list)).href, main, "start"],
      { env, stdio: ["ignore", "pipe", "pipe"] }
    )
    const before = api.watches()
    await waitFor(child, started, 30_000)
    while (api.watches() <= before) await sleep(100)
    await sleep(2000)
    child.kill("SIGTERM")
    await exitOf(child)
    const urls = existsSync(list)
      ? readFileSync(list, "utf8")
          .split("\n")
          .filter((l) => l !== "")
      : []
    return { agent: { ...agent, loads: byPackage(urls), files: urls.length }, node }
  } finally {
    api.stop()
    rmSync(work, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const mode = argv[0]?.startsWith("--") === false ? (argv.shift() as string) : "modules"
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`)
    return i < 0 ? undefined : (argv[i + 1] ?? "true")
  }
  // `modules` imports tsc's modules one by one; `agent` runs what the image ships, the bundle.
  const dist = resolve(repo, flag("dist") ?? (mode === "modules" ? "build" : "dist"))
  // `--set K=V` (repeatable) adds to or overrides the settings, e.g. --set NODE_OPTIONS=--max-semi-space-size=4
  const overrides = Object.fromEntries(
    argv
      .flatMap((a, i) => (a === "--set" && argv[i + 1] !== undefined ? [argv[i + 1] as string] : []))
      .map((kv) => {
        const at = kv.indexOf("=")
        return [kv.slice(0, at), kv.slice(at + 1)]
      })
  )
  const env = { ...(argv.includes("--plain") ? {} : shippedEnv()), ...overrides }
  if (mode === "serve") {
    await serve(flag("dir") ?? mkdtempSync(join(tmpdir(), "dca-idle-sa-")))
  } else {
    if (!existsSync(join(dist, "main.js"))) throw new Error(`${dist}/main.js not found: run npm run build first`)
    const tree = imageTree(dist)
    console.log(`settings: ${JSON.stringify(env)}; ${dist}; Node ${process.version}`)
    if (mode === "modules") {
      modules(
        tree,
        env,
        (flag("also") ?? "").split(",").filter((s) => s !== "")
      )
    } else if (mode === "agent") {
      const seconds = Number(flag("seconds") ?? "15")
      const { agent, node } = await runAgent({ tree, env, seconds, loads: argv.includes("--loads") })
      console.log(
        `\n| process (idle ${seconds} s, RSS from /proc) | RSS (MB) | anon | file | peak | ÷ Node |\n|---|---|---|---|---|---|`
      )
      for (const [name, r] of [
        ["node dist/main.js start", agent],
        ["node (alone)", node]
      ] as const) {
        const m = r.memory
        console.log(
          `| ${name} | ${m.rssMB} | ${m.anonMB} | ${m.fileMB} | ${m.peakMB} | ${(m.rssMB / node.memory.rssMB).toFixed(2)} |`
        )
      }
      console.log(`\nagent RSS samples: ${agent.samples.join(" ")}; exit ${agent.exitCode}`)
      console.log("\n| resident (MB) | agent | Node alone |\n|---|---|---|")
      for (const [kind, agentMB] of agent.byKind.filter(([, v]) => v >= 0.1)) {
        const nodeMB = node.byKind.find(([k]) => k === kind)?.[1] ?? 0
        console.log(`| ${kind} | ${agentMB} | ${nodeMB} |`)
      }
      if (agent.loads !== undefined) {
        console.log(`\nfiles loaded by start: ${agent.files}`)
        for (const [pkg, n] of agent.loads) console.log(`  ${String(n).padStart(5)}  ${pkg}`)
      }
    } else {
      throw new Error(`unknown mode ${mode}: modules, agent or serve`)
    }
    rmSync(tree, { recursive: true, force: true })
  }
}
