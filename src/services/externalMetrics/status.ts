// The external metrics provider's status (the status page's "Custom Metrics Server", the flare's
// custommetricsprovider.log): this replica's copy judged as the API would answer it now. Pure.
import type { HpaProblem } from "./hpa.ts"
import type { AutoscalerReference } from "./types.ts"
import { type IndexedCopy, lookupIn, type MetricsCopy, type ViewLimits } from "./view.ts"

/** One stored metric as status shows it. */
export interface MetricStatus {
  readonly key: string
  readonly metricName: string
  readonly labels: Readonly<Record<string, string>>
  readonly reference: AutoscalerReference
  readonly value: number
  readonly ts: number
  readonly valid: boolean
  readonly reason?: string | undefined
}

export interface LastRefresh {
  /** ms since the epoch. */
  readonly at: number
  readonly queries: number
  readonly calls: number
  readonly failedCalls: number
  readonly durationMs: number
}

export interface ExternalMetricsStatus {
  readonly enabled: boolean
  /** `<namespace>/<name>` of the store. */
  readonly configMap: string
  readonly leader: boolean
  /** Where this replica's copy comes from and its age; absent before the first read. */
  readonly copy?: { readonly source: MetricsCopy["source"]; readonly ageSeconds: number } | undefined
  readonly total: number
  readonly valid: number
  readonly metrics: ReadonlyArray<MetricStatus>
  /** External metrics of HPAs that are not served, with the reason. */
  readonly problems: ReadonlyArray<HpaProblem>
  readonly lastRefresh?: LastRefresh | undefined
  /** The last failure to read or write the ConfigMap, if the latest attempt failed. */
  readonly storeError?: string | undefined
}

/** What the provider knows, for its status. */
export interface ProviderState {
  /** `<namespace>/<name>` of the store. */
  readonly configMap: string
  readonly indexed: IndexedCopy | undefined
  readonly limits: ViewLimits
  /** ms since the epoch. */
  readonly nowMs: number
  readonly leader: boolean
  readonly problems: ReadonlyArray<HpaProblem>
  readonly lastRefresh?: LastRefresh | undefined
  readonly storeError?: string | undefined
}

/** Each stored metric is valid only if the API would serve it as valid now (copy and value age). */
export const providerStatus = (state: ProviderState): ExternalMetricsStatus => {
  const { indexed, nowMs, limits } = state
  const copy = indexed?.copy
  const metrics: Array<MetricStatus> = []
  for (const [key, e] of copy?.entries ?? []) {
    const judged = lookupIn(indexed, e.metricName, nowMs, limits)
    const reason =
      judged._tag === "Unavailable"
        ? judged.reason
        : judged.entries.find((j) => j.labels === e.labels && j.ts === e.ts)?.reason
    metrics.push({ key, ...e, valid: e.valid && reason === undefined, reason })
  }
  return {
    enabled: true,
    configMap: state.configMap,
    leader: state.leader,
    copy:
      copy === undefined ? undefined : { source: copy.source, ageSeconds: Math.round((nowMs - copy.loadedAt) / 1000) },
    total: metrics.length,
    valid: metrics.filter((m) => m.valid).length,
    metrics: metrics.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    problems: state.problems,
    lastRefresh: state.lastRefresh,
    storeError: state.storeError
  }
}

/** The status of a provider that is off. */
export const disabledStatus = (configMap: string): ExternalMetricsStatus => ({
  enabled: false,
  configMap,
  leader: false,
  total: 0,
  valid: 0,
  metrics: [],
  problems: []
})
