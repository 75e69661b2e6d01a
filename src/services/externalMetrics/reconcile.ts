// The leader's store against the autoscalers: an entry per discovered request, keeping the last
// answer of an entry whose autoscaler (same uid) still asks for the same labels, a placeholder
// for a new one, and nothing for an autoscaler that is gone (deleted HPAs are removed at the
// next batch, and a periodic pass is the same function: the GC). Pure.
import { configMapKey } from "./configMap.ts"
import type { ExternalMetricEntry, MetricRequest } from "./types.ts"

export interface Reconciled {
  readonly entries: ReadonlyMap<string, ExternalMetricEntry>
  /** Keys of entries new in this pass (no Datadog answer yet). */
  readonly added: ReadonlyArray<string>
  /** Keys dropped: autoscaler or metric gone, or replaced by a new autoscaler of the same name. */
  readonly removed: ReadonlyArray<string>
}

const sameLabels = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ak = Object.keys(a)
  return ak.length === Object.keys(b).length && ak.every((k) => Object.hasOwn(b, k) && a[k] === b[k])
}

/** Whether a stored entry still answers a request (the GC's match: uid, metric, labels, type). */
export const answers = (entry: ExternalMetricEntry, request: MetricRequest): boolean =>
  entry.reference.uid === request.reference.uid &&
  entry.reference.type === request.reference.type &&
  entry.metricName === request.metricName &&
  sameLabels(entry.labels, request.labels)

/** The store for `requests`, from the `current` one; `now` in seconds stamps placeholders. */
export const reconcile = (
  current: ReadonlyMap<string, ExternalMetricEntry>,
  requests: ReadonlyArray<MetricRequest>,
  now: number
): Reconciled => {
  const entries = new Map<string, ExternalMetricEntry>()
  const added: Array<string> = []
  for (const request of requests) {
    const key = configMapKey(request)
    if (entries.has(key)) continue
    const kept = current.get(key)
    if (kept !== undefined && answers(kept, request)) {
      entries.set(key, kept)
    } else {
      entries.set(key, { ...request, value: 0, ts: now, valid: false })
      added.push(key)
    }
  }
  const removed = [...current.keys()].filter((key) => entries.get(key) !== current.get(key))
  return { entries, added, removed }
}
