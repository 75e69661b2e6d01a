// What the slim objects and the metadata index cost on the heap, as the code is today and in
// a few alternative layouts, on the synthetic cluster of bench/synthetic.ts. Each variant is
// built alone from freshly parsed pages (strings as JSON.parse makes them), measured as the
// heapUsed delta after full GCs, then dropped. Only to inform src/ changes; nothing here is
// used by the agent.
//
//   node --expose-gc --no-flush-bytecode bench/slim-layouts.ts [--scale full|medium|small]
import { readFile } from "node:fs/promises"
import { setTimeout as sleep } from "node:timers/promises"
import type { KubeObject, ListPage } from "../src/layers/kube/types.ts"
import { MetadataIndex } from "../src/services/metadata/MetadataIndex.ts"
import {
  endpointSlices,
  objectKey,
  type SlimEndpointSlice,
  stripEndpointSlice,
  stripPod
} from "../src/streams/objects.ts"
import { interner, labelSharer } from "./lean.ts"
import { defaultDataDir, ensureDataSet, type KindFile, pageFile, parseArgs, scaleOf } from "./synthetic.ts"

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("run with node --expose-gc")

const heapUsed = async (): Promise<number> => {
  for (let i = 0; i < 4; i++) {
    gc()
    await sleep(30)
  }
  return process.memoryUsage().heapUsed
}

const { flags } = parseArgs(process.argv.slice(2))
const scale = scaleOf(flags.get("scale"))
const seed = Number(flags.get("seed") ?? "1")
const dir = defaultDataDir(scale, seed)
const manifest = ensureDataSet(scale, seed, dir)

async function* items(kind: KindFile): AsyncGenerator<KubeObject> {
  for (let i = 0; i < manifest.kinds[kind].pages; i++) {
    const page = JSON.parse((await readFile(pageFile(dir, kind, i))).toString("utf8")) as ListPage
    yield* page.items
  }
}

const results: Array<{ variant: string; mb: number; bytesPerItem: number; items: number }> = []
/** Holds the variant being measured (a module-level reference, so nothing optimises it away). */
const holder: { value: unknown } = { value: undefined }
const measure = async (variant: string, count: number, build: () => Promise<unknown>) => {
  const before = await heapUsed()
  holder.value = await build()
  const after = await heapUsed()
  holder.value = undefined
  const bytes = after - before
  results.push({
    variant,
    mb: Math.round((bytes / 1048576) * 10) / 10,
    bytesPerItem: Math.round(bytes / count),
    items: count
  })
  console.error(`${variant}: ${(bytes / 1048576).toFixed(1)} MB`)
}

const podCount = manifest.kinds.pods.items

await measure("pods: as today (stripPod, Map by namespace/name)", podCount, async () => {
  const map = new Map<string, unknown>()
  for await (const o of items("pods")) {
    const p = stripPod(o)
    map.set(objectKey(p.namespace, p.name), p)
  }
  return map
})

await measure("pods: labels shared per distinct set, names interned", podCount, async () => {
  const intern = interner()
  const share = labelSharer(intern)
  const map = new Map<string, unknown>()
  for await (const o of items("pods")) {
    const p = stripPod(o)
    const ns = intern(p.namespace)
    map.set(objectKey(ns, p.name), {
      ...p,
      namespace: ns,
      nodeName: intern(p.nodeName),
      phase: intern(p.phase),
      labels: share(p.labels)
    })
  }
  return map
})

await measure("pods: no labels", podCount, async () => {
  const map = new Map<string, unknown>()
  for await (const o of items("pods")) {
    const { labels: _, ...p } = stripPod(o)
    map.set(objectKey(p.namespace, p.name), p)
  }
  return map
})

await measure("pods: no labels, names interned", podCount, async () => {
  const intern = interner()
  const map = new Map<string, unknown>()
  for await (const o of items("pods")) {
    const { labels: _, ...p } = stripPod(o)
    const ns = intern(p.namespace)
    map.set(objectKey(ns, p.name), { ...p, namespace: ns, nodeName: intern(p.nodeName), phase: intern(p.phase) })
  }
  return map
})

await measure("pods: no labels, names interned, Map namespace → name (no key strings)", podCount, async () => {
  const intern = interner()
  const byNs = new Map<string, Map<string, unknown>>()
  for await (const o of items("pods")) {
    const { labels: _, ...p } = stripPod(o)
    const ns = intern(p.namespace)
    let pods = byNs.get(ns)
    if (pods === undefined) {
      pods = new Map()
      byNs.set(ns, pods)
    }
    pods.set(p.name, { ...p, namespace: ns, nodeName: intern(p.nodeName), phase: intern(p.phase) })
  }
  return byNs
})

// Slices and the index.
const sliceCount = manifest.kinds.endpointslices.items
const loadSlices = async (intern?: (s: string) => string) => {
  const map = new Map<string, SlimEndpointSlice>()
  for await (const o of items("endpointslices")) {
    const s = stripEndpointSlice(o)
    const slice =
      intern === undefined
        ? s
        : {
            ...s,
            namespace: intern(s.namespace),
            serviceName: intern(s.serviceName),
            endpoints: s.endpoints.map((e) => ({
              podNamespace: intern(e.podNamespace),
              podName: e.podName,
              nodeName: intern(e.nodeName)
            }))
          }
    map.set(endpointSlices.key(slice), slice)
  }
  return map
}

await measure("slices: as today (stripEndpointSlice)", sliceCount, () => loadSlices())
await measure("slices: node and namespace names interned", sliceCount, () => loadSlices(interner()))

const endpointCount = manifest.endpoints
const slicesToday = await loadSlices()
await measure("index: MetadataIndex as today (per endpoint)", endpointCount, async () => {
  const index = new MetadataIndex()
  index.follow({ _tag: "Replaced", previous: slicesToday, current: slicesToday }, endpointSlices.key)
  return index
})

const slicesInterned = await loadSlices(interner())
await measure("index: MetadataIndex over interned slices", endpointCount, async () => {
  const index = new MetadataIndex()
  for (const [key, slice] of slicesInterned) index.applySlice(key, slice)
  return index
})
holder.value = [slicesToday, slicesInterned]

console.log(`RESULT ${JSON.stringify({ scale, seed, results })}`)
