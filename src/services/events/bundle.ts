// Bundled mode (the default, contract §3.4): one Datadog event per involved object and event
// type, whose text lists each distinct reason and message once with its summed count.
// (dda: kubernetesapiserver/bundled_events.go, kubernetes_eventbundle.go.)
//
// Like the newest original, a bundle whose text would pass the Events API's 4000-character limit
// is closed and the object's next lines start another one; a single line too long for any
// bundle is dropped and reported (`oversized`), where the original returns an error per event.
import type { EventCreateRequest } from "../../layers/datadog/schemas.ts"
import {
  alertTypeOf,
  compareGoStrings,
  type HostInfo,
  hostInfo,
  hostOf,
  involvedObjectTags,
  readableKey,
  type TransformOptions
} from "./common.ts"
import { formatGoTime, unixSeconds } from "./goTime.ts"
import { eventSource } from "./sources.ts"
import type { EventView } from "./view.ts"

export type { TransformOptions } from "./common.ts"

/** The original's budget for a bundle's text, conservatively under the API's 4000 (in bytes, as Go's len). */
export const maxEstimatedTextBytes = 3750
/** Header, footer and the "Events emitted by … seen at … since …" line, estimated as the original does. */
const fixedOverheadBytes = 250
/** Per line: up to 10 digits of count and a separating space. */
const lineOverheadBytes = 11

const byteLength = (s: string): number => Buffer.byteLength(s, "utf8")

/** Dropped: the original skips events lacking any of these before counting them. */
export const isBundleable = (v: EventView): boolean =>
  v.involvedKind !== "" && v.involvedName !== "" && v.reason !== "" && v.message !== ""

/** One line of a bundle's text, the key its counts are summed under. */
const lineOf = (v: EventView): string => `**${v.reason}**: ${v.message}\n`

class Bundle {
  /** The first event: object, component, controller and host of the whole bundle. */
  readonly first: EventView
  readonly host: HostInfo
  /** Every event added, in order. */
  readonly members: Array<EventView> = []
  private readonly counts = new Map<string, number>()
  private estimatedBytes: number
  /** Seconds; "since" is the first time of the event added last, as in the original. */
  private since = 0
  /** Seconds; the latest last time of any event added, never below 0 (the original's start). */
  private last = 0

  constructor(first: EventView, options: TransformOptions) {
    this.first = first
    this.host = hostInfo(first, options)
    this.estimatedBytes = fixedOverheadBytes + byteLength(first.sourceComponent)
  }

  fits(line: string): boolean {
    return this.counts.has(line) || this.estimatedBytes + lineOverheadBytes + byteLength(line) <= maxEstimatedTextBytes
  }

  add(v: EventView, line: string): void {
    this.since = unixSeconds(v.firstTimestamp ?? v.eventTime)
    this.last = Math.max(this.last, unixSeconds(v.lastTimestamp ?? v.eventTime))
    const previous = this.counts.get(line)
    if (previous === undefined) this.estimatedBytes += lineOverheadBytes + byteLength(line)
    this.counts.set(line, (previous ?? 0) + v.count)
    this.members.push(v)
  }

  get lastSeconds(): number {
    return this.last
  }

  text(): string {
    const lines = [...this.counts.keys()].sort(compareGoStrings).map((line) => `${this.counts.get(line)} ${line}`)
    const seen = `seen at ${formatGoTime(this.last)} since ${formatGoTime(this.since)}`
    const text = `%%% \n${lines.join(" ")} \n _Events emitted by the ${this.first.sourceComponent} ${seen}_ \n\n %%%`
    // A Markdown "~" would strike the text out.
    return text.replaceAll("~", "\\~")
  }
}

/** A bundled event with what its `emitted_events` increment is labelled with. */
export interface BundledEvent {
  readonly event: EventCreateRequest
  /** The Kubernetes events it carries, in input order. */
  readonly members: ReadonlyArray<EventView>
  readonly kind: string
  readonly type: string
  readonly source: string
}

export interface BundleResult {
  /** In the order their objects first appear in the input. */
  readonly bundles: ReadonlyArray<BundledEvent>
  /** Events whose single line is too long for any bundle. */
  readonly oversized: ReadonlyArray<EventView>
}

const toRequest = (b: Bundle, options: TransformOptions): BundledEvent => {
  const v = b.first
  const tags = [...involvedObjectTags(v), `source_component:${v.sourceComponent}`]
  if (b.host.providerId !== "") tags.push(`host_provider_id:${b.host.providerId}`)
  tags.push(...options.instanceTags)
  const source = eventSource(v.reportingController, v.sourceComponent, options.sourceDetection ?? false)
  const host = hostOf(b.host, options)
  const event: EventCreateRequest = {
    title: `Events from the ${readableKey(v)}`,
    text: b.text(),
    // Datadog dates an event without one at its arrival; an event with no time at all has none.
    ...(b.lastSeconds > 0 ? { dateHappened: b.lastSeconds } : {}),
    priority: "normal",
    ...(host !== "" ? { host } : {}),
    tags,
    alertType: alertTypeOf(v.type),
    aggregationKey: `kubernetes_apiserver:${v.involvedUid}`,
    sourceTypeName: source
  }
  return { event, members: b.members, kind: v.involvedKind, type: v.type, source }
}

/**
 * Pure: bundles the events that have a kind, name, reason and message (others are skipped) by
 * (involved kind, involved uid, event type). Expects the events the caller chose to bundle;
 * filtering happens before (transform.ts).
 */
export const bundle = (events: ReadonlyArray<EventView>, options: TransformOptions): BundleResult => {
  const byObject = new Map<string, Array<Bundle>>()
  const oversized: Array<EventView> = []
  for (const v of events) {
    if (!isBundleable(v)) continue
    const id = JSON.stringify([v.involvedKind, v.involvedUid, v.type])
    const line = lineOf(v)
    const bundles = byObject.get(id) ?? []
    const current = bundles.at(-1)
    if (current?.fits(line)) {
      current.add(v, line)
      continue
    }
    const next = new Bundle(v, options)
    if (!next.fits(line)) {
      oversized.push(v)
      continue
    }
    next.add(v, line)
    bundles.push(next)
    byObject.set(id, bundles)
  }
  const bundles = [...byObject.values()].flat().map((b) => toRequest(b, options))
  return { bundles, oversized }
}

/** Pure: the Datadog events of {@link bundle}. */
export const bundleEvents = (
  events: ReadonlyArray<EventView>,
  options: TransformOptions
): ReadonlyArray<EventCreateRequest> => bundle(events, options).bundles.map((b) => b.event)
