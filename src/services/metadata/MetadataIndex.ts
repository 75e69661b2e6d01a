// The pod → service index of the metadata mapper: node → namespace → pod → services, built from
// EndpointSlices and kept current one slice at a time. A service can span many slices (one per
// 100 endpoints by default), so each (node, namespace, pod, service) entry counts the slices
// that back it and disappears when the last one goes. Pure and synchronous.

import type { StoreChange } from "../../streams/store.ts"
import type { SlimEndpoint, SlimEndpointSlice } from "./objects.ts"

/** Where one slice puts its service: its own endpoints (shared, not copied), one per pod. */
interface Contribution {
  readonly service: string
  readonly endpoints: ReadonlyArray<SlimEndpoint>
}

/**
 * The services of one pod. Almost every pod backs exactly one service through one slice, so
 * that case is the bare service name; otherwise each service counts the slices that back it.
 * (A Map costs ~200 bytes even with one entry: at 150,000 pods this halves the index.)
 */
type PodServices = string | Map<string, number>
/** namespace → pod → services */
export type NodeEntries = Map<string, Map<string, PodServices>>

/** The service names of a pod's entry. */
export const serviceNames = (entry: PodServices): ReadonlyArray<string> =>
  typeof entry === "string" ? [entry] : [...entry.keys()]

/** How many slices back `service` on a pod's entry. */
export const backingSlices = (entry: PodServices | undefined, service: string): number =>
  entry === undefined ? 0 : typeof entry === "string" ? (entry === service ? 1 : 0) : (entry.get(service) ?? 0)

const endpointId = (e: SlimEndpoint) => `${e.nodeName}\u0000${e.podNamespace}\u0000${e.podName}`

const contributionOf = (slice: SlimEndpointSlice): Contribution | undefined => {
  if (slice.serviceName === "" || slice.endpoints.length === 0) return undefined
  // A pod listed twice in one slice (several addresses) counts once; copy only in that case.
  const ids = new Set(slice.endpoints.map(endpointId))
  if (ids.size === slice.endpoints.length) return { service: slice.serviceName, endpoints: slice.endpoints }
  const kept = new Set<string>()
  const endpoints = slice.endpoints.filter((e) => {
    const id = endpointId(e)
    if (kept.has(id)) return false
    kept.add(id)
    return true
  })
  return { service: slice.serviceName, endpoints }
}

const added = (entry: PodServices | undefined, service: string): PodServices => {
  if (entry === undefined) return service
  const counts = typeof entry === "string" ? new Map([[entry, 1]]) : entry
  counts.set(service, (counts.get(service) ?? 0) + 1)
  return counts
}

/** The entry without one backing slice of `service`, or undefined when nothing is left. */
const removed = (entry: PodServices, service: string): PodServices | undefined => {
  if (typeof entry === "string") return entry === service ? undefined : entry
  const count = (entry.get(service) ?? 0) - 1
  if (count > 0) entry.set(service, count)
  else entry.delete(service)
  if (entry.size === 0) return undefined
  const [only] = entry
  return entry.size === 1 && only !== undefined && only[1] === 1 ? only[0] : entry
}

export class MetadataIndex {
  private readonly bySlice = new Map<string, Contribution>()
  private readonly byNode = new Map<string, NodeEntries>()

  /** Adds or replaces a slice; returns the nodes whose entries changed. */
  applySlice(key: string, slice: SlimEndpointSlice): ReadonlySet<string> {
    const touched = new Set<string>()
    this.remove(key, touched)
    const contribution = contributionOf(slice)
    if (contribution !== undefined) {
      this.bySlice.set(key, contribution)
      for (const e of contribution.endpoints) {
        touched.add(e.nodeName)
        const namespaces = getOrCreate(this.byNode, e.nodeName, () => new Map<string, Map<string, PodServices>>())
        const podsOfNs = getOrCreate(namespaces, e.podNamespace, () => new Map<string, PodServices>())
        podsOfNs.set(e.podName, added(podsOfNs.get(e.podName), contribution.service))
      }
    }
    return touched
  }

  /** Removes a slice; returns the nodes whose entries changed. */
  deleteSlice(key: string): ReadonlySet<string> {
    const touched = new Set<string>()
    this.remove(key, touched)
    return touched
  }

  /** Drops everything (a relist of slices follows). */
  clear(): void {
    this.bySlice.clear()
    this.byNode.clear()
  }

  /** Follows a change of the EndpointSlice store; returns the nodes whose entries changed (all: undefined). */
  follow(change: StoreChange<SlimEndpointSlice>): ReadonlySet<string> | undefined {
    switch (change._tag) {
      case "Applied":
        return this.applySlice(change.key, change.current)
      case "Deleted":
        return this.deleteSlice(change.key)
      case "Replaced":
        this.clear()
        for (const [key, slice] of change.current) this.applySlice(key, slice)
        return undefined
    }
  }

  /** The raw entries of a node; undefined when it has none. */
  entries(node: string): NodeEntries | undefined {
    return this.byNode.get(node)
  }

  nodeNames(): IterableIterator<string> {
    return this.byNode.keys()
  }

  private remove(key: string, touched: Set<string>): void {
    const old = this.bySlice.get(key)
    if (old === undefined) return
    this.bySlice.delete(key)
    for (const e of old.endpoints) {
      touched.add(e.nodeName)
      const namespaces = this.byNode.get(e.nodeName)
      const podsOfNs = namespaces?.get(e.podNamespace)
      const entry = podsOfNs?.get(e.podName)
      if (namespaces === undefined || podsOfNs === undefined || entry === undefined) continue
      const left = removed(entry, old.service)
      if (left === undefined) podsOfNs.delete(e.podName)
      else podsOfNs.set(e.podName, left)
      if (podsOfNs.size === 0) namespaces.delete(e.podNamespace)
      if (namespaces.size === 0) this.byNode.delete(e.nodeName)
    }
  }
}

const getOrCreate = <K, V>(map: Map<K, V>, key: K, make: () => V): V => {
  const found = map.get(key)
  if (found !== undefined) return found
  const created = make()
  map.set(key, created)
  return created
}

/** Pure: the index of a set of slices, built from scratch (the reference for property tests). */
export const indexFromScratch = (slices: Iterable<readonly [string, SlimEndpointSlice]>): MetadataIndex => {
  const index = new MetadataIndex()
  for (const [key, slice] of slices) index.applySlice(key, slice)
  return index
}
