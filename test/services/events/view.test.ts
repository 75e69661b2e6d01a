// What the collector keeps of an Event (view.ts): every field the transformation reads, times
// as epoch milliseconds with "unset" kept apart from real times, and the occurrence key that
// tells a new occurrence from a replay.
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import type { CoreEvent } from "../../../src/layers/kube/schemas.ts"
import { type EventView, occurrenceKey, stripEvent, toEventView } from "../../../src/services/events/view.ts"

/** An Event as kubectl shows it (kubelet, core/v1), with fields we do not keep. */
const wireEvent = {
  apiVersion: "v1",
  kind: "Event",
  metadata: {
    name: "web-1.17c2b4a1e0f5d2a3",
    namespace: "default",
    uid: "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
    resourceVersion: "8812345",
    creationTimestamp: "2024-05-29T06:00:51Z",
    managedFields: [{ manager: "kubelet", operation: "Update" }]
  },
  involvedObject: {
    apiVersion: "v1",
    kind: "Pod",
    name: "web-1",
    namespace: "default",
    uid: "17f2bab8-d051-4861-bc87-db3ba75dd6f6",
    resourceVersion: "42",
    fieldPath: "spec.containers{web}"
  },
  reason: "BackOff",
  message: "Back-off restarting failed container web",
  source: { component: "kubelet", host: "node-a" },
  firstTimestamp: "2024-05-29T03:00:51Z",
  lastTimestamp: "2024-05-29T06:00:51Z",
  count: 7,
  type: "Warning",
  eventTime: null,
  reportingComponent: "kubelet",
  reportingInstance: "node-a"
}

describe("toEventView", () => {
  it("keeps the fields the transformation reads, times as epoch milliseconds", () => {
    const decoded = stripEvent(wireEvent)
    expect(Result.isSuccess(decoded)).toBe(true)
    expect(Result.getOrThrow(decoded)).toEqual<EventView>({
      uid: "0f1e2d3c-aaaa-bbbb-cccc-000000000001",
      resourceVersion: "8812345",
      namespace: "default",
      name: "web-1.17c2b4a1e0f5d2a3",
      involvedKind: "Pod",
      involvedName: "web-1",
      involvedNamespace: "default",
      involvedUid: "17f2bab8-d051-4861-bc87-db3ba75dd6f6",
      reason: "BackOff",
      message: "Back-off restarting failed container web",
      type: "Warning",
      sourceComponent: "kubelet",
      sourceHost: "node-a",
      firstTimestamp: Date.UTC(2024, 4, 29, 3, 0, 51),
      lastTimestamp: Date.UTC(2024, 4, 29, 6, 0, 51),
      eventTime: undefined,
      count: 7,
      reportingController: "kubelet"
    })
  })

  it("reads an events.k8s.io-style Event: MicroTime eventTime, null first and last times, no source", () => {
    const view = toEventView({
      involvedObject: { kind: "Pod", name: "web-1", namespace: "default", uid: "u" },
      reason: "Scheduled",
      message: "Successfully assigned default/web-1 to node-a",
      type: "Normal",
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: "2024-05-29T06:00:51.123456Z",
      reportingComponent: "default-scheduler"
    } as CoreEvent)
    expect(view.firstTimestamp).toBeUndefined()
    expect(view.lastTimestamp).toBeUndefined()
    expect(view.eventTime).toBe(Date.UTC(2024, 4, 29, 6, 0, 51, 123))
    expect(view.sourceComponent).toBe("")
    expect(view.sourceHost).toBe("")
    expect(view.count).toBe(0)
    expect(view.reportingController).toBe("default-scheduler")
    expect(view.uid).toBe("")
  })

  it("takes an unreadable time as unset rather than failing the Event", () => {
    const view = toEventView({ ...wireEvent, lastTimestamp: "yesterday" } as CoreEvent)
    expect(view.lastTimestamp).toBeUndefined()
    expect(view.firstTimestamp).toBe(Date.UTC(2024, 4, 29, 3, 0, 51))
  })

  it("reports a malformed Event as a Decode error naming the field, not a view", () => {
    const decoded = stripEvent({ ...wireEvent, count: "7" })
    expect(Result.isFailure(decoded)).toBe(true)
    if (Result.isFailure(decoded)) {
      expect(decoded.failure.reason).toBe("Decode")
      expect(decoded.failure.message).toContain("count")
    }
  })
})

describe("occurrenceKey", () => {
  const base = Result.getOrThrow(stripEvent(wireEvent))

  it("is the same for a replay of the Event, whatever else changed", () => {
    expect(occurrenceKey({ ...base, resourceVersion: "9999999", message: "edited" })).toBe(occurrenceKey(base))
  })

  it("changes with the count or the last time: a Modified Event is a new occurrence", () => {
    expect(occurrenceKey({ ...base, count: 8 })).not.toBe(occurrenceKey(base))
    expect(occurrenceKey({ ...base, lastTimestamp: (base.lastTimestamp ?? 0) + 1000 })).not.toBe(occurrenceKey(base))
    expect(occurrenceKey({ ...base, lastTimestamp: undefined })).not.toBe(occurrenceKey(base))
  })

  it("tells occurrences apart exactly when (uid, count, lastTimestamp) differ, even for uids holding '/'", () => {
    const occurrence = fc.record({
      uid: fc.string({ maxLength: 6, unit: fc.constantFrom("a", "/", "1") }),
      count: fc.nat(20),
      lastTimestamp: fc.option(fc.nat(50), { nil: undefined })
    })
    fc.assert(
      fc.property(occurrence, occurrence, (a, b) => {
        const same = a.uid === b.uid && a.count === b.count && a.lastTimestamp === b.lastTimestamp
        expect(occurrenceKey({ ...base, ...a }) === occurrenceKey({ ...base, ...b })).toBe(same)
      }),
      { numRuns: 1000 }
    )
  })
})
