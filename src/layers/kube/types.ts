// Wire shapes of the Kubernetes objects the agent reads and writes, as plain JSON: times are
// strings (RFC 3339; MicroTime fields carry 6 fractional digits, see microTime.ts), and every
// object stays open (`[key: string]: unknown`) so fields we don't model survive a read-modify-
// replace. client-node's models are not used: they carry `Date` objects, which the wire does not.
//
// The kinds the agent writes or reasons about (ObjectMeta, ConfigMap, Lease, Event,
// HorizontalPodAutoscaler) are derived from their schemas in schemas.ts, which KubeClient
// decodes answers with; the rest are declared here and cast.
import type { ObjectMeta } from "./schemas.ts"

export type {
  ConfigMap,
  CoreEvent,
  CrossVersionObjectReference,
  EventSeries,
  EventSource,
  ExternalMetricSource,
  ExternalMetricStatus,
  HorizontalPodAutoscaler,
  HorizontalPodAutoscalerCondition,
  HorizontalPodAutoscalerSpec,
  HorizontalPodAutoscalerStatus,
  LabelSelector,
  LabelSelectorRequirement,
  Lease,
  LeaseSpec,
  MetricIdentifier,
  MetricSpec,
  MetricStatus,
  MetricTarget,
  MetricValueStatus,
  ObjectMeta,
  ObjectReference,
  OwnerReference
} from "./schemas.ts"

/** Identifies a resource collection: `group` "" is the core group (/api/v1). */
export interface ResourceRef {
  readonly group: string
  readonly version: string
  /** The plural resource name, e.g. "pods", "leases". */
  readonly resource: string
  /** Omitted for cluster-scoped resources or a list across all namespaces. */
  readonly namespace?: string | undefined
}

/** Any object: what lists and watches of an arbitrary resource yield. */
export interface KubeObject {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata?: ObjectMeta
  readonly [key: string]: unknown
}

export interface ListMeta {
  readonly resourceVersion?: string
  readonly continue?: string
  readonly remainingItemCount?: number
}

/** One page of a LIST. */
export interface ListPage<T = KubeObject> {
  readonly apiVersion?: string
  readonly kind?: string
  readonly metadata: ListMeta
  readonly items: ReadonlyArray<T>
}

export interface Status {
  readonly kind: "Status"
  readonly apiVersion?: string
  readonly status?: "Success" | "Failure"
  readonly message?: string
  readonly reason?: string
  readonly code?: number
  readonly details?: { readonly [key: string]: unknown }
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK"

export interface WatchEvent<T = KubeObject> {
  readonly type: WatchEventType
  readonly object: T
}

/** GET /version. */
export interface ServerVersion {
  readonly major: string
  readonly minor: string
  readonly gitVersion: string
  readonly gitCommit?: string
  readonly gitTreeState?: string
  readonly buildDate?: string
  readonly goVersion?: string
  readonly compiler?: string
  readonly platform?: string
  readonly [key: string]: unknown
}

export interface Namespace extends KubeObject {
  readonly spec?: { readonly finalizers?: ReadonlyArray<string> }
  readonly status?: { readonly phase?: string; readonly [key: string]: unknown }
}

export interface ComponentCondition {
  readonly type: string
  readonly status: string
  readonly message?: string
  readonly error?: string
}

export interface ComponentStatus extends KubeObject {
  readonly conditions?: ReadonlyArray<ComponentCondition>
}

export interface UserInfo {
  readonly username?: string
  readonly uid?: string
  readonly groups?: ReadonlyArray<string>
  readonly extra?: Readonly<Record<string, ReadonlyArray<string>>>
}

/** authentication.k8s.io/v1 TokenReview. */
export interface TokenReview extends KubeObject {
  readonly spec: { readonly token: string; readonly audiences?: ReadonlyArray<string> }
  readonly status?: {
    readonly authenticated?: boolean
    readonly user?: UserInfo
    readonly audiences?: ReadonlyArray<string>
    readonly error?: string
  }
}

export interface ResourceAttributes {
  readonly namespace?: string
  readonly verb?: string
  readonly group?: string
  readonly version?: string
  readonly resource?: string
  readonly subresource?: string
  readonly name?: string
}

export interface NonResourceAttributes {
  readonly path?: string
  readonly verb?: string
}

export interface SubjectAccessReviewStatus {
  readonly allowed: boolean
  readonly denied?: boolean
  readonly reason?: string
  readonly evaluationError?: string
}

/** authorization.k8s.io/v1 SubjectAccessReview. */
export interface SubjectAccessReview extends KubeObject {
  readonly spec: {
    readonly resourceAttributes?: ResourceAttributes
    readonly nonResourceAttributes?: NonResourceAttributes
    readonly user?: string
    readonly groups?: ReadonlyArray<string>
    readonly uid?: string
    readonly extra?: Readonly<Record<string, ReadonlyArray<string>>>
  }
  readonly status?: SubjectAccessReviewStatus
}

/** authorization.k8s.io/v1 SelfSubjectAccessReview. */
export interface SelfSubjectAccessReview extends KubeObject {
  readonly spec: {
    readonly resourceAttributes?: ResourceAttributes
    readonly nonResourceAttributes?: NonResourceAttributes
  }
  readonly status?: SubjectAccessReviewStatus
}
