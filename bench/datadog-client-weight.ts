// What a Datadog API client adds to the agent's idle memory (issue 8, item 1): the library
// `@datadog/datadog-api-client` (its three v1 API modules by subpath, as the issue suggests)
// against thin edges on what the agent already loads, each over a baseline process holding the
// agent's own modules.
//
//   node bench/datadog-client-weight.ts [--runs 3] [--dist DIR] [--plain]
//
// Sources are compiled first into a private folder (node_modules/.cache/dca-datadog-weight), so
// the run measures the working tree without touching dist/; `--dist DIR` uses tsc's output of a
// build instead (`--dist build`: dist/ holds the bundle, scripts/bundle.ts, not separate modules).
// Every row is a fresh `node --expose-gc` process that imports the agent's modules (what
// `dist/main.js` loads: the CLI tree with `start` and every layer, the Node runtime), then the
// row's extra modules, builds the client, optionally sends one request to a local fake Datadog
// API, forces GC and reports RSS and heap. Each row runs `--runs` times; the table shows
// medians and the difference to the baseline's median. Children run with the image's memory
// settings (MALLOC_*, NODE_OPTIONS from the Dockerfile) unless `--plain`.
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { startFakeDatadog } from "../dev/fakeDatadog/index.ts"
import { shippedEnv } from "./idle-floor.ts"
import { median } from "./stats.ts"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}

const API_KEY = "0123456789abcdef0123456789abcdef"
const APP_KEY = "0123456789abcdef0123456789abcdef01234567"

const lib = (path: string) => import.meta.resolve(`@datadog/datadog-api-client/dist/packages/${path}`)

/** The probe run by every child: $SPECS (JSON) tells it what to load and do. */
const probeSource = `
import { setTimeout as sleep } from "node:timers/promises"
const spec = JSON.parse(process.env.DCA_WEIGHT_SPEC)
for (const url of spec.base) await import(url)
const started = performance.now()
let request = async () => {}
if (spec.row === "library") {
  const { createConfiguration } = await import(spec.urls.configuration)
  const { BaseServerConfiguration } = await import(spec.urls.servers)
  const { EventsApi } = await import(spec.urls.events)
  const { ServiceChecksApi } = await import(spec.urls.serviceChecks)
  const { MetricsApi } = await import(spec.urls.metrics)
  const configuration = createConfiguration({
    baseServer: new BaseServerConfiguration(spec.fakeUrl, {}),
    authMethods: { apiKeyAuth: spec.apiKey, appKeyAuth: spec.appKey }
  })
  const apis = [new EventsApi(configuration), new ServiceChecksApi(configuration), new MetricsApi(configuration)]
  globalThis.__keep = apis
  request = () => apis[0].createEvent({ body: { title: "weight", text: "probe" } })
} else if (spec.row === "effect-http") {
  const { HttpClient, HttpClientRequest } = await import(spec.urls.effectHttp)
  const NodeHttpClient = await import(spec.urls.nodeHttpClient)
  const Effect = await import(spec.urls.effect)
  const ManagedRuntime = await import(spec.urls.managedRuntime)
  const runtime = ManagedRuntime.make(NodeHttpClient.layerUndici)
  const client = await runtime.runPromise(HttpClient.HttpClient.asEffect ? HttpClient.HttpClient.asEffect() : HttpClient.HttpClient)
  globalThis.__keep = [runtime, client]
  request = () =>
    runtime.runPromise(
      Effect.flatMap(
        client.execute(
          HttpClientRequest.post(spec.fakeUrl + "/api/v1/events").pipe(
            HttpClientRequest.setHeader("DD-API-KEY", spec.apiKey),
            HttpClientRequest.bodyJsonUnsafe({ title: "weight", text: "probe" })
          )
        ),
        (response) => response.json
      )
    )
} else if (spec.row === "ours") {
  const { DatadogClient } = await import(spec.urls.ours)
  const Effect = await import(spec.urls.effect)
  const Option = await import(spec.urls.option)
  const Redacted = await import(spec.urls.redacted)
  const Duration = await import(spec.urls.duration)
  const ManagedRuntime = await import(spec.urls.managedRuntime)
  const runtime = ManagedRuntime.make(
    DatadogClient.layerWith({
      apiUrl: spec.fakeUrl,
      queryUrl: spec.fakeUrl,
      apiKey: Option.some(Redacted.make(spec.apiKey)),
      queryApiKey: Option.some(Redacted.make(spec.apiKey)),
      queryAppKey: Option.some(Redacted.make(spec.appKey)),
      timeout: Duration.seconds(20),
      proxy: { noProxy: [], nonExactMatch: false }
    })
  )
  const client = await runtime.runPromise(Effect.gen(function* () { return yield* DatadogClient }))
  globalThis.__keep = [runtime, client]
  request = () => runtime.runPromise(client.submitEvent({ title: "weight", text: "probe" }))
}
const loadMs = performance.now() - started
if (spec.request) await request()
for (let i = 0; i < 6; i++) { globalThis.gc(); await sleep(50) }
const m = process.memoryUsage()
const mb = (b) => Math.round(b / 104857.6) / 10
console.log("PROBE " + JSON.stringify({ rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external), loadMs: Math.round(loadMs) }))
process.exit(0)
`

interface Probe {
  readonly rssMB: number
  readonly heapUsedMB: number
  readonly externalMB: number
  /** Time to load the row's modules and build its client, after the baseline's. */
  readonly loadMs: number
}

const round = (n: number) => Math.round(n * 10) / 10

const build = (): string => {
  const out = join(repo, "node_modules", ".cache", "dca-datadog-weight")
  mkdirSync(out, { recursive: true })
  const tsc = spawnSync(
    process.execPath,
    [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", join(repo, "tsconfig.build.json"), "--outDir", out],
    { encoding: "utf8", cwd: repo }
  )
  // Type errors in files under edit elsewhere do not stop the emit; a missing output does.
  if (tsc.status !== 0 && tsc.stdout.trim() !== "")
    console.error(`tsc reported problems (emit continues):\n${tsc.stdout.slice(0, 2000)}`)
  return out
}

const main = async () => {
  const runs = Number(flag("runs") ?? "3")
  const dist = flag("dist") !== undefined ? resolve(flag("dist") as string) : build()
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(argv.includes("--plain") ? {} : shippedEnv())
  }
  // The probe needs --expose-gc; NODE_OPTIONS from the image already carries it, else it is added.
  const probeFile = join(tmpdir(), "dca-datadog-weight-probe.mjs")
  writeFileSync(probeFile, probeSource)
  const fake = await startFakeDatadog()
  const distUrl = (p: string) => pathToFileURL(join(dist, p)).href
  const urls = {
    configuration: lib("datadog-api-client-common/configuration.js"),
    servers: lib("datadog-api-client-common/servers.js"),
    events: lib("datadog-api-client-v1/apis/EventsApi.js"),
    serviceChecks: lib("datadog-api-client-v1/apis/ServiceChecksApi.js"),
    metrics: lib("datadog-api-client-v1/apis/MetricsApi.js"),
    effectHttp: import.meta.resolve("effect/http"),
    nodeHttpClient: import.meta.resolve("@effect/platform-node/NodeHttpClient"),
    effect: import.meta.resolve("effect/Effect"),
    option: import.meta.resolve("effect/Option"),
    redacted: import.meta.resolve("effect/Redacted"),
    duration: import.meta.resolve("effect/Duration"),
    managedRuntime: import.meta.resolve("effect/ManagedRuntime"),
    ours: distUrl("layers/DatadogClient.js")
  }
  // What the agent loads at start: dist/main.js imports these, then runs the CLI.
  const base = [
    import.meta.resolve("@effect/platform-node/NodeRuntime"),
    import.meta.resolve("@effect/platform-node/NodeServices"),
    distUrl("cli/root.js")
  ]
  // Asynchronous: the fake Datadog API answering the probes' requests lives in this process.
  const probe = (row: string, request: boolean): Promise<Probe> =>
    new Promise((ok, fail) => {
      const spec = { row, request, base, urls, fakeUrl: fake.url, apiKey: API_KEY, appKey: APP_KEY }
      const child = spawn(process.execPath, ["--expose-gc", probeFile], {
        env: { ...env, DCA_WEIGHT_SPEC: JSON.stringify(spec) },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let out = ""
      let err = ""
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString("utf8")
      })
      child.stderr.on("data", (c: Buffer) => {
        err += c.toString("utf8")
      })
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
      child.on("exit", (status, signal) => {
        clearTimeout(timer)
        const line = out.split("\n").find((l) => l.startsWith("PROBE "))
        if (line === undefined)
          fail(new Error(`probe ${row} failed (status ${status}, signal ${signal}):\n${out}\n${err}`))
        else ok(JSON.parse(line.slice("PROBE ".length)) as Probe)
      })
    })
  const rows: ReadonlyArray<{ readonly label: string; readonly row: string; readonly request: boolean }> = [
    { label: "baseline: the agent's modules", row: "baseline", request: false },
    {
      label: "+ library: EventsApi, ServiceChecksApi, MetricsApi by subpath, configuration created",
      row: "library",
      request: false
    },
    { label: "+ library, after one createEvent", row: "library", request: true },
    {
      label: "+ effect/http HttpClient over @effect/platform-node NodeHttpClient (undici)",
      row: "effect-http",
      request: false
    },
    { label: "+ effect/http + NodeHttpClient, after one POST", row: "effect-http", request: true },
    { label: "+ DatadogClient (node:https edge), client built", row: "ours", request: false },
    { label: "+ DatadogClient, after one submitEvent", row: "ours", request: true }
  ]
  console.log(
    `Node ${process.version}; ${dist}; settings ${JSON.stringify(argv.includes("--plain") ? {} : shippedEnv())}; ${runs} runs per row, medians`
  )
  const results: Array<{
    label: string
    rss: number
    heap: number
    external: number
    loadMs: number
    all: ReadonlyArray<number>
  }> = []
  // Interleave the rows run by run, so drift on a shared machine spreads over all of them.
  const samples = rows.map(() => [] as Array<Probe>)
  for (let r = 0; r < runs; r++) {
    for (const [i, row] of rows.entries()) samples[i]?.push(await probe(row.row, row.request))
  }
  rows.forEach((row, i) => {
    const s = samples[i] ?? []
    results.push({
      label: row.label,
      rss: median(s.map((p) => p.rssMB)),
      heap: median(s.map((p) => p.heapUsedMB)),
      external: median(s.map((p) => p.externalMB)),
      loadMs: median(s.map((p) => p.loadMs)),
      all: s.map((p) => p.rssMB)
    })
  })
  const answered = fake.requests({ path: "/api/v1/events" }).filter((r) => r.status === 202).length
  await fake.close()
  const baseline = results[0] as (typeof results)[number]
  console.log(
    "\n| row | RSS (MB) | Δ RSS | heapUsed (MB) | Δ heap | external (MB) | load + build (ms) | RSS of each run |\n|---|---|---|---|---|---|---|---|"
  )
  for (const r of results) {
    const first = r === baseline
    console.log(
      `| ${r.label} | ${r.rss} | ${first ? "" : `${r.rss - baseline.rss >= 0 ? "+" : ""}${round(r.rss - baseline.rss)}`} | ${r.heap} | ${first ? "" : `${r.heap - baseline.heap >= 0 ? "+" : ""}${round(r.heap - baseline.heap)}`} | ${r.external} | ${first ? "" : r.loadMs} | ${r.all.join(" ")} |`
    )
  }
  console.log(`\nevents the fake Datadog API accepted: ${answered} (expected ${3 * runs})`)
}

if (import.meta.main) await main()
