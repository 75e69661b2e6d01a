// What the external metrics API serves: a synchronous view over the replica's current copy of
// the metrics (the leader's own results, or a follower's copy of the ConfigMap). The API server
// answers every request from it without I/O; the provider (ExternalMetrics.ts) keeps it current.
import * as Context from "effect/Context"

/** One stored value as the API may serve it, judged by the provider at lookup time. */
export interface ServedEntry {
  readonly metricName: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  /** Seconds since the epoch of the value's point. */
  readonly ts: number
  /** False: not to be served as a value; `reason` says why. */
  readonly valid: boolean
  readonly reason?: string | undefined
}

export type Lookup =
  /** The entries stored for the name (any autoscaler, any labels), valid or not. */
  | { readonly _tag: "Entries"; readonly entries: ReadonlyArray<ServedEntry> }
  /** Nothing can be served right now (copy missing or too old): `reason` says why. */
  | { readonly _tag: "Unavailable"; readonly reason: string }

export interface ServedMetricsShape {
  /** The distinct metric names known (lower-cased), for discovery. */
  readonly names: () => ReadonlyArray<string>
  /** The entries whose metric name equals `metricName` compared lower-cased. */
  readonly lookup: (metricName: string) => Lookup
}

export class ServedMetrics extends Context.Service<ServedMetrics, ServedMetricsShape>()("dca/ServedMetrics") {}
