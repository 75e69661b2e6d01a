// Schemas of the Kubernetes objects the agent writes or reasons about (Lease, ConfigMap, Event,
// HorizontalPodAutoscaler): an answer is decoded, not cast, and a malformed one is a
// `KubeError` with reason Decode naming the field. Only the fields we use are modelled, as the
// wire has them (times and quantities stay strings; see microTime.ts).
//
// Every object is OPEN: each struct carries a rest `Record(String, Unknown)`, so fields we do
// not model survive decoding, at every level. A read-modify-replace of a ConfigMap or Lease
// written by a newer server or another tool must not drop what it added. (Effect's parser
// strips unknown keys by default and has no "preserve" option; a rest index signature is how
// a struct keeps them.)
//
// Optionality follows the Go types: a pointer or `omitempty` field may be absent; a non-pointer
// field without omitempty is always sent (hence required), and a zero `metav1.Time` /
// `MicroTime` is sent as `null`.
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { errorFromIssue, type KubeError } from "./errors.ts"

const rest = [Schema.Record(Schema.String, Schema.Unknown)] as const

/** A struct that keeps every key it does not declare. */
const open = <const Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Schema.StructWithRest(Schema.Struct(fields), rest)

const optional = Schema.optionalKey
const Str = Schema.String
const Num = Schema.Number
const StringMap = Schema.Record(Schema.String, Schema.String)
/** metav1.Time / MicroTime that is not a pointer: `null` when zero. */
const NullableTime = Schema.NullOr(Schema.String)

// --- metadata ----------------------------------------------------------------------------

export const OwnerReference = open({
  apiVersion: Str,
  kind: Str,
  name: Str,
  uid: Str,
  controller: optional(Schema.Boolean),
  blockOwnerDeletion: optional(Schema.Boolean)
})
export type OwnerReference = typeof OwnerReference.Type

export const ObjectMeta = open({
  name: optional(Str),
  generateName: optional(Str),
  namespace: optional(Str),
  uid: optional(Str),
  resourceVersion: optional(Str),
  generation: optional(Num),
  creationTimestamp: optional(NullableTime),
  deletionTimestamp: optional(Str),
  deletionGracePeriodSeconds: optional(Num),
  labels: optional(StringMap),
  annotations: optional(StringMap),
  ownerReferences: optional(Schema.Array(OwnerReference)),
  finalizers: optional(Schema.Array(Str))
})
export type ObjectMeta = typeof ObjectMeta.Type

/** apiVersion, kind and metadata: what every object has. */
const objectFields = {
  apiVersion: optional(Str),
  kind: optional(Str),
  metadata: optional(ObjectMeta)
}

// --- core/v1 ConfigMap -------------------------------------------------------------------

export const ConfigMap = open({
  ...objectFields,
  data: optional(StringMap),
  /** Base64 values. */
  binaryData: optional(StringMap),
  immutable: optional(Schema.Boolean)
})
export type ConfigMap = typeof ConfigMap.Type

// --- coordination.k8s.io/v1 Lease --------------------------------------------------------

export const LeaseSpec = open({
  holderIdentity: optional(Str),
  leaseDurationSeconds: optional(Num),
  /** MicroTime: write with `formatMicroTime`. */
  acquireTime: optional(Str),
  /** MicroTime: write with `formatMicroTime`. */
  renewTime: optional(Str),
  leaseTransitions: optional(Num),
  /** Coordinated leader election (1.31+), e.g. "OldestEmulationVersion". */
  strategy: optional(Str),
  preferredHolder: optional(Str)
})
export type LeaseSpec = typeof LeaseSpec.Type

export const Lease = open({ ...objectFields, spec: optional(LeaseSpec) })
export type Lease = typeof Lease.Type

// --- core/v1 Event -----------------------------------------------------------------------

export const ObjectReference = open({
  apiVersion: optional(Str),
  kind: optional(Str),
  name: optional(Str),
  namespace: optional(Str),
  uid: optional(Str),
  resourceVersion: optional(Str),
  fieldPath: optional(Str)
})
export type ObjectReference = typeof ObjectReference.Type

export const EventSource = open({ component: optional(Str), host: optional(Str) })
export type EventSource = typeof EventSource.Type

export const EventSeries = open({
  count: optional(Num),
  /** MicroTime. */
  lastObservedTime: optional(NullableTime)
})
export type EventSeries = typeof EventSeries.Type

/** core/v1 Event. `eventTime` is a MicroTime; first/lastTimestamp are second-precision times. */
export const CoreEvent = open({
  ...objectFields,
  involvedObject: ObjectReference,
  reason: optional(Str),
  message: optional(Str),
  /** "Normal" or "Warning" (anything else is taken as Normal). */
  type: optional(Str),
  source: optional(EventSource),
  firstTimestamp: optional(NullableTime),
  lastTimestamp: optional(NullableTime),
  eventTime: optional(NullableTime),
  count: optional(Num),
  action: optional(Str),
  reportingComponent: optional(Str),
  reportingInstance: optional(Str),
  related: optional(ObjectReference),
  series: optional(EventSeries)
})
export type CoreEvent = typeof CoreEvent.Type

// --- autoscaling/v2 HorizontalPodAutoscaler ----------------------------------------------

export const LabelSelectorRequirement = open({
  key: Str,
  /** In, NotIn, Exists, DoesNotExist. */
  operator: Str,
  values: optional(Schema.Array(Str))
})
export type LabelSelectorRequirement = typeof LabelSelectorRequirement.Type

export const LabelSelector = open({
  matchLabels: optional(StringMap),
  matchExpressions: optional(Schema.Array(LabelSelectorRequirement))
})
export type LabelSelector = typeof LabelSelector.Type

export const MetricIdentifier = open({ name: Str, selector: optional(LabelSelector) })
export type MetricIdentifier = typeof MetricIdentifier.Type

export const MetricTarget = open({
  /** Utilization, Value or AverageValue. */
  type: Str,
  /** Quantity, e.g. "2500m". */
  value: optional(Str),
  /** Quantity. */
  averageValue: optional(Str),
  averageUtilization: optional(Num)
})
export type MetricTarget = typeof MetricTarget.Type

export const ExternalMetricSource = open({ metric: MetricIdentifier, target: MetricTarget })
export type ExternalMetricSource = typeof ExternalMetricSource.Type

/** One metric of an HPA; only External is modelled (Object, Pods, Resource, ... are kept). */
export const MetricSpec = open({ type: Str, external: optional(ExternalMetricSource) })
export type MetricSpec = typeof MetricSpec.Type

export const CrossVersionObjectReference = open({ kind: Str, name: Str, apiVersion: optional(Str) })
export type CrossVersionObjectReference = typeof CrossVersionObjectReference.Type

export const HorizontalPodAutoscalerSpec = open({
  scaleTargetRef: CrossVersionObjectReference,
  minReplicas: optional(Num),
  maxReplicas: Num,
  metrics: optional(Schema.Array(MetricSpec))
})
export type HorizontalPodAutoscalerSpec = typeof HorizontalPodAutoscalerSpec.Type

export const MetricValueStatus = open({
  /** Quantity. */
  value: optional(Str),
  /** Quantity. */
  averageValue: optional(Str),
  averageUtilization: optional(Num)
})
export type MetricValueStatus = typeof MetricValueStatus.Type

export const ExternalMetricStatus = open({ metric: MetricIdentifier, current: MetricValueStatus })
export type ExternalMetricStatus = typeof ExternalMetricStatus.Type

export const MetricStatus = open({ type: Str, external: optional(ExternalMetricStatus) })
export type MetricStatus = typeof MetricStatus.Type

export const HorizontalPodAutoscalerCondition = open({
  type: Str,
  status: Str,
  lastTransitionTime: optional(NullableTime),
  reason: optional(Str),
  message: optional(Str)
})
export type HorizontalPodAutoscalerCondition = typeof HorizontalPodAutoscalerCondition.Type

export const HorizontalPodAutoscalerStatus = open({
  observedGeneration: optional(Num),
  lastScaleTime: optional(NullableTime),
  currentReplicas: optional(Num),
  desiredReplicas: optional(Num),
  /** `null` before the controller has measured anything. */
  currentMetrics: optional(Schema.NullOr(Schema.Array(MetricStatus))),
  conditions: optional(Schema.Array(HorizontalPodAutoscalerCondition))
})
export type HorizontalPodAutoscalerStatus = typeof HorizontalPodAutoscalerStatus.Type

export const HorizontalPodAutoscaler = open({
  ...objectFields,
  spec: HorizontalPodAutoscalerSpec,
  status: optional(HorizontalPodAutoscalerStatus)
})
export type HorizontalPodAutoscaler = typeof HorizontalPodAutoscaler.Type

// --- decoding ------------------------------------------------------------------------------

/** A schema of a wire object: decodes from plain JSON and needs no services. */
export type WireSchema<T> = Schema.Decoder<T>

/**
 * Pure and synchronous (for Stream strippers and watch decoding): the value as `T`, or a
 * Decode `KubeError` whose detail names the first offending field, e.g.
 * `spec.leaseDurationSeconds: expected number, got "60"`. Never throws on any JSON value.
 */
export const decodeObjectResult = <T>(
  schema: WireSchema<T>,
  verb: string,
  path: string,
  value: unknown,
  status?: number
): Result.Result<T, KubeError> => {
  const decoded = Schema.decodeUnknownResult(schema)(value)
  return Result.isSuccess(decoded)
    ? Result.succeed(decoded.success)
    : Result.fail(errorFromIssue(verb, path, decoded.failure.issue, value, status))
}

/** {@link decodeObjectResult} as an Effect. */
export const decodeObject = <T>(
  schema: WireSchema<T>,
  verb: string,
  path: string,
  value: unknown,
  status?: number
): Effect.Effect<T, KubeError> => Effect.fromResult(decodeObjectResult(schema, verb, path, value, status))
