// What the agent keeps of each watched object. Everything else (managedFields, annotations we
// don't read, spec and status we don't use) is dropped on ingest: at 150,000 pods, memory is a
// feature. Strippers are total: a missing field becomes an empty value, never an exception.
import type { KubeObject, ResourceRef } from "../layers/kube/types.ts"

export type Labels = Readonly<Record<string, string>>

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

const emptyLabels: Labels = Object.freeze({})

/**
 * One copy of each repeated string or label set. JSON.parse gives every pod its own copy of its
 * namespace, node name and labels; across 150,000 pods sharing them halves the pods store
 * (measured in bench/slim-layouts.ts). Bounded: past the cap the table starts over, which only
 * costs the sharing, never correctness.
 */
class Interner<T> {
  private readonly table = new Map<string, T>()
  private readonly cap: number
  constructor(cap: number) {
    this.cap = cap
  }
  get(key: string, value: T): T {
    const known = this.table.get(key)
    if (known !== undefined) return known
    if (this.table.size >= this.cap) this.table.clear()
    this.table.set(key, value)
    return value
  }
}

const strings = new Interner<string>(200_000)
const labelSets = new Interner<Labels>(200_000)
const shared = (s: string): string => strings.get(s, s)
const sharedLabels = (labels: Labels): Labels => {
  const keys = Object.keys(labels)
  if (keys.length === 0) return emptyLabels
  return labelSets.get(JSON.stringify(labels), Object.freeze(labels))
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
const text = (value: unknown): string => (typeof value === "string" ? value : "")
const stringMap = (value: unknown): Labels => {
  const r = record(value)
  const keys = Object.keys(r)
  if (keys.length === 0) return emptyLabels
  const out: Record<string, string> = {}
  for (const k of keys) {
    const v = r[k]
    if (typeof v === "string") out[k] = v
  }
  return out
}
const meta = (o: KubeObject) => record(o.metadata)

/** `namespace/name`, or `name` for cluster-scoped objects: the key of every store. */
export const objectKey = (namespace: string, name: string): string => (namespace === "" ? name : `${namespace}/${name}`)

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

/** How one kind is watched and kept. */
export interface Kind<T> {
  /** For logs and metrics. */
  readonly name: string
  readonly resource: ResourceRef
  readonly strip: (o: KubeObject) => T
  readonly key: (o: T) => string
}

const kind = <T>(name: string, group: string, strip: (o: KubeObject) => T, key: (o: T) => string): Kind<T> => ({
  name,
  resource: { group, version: "v1", resource: name },
  strip,
  key
})

const namespaced = (o: { readonly namespace: string; readonly name: string }) => objectKey(o.namespace, o.name)
const clusterScoped = (o: { readonly name: string }) => o.name

export const pods = kind("pods", "", stripPod, namespaced)
export const nodes = kind("nodes", "", stripNode, clusterScoped)
export const namespaces = kind("namespaces", "", stripNamespace, clusterScoped)
export const services = kind("services", "", stripService, namespaced)
export const endpointSlices = kind("endpointslices", "discovery.k8s.io", stripEndpointSlice, namespaced)
