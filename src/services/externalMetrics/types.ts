// The external metrics provider's data, shared by its parts: what an autoscaler asks for, what the
// leader stores in the ConfigMap (contract §6.2, field for field), and what every replica serves.

/** `horizontal` for an HPA, `watermark` for a WatermarkPodAutoscaler. */
export type AutoscalerType = "horizontal" | "watermark"

/** The autoscaler an entry belongs to (the ConfigMap value's `reference`). */
export interface AutoscalerReference {
  readonly type: AutoscalerType
  readonly name: string
  readonly namespace: string
  readonly uid: string
}

/** One External metric of one autoscaler, as discovered from its spec. */
export interface MetricRequest {
  /** As written in the autoscaler (case kept); the API matches it lower-cased. */
  readonly metricName: string
  /** `metricSelector.matchLabels`. */
  readonly labels: Readonly<Record<string, string>>
  readonly reference: AutoscalerReference
}

/** One ConfigMap entry: a request with the leader's last answer for it. */
export interface ExternalMetricEntry extends MetricRequest {
  readonly value: number
  /** Seconds since the epoch: the point's time when valid, else when it was judged invalid. */
  readonly ts: number
  readonly valid: boolean
}

/** Why a metric is not valid, for status, events and the API's error message. */
export interface MetricProblem {
  readonly reason: string
}
