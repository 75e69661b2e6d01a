// What bundled and unbundled events share: alert type, the readable object key of titles, the
// involved object's tags, and the host an event is attributed to.
// (dda: kubernetesapiserver/events_common.go; the kind → tag names of
// comp/core/tagger/kubetags, kubernetesKindToTagName.)
import type { EventAlertType } from "../../layers/datadog/schemas.ts"
import type { EventView } from "./view.ts"

export interface TransformOptions {
  /** RFC 1123 cluster name, "" when unknown: appended to node hosts as `<node>-<cluster>`. */
  readonly clusterName: string
  /** Our hostname, for events attributed to no node (the original's aggregator puts it there). */
  readonly defaultHost: string
  /** The check instance's `tags`, added to every event. */
  readonly instanceTags: ReadonlyArray<string>
  /** node.spec.providerID of a node (cached by the caller; the original caches 1 h). */
  readonly providerIdOf?: ((node: string) => string | undefined) | undefined
  /** The node of a pod, for Pod events whose source names no host (the original asks the API server). */
  readonly nodeOfPod?: ((namespace: string, name: string) => string | undefined) | undefined
  /** `kubernetes_events_source_detection.enabled` (default false): see sources.ts. */
  readonly sourceDetection?: boolean | undefined
}

/** Warning → warning; Normal, and any type a client made up, → info. */
export const alertTypeOf = (type: string): EventAlertType => (type === "Warning" ? "warning" : "info")

/** `Pod default/web-1`, or `Node node-1` for cluster-scoped objects. */
export const readableKey = (v: EventView): string =>
  v.involvedNamespace === ""
    ? `${v.involvedKind} ${v.involvedName}`
    : `${v.involvedKind} ${v.involvedNamespace}/${v.involvedName}`

/** The tag the tagger gives an object of each kind; other kinds get none. */
const kindTagNames: ReadonlyMap<string, string> = new Map([
  ["Pod", "pod_name"],
  ["Deployment", "kube_deployment"],
  ["ReplicaSet", "kube_replica_set"],
  ["ReplicationController", "kube_replication_controller"],
  ["StatefulSet", "kube_stateful_set"],
  ["DaemonSet", "kube_daemon_set"],
  ["Job", "kube_job"],
  ["CronJob", "kube_cronjob"],
  ["Service", "kube_service"],
  ["Namespace", "kube_namespace"]
])

/**
 * `kube_kind`, `kube_name`, the deprecated `kubernetes_kind` and `name`, `kube_namespace` and the
 * deprecated `namespace` when namespaced, then the kind tag (`pod_name:web-1`). The original
 * adds the tagger's tags of the object and namespace after these; we have no tagger.
 */
export const involvedObjectTags = (v: EventView): Array<string> => {
  const tags = [
    `kube_kind:${v.involvedKind}`,
    `kube_name:${v.involvedName}`,
    `kubernetes_kind:${v.involvedKind}`,
    `name:${v.involvedName}`
  ]
  if (v.involvedNamespace !== "") tags.push(`kube_namespace:${v.involvedNamespace}`, `namespace:${v.involvedNamespace}`)
  const kindTag = kindTagNames.get(v.involvedKind)
  if (kindTag !== undefined) tags.push(`${kindTag}:${v.involvedName}`)
  return tags
}

export interface HostInfo {
  /** What goes in `host`: the node, suffixed with the cluster name; "" when no node. */
  readonly hostname: string
  /** The last path segment of the node's providerID, "" when unknown. */
  readonly providerId: string
}

/** `aws:///us-east-1e/i-0abc` → `i-0abc`; `gce://project/zone/name` → `name`. */
const lastSegment = (providerId: string): string => providerId.slice(providerId.lastIndexOf("/") + 1)

/**
 * Pod events belong to their node (source.host, else the pod's node), Node events to the node
 * itself (controllers such as draino or cluster-autoscaler set no source host), and others to
 * no node at all.
 */
export const hostInfo = (v: EventView, options: TransformOptions): HostInfo => {
  const node =
    v.involvedKind === "Pod"
      ? v.sourceHost || options.nodeOfPod?.(v.involvedNamespace, v.involvedName) || ""
      : v.involvedKind === "Node"
        ? v.involvedName
        : ""
  if (node === "") return { hostname: "", providerId: "" }
  return {
    hostname: options.clusterName === "" ? node : `${node}-${options.clusterName}`,
    providerId: lastSegment(options.providerIdOf?.(node) ?? "")
  }
}

/** The `host` we send: an event attributed to no node is ours, as the original's aggregator does. */
export const hostOf = (info: HostInfo, options: TransformOptions): string => info.hostname || options.defaultHost

/**
 * Go's `sort.Strings` order (UTF-8 bytes, i.e. code points). JS compares UTF-16 code units,
 * which puts U+E000..U+FFFF after astral characters; shifting the units restores byte order.
 */
export const compareGoStrings = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) return goUnitRank(x) - goUnitRank(y)
  }
  return a.length - b.length
}

const goUnitRank = (unit: number): number => (unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800)
