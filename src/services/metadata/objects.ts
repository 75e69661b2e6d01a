// What the metadata mapper keeps of each object it watches, and the five watches it asks for.
// Everything else (managedFields, annotations it doesn't read, spec and status it doesn't use)
// is dropped on ingest: at 150,000 pods, memory is a feature. Strippers are total: a missing
// field becomes an empty value, never an exception.
import type { KubeObject } from "../../layers/kube/types.ts"
import type { WatchRequest } from "../../streams/request.ts"
import { emptyLabels, type Labels, meta, record, shared, sharedLabels, stringMap, text } from "../../streams/strip.ts"

export type { Labels } from "../../streams/strip.ts"

export interface SlimPod {
  readonly namespace: string
  readonly name: string
  readonly nodeName: string
  readonly phase: string
  readonly ready: boolean
  readonly labels: Labels
}

export interface SlimNode {
  readonly name: string
  readonly labels: Labels
  readonly annotations: Labels
}

export interface SlimNamespace {
  readonly name: string
  readonly labels: Labels
  readonly annotations: Labels
}

export interface SlimService {
  readonly namespace: string
  readonly name: string
}

/** An endpoint of a slice that points at a pod on a node (others are of no use to the mapper). */
export interface SlimEndpoint {
  readonly podNamespace: string
  readonly podName: string
  readonly nodeName: string
}

export interface SlimEndpointSlice {
  readonly namespace: string
  readonly name: string
  /** The `kubernetes.io/service-name` label: the service the slice belongs to. */
  readonly serviceName: string
  readonly endpoints: ReadonlyArray<SlimEndpoint>
}

export const stripPod = (o: KubeObject): SlimPod => {
  const m = meta(o)
  const spec = record(o.spec)
  const status = record(o.status)
  const conditions = Array.isArray(status.conditions) ? status.conditions : []
  const ready = conditions.some((c) => {
    const r = record(c)
    return r.type === "Ready" && r.status === "True"
  })
  return {
    namespace: shared(text(m.namespace)),
    name: text(m.name),
    nodeName: shared(text(spec.nodeName)),
    phase: shared(text(status.phase)),
    ready,
    labels: sharedLabels(stringMap(m.labels))
  }
}

/**
 * Node annotations the node agent asks for as host aliases (the original's default for
 * `kubernetes_node_annotations_as_host_aliases`); the rest are not kept.
 */
export const hostAliasAnnotations: ReadonlyArray<string> = ["cluster.k8s.io/machine"]

export const stripNode = (o: KubeObject): SlimNode => {
  const m = meta(o)
  const all = stringMap(m.annotations)
  const kept: Record<string, string> = {}
  for (const k of hostAliasAnnotations) {
    const v = all[k]
    if (v !== undefined) kept[k] = v
  }
  return {
    name: text(m.name),
    labels: stringMap(m.labels),
    annotations: Object.keys(kept).length === 0 ? emptyLabels : kept
  }
}

/** Namespace annotations are served to node agents (`/api/v1/metadata/namespace`), minus the noise. */
const droppedAnnotation = (key: string) => key === "kubectl.kubernetes.io/last-applied-configuration"

export const stripNamespace = (o: KubeObject): SlimNamespace => {
  const m = meta(o)
  const annotations = stringMap(m.annotations)
  const kept = Object.keys(annotations).some(droppedAnnotation)
    ? Object.fromEntries(Object.entries(annotations).filter(([k]) => !droppedAnnotation(k)))
    : annotations
  return { name: text(m.name), labels: stringMap(m.labels), annotations: kept }
}

export const stripService = (o: KubeObject): SlimService => {
  const m = meta(o)
  return { namespace: text(m.namespace), name: text(m.name) }
}

export const serviceNameLabel = "kubernetes.io/service-name"

/**
 * Keeps the endpoints a node agent's mapping needs: those targeting a Pod, on a known node, and
 * not reported unready (the original reads only ready Endpoints addresses; an absent `ready`
 * condition means ready, per the EndpointSlice API).
 */
export const stripEndpointSlice = (o: KubeObject): SlimEndpointSlice => {
  const m = meta(o)
  const namespace = text(m.namespace)
  const raw = Array.isArray(o.endpoints) ? o.endpoints : []
  const endpoints: Array<SlimEndpoint> = []
  for (const e of raw) {
    const endpoint = record(e)
    const target = record(endpoint.targetRef)
    const nodeName = text(endpoint.nodeName)
    const podName = text(target.name)
    if (target.kind !== "Pod" || podName === "" || nodeName === "") continue
    if (record(endpoint.conditions).ready === false) continue
    endpoints.push({ podNamespace: shared(text(target.namespace) || namespace), podName, nodeName: shared(nodeName) })
  }
  return { namespace, name: text(m.name), serviceName: text(stringMap(m.labels)[serviceNameLabel]), endpoints }
}

const request = <T>(resource: string, group: string, strip: (o: KubeObject) => T): WatchRequest<T> => ({
  name: resource,
  resource: { group, version: "v1", resource },
  strip
})

export const pods = request("pods", "", stripPod)
export const nodes = request("nodes", "", stripNode)
export const namespaces = request("namespaces", "", stripNamespace)
export const services = request("services", "", stripService)
export const endpointSlices = request("endpointslices", "discovery.k8s.io", stripEndpointSlice)

/** Every watch the mapper needs: declared in the agent's wiring when the mapper is enabled. */
export const metadataWatches = [pods, nodes, namespaces, services, endpointSlices] as const
