// Unbundled mode (`unbundle_events: true`, contract §3.4): one Datadog event per Kubernetes event
// of the types the user listed in `collected_event_types` (or, with `filtering_enabled`, of the
// built-in default list); the rest are bundled when `bundle_unspecified_events`, else dropped.
// (dda: kubernetesapiserver/unbundled_events.go.)
import type { EventCreateRequest } from "../../layers/datadog/schemas.ts"
import {
  alertTypeOf,
  compareGoStrings,
  hostInfo,
  hostOf,
  involvedObjectTags,
  readableKey,
  type TransformOptions
} from "./common.ts"
import { type CollectedEventType, collectedByDefault, customSource, matchesCollectedTypes } from "./filters.ts"
import { unixSeconds } from "./goTime.ts"
import { eventSource } from "./sources.ts"
import type { EventView } from "./view.ts"

export interface UnbundleOptions extends TransformOptions {
  /** Already validated (filters.ts validCollectedTypes): entries naming a kind or a source. */
  readonly collectedEventTypes: ReadonlyArray<CollectedEventType>
  readonly bundleUnspecified: boolean
  readonly filteringEnabled: boolean
}

/** An unbundled event with what its `emitted_events` increment is labelled with. */
export interface UnbundledEvent {
  readonly event: EventCreateRequest
  /** The one Kubernetes event it is. */
  readonly members: ReadonlyArray<EventView>
  readonly kind: string
  readonly type: string
  /** With `filtering_enabled`, `<source>_custom` for events outside the default list. */
  readonly source: string
}

export interface UnbundleResult {
  readonly unbundled: ReadonlyArray<UnbundledEvent>
  /** The events not collected, in input order, when `bundleUnspecified`; empty otherwise. */
  readonly toBundle: ReadonlyArray<EventView>
}

/** Sorted and without duplicates, as the original's tag accumulator leaves them. */
const sortedUnique = (tags: ReadonlyArray<string>): Array<string> => [...new Set(tags)].sort(compareGoStrings)

/**
 * Pure: the Datadog event of one Kubernetes event. Unlike bundling, nothing is required: an
 * event without reason or message is sent with an empty one, as the original does.
 */
export const unbundledEvent = (v: EventView, source: string, options: TransformOptions): EventCreateRequest => {
  const info = hostInfo(v, options)
  const own = [
    `source_component:${v.sourceComponent}`,
    "orchestrator:kubernetes",
    `reporting_controller:${v.reportingController}`,
    `event_reason:${v.reason}`,
    ...(info.providerId !== "" ? [`host_provider_id:${info.providerId}`] : []),
    ...involvedObjectTags(v)
  ]
  const seconds = unixSeconds(v.lastTimestamp ?? v.eventTime)
  const host = hostOf(info, options)
  return {
    title: `${readableKey(v)}: ${v.reason}`,
    text: v.message,
    // Datadog dates an event without one at its arrival; an event with no time at all has none.
    ...(seconds > 0 ? { dateHappened: seconds } : {}),
    priority: "normal",
    ...(host !== "" ? { host } : {}),
    tags: [...sortedUnique(own), ...options.instanceTags],
    alertType: alertTypeOf(v.type),
    aggregationKey: `kubernetes_apiserver:${v.involvedUid}`,
    sourceTypeName: source
  }
}

/** Pure: splits the events into those sent one by one and those left for bundling. */
export const unbundle = (events: ReadonlyArray<EventView>, options: UnbundleOptions): UnbundleResult => {
  const detection = options.sourceDetection ?? false
  const unbundled: Array<UnbundledEvent> = []
  const toBundle: Array<EventView> = []
  for (const v of events) {
    let source = eventSource(v.reportingController, v.sourceComponent, detection)
    let byDefault = false
    if (options.filteringEnabled) {
      byDefault = collectedByDefault(v, detection)
      if (!byDefault) source = customSource(source)
    }
    if (!byDefault && !matchesCollectedTypes(v, options.collectedEventTypes)) {
      if (options.bundleUnspecified) toBundle.push(v)
      continue
    }
    const event = unbundledEvent(v, source, options)
    unbundled.push({ event, members: [v], kind: v.involvedKind, type: v.type, source })
  }
  return { unbundled, toBundle }
}
