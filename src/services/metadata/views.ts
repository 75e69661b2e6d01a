// What node agents read, computed from the index and the stores (contract §1.5). Only objects
// that exist right now are shown: a node must be known, a pod must exist on that node, and a
// service must exist, so entries vanish with their node, pod or service even before the
// EndpointSlice controller catches up. Pure: readers in, JSON-ready values out.
import type { StoreReader } from "../../streams/store.ts"
import { objectKey } from "../../streams/strip.ts"
import { type MetadataIndex, serviceNames } from "./MetadataIndex.ts"
import type { SlimNamespace, SlimNode, SlimPod, SlimService } from "./objects.ts"

export interface Stores {
  readonly pods: StoreReader<SlimPod>
  readonly nodes: StoreReader<SlimNode>
  readonly services: StoreReader<SlimService>
  readonly namespaces: StoreReader<SlimNamespace>
}

/** namespace → pod → set of services, a set serialised as an object of `{}` (Go's sets.String). */
export type ServicesByNamespace = Record<string, Record<string, Record<string, Record<string, never>>>>

/** One node's bundle: `services` is left out when the node has no service-backed pod. */
export interface NodeBundle {
  services?: ServicesByNamespace
}

export interface MetadataResponse {
  Nodes?: Record<string, NodeBundle>
  Warnings?: Array<string>
  Errors?: string
}

const emptySet: Record<string, never> = Object.freeze({}) as Record<string, never>
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** The services of the pods on a node that exist now, sorted; undefined for an unknown node. */
export const nodeServices = (
  index: MetadataIndex,
  stores: Stores,
  node: string
): Map<string, Map<string, Array<string>>> | undefined => {
  if (!stores.nodes.has(node)) return undefined
  const result = new Map<string, Map<string, Array<string>>>()
  const entries = index.entries(node)
  if (entries === undefined) return result
  for (const namespace of [...entries.keys()].sort(byName)) {
    const pods = entries.get(namespace)
    if (pods === undefined) continue
    for (const podName of [...pods.keys()].sort(byName)) {
      const pod = stores.pods.get(objectKey(namespace, podName))
      if (pod === undefined || pod.nodeName !== node) continue
      const entry = pods.get(podName)
      const services = (entry === undefined ? [] : serviceNames(entry))
        .filter((s) => stores.services.has(objectKey(namespace, s)))
        .sort(byName)
      if (services.length === 0) continue
      let ofNamespace = result.get(namespace)
      if (ofNamespace === undefined) {
        ofNamespace = new Map()
        result.set(namespace, ofNamespace)
      }
      ofNamespace.set(podName, services)
    }
  }
  return result
}

export const bundleOf = (services: Map<string, Map<string, Array<string>>>): NodeBundle => {
  if (services.size === 0) return {}
  const out: ServicesByNamespace = {}
  for (const [namespace, pods] of services) {
    const podsOut: Record<string, Record<string, Record<string, never>>> = {}
    for (const [pod, names] of pods) {
      const set: Record<string, Record<string, never>> = {}
      for (const name of names) set[name] = emptySet
      podsOut[pod] = set
    }
    out[namespace] = podsOut
  }
  return { services: out }
}

/** The original's warning for a node it has no bundle for (node agents treat it as an error). */
export const missingNodeWarning = (node: string): string =>
  `Node ${node} could not be added to the metadata map bundle: the key agent/KubernetesMetadataMapping/${node} was not found in the cache`

/** `GET /api/v1/tags/pod/{node}`. */
export const nodeResponse = (index: MetadataIndex, stores: Stores, node: string): MetadataResponse => {
  const services = nodeServices(index, stores, node)
  return services === undefined ? { Warnings: [missingNodeWarning(node)] } : { Nodes: { [node]: bundleOf(services) } }
}

/** `GET /api/v1/tags/pod`: every known node. */
export const allNodesResponse = (index: MetadataIndex, stores: Stores): MetadataResponse => {
  const nodes: Record<string, NodeBundle> = {}
  const names = [...stores.nodes.values()].map((n) => n.name).sort(byName)
  for (const name of names) nodes[name] = bundleOf(nodeServices(index, stores, name) ?? new Map())
  return names.length === 0 ? {} : { Nodes: nodes }
}

/** `GET /api/v1/tags/pod/{node}/{ns}/{pod}`: prefixed tags, or null when unknown. */
export const podTags = (index: MetadataIndex, stores: Stores, node: string, namespace: string, pod: string) => {
  const services = nodeServices(index, stores, node)?.get(namespace)?.get(pod)
  return services === undefined ? null : services.map((s) => `kube_service:${s}`)
}
