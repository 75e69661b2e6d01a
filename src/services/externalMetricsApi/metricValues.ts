// The answer to GET .../namespaces/<ns>/<metric>?labelSelector=...: an ExternalMetricValueList of
// the stored entries whose labels match, one item per distinct label set (two autoscalers asking
// for the same metric and labels share one value; the HPA sums all items, so a duplicate would
// double it). A matched label set without a valid entry makes the whole answer a 503 naming the
// metric, its labels and why: a stale or invalid value is never presented as fresh. No match at
// all is an empty list, as in the original.
import { toQuantity } from "../externalMetrics/quantity.ts"
import type { Lookup, ServedEntry } from "../externalMetrics/served.ts"
import { matches, type Selector } from "./labelSelector.ts"
import { groupVersion } from "./requestInfo.ts"
import { type ApiResponse, json, statusError } from "./status.ts"

/** RFC 3339 with seconds, as metav1.Time serialises. */
export const rfc3339Seconds = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z")

const labelKey = (labels: Readonly<Record<string, string>>) =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]])
  )

const describeLabels = (labels: Readonly<Record<string, string>>) => {
  const keys = Object.keys(labels).sort()
  return keys.length === 0 ? "{}" : `{${keys.map((k) => `${k}=${labels[k]}`).join(",")}}`
}

/** Pure: the list (or the 503) for the entries stored under the requested name. */
export const metricValueList = (requested: string, selector: Selector, lookup: Lookup, nowMs: number): ApiResponse => {
  if (lookup._tag === "Unavailable") {
    return statusError(503, "ServiceUnavailable", `external metric "${requested}" is unavailable: ${lookup.reason}`)
  }
  // Per label set, the newest valid entry; or, when none is valid, the first invalid one seen.
  const sets = new Map<string, { valid?: ServedEntry; invalid?: ServedEntry }>()
  for (const entry of lookup.entries) {
    if (!matches(selector, entry.labels)) continue
    const key = labelKey(entry.labels)
    const set = sets.get(key) ?? {}
    if (entry.valid) {
      if (set.valid === undefined || entry.ts > set.valid.ts) set.valid = entry
    } else if (set.invalid === undefined) {
      set.invalid = entry
    }
    sets.set(key, set)
  }
  const timestamp = rfc3339Seconds(nowMs)
  const items: Array<unknown> = []
  for (const { valid, invalid } of sets.values()) {
    if (valid === undefined) {
      const entry = invalid as ServedEntry
      return statusError(
        503,
        "ServiceUnavailable",
        `external metric "${entry.metricName}" with labels ${describeLabels(entry.labels)} has no valid value: ${entry.reason ?? "marked invalid"}`
      )
    }
    items.push({
      metricName: valid.metricName,
      metricLabels: valid.labels,
      timestamp,
      value: toQuantity(valid.value)
    })
  }
  return json({ kind: "ExternalMetricValueList", apiVersion: groupVersion, metadata: {}, items })
}
