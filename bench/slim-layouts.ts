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
import { type SlimEndpointSlice, stripEndpointSlice, stripPod } from "../src/services/metadata/objects.ts"
import { objectKey } from "../src/streams/strip.ts"
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

/** One shared copy of each distinct string, for the layouts that share more than src does. */
const interner = () => {
  const pool = new Map<string, string>()
  return (s: string): string => {
    const found = pool.get(s)
    if (found !== undefined) return found
    pool.set(s, s)
    return s
  }
}

// stripPod shares strings and label sets through module-level tables (src/streams/strip.ts).
// Filled once here, so that the layouts below are measured alike, without them.
await measure("pods: the sharing tables of stripPod (strings, label sets), nothing else kept", podCount, async () => {
  for await (const o of items("pods")) stripPod(o)
  return undefined
})

await measure("pods: as today (stripPod, Map by namespace/name)", podCount, async () => {
  const map = new Map<string, unknown>()
  for await (const o of items("pods")) {
    const p = stripPod(o)
    map.set(objectKey(p.namespace, p.name), p)
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

await measure("pods: Map namespace → name (no key strings)", podCount, async () => {
  const byNs = new Map<string, Map<string, unknown>>()
  for await (const o of items("pods")) {
    const p = stripPod(o)
    let pods = byNs.get(p.namespace)
    if (pods === undefined) {
      pods = new Map()
      byNs.set(p.namespace, pods)
    }
    pods.set(p.name, p)
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
            serviceName: intern(s.serviceName)
          }
    map.set(objectKey(slice.namespace, slice.name), slice)
  }
  return map
}

await measure("slices: as today (stripEndpointSlice: endpoints' node and namespace shared)", sliceCount, () =>
  loadSlices()
)
await measure("slices: the slice's namespace and service name shared too", sliceCount, () => loadSlices(interner()))

const endpointCount = manifest.endpoints
const slicesToday = await loadSlices()
await measure("index: MetadataIndex as today (per endpoint)", endpointCount, async () => {
  const index = new MetadataIndex()
  index.follow({ _tag: "Replaced", version: 1, previous: new Map(), current: slicesToday })
  return index
})

const slicesInterned = await loadSlices(interner())
await measure("index: MetadataIndex over slices with more shared", endpointCount, async () => {
  const index = new MetadataIndex()
  for (const [key, slice] of slicesInterned) index.applySlice(key, slice)
  return index
})
holder.value = [slicesToday, slicesInterned]

console.log(`RESULT ${JSON.stringify({ scale, seed, results })}`)
