// The metadata sync end to end against a REAL API server: starts a local control plane
// (dev/controlPlane), creates the synthetic cluster of bench/synthetic.ts in it, then
// runs `ours-apiserver` of bench/metadata-sync.ts in a child process (the real KubeClient over
// HTTPS, paginated LISTs, real WATCHes) and reports its sync time, memory and checks.
//
// In the same rounds it runs the floor that sync time is judged against: a bare paginated LIST
// of the same five kinds, same page size, against the same API server, in a child process of
// its own (`--bare-list`): plain node:https over one keep-alive agent with the kubeconfig's
// credentials, the five kinds at once as the agent lists them, each page JSON.parsed and
// dropped (no stores, no stripping, no Effect). Two floors: `gzip` asks for gzip bodies and
// gunzips them as src/layers/kube/transport.ts does (the same bytes on the wire as ours),
// `identity` asks for plain JSON. Each round reports ours ÷ floor (goal: ≤ 1.2× the gzip floor).
//
//   node bench/apiserver-sync.ts [--scale small|medium|full] [--runs 3] [--page-size 500]
//        [--floors gzip,identity | --floors none] [--keep | --reuse KUBECONFIG]
//
// `--keep` leaves the populated control plane running until Ctrl-C, so that `--reuse KUBECONFIG`
// (from another shell) can measure again without populating.
//
// Full scale works on a large machine (the API server's watch cache holds every object; creating
// 150,000 pods takes minutes).
//
// No scheduler and no kubelet run: pods are created with spec.nodeName set (and stay Pending);
// services have no selector and their EndpointSlices are created by hand with
// `endpointslice.kubernetes.io/managed-by: bench`, so no controller touches them. Owner
// references are dropped (the garbage collector would delete objects whose owners don't exist),
// as are server-set fields (uid, resourceVersion, managedFields...) and cluster IPs.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import * as Https from "node:https"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { gunzip } from "node:zlib"
import { Duration, Effect, Schedule } from "effect"
import { startControlPlane } from "../dev/controlPlane/controlPlane.ts"
import { KubeClient, type KubeError } from "../src/layers/KubeClient.ts"
import { importClientNode, loadCredentials } from "../src/layers/kube/credentials.ts"
import type { KubeObject, ListPage, ResourceRef } from "../src/layers/kube/types.ts"
import { defaultDataDir, ensureDataSet, type KindFile, pageFile, parseArgs, scaleOf } from "./synthetic.ts"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const { flags } = parseArgs(process.argv.slice(2))
const scale = scaleOf(flags.get("scale"))
const runs = Number(flags.get("runs") ?? "3")
const seed = Number(flags.get("seed") ?? "1")
const dir = defaultDataDir(scale, seed)
const manifest = ensureDataSet(scale, seed, dir)

const resources: Readonly<Record<KindFile, ResourceRef>> = {
  namespaces: { group: "", version: "v1", resource: "namespaces" },
  nodes: { group: "", version: "v1", resource: "nodes" },
  services: { group: "", version: "v1", resource: "services" },
  endpointslices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
  pods: { group: "", version: "v1", resource: "pods" }
}

type Json = Record<string, unknown>
const serverSet = ["uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences", "generation"]

/** The object as a client would send it for `kind`. */
const forCreate = (kind: KindFile, o: KubeObject): Json => {
  const metadata: Json = { ...(o.metadata as Json) }
  for (const k of serverSet) delete metadata[k]
  const out: Json = { ...o, metadata }
  delete out.status
  if (kind === "pods") {
    const spec: Json = { ...(o.spec as Json) }
    // The generator's DaemonSet service accounts don't exist; priority is the admission's to set.
    spec.serviceAccountName = "default"
    spec.serviceAccount = "default"
    delete spec.priority
    delete spec.preemptionPolicy
    out.spec = spec
  }
  if (kind === "services") {
    const spec: Json = { ...(o.spec as Json) }
    const headless = spec.clusterIP === "None"
    delete spec.clusterIP
    delete spec.clusterIPs
    delete spec.selector // selector-less: the EndpointSlice controller leaves the slices to us
    if (headless) spec.clusterIP = "None"
    out.spec = spec
  }
  if (kind === "endpointslices") {
    const labels = { ...((metadata.labels as Json | undefined) ?? {}) }
    labels["endpointslice.kubernetes.io/managed-by"] = "bench"
    metadata.labels = labels
  }
  return out
}

const create = (kube: import("../src/layers/KubeClient.ts").KubeClientShape, kind: KindFile, o: KubeObject) => {
  const namespace = o.metadata?.namespace
  const resource = namespace === undefined ? resources[kind] : { ...resources[kind], namespace }
  const attempt: Effect.Effect<unknown, KubeError> = kube.create(resource, forCreate(kind, o))
  return attempt.pipe(
    // The namespace's "default" ServiceAccount appears shortly after the namespace; retry then.
    Effect.retry({
      times: 20,
      schedule: Schedule.spaced("250 millis"),
      while: (e) => e.reason !== "Invalid" && e.reason !== "Conflict" && e.apiReason !== "AlreadyExists"
    }),
    Effect.catchIf(
      (e) => e.apiReason === "AlreadyExists",
      () => Effect.void
    ),
    Effect.tapError((e) => Effect.sync(() => console.error(`create ${kind} ${o.metadata?.name}: ${e.message}`)))
  )
}

const populate = (kubeconfigPath: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const credentials = loadCredentials(
        { _tag: "KubeconfigPath", path: kubeconfigPath },
        yield* Effect.promise(importClientNode)
      )
      if (!("server" in credentials)) return yield* Effect.die(credentials)
      const kube = yield* KubeClient.make({ credentials, timeout: Duration.seconds(30) })
      for (const kind of ["namespaces", "nodes", "services", "endpointslices", "pods"] as const) {
        const started = performance.now()
        let count = 0
        for (let i = 0; i < manifest.kinds[kind].pages; i++) {
          const page = JSON.parse(
            (yield* Effect.promise(() => readFile(pageFile(dir, kind, i)))).toString("utf8")
          ) as ListPage
          const items =
            kind === "namespaces" ? page.items.filter((n) => n.metadata?.name !== "kube-system") : page.items
          yield* Effect.forEach(items, (o) => create(kube, kind, o), { concurrency: 16, discard: true })
          count += items.length
        }
        console.error(`created ${count} ${kind} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      }
    })
  )

// ---------------------------------------------------------------------------------------------

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
const cpuOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

// ---------------------------------------------------------------------------------------------
// The floor: a bare paginated LIST (`--bare-list`, run in a child process by the rounds below).

type Floor = "gzip" | "identity"

/** The collection path of a resource, as KubeClient builds it. */
const collectionPath = ({ group, version, resource }: ResourceRef) =>
  group === "" ? `/api/${version}/${resource}` : `/apis/${group}/${version}/${resource}`

/**
 * Lists the five kinds at once, each page after page (`limit`, then `continue`), JSON.parses
 * each page and keeps only its item count. Prints `RESULT {json}`.
 */
const bareList = async (kubeconfig: string, floor: Floor, pageSize: number) => {
  const credentials = loadCredentials({ _tag: "KubeconfigPath", path: kubeconfig }, await importClientNode())
  if (!("server" in credentials)) throw new Error(credentials.message)
  const url = new URL(credentials.server)
  if (url.protocol !== "https:") throw new Error(`bare LIST: ${credentials.server} is not https`)
  const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "dca-bench-bare-list" }
  if (floor === "gzip") headers["Accept-Encoding"] = "gzip"
  if (credentials.auth._tag === "Header") headers.Authorization = credentials.auth.value
  else if (credentials.auth._tag !== "None")
    throw new Error(`bare LIST: ${credentials.auth._tag} auth is not supported`)
  // The agent of transport.ts: keep-alive, the kubeconfig's CA, client certificate and key.
  const agent = new Https.Agent({ keepAlive: true, keepAliveMsecs: 30_000, scheduling: "lifo", ...credentials.tls })
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1")
  const port = url.port === "" ? 443 : Number(url.port)
  const basePath = url.pathname.replace(/\/+$/, "")

  const get = (path: string) =>
    new Promise<ListPage>((resolve, reject) => {
      const req = Https.request(
        { agent, hostname, port, method: "GET", path: `${basePath}${path}`, headers },
        (res) => {
          const chunks: Array<Buffer> = []
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("error", reject)
          res.on("end", () => {
            const parse = (body: Buffer) => {
              if (res.statusCode !== 200)
                reject(new Error(`GET ${path}: ${res.statusCode} ${body.toString("utf8", 0, 300)}`))
              else resolve(JSON.parse(body.toString("utf8")) as ListPage)
            }
            const raw = Buffer.concat(chunks)
            if (res.headers["content-encoding"] === "gzip") gunzip(raw, (e, b) => (e === null ? parse(b) : reject(e)))
            else parse(raw)
          })
        }
      )
      req.on("error", reject)
      req.end()
    })

  const listKind = async (kind: KindFile) => {
    let items = 0
    let pages = 0
    let next: string | undefined
    do {
      const query = new URLSearchParams({ limit: String(pageSize) })
      if (next !== undefined) query.set("continue", next)
      const page = await get(`${collectionPath(resources[kind])}?${query}`)
      items += page.items?.length ?? 0
      pages++
      next = page.metadata?.continue || undefined
    } while (next !== undefined)
    return [kind, { items, pages }] as const
  }

  const cpu = process.cpuUsage()
  const started = performance.now()
  const listed = await Promise.all((Object.keys(resources) as Array<KindFile>).map(listKind))
  const seconds = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  agent.destroy()
  console.log(
    `RESULT ${JSON.stringify({
      floor,
      pageSize,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      sizes: Object.fromEntries(listed.map(([kind, r]) => [kind, r.items])),
      pages: Object.fromEntries(listed.map(([kind, r]) => [kind, r.pages]))
    })}`
  )
}

const bareKubeconfig = flags.get("bare-list")
if (bareKubeconfig !== undefined) {
  await bareList(
    bareKubeconfig,
    flags.get("floor") === "identity" ? "identity" : "gzip",
    Number(flags.get("page-size") ?? "500")
  )
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------
// The rounds.

const reuse = flags.get("reuse")
const cp =
  reuse === undefined
    ? await startControlPlane({
        // Room for 10,000 services (the harness's default /24 holds 254).
        apiServerFlags: ["--service-cluster-ip-range=10.96.0.0/16"]
      })
    : undefined
const kubeconfigPath = cp?.kubeconfigPath ?? (reuse as string)
try {
  if (cp !== undefined) {
    console.error(`control plane at ${cp.server}`)
    const setupStarted = performance.now()
    await Effect.runPromise(populate(cp.kubeconfigPath))
    console.error(`populated in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`)
  }
  const controlPlaneCpu = () => (cp === undefined ? Number.NaN : cp.pids.reduce((sum, pid) => sum + cpuOf(pid), 0))

  const pageSize = flags.get("page-size") ?? "500"
  const floorsFlag = flags.get("floors") ?? "gzip,identity"
  const floors = (floorsFlag === "none" ? [] : floorsFlag.split(",")) as Array<Floor>
  for (const f of floors)
    if (f !== "gzip" && f !== "identity") throw new Error(`--floors: gzip, identity or none, not ${f}`)

  /** Runs one child to its `RESULT` line. */
  const child = <R>(what: string, args: ReadonlyArray<string>): R => {
    const run = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
    const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "))
    if (line === undefined) throw new Error(`${what} failed (exit ${run.status}):\n${run.stderr.slice(-3000)}`)
    return JSON.parse(line.slice("RESULT ".length)) as R
  }
  type Ours = Record<string, unknown> & {
    syncSeconds: number
    cpuSeconds: number
    after: { rssMB: number; heapUsedMB: number }
    ok: boolean
    problems: ReadonlyArray<string>
    sizes: Readonly<Record<string, number>>
  }
  interface Bare {
    floor: Floor
    seconds: number
    cpuSeconds: number
    sizes: Readonly<Record<string, number>>
  }
  const runOurs = (): Ours & { controlPlaneCpuSeconds: number } => {
    const cpuBefore = controlPlaneCpu()
    const r = child<Ours>("ours-apiserver", [
      "--expose-gc",
      join(repo, "bench/metadata-sync.ts"),
      "ours-apiserver",
      "--scale",
      scale,
      "--seed",
      String(seed),
      "--kubeconfig",
      kubeconfigPath,
      "--page-size",
      pageSize
    ])
    return { ...r, controlPlaneCpuSeconds: controlPlaneCpu() - cpuBefore }
  }
  const runBare = (floor: Floor): Bare =>
    child<Bare>(`bare LIST (${floor})`, [
      fileURLToPath(import.meta.url),
      "--scale",
      scale,
      "--seed",
      String(seed),
      "--bare-list",
      kubeconfigPath,
      "--floor",
      floor,
      "--page-size",
      pageSize
    ])

  const results: Array<Ours & { controlPlaneCpuSeconds: number; floors: Partial<Record<Floor, Bare>> }> = []
  for (let round = 0; round < runs; round++) {
    // Ours and the floors alternate which goes first, so neither always meets a warmer server.
    const bareFirst = round % 2 === 1
    const bares: Partial<Record<Floor, Bare>> = {}
    const measureFloors = () => {
      for (const f of floors) bares[f] = runBare(f)
    }
    if (bareFirst) measureFloors()
    const r = runOurs()
    if (!bareFirst) measureFloors()
    const problems = [...r.problems]
    for (const b of Object.values(bares)) {
      if (
        JSON.stringify(b.sizes) !== JSON.stringify(Object.fromEntries(Object.keys(b.sizes).map((k) => [k, r.sizes[k]])))
      ) {
        problems.push(`bare LIST (${b.floor}) listed ${JSON.stringify(b.sizes)}, ours holds ${JSON.stringify(r.sizes)}`)
      }
    }
    const vs = Object.values(bares)
      .map(
        (b) =>
          `${b.floor} floor ${b.seconds.toFixed(2)} s (CPU ${b.cpuSeconds.toFixed(1)} s), ours ÷ floor ${(r.syncSeconds / b.seconds).toFixed(2)}×`
      )
      .join("; ")
    console.error(
      `round ${round + 1}: sync ${r.syncSeconds.toFixed(2)} s (agent CPU ${r.cpuSeconds.toFixed(1)} s, control plane CPU ${r.controlPlaneCpuSeconds.toFixed(1)} s during the whole child run), rss ${r.after.rssMB} MB, heapUsed ${r.after.heapUsedMB} MB; ${vs}; ok ${problems.length === 0} ${problems.join("; ")}`
    )
    results.push({ ...r, ok: r.ok && problems.length === 0, problems, floors: bares })
  }
  const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const syncs = results.map((r) => r.syncSeconds)
  const floorSummary = Object.fromEntries(
    floors.map((f) => {
      const seconds = results.map((r) => r.floors[f]?.seconds ?? Number.NaN)
      /** Per round, ours ÷ that round's floor. */
      const ratios = results.map((r) => r.syncSeconds / (r.floors[f]?.seconds ?? Number.NaN))
      return [
        f,
        {
          medianSeconds: median([...seconds]),
          seconds,
          cpuSeconds: results.map((r) => r.floors[f]?.cpuSeconds ?? Number.NaN),
          medianRatio: median([...ratios]),
          ratios
        }
      ]
    })
  )
  console.log(
    `RESULT ${JSON.stringify({
      scale,
      runs,
      medianSyncSeconds: median([...syncs]),
      syncSeconds: syncs,
      pageSize: Number(pageSize),
      agentCpuSeconds: results.map((r) => r.cpuSeconds),
      controlPlaneCpuSeconds: results.map((r) => r.controlPlaneCpuSeconds),
      medianRssMB: median(results.map((r) => r.after.rssMB)),
      /** The bare paginated LIST of the same kinds, and ours ÷ it (goal: ≤ 1.2× the gzip floor). */
      floors: floorSummary,
      ok: results.every((r) => r.ok),
      sizes: results[0]?.sizes,
      problems: results.flatMap((r) => r.problems)
    })}`
  )
  if (cp !== undefined && flags.has("keep")) {
    // The control plane lives as long as this process: wait for Ctrl-C (or SIGTERM), then stop it.
    console.error(
      `kept; in another shell: node bench/apiserver-sync.ts --reuse ${cp.kubeconfigPath} …; Ctrl-C here stops it`
    )
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve)
      process.once("SIGTERM", resolve)
    })
  }
} finally {
  await cp?.stop()
}
