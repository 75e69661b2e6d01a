// HPA discovery: what each autoscaling/v2 HorizontalPodAutoscaler asks of the provider. Every
// External metric becomes a request (name, matchLabels); one that cannot be served becomes a
// problem with its reason, shown in status and recorded as a Warning event on the HPA, never
// skipped silently (field-lessons 1D). Pure: the watch and the events are ExternalMetrics.ts's.
import type * as Result from "effect/Result"
import type { KubeError } from "../../layers/kube/errors.ts"
import { HorizontalPodAutoscaler, type MetricSpec } from "../../layers/kube/schemas.ts"
import type { ResourceRef } from "../../layers/kube/types.ts"
import { decodedStrip } from "../../streams/decoded.ts"
import type { WatchRequest } from "../../streams/request.ts"
import { configMapKey } from "./configMap.ts"
import type { AutoscalerReference, MetricRequest } from "./types.ts"

/** Datadog's metric name rule, as the original enforces it. */
export const metricNamePattern = /^[a-zA-Z][a-zA-Z0-9_.]{0,199}$/

/** What the provider keeps of an HPA. */
export interface HpaView {
  readonly namespace: string
  readonly name: string
  readonly uid: string
  readonly metrics: ReadonlyArray<MetricSpec>
}

/** An External metric of an HPA that the provider cannot serve, and why. */
export interface HpaProblem {
  readonly reference: AutoscalerReference
  readonly metricName: string
  readonly reason: string
}

export interface HpaMetrics {
  readonly requests: ReadonlyArray<MetricRequest>
  readonly problems: ReadonlyArray<HpaProblem>
}

export const hpaResource: ResourceRef = {
  group: "autoscaling",
  version: "v2",
  resource: "horizontalpodautoscalers"
}

const toView = (hpa: HorizontalPodAutoscaler): HpaView => ({
  namespace: hpa.metadata?.namespace ?? "",
  name: hpa.metadata?.name ?? "",
  uid: hpa.metadata?.uid ?? "",
  metrics: hpa.spec.metrics ?? []
})

/** Every HPA of the cluster, decoded (a malformed one is kept as its Decode error, for status). */
export const hpaWatch: WatchRequest<{ readonly autoscaler: Result.Result<HpaView, KubeError> }> = {
  name: "horizontalpodautoscalers",
  resource: hpaResource,
  strip: (o) => ({ autoscaler: stripHpa(o) })
}

const stripHpa = decodedStrip(hpaResource, HorizontalPodAutoscaler, toView)

const referenceOf = (hpa: HpaView): AutoscalerReference => ({
  type: "horizontal",
  name: hpa.name,
  namespace: hpa.namespace,
  uid: hpa.uid
})

/** Why an External metric cannot be served, or its request (`keys`: ConfigMap keys taken so far). */
const requestOf = (
  spec: MetricSpec,
  field: string,
  reference: AutoscalerReference,
  keys: Map<string, string>
): MetricRequest | string => {
  if (spec.external === undefined) return `${field} is missing`
  const metricName = spec.external.metric.name
  if (!metricNamePattern.test(metricName)) {
    return `${field}.metric.name ${JSON.stringify(metricName)} is not a Datadog metric name: it must start with a letter and hold at most 200 letters, digits, '_' and '.'`
  }
  const selector = spec.external.metric.selector
  if ((selector?.matchExpressions ?? []).length > 0) {
    return `${field}.metric.selector.matchExpressions is not supported: the Datadog query is built from matchLabels (tag key:value pairs) only`
  }
  const request: MetricRequest = { metricName, labels: { ...(selector?.matchLabels ?? {}) }, reference }
  // The ConfigMap key names the metric but not its labels (contract §6.2): a second metric
  // of the same name in one HPA would overwrite the first.
  const key = configMapKey(request)
  const earlier = keys.get(key)
  if (earlier !== undefined) {
    return `${field} uses metric ${metricName} again (first in ${earlier}): one HPA can use a Datadog metric once; combine the tags into one query or use another HPA`
  }
  keys.set(key, field)
  return request
}

/** The requests and problems of one HPA's External metrics, in spec order. */
export const hpaMetrics = (hpa: HpaView): HpaMetrics => {
  const reference = referenceOf(hpa)
  const requests: Array<MetricRequest> = []
  const problems: Array<HpaProblem> = []
  const keys = new Map<string, string>()
  for (const [index, spec] of hpa.metrics.entries()) {
    if (spec.type !== "External") continue
    const found = requestOf(spec, `spec.metrics[${index}].external`, reference, keys)
    if (typeof found === "string") {
      problems.push({ reference, metricName: spec.external?.metric.name ?? "", reason: found })
    } else {
      requests.push(found)
    }
  }
  return { requests, problems }
}

/** The requests and problems of every HPA, by store key `namespace/name` (a malformed HPA is a problem too). */
export const discoverMetrics = (
  hpas: ReadonlyMap<string, { readonly autoscaler: Result.Result<HpaView, KubeError> }>
): HpaMetrics => {
  const requests: Array<MetricRequest> = []
  const problems: Array<HpaProblem> = []
  for (const [key, { autoscaler }] of hpas) {
    if (autoscaler._tag === "Failure") {
      const [namespace = "", name = ""] = key.split("/")
      problems.push({
        reference: { type: "horizontal", name, namespace, uid: "" },
        metricName: "",
        reason: `the HPA cannot be read: ${autoscaler.failure.message}`
      })
      continue
    }
    const found = hpaMetrics(autoscaler.success)
    requests.push(...found.requests)
    problems.push(...found.problems)
  }
  return { requests, problems }
}
