// A replica's copy of the metrics, as the API serves it: the leader's own results, or a follower's
// copy of the ConfigMap. Served only while fresh: a copy older than twice the local-copy refresh
// rate is not served at all (contract §6.1), and a value the leader has not renewed for longer
// than it could have (max age, one refresh period and one copy refresh) is served as invalid: a
// leaderless cluster must not present yesterday's value as fresh. Pure.
import type { Lookup, ServedEntry } from "./served.ts"
import type { ExternalMetricEntry } from "./types.ts"

export interface MetricsCopy {
  readonly entries: ReadonlyMap<string, ExternalMetricEntry>
  /** Why an entry is invalid, by key, when this replica knows (the leader does). */
  readonly reasons: ReadonlyMap<string, string>
  /** When the copy was last confirmed current, ms since the epoch. */
  readonly loadedAt: number
  /** Where it came from, for status and messages. */
  readonly source: "leader" | "configmap"
}

export interface ViewLimits {
  /** Copies older than this are not served, ms (2 × local copy refresh rate). */
  readonly maxCopyAgeMs: number
  /** A valid value older than this is served as invalid, s. */
  readonly maxValueAgeSeconds: number
}

/** A copy indexed for lookups by lower-cased metric name. */
export interface IndexedCopy {
  readonly copy: MetricsCopy
  readonly byName: ReadonlyMap<string, ReadonlyArray<readonly [key: string, entry: ExternalMetricEntry]>>
}

export const indexCopy = (copy: MetricsCopy): IndexedCopy => {
  const byName = new Map<string, Array<readonly [string, ExternalMetricEntry]>>()
  for (const [key, entry] of copy.entries) {
    const name = entry.metricName.toLowerCase()
    const list = byName.get(name)
    if (list === undefined) byName.set(name, [[key, entry]])
    else list.push([key, entry])
  }
  return { copy, byName }
}

const invalidReason = (copy: MetricsCopy, key: string): string =>
  copy.reasons.get(key) ??
  (copy.source === "leader" ? "no valid value yet" : "marked invalid by the leader (its status and logs say why)")

const judge = (
  copy: MetricsCopy,
  key: string,
  e: ExternalMetricEntry,
  nowMs: number,
  limits: ViewLimits
): ServedEntry => {
  const base = { metricName: e.metricName, labels: e.labels, value: e.value, ts: e.ts }
  if (!e.valid) return { ...base, valid: false, reason: invalidReason(copy, key) }
  const age = Math.floor(nowMs / 1000 - e.ts)
  if (age > limits.maxValueAgeSeconds) {
    return {
      ...base,
      valid: false,
      reason: `the value is ${age} s old and has not been renewed (limit ${limits.maxValueAgeSeconds} s): is a leader querying Datadog?`
    }
  }
  return { ...base, valid: true }
}

/** The entries of a metric name, judged at `nowMs`; no copy, or a stale one, is Unavailable. */
export const lookupIn = (
  indexed: IndexedCopy | undefined,
  metricName: string,
  nowMs: number,
  limits: ViewLimits
): Lookup => {
  if (indexed === undefined) {
    return { _tag: "Unavailable", reason: "external metrics not loaded yet: the metrics ConfigMap has not been read" }
  }
  const { copy } = indexed
  const age = nowMs - copy.loadedAt
  if (age > limits.maxCopyAgeMs) {
    return {
      _tag: "Unavailable",
      reason: `external metrics invalid: this replica's copy is ${Math.round(age / 1000)} s old (limit ${Math.round(limits.maxCopyAgeMs / 1000)} s); it cannot read the metrics ConfigMap`
    }
  }
  const found = indexed.byName.get(metricName.toLowerCase()) ?? []
  return { _tag: "Entries", entries: found.map(([key, e]) => judge(copy, key, e, nowMs, limits)) }
}

/** The distinct metric names of a copy, lower-cased, sorted. */
export const namesIn = (indexed: IndexedCopy | undefined): ReadonlyArray<string> =>
  indexed === undefined ? [] : [...indexed.byName.keys()].sort()
