// The external metrics provider benchmark (issue 9): the leader's Datadog refresh for many HPAs,
// and a GET of one external metric through our API server.
//
//   node bench/external-metrics.ts [--runs 3] [--hpas 1000] [--latency 50] [--rate 500]
//        [--seconds 10] [--connections 10] [--saturate 5] [--only refresh|get] [--out FILE]
//        [--server-refresh-period 10]
//
// The fake Datadog API (dev/fakeDatadog, a real HTTP server) runs in this process and answers
// every query `avg:bench.requests_<i>{service:svc-<i>}.rollup(30)` with three points, the one to
// use (the newest is skipped as late data) worth i + 0.5. Everything measured runs in child
// processes of its own, so the fake and the load generator do not share its event loop.
//
// 1. Refresh (a child, `--role refresh`, over IPC; one fresh DatadogClient per measurement, as
//    the agent builds it from its configuration: keep-alive, 16 sockets, default retries):
//    - ours: `makeProvider` (src/services/ExternalMetrics.ts) over --hpas HPAs with one distinct
//      External metric each (a reflected store, dev/externalMetricsFakes.ts) and the ConfigMap in
//      memory; its leader loop `term` runs with refresh period and batch window 1 s. Measured: the
//      first tick's round (every metric new) and the next, periodic one (connections warm), each
//      from the first Datadog call to the ConfigMap write that ends the tick, with the process's
//      CPU and its longest event-loop stall (monitorEventLoopDelay, 1 ms) over the same span;
//      the provider's own `lastRefresh` (calls, duration); then every metric is checked twice,
//      as the API would serve it and as the ConfigMap stores it: valid, value i + 0.5.
//    - per-HPA poller: one `queryMetrics` per metric through the same client against the same
//      fake, all at once (each HPA polls on its own; the client's 16 sockets bound them), twice
//      1 s apart like ours; each answer checked the same way.
//    Both without and with --latency ms added by the fake to every /api/v1/query (its latency
//    fault), as a real Datadog across the internet would. The calls are counted by the fake.
// 2. GET (a child per server, `--role server`): `GET /apis/external.metrics.k8s.io/v1beta1/
//    namespaces/default/bench.requests_42?labelSelector=service%3Dsvc-42` over TLS keep-alive with
//    the aggregator's credentials: a front-proxy client certificate (CN front-proxy-client,
//    issued by the CA the authentication ConfigMap names) and X-Remote-User/X-Remote-Group:
//    system:masters, so no SubjectAccessReview is made.
//    - ours: `makeExternalMetricsApi` over the provider's ServedMetrics: the provider of 1. runs
//      its leader loop against the fake meanwhile, as an agent does, with refresh period 10 s
//      (the agent's default is 30; --server-refresh-period) so that a refresh of all --hpas
//      metrics falls into every fixed-rate phase of 10 s or more;
//    - bare: node:https with the same kind of certificate, asking for client certificates from
//      the same CAs, answering every request with the bytes and headers ours answered.
//    Per server: a 2 s autocannon warm-up, then --rate requests/s from the open-loop generator
//    (bench/open-loop.ts, latency from when each request was due) for --seconds over
//    --connections, then autocannon closed-loop over the same connections for --saturate seconds.
//    The server's CPU (user + system, /proc) per request is taken in both phases (on a shared
//    machine it moves less than throughput does), and its event-loop delay over the fixed-rate
//    phase (monitorEventLoopDelay, reported on SIGUSR2): whether the server itself stalled.
// Each run measures both sides; the order alternates from run to run. Ratios are per run, then
// the median (bench/stats.ts). Raw results go to --out (default $TMPDIR/external-metrics-<time>.json).
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import * as Https from "node:https"
import { cpus, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import autocannon from "autocannon"
import { Duration, Effect, Option, Queue, References } from "effect"
import { hpaObject, hpaStore, memoryKube } from "../dev/externalMetricsFakes.ts"
import { startFakeDatadog } from "../dev/fakeDatadog/index.ts"
import { ConfigError, resolve } from "../src/layers/Config.ts"
import { clientOptionsFromConfig, DatadogClient, type DatadogClientShape } from "../src/layers/DatadogClient.ts"
import type { KubeClientShape } from "../src/layers/KubeClient.ts"
import { createCertificate, generateKeyPair } from "../src/lib/x509.ts"
import { makeProvider } from "../src/services/ExternalMetrics.ts"
import { makeExternalMetricsApi } from "../src/services/ExternalMetricsApi.ts"
import { decodeEntries } from "../src/services/externalMetrics/configMap.ts"
import { chunkOutcomes, failed, type QueryOutcome } from "../src/services/externalMetrics/points.ts"
import { toQuantity } from "../src/services/externalMetrics/quantity.ts"
import { metricQuery } from "../src/services/externalMetrics/query.ts"
import { issueClient, makeCa } from "../test/services/externalMetricsApi/pki.ts"
import { type OpenLoopResult, openLoop } from "./open-loop.ts"
import { median } from "./stats.ts"
import { parseArgs } from "./synthetic.ts"

const { flags } = parseArgs(process.argv.slice(2))
const num = (name: string, fallback: number) => Number(flags.get(name) ?? fallback)

const QUERY = "/api/v1/query"
const API_KEY = "0123456789abcdef0123456789abcdef"
const APP_KEY = "fedcba9876543210fedcba9876543210fedcba98"
const TARGET = 42
const metricName = (i: number) => `bench.requests_${i}`
const labelsOf = (i: number) => ({ service: `svc-${i}` })
const expectedValue = (i: number) => i + 0.5
/** i of a query or a metric name. */
const indexOf = (text: string) => Number(/requests_(\d+)/.exec(text)?.[1] ?? Number.NaN)
const getPath = `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metricName(TARGET)}?labelSelector=${encodeURIComponent(`service=svc-${TARGET}`)}`
const aggregatorHeaders = {
  accept: "application/json",
  "x-remote-user": "system:kube-aggregator",
  "x-remote-group": "system:masters"
}

/** The agent's configuration for the bench: the fake as Datadog, our keys, `extra` on top. */
const agentConfig = (datadogUrl: string, extra: Record<string, string> = {}) => {
  const c = resolve(
    {
      DD_API_KEY: API_KEY,
      DD_APP_KEY: APP_KEY,
      DD_DD_URL: datadogUrl,
      DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
      DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: datadogUrl,
      ...extra
    },
    { hostname: "dca-bench", serviceAccountNamespace: Option.none() }
  )
  if (c instanceof ConfigError) throw c
  return c
}

const hpaObjects = (n: number) =>
  Array.from({ length: n }, (_, i) => hpaObject(`app-${i}`, metricName(i), labelsOf(i), "default"))

const isRight = (outcome: QueryOutcome | undefined, i: number) =>
  outcome?._tag === "Point" && outcome.value === expectedValue(i)

// ---------------------------------------------------------------------------------------------
// 1. Refresh: the child.

interface Mark {
  readonly t: number
  readonly cpu: NodeJS.CpuUsage
  /** At the end of a round: the longest the event loop was held since its start, ms. */
  readonly loopMax: number
}
// The event loop's delay over a round: how long the refresh holds it at a stretch (the API
// server shares that loop). Sampled every 1 ms.
const roundDelay = monitorEventLoopDelay({ resolution: 1 })
const mark = (): Mark => ({ t: performance.now(), cpu: process.cpuUsage(), loopMax: roundDelay.max / 1e6 })
/** The start of a round: also restarts the event-loop delay count. */
const markStart = (): Mark => {
  roundDelay.reset()
  return mark()
}
const span = (from: Mark, to: Mark) => ({
  ms: to.t - from.t,
  cpuMs: (to.cpu.user - from.cpu.user + to.cpu.system - from.cpu.system) / 1000,
  loopMaxMs: to.loopMax
})

interface Round {
  readonly ms: number
  readonly cpuMs: number
  /** The longest the event loop was held at a stretch during the round (plus scheduling noise), ms. */
  readonly loopMaxMs: number
  /** Calls this side made (counted by the client's caller). */
  readonly calls: number
  /** Metrics that ended valid with the right value. */
  readonly correct: number
}

interface RefreshAnswer {
  readonly first: Round
  readonly warm: Round
  /** ours: the provider's own record of the periodic refresh. */
  readonly lastRefresh?: { readonly calls: number; readonly failedCalls: number; readonly durationMs: number }
  /** ours: metrics valid with the right value in the ConfigMap. */
  readonly configMapCorrect?: number
}

interface RefreshRequest {
  readonly kind: "ours" | "poller"
  readonly hpas: number
  readonly datadog: string
}

const refreshOurs = (n: number, datadogUrl: string) =>
  Effect.gen(function* () {
    const config = agentConfig(datadogUrl, {
      DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD: "1",
      DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW: "1"
    })
    const client = yield* DatadogClient.make(clientOptionsFromConfig(config))
    // A round runs from the tick's first Datadog call to its ConfigMap write.
    let started: Mark | undefined
    let calls = 0
    const rounds = yield* Queue.unbounded<{ readonly from: Mark; readonly to: Mark; readonly calls: number }>()
    const datadog: DatadogClientShape = {
      ...client,
      queryMetrics: (q) =>
        Effect.suspend(() => {
          started ??= markStart()
          calls += 1
          return client.queryMetrics(q)
        })
    }
    const memory = memoryKube()
    const kube: KubeClientShape = {
      ...memory.kube,
      replaceConfigMap: (ns, cm) =>
        Effect.suspend(() => {
          const to = mark()
          if (started !== undefined) Queue.offerUnsafe(rounds, { from: started, to, calls })
          started = undefined
          calls = 0
          return memory.kube.replaceConfigMap(ns, cm)
        })
    }
    const provider = yield* makeProvider({ config, kube, datadog, hpas: yield* hpaStore(hpaObjects(n)) })
    yield* Effect.forkScoped(provider.term)
    const first = yield* Queue.take(rounds)
    const warm = yield* Queue.take(rounds)
    let served = 0
    for (let i = 0; i < n; i++) {
      const found = provider.served.lookup(metricName(i))
      const entries = found._tag === "Entries" ? found.entries : []
      if (entries.length === 1 && entries[0]?.valid === true && entries[0].value === expectedValue(i)) served += 1
    }
    let configMapCorrect = 0
    for (const e of decodeEntries(memory.stored()?.data).entries.values()) {
      if (e.valid && e.value === expectedValue(indexOf(e.metricName))) configMapCorrect += 1
    }
    const last = (yield* provider.status).lastRefresh
    const answer: RefreshAnswer = {
      first: { ...span(first.from, first.to), calls: first.calls, correct: Number.NaN },
      warm: { ...span(warm.from, warm.to), calls: warm.calls, correct: served },
      configMapCorrect,
      ...(last === undefined
        ? {}
        : { lastRefresh: { calls: last.calls, failedCalls: last.failedCalls, durationMs: last.durationMs } })
    }
    return answer
  })

const refreshPoller = (n: number, datadogUrl: string) =>
  Effect.gen(function* () {
    const config = agentConfig(datadogUrl)
    const client = yield* DatadogClient.make(clientOptionsFromConfig(config))
    const rollup = Duration.toSeconds(config.externalMetricsRollup)
    const bucket = Duration.toSeconds(config.externalMetricsBucketSize)
    const queries = Array.from({ length: n }, (_, i) =>
      metricQuery(config.externalMetricsAggregator, metricName(i), labelsOf(i), rollup)
    )
    const round = Effect.gen(function* () {
      const now = Math.floor(Date.now() / 1000)
      const from = markStart()
      const outcomes = yield* Effect.forEach(
        queries,
        (query) =>
          client.queryMetrics({ from: now - bucket, to: now, query }).pipe(
            Effect.map((response) => chunkOutcomes([query], response, bucket)[0]),
            Effect.catch((e) => Effect.succeed(failed(e.message)))
          ),
        { concurrency: "unbounded" }
      )
      const to = mark()
      const result: Round = {
        ...span(from, to),
        calls: queries.length,
        correct: outcomes.filter((o, i) => isRight(o, i)).length
      }
      return result
    })
    const first = yield* round
    yield* Effect.sleep("1 second")
    const warm = yield* round
    const answer: RefreshAnswer = { first: { ...first, correct: Number.NaN }, warm }
    return answer
  })

const refreshChild = () => {
  roundDelay.enable()
  process.on("message", (request: RefreshRequest) => {
    const measure = request.kind === "ours" ? refreshOurs : refreshPoller
    Effect.runPromise(
      Effect.scoped(measure(request.hpas, request.datadog)).pipe(
        Effect.provideService(References.MinimumLogLevel, "Warn")
      )
    ).then(
      (answer) => process.send?.({ answer }),
      (e: unknown) => process.send?.({ error: String(e) })
    )
  })
}

// ---------------------------------------------------------------------------------------------
// 2. GET: the server children.

const servingCertificate = () => {
  const key = generateKeyPair("ec-p256")
  return {
    certPem: createCertificate({
      subject: { commonName: "localhost" },
      publicKey: key.publicKey,
      signingKey: key.privateKey,
      isCA: false,
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
      extKeyUsage: ["serverAuth"],
      validityDays: 1
    }),
    keyPem: key.privateKeyPem,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"]
  }
}

interface Ready {
  readonly port: number
  /** ours: Datadog calls of its first refresh. */
  readonly calls?: number
}

const ready = (r: Ready) => process.stdout.write(`${JSON.stringify({ ready: r })}\n`)

/** The server's event-loop delay since the last report, ms: did the server itself stall? */
interface LoopDelay {
  readonly p99: number
  readonly max: number
}

/** On SIGUSR2 a server prints its event-loop delay since the previous SIGUSR2 and starts over. */
const reportLoopDelay = () => {
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  process.on("SIGUSR2", () => {
    const loop: LoopDelay = { p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 }
    process.stdout.write(`${JSON.stringify({ loop })}\n`)
    delay.reset()
  })
}

const serveOurs = (n: number, datadogUrl: string, refreshPeriod: number, proxyCa: string, clientCa: string) =>
  Effect.gen(function* () {
    const config = agentConfig(datadogUrl, { DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD: String(refreshPeriod) })
    const datadog = yield* DatadogClient.make(clientOptionsFromConfig(config))
    const memory = memoryKube()
    const authentication = {
      metadata: { name: "extension-apiserver-authentication", namespace: "kube-system" },
      data: {
        "client-ca-file": clientCa,
        "requestheader-client-ca-file": proxyCa,
        "requestheader-allowed-names": '["front-proxy-client"]',
        "requestheader-username-headers": '["X-Remote-User"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]'
      }
    }
    const kube: KubeClientShape = {
      ...memory.kube,
      getConfigMap: (ns, name) =>
        ns === "kube-system" && name === "extension-apiserver-authentication"
          ? Effect.succeed(authentication)
          : memory.kube.getConfigMap(ns, name)
    }
    const provider = yield* makeProvider({ config, kube, datadog, hpas: yield* hpaStore(hpaObjects(n)) })
    yield* Effect.forkScoped(provider.followLoop)
    yield* Effect.forkScoped(provider.term)
    while ((yield* provider.status).lastRefresh === undefined) yield* Effect.sleep("10 millis")
    const api = yield* makeExternalMetricsApi({
      port: 0,
      host: "127.0.0.1",
      certificate: servingCertificate(),
      served: provider.served,
      kube
    })
    ready({ port: api.port, calls: (yield* provider.status).lastRefresh?.calls ?? 0 })
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "Warn"))

interface Captured {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

const serveBare = (captured: Captured, proxyCa: string, clientCa: string) => {
  const certificate = servingCertificate()
  const server = Https.createServer(
    {
      cert: certificate.certPem,
      key: certificate.keyPem,
      minVersion: "TLSv1.2",
      requestCert: true,
      rejectUnauthorized: false,
      ca: [clientCa, proxyCa]
    },
    (_req, res) => {
      res.writeHead(captured.status, captured.headers)
      res.end(captured.body)
    }
  )
  server.keepAliveTimeout = 60_000
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    ready({ port: typeof address === "object" && address !== null ? address.port : 0 })
  })
}

// ---------------------------------------------------------------------------------------------
// The driver.

const script = fileURLToPath(import.meta.url)

interface Started {
  readonly child: ChildProcess
  readonly ready: Ready
  /** Asks for the event-loop delay since the last call (the first call starts the count). */
  readonly loopDelay: () => Promise<LoopDelay>
}

const startServer = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<Started>((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, "--role", "server", ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    let found = false
    let onLoop: ((loop: LoopDelay) => void) | undefined
    const loopDelay = () =>
      new Promise<LoopDelay>((done) => {
        onLoop = done
        child.kill("SIGUSR2")
      })
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d
      const lines = out.split("\n")
      out = lines.pop() ?? ""
      for (const line of lines) {
        if (!found && line.startsWith('{"ready"')) {
          found = true
          resolvePromise({ child, ready: (JSON.parse(line) as { ready: Ready }).ready, loopDelay })
        } else if (line.startsWith('{"loop"')) {
          onLoop?.((JSON.parse(line) as { loop: LoopDelay }).loop)
          onLoop = undefined
        } else if (line !== "") process.stderr.write(`  server: ${line}\n`)
      }
    })
    child.on("exit", (code) => {
      if (!found) reject(new Error(`server ${args.join(" ")} exited with ${code}`))
    })
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((done) => {
    if (child.exitCode !== null) return done()
    child.once("exit", () => done())
    child.kill("SIGTERM")
  })

const getOnce = (port: number, cert: { cert: string; key: string }) =>
  new Promise<Captured>((done, fail) => {
    const req = Https.request(
      { host: "127.0.0.1", port, path: getPath, headers: aggregatorHeaders, rejectUnauthorized: false, ...cert },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(res.headers)) {
            if (typeof v === "string" && !["date", "connection", "keep-alive", "transfer-encoding"].includes(k))
              headers[k] = v
          }
          done({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8") })
        })
      }
    )
    req.on("error", fail)
    req.end()
  })

interface GetResult {
  readonly achieved: number
  readonly fixed: OpenLoopResult
  readonly saturated: number
  readonly saturatedP99: number
  readonly errors: number
  /** ours: Datadog calls its leader loop made during the fixed-rate phase. */
  readonly datadogCalls: number
  /** The server's own event-loop delay during the fixed-rate phase. */
  readonly loop: LoopDelay
  /** The server's CPU (user + system) per request, µs: at the fixed rate, and in the closed loop. */
  readonly cpuPerRequestFixed: number
  readonly cpuPerRequestClosed: number
}

/** CPU seconds (user + system) of a process so far, from /proc (10 ms ticks). */
const cpuOf = (pid: number | undefined): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

const main = async () => {
  const runs = num("runs", 3)
  const n = num("hpas", 1000)
  const latency = num("latency", 50)
  const rate = num("rate", 500)
  const seconds = num("seconds", 10)
  const connections = num("connections", 10)
  const saturate = num("saturate", 5)
  const refreshPeriod = num("server-refresh-period", 10)
  const only = flags.get("only")
  const out = flags.get("out") ?? join(tmpdir(), `external-metrics-${Date.now()}.json`)
  const began = Date.now()
  const machine = { cpus: cpus().length, node: process.version, loadBefore: loadavg().map((l) => l.toFixed(2)) }
  console.log(`external metrics benchmark: ${runs} runs, ${n} HPAs, ${JSON.stringify(machine)}`)

  const fake = await startFakeDatadog({ acceptedApiKeys: [API_KEY], acceptedAppKeys: [APP_KEY] })
  fake.setSeriesFallback((query, _from, to) => [
    [(to - 60) * 1000, -1],
    [(to - 30) * 1000, expectedValue(indexOf(query))],
    [to * 1000, -2]
  ])
  const fakeCalls = () => fake.requests({ path: QUERY }).length

  // --- 1. refresh ---
  type Side = "ours" | "poller"
  interface RefreshRow {
    readonly run: number
    readonly latency: number
    readonly side: Side
    readonly answer: RefreshAnswer
    /** Calls the fake received during the measurement (both rounds). */
    readonly seen: number
  }
  const refreshRows: Array<RefreshRow> = []
  if (only !== "get") {
    const worker = spawn(process.execPath, [script, "--role", "refresh"], {
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const ask = (kind: Side) =>
      new Promise<RefreshAnswer>((done, fail) => {
        worker.once("message", (m: { answer?: RefreshAnswer; error?: string }) =>
          m.answer !== undefined ? done(m.answer) : fail(new Error(m.error))
        )
        worker.send({ kind, hpas: n, datadog: fake.url } satisfies RefreshRequest)
      })
    // Warm-up: JIT, not reported.
    await ask("ours")
    await ask("poller")
    for (let run = 1; run <= runs; run++) {
      for (const ms of latency > 0 ? [0, latency] : [0]) {
        const fault = ms > 0 ? fake.inject({ kind: "latency", ms }, { path: QUERY }) : undefined
        const sides: ReadonlyArray<Side> = run % 2 === 1 ? ["ours", "poller"] : ["poller", "ours"]
        for (const side of sides) {
          fake.clearRequests()
          const before = fakeCalls()
          const answer = await ask(side)
          const row = { run, latency: ms, side, answer, seen: fakeCalls() - before }
          refreshRows.push(row)
          const { warm, first } = answer
          console.log(
            `run ${run} refresh ${side} +${ms} ms: ${row.seen} calls seen, periodic ${warm.ms.toFixed(1)} ms ` +
              `(cpu ${warm.cpuMs.toFixed(0)} ms, loop held ≤ ${warm.loopMaxMs.toFixed(0)} ms, ${warm.calls} calls), first ${first.ms.toFixed(1)} ms, ` +
              `${warm.correct}/${n} right${answer.configMapCorrect === undefined ? "" : `, ConfigMap ${answer.configMapCorrect}/${n}`}` +
              `${answer.lastRefresh === undefined ? "" : `, lastRefresh ${JSON.stringify(answer.lastRefresh)}`}`
          )
        }
        fault?.remove()
      }
    }
    worker.disconnect()
    await stop(worker)
  }

  // --- 2. GET ---
  type Server = "ours" | "bare"
  const getRows: Array<{ readonly run: number; readonly server: Server; readonly result: GetResult }> = []
  const servers: ReadonlyArray<Server> = ["ours", "bare"]
  if (only !== "refresh") {
    const proxyCa = makeCa("front-proxy-ca")
    const clientCa = makeCa("client-ca")
    const frontProxy = issueClient("front-proxy-client", [], proxyCa)
    const cert = { cert: frontProxy.certPem, key: frontProxy.keyPem }
    const env = { BENCH_PROXY_CA: proxyCa.certPem, BENCH_CLIENT_CA: clientCa.certPem }
    let captured: Captured | undefined
    const expected = toQuantity(expectedValue(TARGET))
    const measure = async (server: Server): Promise<GetResult> => {
      const started =
        server === "bare"
          ? await startServer(["--kind", "bare"], { ...env, BENCH_ANSWER: JSON.stringify(captured) })
          : await startServer(
              ["--kind", "ours", "--hpas", String(n), "--datadog", fake.url, "--refresh-period", String(refreshPeriod)],
              env
            )
      try {
        const { port } = started.ready
        const answer = await getOnce(port, cert)
        const item = (JSON.parse(answer.body) as { items?: Array<{ value?: string }> }).items?.[0]
        if (answer.status !== 200 || item?.value !== expected)
          throw new Error(`${server}: unexpected answer ${answer.status} ${answer.body.slice(0, 300)}`)
        if (server === "ours") captured ??= answer
        const url = `https://127.0.0.1:${port}${getPath}`
        const load = (duration: number) =>
          autocannon({ url, connections, duration, headers: aggregatorHeaders, tlsOptions: cert })
        await load(2)
        const before = fakeCalls()
        const pid = started.child.pid
        await started.loopDelay()
        const cpu0 = cpuOf(pid)
        const t0 = performance.now()
        const fixed = await openLoop({
          url,
          headers: aggregatorHeaders,
          rate,
          seconds,
          connections,
          clientCertificate: cert
        })
        const elapsed = (performance.now() - t0) / 1000
        const datadogCalls = fakeCalls() - before
        const cpu1 = cpuOf(pid)
        const loop = await started.loopDelay()
        const closed = await load(saturate)
        const cpu2 = cpuOf(pid)
        return {
          achieved: fixed.ok / elapsed,
          fixed,
          saturated: closed.requests.average,
          saturatedP99: closed.latency.p99,
          errors: fixed.errors + closed.errors + closed.timeouts + closed.non2xx,
          datadogCalls,
          loop,
          cpuPerRequestFixed: ((cpu1 - cpu0) / fixed.sent) * 1e6,
          cpuPerRequestClosed: ((cpu2 - cpu1) / closed.requests.total) * 1e6
        }
      } finally {
        await stop(started.child)
      }
    }
    for (let run = 1; run <= runs; run++) {
      // Bare serves ours's bytes, so the very first measurement is ours.
      const order = run % 2 === 1 || captured === undefined ? servers : [...servers].reverse()
      for (const server of order) {
        const result = await measure(server)
        getRows.push({ run, server, result })
        const f = result.fixed
        console.log(
          `run ${run} GET ${server}: ${result.achieved.toFixed(0)} req/s achieved (${f.ok}/${f.sent} ok), ` +
            `p50 ${f.p50} p99 ${f.p99} max ${f.max} ms; closed loop ${result.saturated.toFixed(0)} req/s ` +
            `(p99 ${result.saturatedP99} ms); server CPU per request ${result.cpuPerRequestFixed.toFixed(0)} µs at the fixed rate, ` +
            `${result.cpuPerRequestClosed.toFixed(0)} µs closed loop; its event-loop delay p99 ${result.loop.p99.toFixed(1)} max ${result.loop.max.toFixed(1)} ms; errors ${result.errors}; Datadog calls meanwhile ${result.datadogCalls}`
        )
      }
    }
    console.log(`response: ${captured?.body.length} bytes, ${JSON.stringify(captured?.headers)}`)
  }
  await fake.close()

  // --- summary ---
  const med = (xs: ReadonlyArray<number>, digits = 1) => median(xs).toFixed(digits)
  const row = (...cells: ReadonlyArray<string | number>) => console.log(`| ${cells.join(" | ")} |`)
  /** The median over runs of a ratio taken within each run. */
  const perRun = <R extends { readonly run: number }>(rows: ReadonlyArray<R>, ratio: (run: number) => number) =>
    med([...new Set(rows.map((r) => r.run))].map(ratio), 2)
  if (refreshRows.length > 0) {
    console.log(`\nRefresh of ${n} HPAs with ${n} distinct metrics; medians of ${runs} runs:`)
    row(
      "fake's latency",
      "side",
      "Datadog calls per refresh",
      "seen by the fake (2 refreshes)",
      "periodic refresh ms",
      "its CPU ms",
      "longest event-loop stall ms",
      "first refresh ms",
      "metrics right (worst run)"
    )
    row("---", "---", "---", "---", "---", "---", "---", "---", "---")
    for (const ms of [...new Set(refreshRows.map((r) => r.latency))]) {
      const at = refreshRows.filter((r) => r.latency === ms)
      for (const side of ["ours", "poller"] as const) {
        const rows = at.filter((r) => r.side === side).map((r) => ({ ...r.answer, seen: r.seen }))
        const right = Math.min(...rows.map((a) => Math.min(a.warm.correct, a.configMapCorrect ?? n)))
        row(
          `${ms} ms`,
          side,
          med(
            rows.map((a) => a.warm.calls),
            0
          ),
          med(
            rows.map((a) => a.seen),
            0
          ),
          med(rows.map((a) => a.warm.ms)),
          med(
            rows.map((a) => a.warm.cpuMs),
            0
          ),
          med(rows.map((a) => a.warm.loopMaxMs)),
          med(rows.map((a) => a.first.ms)),
          `${right}/${n}`
        )
      }
      const ratio = (f: (a: RefreshAnswer) => number) =>
        perRun(at, (run) => {
          const of = (side: Side) => at.find((r) => r.run === run && r.side === side)?.answer
          const o = of("ours")
          const p = of("poller")
          return o === undefined || p === undefined ? Number.NaN : f(p) / f(o)
        })
      row(
        "",
        "poller ÷ ours, per run",
        ratio((a) => a.warm.calls),
        "",
        ratio((a) => a.warm.ms),
        ratio((a) => a.warm.cpuMs),
        "",
        ratio((a) => a.first.ms),
        ""
      )
    }
  }
  if (getRows.length > 0) {
    console.log(
      `\nGET of one external metric: ${rate} req/s for ${seconds} s, then closed loop for ${saturate} s, over ${connections} keep-alive TLS connections; medians of ${runs} runs:`
    )
    row(
      "server",
      "achieved req/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "errors",
      "closed-loop req/s",
      "closed-loop p99 ms",
      "server CPU µs/request, fixed rate",
      "closed loop",
      "server's event-loop delay max ms, fixed rate"
    )
    row("---", "---", "---", "---", "---", "---", "---", "---", "---", "---", "---")
    for (const server of servers) {
      const rows = getRows.filter((r) => r.server === server).map((r) => r.result)
      row(
        server,
        med(
          rows.map((r) => r.achieved),
          0
        ),
        med(
          rows.map((r) => r.fixed.p50),
          2
        ),
        med(
          rows.map((r) => r.fixed.p99),
          2
        ),
        med(rows.map((r) => r.fixed.max)),
        rows.reduce((sum, r) => sum + r.errors, 0),
        med(
          rows.map((r) => r.saturated),
          0
        ),
        med(
          rows.map((r) => r.saturatedP99),
          0
        ),
        med(
          rows.map((r) => r.cpuPerRequestFixed),
          0
        ),
        med(
          rows.map((r) => r.cpuPerRequestClosed),
          0
        ),
        med(rows.map((r) => r.loop.max))
      )
    }
    {
      const ratio = (f: (r: GetResult) => number) =>
        perRun(getRows, (run) => {
          const of = (server: Server) => getRows.find((r) => r.run === run && r.server === server)?.result
          const o = of("ours")
          const b = of("bare")
          return o === undefined || b === undefined ? Number.NaN : f(o) / f(b)
        })
      console.log(
        `ours ÷ bare, per run: closed-loop req/s ${ratio((r) => r.saturated)}, p50 ${ratio((r) => r.fixed.p50)}, p99 ${ratio((r) => r.fixed.p99)}, max ${ratio((r) => r.fixed.max)}, CPU per request ${ratio((r) => r.cpuPerRequestFixed)} at the fixed rate, ${ratio((r) => r.cpuPerRequestClosed)} closed loop`
      )
    }
  }
  const total = (Date.now() - began) / 1000
  console.log(`\n${total.toFixed(0)} s; load average ${loadavg().map((l) => l.toFixed(2))}; raw results: ${out}`)
  writeFileSync(
    out,
    JSON.stringify(
      {
        machine: { ...machine, loadAfter: loadavg() },
        options: { runs, n, latency, rate, seconds, connections, saturate, refreshPeriod },
        refreshRows,
        getRows
      },
      null,
      2
    )
  )
}

const role = flags.get("role")
// A child exits cleanly on SIGTERM, so that `--cpu-prof` (in NODE_OPTIONS) writes its profile.
if (role !== undefined) process.once("SIGTERM", () => process.exit(0))
if (role === "refresh") refreshChild()
else if (role === "server") {
  reportLoopDelay()
  const proxyCa = process.env.BENCH_PROXY_CA ?? ""
  const clientCa = process.env.BENCH_CLIENT_CA ?? ""
  if (flags.get("kind") === "ours") {
    Effect.runFork(
      serveOurs(num("hpas", 1000), flags.get("datadog") ?? "", num("refresh-period", 10), proxyCa, clientCa).pipe(
        Effect.catchCause((cause) =>
          Effect.sync(() => {
            process.stderr.write(`ours: ${String(cause)}\n`)
            process.exit(1)
          })
        )
      )
    )
  } else serveBare(JSON.parse(process.env.BENCH_ANSWER ?? "{}") as Captured, proxyCa, clientCa)
} else await main()
