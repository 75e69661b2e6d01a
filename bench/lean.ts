// A prototype of the memory changes docs/BENCHMARKS.md suggests for src/ (nothing here is used by
// the agent): strip functions that share repeated strings and label sets, and a metadata index
// that points at the slices' own endpoints and keeps a bare service name for a pod backed by one
// slice of one service. Same answers as src/services/metadata; measured by bench/slim-layouts.ts
// and the `ours-lean` scenario of bench/metadata-sync.ts.
import type { KubeObject } from "../src/layers/kube/types.ts"
import {
  endpointSlices,
  type Kind,
  type Labels,
  namespaces,
  nodes,
  pods,
  type SlimEndpoint,
  type SlimEndpointSlice,
  type SlimPod,
  services,
  stripEndpointSlice,
  stripPod
} from "../src/streams/objects.ts"
import type { StoreChange } from "../src/streams/store.ts"

/**
 * One shared copy of each distinct string. JSON.parse copies every string value longer than a
 * few characters, so 150,000 pods carry 150,000 copies of a few hundred namespace and a few
 * thousand node names. (A real one would be bounded or rebuilt on relist.)
 */
export const interner = () => {
  const pool = new Map<string, string>()
  return (s: string): string => {
    const found = pool.get(s)
    if (found !== undefined) return found
    pool.set(s, s)
    return s
  }
}

/** Identical label sets (every pod of a ReplicaSet) share one frozen object. */
export const labelSharer = (intern: (s: string) => string) => {
  const pool = new Map<string, Labels>()
  return (labels: Labels): Labels => {
    const canonical = JSON.stringify(labels)
    const found = pool.get(canonical)
    if (found !== undefined) return found
    const shared: Record<string, string> = {}
    for (const [k, v] of Object.entries(labels)) shared[intern(k)] = intern(v)
    Object.freeze(shared)
    pool.set(canonical, shared)
    return shared
  }
}

/** The five kinds of src/streams/objects.ts with strip functions that share strings. */
export const leanKinds = () => {
  const intern = interner()
  const share = labelSharer(intern)
  const leanPods: Kind<SlimPod> = {
    ...pods,
    strip: (o: KubeObject) => {
      const p = stripPod(o)
      return {
        namespace: intern(p.namespace),
        name: p.name,
        nodeName: intern(p.nodeName),
        phase: intern(p.phase),
        ready: p.ready,
        labels: share(p.labels)
      }
    }
  }
  const leanSlices: Kind<SlimEndpointSlice> = {
    ...endpointSlices,
    strip: (o: KubeObject) => {
      const s = stripEndpointSlice(o)
      return {
        namespace: intern(s.namespace),
        name: s.name,
        serviceName: intern(s.serviceName),
        endpoints: s.endpoints.map((e) => ({
          podNamespace: intern(e.podNamespace),
          podName: e.podName,
          nodeName: intern(e.nodeName)
        }))
      }
    }
  }
  return { pods: leanPods, nodes, namespaces, services, endpointSlices: leanSlices }
}

const endpointId = (e: SlimEndpoint) => `${e.nodeName}\u0000${e.podNamespace}\u0000${e.podName}`

/** node → namespace → pod → a service backed by one slice, or services counted by backing slices. */
export class CompactIndex {
  private readonly bySlice = new Map<string, { service: string; endpoints: ReadonlyArray<SlimEndpoint> }>()
  private readonly byNode = new Map<string, Map<string, Map<string, string | Map<string, number>>>>()

  applySlice(key: string, slice: SlimEndpointSlice): void {
    this.deleteSlice(key)
    if (slice.serviceName === "" || slice.endpoints.length === 0) return
    const service = slice.serviceName
    let endpoints = slice.endpoints
    // A pod listed twice (several addresses) counts once; copy only in that rare case.
    const seen = new Set<string>()
    for (const e of endpoints) seen.add(endpointId(e))
    if (seen.size !== endpoints.length) {
      const kept = new Set<string>()
      endpoints = endpoints.filter((e) => {
        const id = endpointId(e)
        if (kept.has(id)) return false
        kept.add(id)
        return true
      })
    }
    this.bySlice.set(key, { service, endpoints })
    for (const e of endpoints) {
      let nss = this.byNode.get(e.nodeName)
      if (nss === undefined) {
        nss = new Map()
        this.byNode.set(e.nodeName, nss)
      }
      let podsOfNs = nss.get(e.podNamespace)
      if (podsOfNs === undefined) {
        podsOfNs = new Map()
        nss.set(e.podNamespace, podsOfNs)
      }
      const current = podsOfNs.get(e.podName)
      if (current === undefined) podsOfNs.set(e.podName, service)
      else if (typeof current === "string") {
        const counts = new Map<string, number>([[current, 1]])
        counts.set(service, (counts.get(service) ?? 0) + 1)
        podsOfNs.set(e.podName, counts)
      } else current.set(service, (current.get(service) ?? 0) + 1)
    }
  }

  deleteSlice(key: string): void {
    const old = this.bySlice.get(key)
    if (old === undefined) return
    this.bySlice.delete(key)
    for (const e of old.endpoints) {
      const nss = this.byNode.get(e.nodeName)
      const podsOfNs = nss?.get(e.podNamespace)
      const current = podsOfNs?.get(e.podName)
      if (nss === undefined || podsOfNs === undefined || current === undefined) continue
      if (typeof current === "string") podsOfNs.delete(e.podName)
      else {
        const count = (current.get(old.service) ?? 0) - 1
        if (count > 0) current.set(old.service, count)
        else current.delete(old.service)
        const [only] = current
        if (current.size === 0) podsOfNs.delete(e.podName)
        else if (current.size === 1 && only !== undefined && only[1] === 1) podsOfNs.set(e.podName, only[0])
      }
      if (podsOfNs.size === 0) nss.delete(e.podNamespace)
      if (nss.size === 0) this.byNode.delete(e.nodeName)
    }
  }

  follow(change: StoreChange<SlimEndpointSlice>, keyOf: (s: SlimEndpointSlice) => string): void {
    switch (change._tag) {
      case "Applied":
        this.applySlice(keyOf(change.current), change.current)
        return
      case "Deleted":
        this.deleteSlice(keyOf(change.previous))
        return
      case "Replaced":
        this.bySlice.clear()
        this.byNode.clear()
        for (const [key, slice] of change.current) this.applySlice(key, slice)
    }
  }

  /** namespace → pod → services (unfiltered), as MetadataIndex.entries gives them. */
  entries(node: string): ReadonlyMap<string, ReadonlyMap<string, ReadonlyArray<string>>> | undefined {
    const nss = this.byNode.get(node)
    if (nss === undefined) return undefined
    const out = new Map<string, Map<string, ReadonlyArray<string>>>()
    for (const [ns, podsOfNs] of nss) {
      const m = new Map<string, ReadonlyArray<string>>()
      for (const [pod, v] of podsOfNs) m.set(pod, typeof v === "string" ? [v] : [...v.keys()])
      out.set(ns, m)
    }
    return out
  }
}
