// The one entry the event collector calls: Kubernetes events in, Datadog events out, with the
// labels of the two internal counters (contract §3.4):
//   kubernetes_apiserver_kube_events{kind,component,type,reason,source}  events considered
//   kubernetes_apiserver_emitted_events{kind,type,source,is_bundled}     events sent
// (dda: kubernetesapiserver/kubernetes_apiserver.go Configure, bundled_events.go,
// unbundled_events.go.)
//
// Counting differs from the original in one place: in unbundled mode with
// `bundle_unspecified_events`, the original counts an unspecified event in kube_events twice
// (once unbundling, once bundling); we count every event once.
import type { EventCreateRequest } from "../../layers/datadog/schemas.ts"
import { type BundledEvent, bundle, isBundleable } from "./bundle.ts"
import type { TransformOptions } from "./common.ts"
import { type CollectedEventType, collectedByDefault, matchesCollectedTypes, validCollectedTypes } from "./filters.ts"
import { eventSource } from "./sources.ts"
import { unbundle } from "./unbundled.ts"
import type { EventView } from "./view.ts"

export interface TransformMode extends TransformOptions {
  /** `unbundle_events` (default false). */
  readonly unbundle: boolean
  /** `bundle_unspecified_events` (default false): only with `unbundle`. */
  readonly bundleUnspecified: boolean
  /** `collected_event_types`, as configured. */
  readonly collectedEventTypes: ReadonlyArray<CollectedEventType>
  /** `filtering_enabled` (default false): also collect the built-in default list, and only it
   * plus `collected_event_types` in bundled mode. */
  readonly filteringEnabled: boolean
}

// The label sets are type aliases, not interfaces, so that they are assignable to a metric's
// `Record<string, string>` attributes (an interface has no implicit index signature).

export type KubeEventLabels = {
  readonly kind: string
  readonly component: string
  readonly type: string
  readonly reason: string
  readonly source: string
}

export type EmittedEventLabels = {
  readonly kind: string
  readonly type: string
  readonly source: string
  readonly is_bundled: "true" | "false"
}

/** One Datadog event to send, and the emitted_events labels to count once Datadog takes it. */
export interface Emitted {
  readonly event: EventCreateRequest
  /** The Kubernetes events it carries (one unbundled, several bundled): sent when it is. */
  readonly members: ReadonlyArray<EventView>
  readonly labels: EmittedEventLabels
}

export interface TransformResult {
  /** Unbundled events first, then bundles; each with its emitted_events labels. */
  readonly emitted: ReadonlyArray<Emitted>
  /** One kube_events increment each. */
  readonly received: ReadonlyArray<KubeEventLabels>
  /** Dropped: an event whose line alone passes a bundle's text budget (bundle.ts). */
  readonly oversized: ReadonlyArray<EventView>
}

/** Pure: the kube_events labels of an event; `source` never carries the `_custom` suffix. */
export const kubeEventLabels = (v: EventView, sourceDetection = false): KubeEventLabels => ({
  kind: v.involvedKind,
  component: v.sourceComponent,
  type: v.type,
  reason: v.reason,
  source: eventSource(v.reportingController, v.sourceComponent, sourceDetection)
})

/** Pure: the Datadog events of one collection run, with what was counted and dropped. */
export const transformEvents = (events: ReadonlyArray<EventView>, mode: TransformMode): TransformResult => {
  const detection = mode.sourceDetection ?? false
  const label = (v: EventView) => kubeEventLabels(v, detection)
  if (!mode.unbundle) {
    // Bundled mode counts only what it can bundle, and filters after counting.
    const bundleable = events.filter(isBundleable)
    const kept = mode.filteringEnabled
      ? bundleable.filter((v) => collectedByDefault(v, detection) || matchesCollectedTypes(v, mode.collectedEventTypes))
      : bundleable
    const { bundles, oversized } = bundle(kept, mode)
    return { emitted: bundles.map(bundledEmitted), received: bundleable.map(label), oversized }
  }
  const { unbundled, toBundle } = unbundle(events, {
    ...mode,
    collectedEventTypes: validCollectedTypes(mode.collectedEventTypes).valid
  })
  const { bundles, oversized } = bundle(toBundle, mode)
  const emitted = [
    ...unbundled.map(
      ({ event, members, kind, type, source }): Emitted => ({
        event,
        members,
        labels: { kind, type, source, is_bundled: "false" }
      })
    ),
    ...bundles.map(bundledEmitted)
  ]
  return { emitted, received: events.map(label), oversized }
}

const bundledEmitted = ({ event, members, kind, type, source }: BundledEvent): Emitted => ({
  event,
  members,
  labels: { kind, type, source, is_bundled: "true" }
})

/** Pure: the Datadog events of one collection run, each with its emitted_events labels. */
export const toDatadogEvents = (events: ReadonlyArray<EventView>, mode: TransformMode): ReadonlyArray<Emitted> =>
  transformEvents(events, mode).emitted
