// One sync/memory scenario of issue 4 per process (so RSS is clean), on the synthetic cluster of
// bench/synthetic.ts; prints one line `RESULT {json}` on stdout.
//
//   node --expose-gc bench/metadata-sync.ts <scenario> [--scale full|medium|small] [--seed 1]
//        [--smaps] [--gzip [--gzip-chunk BYTES]] [--page-size 500] [--kubeconfig PATH]
//
// Flags: `--smaps` adds resident memory by kind of mapping (Linux); `--gzip` serves the pages
// gzipped and gunzips them as KubeClient's transport does with the API server's gzip bodies
// (`--gzip-chunk`: Zlib's chunkSize, default 16 KiB); `--page-size` is the LIST limit;
// `--kubeconfig` is for ours-apiserver.
//
// Scenarios:
//   ours            the watch layer (makeWatches, src/streams/Watches.ts) over a fake KubeClient
//                   whose listAll JSON.parses the page texts and whose watch never emits, the
//                   mapper's five stores from it and makeMetadataMapper over them, until the
//                   mapper has caught up; checks the stores and every node's answer
//                   (`nodePodsJson`) against the generator's ground truth.
//   ours-apiserver  ours with the real KubeClient against `--kubeconfig` (bench/apiserver-sync.ts).
//   breakdown       ours, then where the heap goes: the mapper and its stores, each kind's slim
//                   objects (run it with --no-flush-bytecode).
//   baseline        @kubernetes/client-node makeInformer for the same 5 kinds, listFn returning
//                   the same page texts JSON.parsed and concatenated (plain objects), watches
//                   idling on a local HTTP server.
//   baseline-typed  the same, but the list goes through client-node's ObjectSerializer into its
//                   model classes (V1PodList…), which is what `listFn: () => api.listPod…()`
//                   hands the informer in real use.
//   empty           the agent itself with no objects: src/main.ts run as `start` in this process
//                   (so it is measured like empty-node), against the empty API server of
//                   bench/idle-floor.ts, once its watches are open. Needs the environment that
//                   bench/run-metadata-sync.ts (or `bench/idle-floor.ts`) gives it.
//   empty-baseline  Node + @kubernetes/client-node + the idle HTTP server: the baseline's floor.
//   empty-node      Node alone.
//
// Modules are imported dynamically per scenario, so one scenario's code does not weigh on
// another's RSS.
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import type { Server } from "node:http"
import { setTimeout as sleep } from "node:timers/promises"
import { promisify } from "node:util"
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8"
import { gunzip, gzipSync } from "node:zlib"
import {
  defaultDataDir,
  ensureDataSet,
  type KindFile,
  type Manifest,
  pageFile,
  parseArgs,
  readTruth,
  rng,
  scaleOf
} from "./synthetic.ts"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with node --expose-gc")

const gunzipAsync = promisify(gunzip)

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10

export interface Memory {
  readonly rssMB: number
  readonly heapUsedMB: number
  readonly heapTotalMB: number
  readonly externalMB: number
  readonly arrayBuffersMB: number
  /** Peak RSS of the process so far. */
  readonly maxRssMB: number
  /** From /proc/self/smaps_rollup and status (Linux): what the RSS is made of. */
  readonly proc: Readonly<Record<string, number>> | undefined
}

/** RSS split (MB): anonymous vs file-backed, and pages freed with MADV_FREE that still count. */
const procMemory = (): Readonly<Record<string, number>> | undefined => {
  try {
    const out: Record<string, number> = {}
    const pick = (text: string, fields: ReadonlyArray<string>) => {
      for (const line of text.split("\n")) {
        const [k, v] = line.split(/:\s+/)
        if (k !== undefined && v !== undefined && fields.includes(k)) out[k] = mb(Number.parseInt(v, 10) * 1024)
      }
    }
    pick(readFileSync("/proc/self/status", "utf8"), ["RssAnon", "RssFile", "RssShmem"])
    pick(readFileSync("/proc/self/smaps_rollup", "utf8"), [
      "LazyFree",
      "Private_Dirty",
      "Shared_Clean",
      "Private_Clean"
    ])
    return out
  } catch {
    return undefined
  }
}

/**
 * Resident memory by kind of mapping (`--smaps`): anonymous mappings by permissions and size
 * (V8's heap pages are 256 KiB, big malloc blocks get their own mapping), files by name.
 */
const residentByMapping = (count = 12) => {
  const byKind = new Map<string, { rssMB: number; mappings: number }>()
  let kind: string | undefined
  const bucket = (bytes: number) =>
    bytes === 262144
      ? "=256K"
      : bytes < 262144
        ? "<256K"
        : bytes < 1 << 20
          ? "<1M"
          : bytes < 8 << 20
            ? "<8M"
            : bytes < 64 << 20
              ? "<64M"
              : ">=64M"
  for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const header = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/)
    if (header !== null) {
      const size = Number.parseInt(header[2] as string, 16) - Number.parseInt(header[1] as string, 16)
      const name = header[4] ?? ""
      kind = name === "" ? `[anon ${header[3]} ${bucket(size)}]` : name
      continue
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/)
    if (rss === null || kind === undefined) continue
    const entry = byKind.get(kind) ?? { rssMB: 0, mappings: 0 }
    entry.rssMB = round1(entry.rssMB + Number(rss[1]) / 1024)
    entry.mappings++
    byKind.set(kind, entry)
  }
  return [...byKind]
    .sort((a, b) => b[1].rssMB - a[1].rssMB)
    .slice(0, count)
    .map(([name, v]) => ({ name, ...v }))
}

/** Full GCs with pauses in between (lets V8 release pages), then the numbers. */
const settle = async (): Promise<Memory> => {
  for (let i = 0; i < 4; i++) {
    gc()
    await sleep(50)
  }
  const m = process.memoryUsage()
  return {
    rssMB: mb(m.rss),
    heapUsedMB: mb(m.heapUsed),
    heapTotalMB: mb(m.heapTotal),
    externalMB: mb(m.external),
    arrayBuffersMB: mb(m.arrayBuffers),
    maxRssMB: mb(process.resourceUsage().maxRSS * 1024),
    proc: procMemory()
  }
}

/** The response body of one LIST page, as the wire delivers it: bytes, then a string, then JSON.parse. */
const readPage = async (dir: string, kind: KindFile, page: number): Promise<unknown> => {
  if (!gzipped) return JSON.parse((await readFile(pageFile(dir, kind, page))).toString("utf8"))
  // `--gzip`: the body as the API server sends it to KubeClient (Accept-Encoding: gzip), which
  // gunzips it with Zlib.gunzip before decoding. Compressed copies are made once, next to the pages.
  const path = `${pageFile(dir, kind, page)}.gz`
  if (!existsSync(path)) writeFileSync(path, gzipSync(readFileSync(pageFile(dir, kind, page)), { level: 1 }))
  const chunk = flags.get("gzip-chunk")
  const raw = await gunzipAsync(await readFile(path), chunk === undefined ? {} : { chunkSize: Number(chunk) })
  return JSON.parse(raw.toString("utf8"))
}

const { flags, positional } = parseArgs(process.argv.slice(2))
const gzipped = flags.has("gzip")
const scenario = positional[0] ?? "ours"
const scale = scaleOf(flags.get("scale"))
const seed = Number(flags.get("seed") ?? "1")
const dir = flags.get("data") ?? defaultDataDir(scale, seed)
const manifest: Manifest = ensureDataSet(scale, seed, dir)

const report = (result: Record<string, unknown>) => {
  const heapLimitMB = mb(getHeapStatistics().heap_size_limit)
  console.log(`RESULT ${JSON.stringify({ scenario, scale, seed, heapLimitMB, ...result })}`)
}

// ---------------------------------------------------------------------------------------------

/** The modules of our path, loaded on demand (see the header). */
const loadOurs = async () => {
  const effect = await import("effect")
  const { makeWatches } = await import("../src/streams/Watches.ts")
  const { makeMetadataMapper, reflectMetadataSources } = await import("../src/services/MetadataMapper.ts")
  const { MetadataIndex } = await import("../src/services/metadata/MetadataIndex.ts")
  const objects = await import("../src/services/metadata/objects.ts")
  const { keyOf } = await import("../src/streams/strip.ts")
  const { reconnectBackoff } = await import("../src/lib/backoff.ts")
  const { fakeKubeClient } = await import("../dev/fakeKubeClient.ts")
  return {
    effect,
    makeWatches,
    makeMetadataMapper,
    reflectMetadataSources,
    MetadataIndex,
    objects,
    keyOf,
    reconnectBackoff,
    fakeKubeClient
  }
}
type Ours = Awaited<ReturnType<typeof loadOurs>>
type ListPage<T> = import("../src/layers/kube/types.ts").ListPage<T>
type KubeObject = import("../src/layers/kube/types.ts").KubeObject
type ResourceRef = import("../src/layers/kube/types.ts").ResourceRef
type MetadataIndexT = import("../src/services/metadata/MetadataIndex.ts").MetadataIndex
type MetadataSources = import("../src/services/MetadataMapper.ts").MetadataSources
type MetadataMapperShape = import("../src/services/MetadataMapper.ts").MetadataMapperShape

/** What the sync built: the mapper and the stores it reads (dropped by `breakdown`). */
interface Synced {
  readonly syncSeconds: number
  /** The watch layer's (the stores). */
  readonly scope: import("effect").Scope.Closeable
  /** The mapper's (its index and the fibers that follow the stores), closed apart by `breakdown`. */
  readonly mapperScope: import("effect").Scope.Closeable
  readonly holder: { mapper: MetadataMapperShape | undefined; sources: MetadataSources | undefined }
}

/**
 * A KubeClient whose LISTs serve the recorded pages (bytes → string → JSON.parse, as KubeClient.list
 * does with a response body) and whose WATCHes never deliver anything.
 */
const recordedKube = (
  effect: typeof import("effect"),
  fakeKubeClient: typeof import("../dev/fakeKubeClient.ts").fakeKubeClient
) => {
  const { Effect, Stream } = effect
  return fakeKubeClient({
    listAll: <T>(resource: ResourceRef) => {
      const kind = resource.resource as KindFile
      const pages = Array.from({ length: manifest.kinds[kind].pages }, (_, i) => i)
      return Stream.fromIterable(pages).pipe(
        Stream.mapEffect((i) =>
          Effect.promise(async () => {
            const page = (await readPage(dir, kind, i)) as ListPage<T>
            return { ...page, metadata: page.metadata ?? {}, items: page.items ?? [] }
          })
        )
      )
    },
    watch: () => Stream.never
  })
}

const watcherOptions = (effect: typeof import("effect"), backoff: import("effect").Schedule.Schedule<unknown>) => ({
  // The agent's default; `--page-size` to try others.
  pageSize: Number(flags.get("page-size") ?? "500"),
  watchTimeout: effect.Duration.seconds(60),
  idleTimeout: effect.Duration.minutes(30),
  backoff
})

/**
 * Runs the watch layer and the metadata mapper over the recorded pages, as the agent's wiring
 * does (MetadataMapper.layer), until the mapper has caught up: every store holds its first
 * complete list and the index and caches have taken it in.
 */
const syncOurs = async (
  m: Ours,
  kube: import("../src/layers/KubeClient.ts").KubeClientShape = recordedKube(m.effect, m.fakeKubeClient)
): Promise<Synced> => {
  const { Duration, Effect, Scope } = m.effect
  const { metadataWatches } = m.objects
  const options = watcherOptions(m.effect, m.reconnectBackoff)
  const scope = Effect.runSync(Scope.make())
  const mapperScope = Effect.runSync(Scope.make())
  const started = performance.now()
  const holder: Synced["holder"] = await Effect.runPromise(
    Effect.gen(function* () {
      const watches = yield* m.makeWatches(kube, options, Duration.minutes(5), metadataWatches)
      const sources = yield* m.reflectMetadataSources(watches)
      const { mapper, caughtUp } = yield* m.makeMetadataMapper(sources).pipe(Scope.provide(mapperScope))
      yield* caughtUp
      return { mapper, sources }
    }).pipe(Scope.provide(scope))
  )
  return { syncSeconds: (performance.now() - started) / 1000, scope, mapperScope, holder }
}

type ServicesByNs = Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>
type MetadataResponse = import("../src/services/metadata/views.ts").MetadataResponse
type StoreReaders = import("../src/services/metadata/views.ts").Stores & {
  readonly endpointSlices: import("../src/streams/store.ts").StoreReader<unknown>
}

/** Store sizes, and every node's answer (`services` of its bundle) against the ground truth. */
const verify = (
  stores: StoreReaders,
  answer: (node: string) => ServicesByNs,
  /** Objects the cluster has besides the generated ones (a real API server's own). */
  extra: Partial<Record<KindFile, number>> = {}
) => {
  const sizes = {
    pods: stores.pods.size(),
    nodes: stores.nodes.size(),
    namespaces: stores.namespaces.size(),
    services: stores.services.size(),
    endpointslices: stores.endpointSlices.size()
  }
  const problems: Array<string> = []
  for (const k of Object.keys(sizes) as Array<KindFile>) {
    const expected = manifest.kinds[k].items + (extra[k] ?? 0)
    if (sizes[k] !== expected) problems.push(`${k}: ${sizes[k]} in the store, ${expected} expected`)
  }
  const truth = readTruth(dir, new Set([...stores.nodes.values()].map((n) => n.name)))
  let checkedNodes = 0
  let podsWithServices = 0
  for (const [node, expected] of truth) {
    const want: Record<string, Record<string, Record<string, Record<string, never>>>> = {}
    for (const [ns, pods] of Object.entries(expected)) {
      for (const [pod, services] of Object.entries(pods)) {
        podsWithServices++
        want[ns] ??= {}
        const podsOfNs = want[ns] as Record<string, Record<string, Record<string, never>>>
        podsOfNs[pod] = Object.fromEntries(services.map((s) => [s, {}]))
      }
    }
    if (JSON.stringify(sortDeep(answer(node))) !== JSON.stringify(sortDeep(want)) && problems.length < 5) {
      problems.push(`node ${node}: mapping differs from the ground truth`)
    }
    checkedNodes++
  }
  if (checkedNodes !== manifest.size.nodes) problems.push(`checked ${checkedNodes} nodes of ${manifest.size.nodes}`)
  // Three random nodes, summarised for the reader.
  const r = rng(seed)
  const names = [...truth.keys()]
  const samples = [0, 1, 2].map(() => {
    const node = names[r.int(names.length)] as string
    const services = answer(node)
    const expected = truth.get(node) ?? {}
    return {
      node,
      pods: Object.values(services).reduce((n, pods) => n + Object.keys(pods).length, 0),
      expectedPods: Object.values(expected).reduce((n, pods) => n + Object.keys(pods).length, 0),
      services: new Set(Object.values(services).flatMap((pods) => Object.values(pods).flatMap((s) => Object.keys(s))))
        .size
    }
  })
  return { sizes, checkedNodes, podsWithServices, samples, problems }
}

/** The stores, and each node's answer as node agents get it (`nodePodsJson`, parsed back). */
const verifyOurs = ({ holder }: Synced, extra: Partial<Record<KindFile, number>> = {}) => {
  const { mapper, sources } = holder
  if (mapper === undefined || sources === undefined) throw new Error("nothing synced to verify")
  const stores: StoreReaders = {
    pods: sources.pods.store,
    nodes: sources.nodes.store,
    namespaces: sources.namespaces.store,
    services: sources.services.store,
    endpointSlices: sources.endpointSlices.store
  }
  const answer = (node: string): ServicesByNs =>
    (JSON.parse(mapper.nodePodsJson(node).toString("utf8")) as MetadataResponse).Nodes?.[node]?.services ?? {}
  return verify(stores, answer, extra)
}

const ours = async () => {
  const m = await loadOurs()
  const before = await settle()
  const synced = await syncOurs(m)
  const after = await settle()
  const spaces = heapSpaces()
  const mappings = flags.has("smaps") ? residentByMapping() : undefined
  const verdict = verifyOurs(synced)
  report({
    syncSeconds: synced.syncSeconds,
    before,
    after,
    spaces,
    ...(mappings === undefined ? {} : { smaps: mappings }),
    ...verdict,
    ok: verdict.problems.length === 0
  })
  process.exit(0)
}

/**
 * `ours` against a real API server (bench/apiserver-sync.ts creates the cluster): the real
 * KubeClient from `--kubeconfig`, its paginated LISTs and WATCHes.
 */
const oursApiServer = async () => {
  const m = await loadOurs()
  const { KubeClient } = await import("../src/layers/KubeClient.ts")
  const { importClientNode, loadCredentials } = await import("../src/layers/kube/credentials.ts")
  const { Duration, Effect, Scope } = m.effect
  const path = flags.get("kubeconfig")
  if (path === undefined) throw new Error("ours-apiserver needs --kubeconfig")
  const credentials = loadCredentials({ _tag: "KubeconfigPath", path }, await importClientNode())
  if (!("server" in credentials)) throw new Error(credentials.message)
  const clientScope = Effect.runSync(Scope.make())
  const kube = await Effect.runPromise(
    KubeClient.make({ credentials, timeout: Duration.seconds(30) }).pipe(Scope.provide(clientScope))
  )
  const before = await settle()
  const cpu = process.cpuUsage()
  const synced = await syncOurs(m, kube)
  const used = process.cpuUsage(cpu)
  const after = await settle()
  // default, kube-public and kube-node-lease; the `kubernetes` Service and its slice.
  const verdict = verifyOurs(synced, {
    namespaces: 3,
    services: 1,
    endpointslices: 1
  })
  report({
    syncSeconds: synced.syncSeconds,
    /** CPU seconds this process spent during the sync (the rest of the wall time it waited). */
    cpuSeconds: (used.user + used.system) / 1e6,
    pageSize: watcherOptions(m.effect, m.reconnectBackoff).pageSize,
    before,
    after,
    ...verdict,
    ok: verdict.problems.length === 0
  })
  process.exit(0)
}

/**
 * Where our heap goes (run with --no-flush-bytecode so code aging does not blur the deltas):
 * synced, then without the mapper (its index), then without the stores; then each kind's slim
 * objects alone (in a Map, as the Store keeps them) and the index rebuilt over the slim slices.
 */
const breakdown = async () => {
  const m = await loadOurs()
  const { Effect, Exit, Scope } = m.effect
  const before = await settle()
  const synced = await syncOurs(m)
  const full = await settle()
  await Effect.runPromise(Scope.close(synced.mapperScope, Exit.void))
  synced.holder.mapper = undefined
  const withoutIndex = await settle()
  await Effect.runPromise(Scope.close(synced.scope, Exit.void))
  synced.holder.sources = undefined
  const closed = await settle()

  const kinds = [
    ["pods", m.objects.pods],
    ["nodes", m.objects.nodes],
    ["namespaces", m.objects.namespaces],
    ["services", m.objects.services],
    ["endpointslices", m.objects.endpointSlices]
  ] as const
  const kept: Array<unknown> = []
  const slimMB: Record<string, number> = {}
  let last = closed
  let slices = new Map<string, import("../src/services/metadata/objects.ts").SlimEndpointSlice>()
  for (const [file, kind] of kinds) {
    const map = new Map<string, unknown>()
    for (let i = 0; i < manifest.kinds[file].pages; i++) {
      const page = (await readPage(dir, file, i)) as ListPage<KubeObject>
      for (const o of page.items) map.set(m.keyOf(o), (kind.strip as (o: KubeObject) => unknown)(o))
    }
    kept.push(map)
    if (file === "endpointslices") slices = map as typeof slices
    const now = await settle()
    slimMB[file] = round1(now.heapUsedMB - last.heapUsedMB)
    last = now
  }
  const index: MetadataIndexT = new m.MetadataIndex()
  index.follow({ _tag: "Replaced", version: 1, previous: new Map(), current: slices })
  kept.push(index)
  const withIndex = await settle()
  report({
    syncSeconds: synced.syncSeconds,
    before,
    after: full,
    heapUsedMB: { full: full.heapUsedMB, withoutIndex: withoutIndex.heapUsedMB, storesClosed: closed.heapUsedMB },
    rssMB: { full: full.rssMB, withoutIndex: withoutIndex.rssMB, storesClosed: closed.rssMB },
    indexMB: round1(full.heapUsedMB - withoutIndex.heapUsedMB),
    storesMB: round1(withoutIndex.heapUsedMB - closed.heapUsedMB),
    slimMB,
    indexRebuiltMB: round1(withIndex.heapUsedMB - last.heapUsedMB),
    kept: kept.length,
    ok: true
  })
  process.exit(0)
}

const round1 = (x: number) => Math.round(x * 10) / 10

/** V8's heap spaces: used and committed (what RSS sees) per space. */
const heapSpaces = () =>
  Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [s.space_name, { usedMB: mb(s.space_used_size), sizeMB: mb(s.space_size) }])
  )

const sortDeep = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortDeep((value as Record<string, unknown>)[k])])
  )
}

// ---------------------------------------------------------------------------------------------

/** A watch endpoint that answers 200 and then stays silent (a newline now and then, which the watch skips). */
const idleWatchServer = async (): Promise<Server> => {
  const http = await import("node:http")
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" })
    res.flushHeaders()
    const keepAlive = setInterval(() => res.write("\n"), 10_000)
    req.on("close", () => clearInterval(keepAlive))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return server
}

const baselineKinds: ReadonlyArray<{ file: KindFile; path: string; listType: string }> = [
  { file: "pods", path: "/api/v1/pods", listType: "V1PodList" },
  { file: "nodes", path: "/api/v1/nodes", listType: "V1NodeList" },
  { file: "namespaces", path: "/api/v1/namespaces", listType: "V1NamespaceList" },
  { file: "services", path: "/api/v1/services", listType: "V1ServiceList" },
  { file: "endpointslices", path: "/apis/discovery.k8s.io/v1/endpointslices", listType: "V1EndpointSliceList" }
]

const baseline = async (typed: boolean) => {
  const k8s = await import("@kubernetes/client-node")
  // What the generated API clients (CoreV1Api.listPodForAllNamespaces…) do with a response body.
  const { ObjectSerializer } = await import("@kubernetes/client-node/dist/gen/models/ObjectSerializer.js")
  const server = await idleWatchServer()
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const kc = new k8s.KubeConfig()
  kc.loadFromOptions({
    clusters: [{ name: "bench", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "bench" }],
    contexts: [{ name: "bench", cluster: "bench", user: "bench" }],
    currentContext: "bench"
  })
  type Obj = import("@kubernetes/client-node").KubernetesObject
  type List = import("@kubernetes/client-node").KubernetesListObject<Obj>

  const before = await settle()
  const started = performance.now()
  const informers = baselineKinds.map(({ file, path, listType }) => {
    const listFn = async (): Promise<List> => {
      const items: Array<Obj> = []
      let resourceVersion = ""
      for (let i = 0; i < manifest.kinds[file].pages; i++) {
        const raw = (await readPage(dir, file, i)) as List
        const page = typed ? (ObjectSerializer.deserialize(raw, listType, "") as List) : raw
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion
        for (const o of page.items) items.push(o)
      }
      return { metadata: { resourceVersion }, items }
    }
    return { file, informer: k8s.makeInformer(kc, path, listFn) }
  })
  const errors: Array<string> = []
  for (const { file, informer } of informers) informer.on("error", (e: unknown) => errors.push(`${file}: ${String(e)}`))
  await Promise.all(informers.map(({ informer }) => informer.start()))
  const syncSeconds = (performance.now() - started) / 1000
  const after = await settle()

  const sizes = Object.fromEntries(informers.map(({ file, informer }) => [file, informer.list().length]))
  const problems = [...errors]
  for (const k of Object.keys(sizes) as Array<KindFile>) {
    if (sizes[k] !== manifest.kinds[k].items)
      problems.push(`${k}: ${sizes[k]} in the cache, ${manifest.kinds[k].items} listed`)
  }
  report({ syncSeconds, before, after, spaces: heapSpaces(), sizes, problems, ok: problems.length === 0, typed })
  await Promise.all(informers.map(({ informer }) => informer.stop()))
  server.closeAllConnections()
  server.close()
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------

/**
 * `empty`: the shipped agent with nothing to hold. The driver starts the empty API server and
 * passes the agent's environment (in-cluster credentials pointing at it) and a preload that maps
 * the service-account path onto a temporary directory (bench/idle-floor.ts). This process then
 * becomes `node dist/main.js start`: argv says `start`, and it imports DCA_BENCH_AGENT_MAIN (the
 * driver's bundle of the working tree, as the image ships it) or else src/main.ts (compiled with
 * the bench), which runs the agent as the binary does. Measured once the agent says it started,
 * its first LISTs (empty) and WATCHes (quiet) are done and its first idle window
 * (src/lib/idleGc.ts) has passed; the driver checks the server saw the WATCHes.
 */
const emptyAgent = async () => {
  if (process.env.KUBERNETES_SERVICE_HOST === undefined || process.env.DCA_BENCH_SERVICE_ACCOUNT_DIR === undefined) {
    throw new Error("empty runs the agent against the empty API server: run it with bench/run-metadata-sync.ts")
  }
  // The agent logs JSON lines on stdout; wait for its "started" line.
  const started = new Promise<void>((ok) => {
    const write = process.stdout.write.bind(process.stdout) as (...args: Array<unknown>) => boolean
    let tail = ""
    process.stdout.write = ((...args: Array<unknown>) => {
      tail = (tail + String(args[0])).slice(-4096)
      if (tail.includes('"cluster agent started"')) ok()
      return write(...args)
    }) as typeof process.stdout.write
  })
  // This process has `gc` for settle(); the agent sees it only where the image exposes it.
  if (!(process.env.NODE_OPTIONS ?? "").includes("--expose-gc")) (globalThis as { gc?: unknown }).gc = undefined
  process.argv = [process.argv[0] as string, "datadog-cluster-agent", "start"]
  // DCA_BENCH_AGENT_MAIN: another build of the entry point (the bundle) instead of src/main.ts.
  const main = process.env.DCA_BENCH_AGENT_MAIN
  if (main === undefined || main === "") await import("../src/main.ts")
  else await import((await import("node:url")).pathToFileURL(main).href)
  await Promise.race([
    started,
    sleep(30_000).then(() => {
      throw new Error("the agent did not start within 30 s")
    })
  ])
  // Idle long enough for the agent's idle collection (src/lib/idleGc.ts) to have had its first window.
  const { defaultIdleGcOptions } = await import("../src/lib/idleGc.ts")
  await sleep(defaultIdleGcOptions.everyMs + 2000)
  const after = await settle()
  report({ after, ok: true })
  process.exit(0)
}

const empty = async (what: "ours" | "baseline" | "node") => {
  if (what === "ours") return emptyAgent()
  let server: Server | undefined
  if (what === "baseline") {
    const k8s = await import("@kubernetes/client-node")
    server = await idleWatchServer()
    void new k8s.KubeConfig()
  }
  const after = await settle()
  report({ after, ok: true })
  server?.close()
  process.exit(0)
}

switch (scenario) {
  case "ours":
    await ours()
    break
  case "breakdown":
    await breakdown()
    break
  case "ours-apiserver":
    await oursApiServer()
    break
  case "baseline":
    await baseline(false)
    break
  case "baseline-typed":
    await baseline(true)
    break
  case "empty":
    await empty("ours")
    break
  case "empty-baseline":
    await empty("baseline")
    break
  case "empty-node":
    await empty("node")
    break
  default:
    throw new Error(`unknown scenario ${scenario}`)
}
