// What the event collector keeps of a core/v1 Event: the fields the transformation into Datadog
// events reads (contract §3.4), the Event's own identity for cursors and de-duplication, and
// nothing else. Watched Events are stripped to this on ingest (design convention 7), so the
// store never holds managedFields, annotations or related objects.
//
// Flat rather than nested (`involvedKind`, not `involvedObject.kind`): one object per event
// instead of three, for a store that can hold a whole cluster's events.
//
// Times are epoch milliseconds, `undefined` when the wire has none (absent, `null` for Go's zero
// metav1.Time, or unreadable). The original tells "unset" apart from any real time (IsZero), and
// so must we: a firstTimestamp-less event falls back to eventTime, not to 1970.
import { parseMicroTime } from "../../layers/kube/microTime.ts"
import { CoreEvent } from "../../layers/kube/schemas.ts"
import type { KubeObject, ResourceRef } from "../../layers/kube/types.ts"
import { type Decoded, decodedStrip } from "../../streams/decoded.ts"

export interface EventView {
  /** metadata.uid of the Event itself (not of the object it is about). */
  readonly uid: string
  readonly resourceVersion: string
  /** metadata.namespace and metadata.name of the Event. */
  readonly namespace: string
  readonly name: string
  readonly involvedKind: string
  readonly involvedName: string
  /** "" for cluster-scoped objects (Node, Namespace, PersistentVolume...). */
  readonly involvedNamespace: string
  readonly involvedUid: string
  readonly reason: string
  readonly message: string
  /** "Normal", "Warning", or anything a client wrote. */
  readonly type: string
  readonly sourceComponent: string
  readonly sourceHost: string
  /** Epoch milliseconds (second precision on the wire). */
  readonly firstTimestamp: number | undefined
  readonly lastTimestamp: number | undefined
  /** Epoch milliseconds of the MicroTime, truncated to milliseconds. */
  readonly eventTime: number | undefined
  /** Occurrences so far; 0 when absent (Go's zero int32). */
  readonly count: number
  /** `reportingComponent` on the wire: Go's `ReportingController`. */
  readonly reportingController: string
}

const millis = (time: string | null | undefined): number | undefined =>
  typeof time === "string" ? parseMicroTime(time)?.getTime() : undefined

/** Pure and total over decoded Events. */
export const toEventView = (e: CoreEvent): EventView => ({
  uid: e.metadata?.uid ?? "",
  resourceVersion: e.metadata?.resourceVersion ?? "",
  namespace: e.metadata?.namespace ?? "",
  name: e.metadata?.name ?? "",
  involvedKind: e.involvedObject.kind ?? "",
  involvedName: e.involvedObject.name ?? "",
  involvedNamespace: e.involvedObject.namespace ?? "",
  involvedUid: e.involvedObject.uid ?? "",
  reason: e.reason ?? "",
  message: e.message ?? "",
  type: e.type ?? "",
  sourceComponent: e.source?.component ?? "",
  sourceHost: e.source?.host ?? "",
  firstTimestamp: millis(e.firstTimestamp),
  lastTimestamp: millis(e.lastTimestamp),
  eventTime: millis(e.eventTime),
  count: Number.isFinite(e.count) ? Math.trunc(e.count ?? 0) : 0,
  reportingController: e.reportingComponent ?? ""
})

/**
 * One occurrence of an event: the same Event seen again with a higher count or a later
 * lastTimestamp (a Modified) is a new occurrence, a replay of it (relist, re-watch) is not.
 * Unambiguous although a uid could in principle hold "/": the last two fields are numbers.
 */
export const occurrenceKey = (v: EventView): string => `${v.uid}/${v.count}/${v.lastTimestamp ?? ""}`

/** core/v1 events in all namespaces. */
export const eventsResource: ResourceRef = { group: "", version: "v1", resource: "events" }

/** The stripper for a watch of {@link eventsResource}: the view, or why the Event is unreadable. */
export const stripEvent: (o: KubeObject) => Decoded<EventView> = decodedStrip(eventsResource, CoreEvent, toEventView)
