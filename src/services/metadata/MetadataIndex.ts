// The pod → service index of the metadata mapper: node → namespace → pod → services, built from
// EndpointSlices and kept current one slice at a time. A service can span many slices (one per
// 100 endpoints by default), so each (node, namespace, pod, service) entry counts the slices
// that back it and disappears when the last one goes. Pure and synchronous.
import type { SlimEndpointSlice } from "../../streams/objects.ts"
import type { StoreChange } from "../../streams/store.ts"

/** Where one slice puts its service: the pods it lists, by node. */
interface Contribution {
  readonly service: string
  readonly pods: ReadonlyArray<readonly [node: string, namespace: string, pod: string]>
}

/** services of one pod → number of slices backing each */
type ServiceCounts = Map<string, number>
/** namespace → pod → services */
export type NodeEntries = Map<string, Map<string, ServiceCounts>>

const contributionOf = (slice: SlimEndpointSlice): Contribution | undefined => {
  if (slice.serviceName === "" || slice.endpoints.length === 0) return undefined
  // A pod listed twice in one slice (several ports or addresses) counts once.
  const seen = new Set<string>()
  const pods: Array<readonly [string, string, string]> = []
  for (const e of slice.endpoints) {
    const id = `${e.nodeName}\u0000${e.podNamespace}\u0000${e.podName}`
    if (seen.has(id)) continue
    seen.add(id)
    pods.push([e.nodeName, e.podNamespace, e.podName])
  }
  return { service: slice.serviceName, pods }
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
      for (const [node, namespace, pod] of contribution.pods) {
        touched.add(node)
        const namespaces = getOrCreate(this.byNode, node, () => new Map<string, Map<string, ServiceCounts>>())
        const podsOfNs = getOrCreate(namespaces, namespace, () => new Map<string, ServiceCounts>())
        const services = getOrCreate(podsOfNs, pod, () => new Map<string, number>())
        services.set(contribution.service, (services.get(contribution.service) ?? 0) + 1)
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
  follow(
    change: StoreChange<SlimEndpointSlice>,
    keyOf: (s: SlimEndpointSlice) => string
  ): ReadonlySet<string> | undefined {
    switch (change._tag) {
      case "Applied":
        return this.applySlice(keyOf(change.current), change.current)
      case "Deleted":
        return this.deleteSlice(keyOf(change.previous))
      case "Replaced":
        this.clear()
        for (const [key, slice] of change.current) this.applySlice(key, slice)
        return undefined
    }
  }

  /** The raw entries of a node (services counted by backing slices); undefined when it has none. */
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
    for (const [node, namespace, pod] of old.pods) {
      touched.add(node)
      const namespaces = this.byNode.get(node)
      const podsOfNs = namespaces?.get(namespace)
      const services = podsOfNs?.get(pod)
      if (namespaces === undefined || podsOfNs === undefined || services === undefined) continue
      const count = (services.get(old.service) ?? 0) - 1
      if (count > 0) services.set(old.service, count)
      else services.delete(old.service)
      if (services.size === 0) podsOfNs.delete(pod)
      if (podsOfNs.size === 0) namespaces.delete(namespace)
      if (namespaces.size === 0) this.byNode.delete(node)
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
