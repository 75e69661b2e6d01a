// Which Kubernetes events reach Datadog: the field selector built from `filtered_event_types`
// (applied by the API server, contract §3.3), and the matching of `collected_event_types` and of
// the built-in default list used with `filtering_enabled` (applied here, contract §3.4).
// (dda: kubernetesapiserver/kubernetes_apiserver.go convertFilters and Configure,
// events_common.go integrationToCollectedEventTypes, shouldCollect, shouldCollectByDefault.)
import { eventSource } from "./sources.ts"
import type { EventView } from "./view.ts"

/**
 * The `fieldSelector` of the LIST/WATCH, or undefined for none. An entry holding `=` is a
 * field-selector term as it is (`involvedObject.kind!=Node`, `type==Normal`); a bare word is a
 * reason to exclude (`OOM` → `reason!=OOM`). Nothing is trimmed, as in the original: an empty
 * entry becomes `reason!=`, which the API server reads as "reason is not empty".
 */
export const eventFieldSelector = (filteredEventTypes: ReadonlyArray<string>): string | undefined =>
  filteredEventTypes.length === 0
    ? undefined
    : filteredEventTypes.map((entry) => (entry.includes("=") ? entry : `reason!=${entry}`)).join(",")

/**
 * Whether `filtered_event_types` applies: only when events can be bundled. In pure unbundled
 * mode the original uses `collected_event_types` alone and lists every event.
 */
export const usesFilteredEventTypes = (mode: { readonly unbundle: boolean; readonly bundleUnspecified: boolean }) =>
  !mode.unbundle || mode.bundleUnspecified

/** One entry of `collected_event_types`: every field set must match; no reasons means any reason. */
export interface CollectedEventType {
  /** involvedObject.kind, e.g. "Pod". */
  readonly kind?: string | undefined
  /** source.component, e.g. "kubelet". */
  readonly source?: string | undefined
  readonly reasons?: ReadonlyArray<string> | undefined
}

/** Pure: whether any entry matches the event (Go's shouldCollect). */
export const matchesCollectedTypes = (v: EventView, types: ReadonlyArray<CollectedEventType>): boolean =>
  types.some(
    (t) =>
      (!t.kind || t.kind === v.involvedKind) &&
      (!t.source || t.source === v.sourceComponent) &&
      (t.reasons === undefined || t.reasons.length === 0 || t.reasons.includes(v.reason))
  )

/**
 * Unbundled mode ignores an entry that names neither a kind nor a source (the original logs
 * `invalid value for collected_event_types, either "kind" or source" need to be set`): it would
 * unbundle every event with its reasons. Bundled-only mode uses the list as written.
 */
export const validCollectedTypes = (
  types: ReadonlyArray<CollectedEventType>
): { readonly valid: ReadonlyArray<CollectedEventType>; readonly invalid: ReadonlyArray<CollectedEventType> } => ({
  valid: types.filter((t) => !!t.kind || !!t.source),
  invalid: types.filter((t) => !t.kind && !t.source)
})

// The built-in list, by source (sources.ts). Copied from the original as it is: "datadog-operator"
// is never a detected source (detection says "datadog operator"), and the Source-only entries
// compare the integration name with source.component, so several entries can never match.
const coreTypes: ReadonlyArray<CollectedEventType> = [
  { kind: "Pod", reasons: ["Failed", "BackOff", "Unhealthy", "FailedScheduling", "FailedMount", "FailedAttachVolume"] },
  { kind: "Node", reasons: ["TerminatingEvictedPod", "NodeNotReady", "Rebooted", "HostPortConflict"] },
  { kind: "CronJob", reasons: ["SawCompletedJob"] }
]

const defaultTypesBySource: ReadonlyMap<string, ReadonlyArray<CollectedEventType>> = new Map(
  Object.entries({
    kubernetes: coreTypes,
    kube_scheduler: coreTypes,
    "kubernetes controller manager": coreTypes,
    karpenter: [
      {
        source: "karpenter",
        reasons: [
          "DisruptionBlocked",
          "DisruptionLaunching",
          "DisruptionTerminating",
          "DisruptionWaitingReadiness",
          "FailedDraining",
          "InstanceTerminating",
          "SpotInterrupted",
          "SpotRebalanceRecommendation",
          "TerminatingOnInterruption"
        ]
      }
    ],
    "datadog-operator": [{ source: "datadog-operator" }],
    "amazon elb": [{ source: "amazon elb" }],
    cilium: [{ source: "cilium" }],
    fluxcd: [{ source: "fluxcd" }],
    "kubernetes cluster autoscaler": [{ source: "kubernetes cluster autoscaler" }],
    spark: [{ source: "spark" }],
    vault: [{ source: "vault" }]
  })
)

/** Applies to every source: change tracking consumes all BackOff events. */
const anySourceTypes: ReadonlyArray<CollectedEventType> = [{ reasons: ["BackOff"] }]

/** Pure: whether the built-in list of `filtering_enabled` keeps the event (Go's shouldCollectByDefault). */
export const collectedByDefault = (v: EventView, sourceDetection: boolean): boolean => {
  const bySource = defaultTypesBySource.get(eventSource(v.reportingController, v.sourceComponent, sourceDetection))
  return matchesCollectedTypes(v, bySource === undefined ? anySourceTypes : [...bySource, ...anySourceTypes])
}

/** With `filtering_enabled`, an event collected only because the user asked for it is marked
 * apart from the default ones: `kubernetes` becomes `kubernetes_custom`. */
export const customSource = (source: string): string => `${source}_custom`
