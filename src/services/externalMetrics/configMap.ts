// The metrics ConfigMap (DD_HPA_CONFIGMAP_NAME, `datadog-custom-metrics`), in the original's
// format (contract §6.2) so that an original replica and ours read each other's store during a
// rolling upgrade: one key per autoscaler metric, a JSON value per key, and an annotation with
// the time of the last write. Entries of the older format (no type in the key, `hpa` instead of
// `reference`) and unreadable values are returned as invalid: the leader drops them on its next
// write. Pure.
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type { ConfigMap } from "../../layers/kube/schemas.ts"
import type { ExternalMetricEntry, MetricRequest } from "./types.ts"

export const lastUpdatedAnnotation = "custom-metrics.datadoghq.com/last-updated"

const keyPrefix = "external_metric"

/** `external_metric-<type>-<namespace>-<autoscaler name>-<metric name>`. */
export const configMapKey = (request: MetricRequest): string =>
  [keyPrefix, request.reference.type, request.reference.namespace, request.reference.name, request.metricName].join("-")

const StoredEntry = Schema.Struct({
  metricName: Schema.String,
  /** A Go nil map is written as null. */
  labels: Schema.NullOr(Schema.Record(Schema.String, Schema.String)),
  ts: Schema.Number,
  reference: Schema.Struct({
    type: Schema.Literals(["horizontal", "watermark"]),
    name: Schema.String,
    namespace: Schema.String,
    uid: Schema.String
  }),
  value: Schema.Number,
  valid: Schema.Boolean
})

const decodeStored = Schema.decodeUnknownResult(Schema.fromJsonString(StoredEntry))

/** The JSON of an entry, fields in the original's order. */
export const encodeEntry = (e: ExternalMetricEntry): string =>
  JSON.stringify({
    metricName: e.metricName,
    labels: e.labels,
    ts: e.ts,
    reference: {
      type: e.reference.type,
      name: e.reference.name,
      namespace: e.reference.namespace,
      uid: e.reference.uid
    },
    value: e.value,
    valid: e.valid
  })

export interface InvalidKey {
  readonly key: string
  readonly reason: string
}

export interface StoredEntries {
  /** By ConfigMap key. */
  readonly entries: ReadonlyMap<string, ExternalMetricEntry>
  readonly invalid: ReadonlyArray<InvalidKey>
}

/** The entries of a ConfigMap's data; anything else is listed as invalid with its reason. */
export const decodeEntries = (data: Readonly<Record<string, string>> | undefined): StoredEntries => {
  const entries = new Map<string, ExternalMetricEntry>()
  const invalid: Array<InvalidKey> = []
  for (const [key, raw] of Object.entries(data ?? {})) {
    if (!key.startsWith(`${keyPrefix}-`)) {
      invalid.push({ key, reason: "not an external metric key" })
      continue
    }
    const decoded = decodeStored(raw)
    if (Result.isFailure(decoded)) {
      const older = raw.includes('"hpa"')
      invalid.push({
        key,
        reason: older ? "an entry of the older format (hpa instead of reference)" : `unreadable: ${decoded.failure}`
      })
      continue
    }
    const { labels, ...rest } = decoded.success
    const entry: ExternalMetricEntry = { ...rest, labels: labels ?? {} }
    if (configMapKey(entry) !== key) {
      invalid.push({ key, reason: `the key does not match its value (expected ${configMapKey(entry)})` })
      continue
    }
    entries.set(key, entry)
  }
  return { entries, invalid }
}

/**
 * The ConfigMap holding exactly `entries`, built on `previous` (its other fields, labels and
 * annotations, and its resourceVersion for an optimistic replace), stamped with `now`.
 */
export const renderConfigMap = (
  previous: ConfigMap,
  entries: ReadonlyMap<string, ExternalMetricEntry>,
  now: Date
): ConfigMap => {
  const data: Record<string, string> = {}
  for (const [key, entry] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    data[key] = encodeEntry(entry)
  }
  return {
    ...previous,
    metadata: {
      ...previous.metadata,
      annotations: {
        ...previous.metadata?.annotations,
        [lastUpdatedAnnotation]: now.toISOString().replace(/\.\d{3}Z$/, "Z")
      }
    },
    data
  }
}

/** A new, empty metrics ConfigMap. */
export const newConfigMap = (namespace: string, name: string): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: {}
})
