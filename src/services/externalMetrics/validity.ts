// How one refresh's outcome for a metric's query changes its entry (contract §6.3). Plain code;
// times are seconds since the epoch, passed in.
//
// - A point is valid while now − point.ts ≤ maxAge. A stale point keeps its value but is
//   invalid with ts = now, like every invalid entry (the original's rule).
// - No data (no series, several series, only null points): invalid at once, ts = now, the
//   previous value kept (an invalid entry is never served; the value only informs people).
// - A failed chunk (429, 5xx, timeout, malformed answer) says nothing about the metric: a valid
//   entry keeps serving its last good value until that value is older than maxAge, and only then
//   turns invalid. One rate-limited chunk therefore invalidates nothing at once, and only its own
//   metrics later (field lessons 1D, 1E: dda#28497, dda#2996).

import type { QueryOutcome } from "./points.ts"
import type { ExternalMetricEntry } from "./types.ts"

export interface Applied {
  readonly entry: ExternalMetricEntry
  /** Why the entry is invalid, or (with a still valid entry) why its value was not refreshed. */
  readonly problem?: string
}

const invalid = (previous: ExternalMetricEntry, now: number, problem: string, value = previous.value): Applied => ({
  entry: { ...previous, value, ts: now, valid: false },
  problem
})

/** The entry after this refresh, given its query's outcome (undefined: its query was not answered). */
export const applyOutcome = (
  previous: ExternalMetricEntry,
  outcome: QueryOutcome | undefined,
  now: number,
  maxAge: number
): Applied => {
  if (outcome === undefined) return invalid(previous, now, "no result for this metric's query in this refresh")
  switch (outcome._tag) {
    case "Point": {
      const age = now - outcome.ts
      if (age <= maxAge) return { entry: { ...previous, value: outcome.value, ts: outcome.ts, valid: true } }
      return invalid(previous, now, `the newest point is ${age} s old, older than max age ${maxAge} s`, outcome.value)
    }
    case "NoData":
      return invalid(previous, now, outcome.reason)
    case "Failed": {
      const age = now - previous.ts
      if (previous.valid && age <= maxAge) {
        return {
          entry: previous,
          problem: `${outcome.reason}; serving the last value, from ${age} s ago, until it is older than max age ${maxAge} s`
        }
      }
      return invalid(
        previous,
        now,
        previous.valid
          ? `${outcome.reason}; the last value, from ${age} s ago, is older than max age ${maxAge} s`
          : outcome.reason
      )
    }
  }
}
