/** A ServedMetrics over a fixed (or test-replaced) list of entries, for the external metrics API tests. */
import type { Lookup, ServedEntry, ServedMetricsShape } from "../../../src/services/externalMetrics/served.ts"

export const entry = (
  metricName: string,
  labels: Record<string, string>,
  value: number,
  extra: Partial<ServedEntry> = {}
): ServedEntry => ({ metricName, labels, value, ts: 1_700_000_000, valid: true, ...extra })

export interface StaticServed extends ServedMetricsShape {
  /** Replaces what is served: entries, or a reason nothing can be. */
  set(next: ReadonlyArray<ServedEntry> | { readonly unavailable: string }): void
  readonly lookups: Array<string>
}

export const staticServed = (initial: ReadonlyArray<ServedEntry> = []): StaticServed => {
  let current: ReadonlyArray<ServedEntry> | { readonly unavailable: string } = initial
  const lookups: Array<string> = []
  return {
    names: () => ("unavailable" in current ? [] : [...new Set(current.map((e) => e.metricName.toLowerCase()))].sort()),
    lookup: (metricName): Lookup => {
      lookups.push(metricName)
      if ("unavailable" in current) return { _tag: "Unavailable", reason: current.unavailable }
      const name = metricName.toLowerCase()
      return { _tag: "Entries", entries: current.filter((e) => e.metricName.toLowerCase() === name) }
    },
    set: (next) => {
      current = next
    },
    lookups
  }
}
