// Which events are collected (filters.ts, sources.ts): the field selector of
// `filtered_event_types`, `collected_event_types` matching, the built-in default list of
// `filtering_enabled`, and source detection. Cases from the original's
// kubernetes_apiserver_test.go (TestConvertFilter) and events_common_test.go
// (Test_shouldCollect, Test_getEventSource).
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  type CollectedEventType,
  collectedByDefault,
  customSource,
  eventFieldSelector,
  matchesCollectedTypes,
  usesFilteredEventTypes,
  validCollectedTypes
} from "../../../src/services/events/filters.ts"
import { eventSource } from "../../../src/services/events/sources.ts"
import type { EventView } from "../../../src/services/events/view.ts"

const ev = (o: Partial<EventView> = {}): EventView => ({
  uid: "e",
  resourceVersion: "1",
  namespace: "default",
  name: "e",
  involvedKind: "Pod",
  involvedName: "my-pod-1",
  involvedNamespace: "default",
  involvedUid: "u",
  reason: "",
  message: "m",
  type: "Normal",
  sourceComponent: "kubelet",
  sourceHost: "my-node-1",
  firstTimestamp: 0,
  lastTimestamp: 0,
  eventTime: undefined,
  count: 1,
  reportingController: "",
  ...o
})

describe("eventFieldSelector", () => {
  it.each([
    { name: "legacy support", filters: ["OOM"], selector: "reason!=OOM" },
    {
      name: "exclude node and type",
      filters: ["involvedObject.kind!=Node", "type==Normal"],
      selector: "involvedObject.kind!=Node,type==Normal"
    },
    {
      name: "legacy support and exclude HorizontalPodAutoscaler",
      filters: ["involvedObject.kind!=HorizontalPodAutoscaler", "type!=Normal", "OOM"],
      selector: "involvedObject.kind!=HorizontalPodAutoscaler,type!=Normal,reason!=OOM"
    }
  ])("$name (the original's TestConvertFilter)", ({ filters, selector }) => {
    expect(eventFieldSelector(filters)).toBe(selector)
  })

  it("is no selector at all without filters", () => {
    expect(eventFieldSelector([])).toBeUndefined()
  })

  it("trims nothing, as the original: an empty entry excludes empty reasons, spaces stay", () => {
    expect(eventFieldSelector([""])).toBe("reason!=")
    expect(eventFieldSelector([" OOM"])).toBe("reason!= OOM")
    expect(eventFieldSelector(["type = Normal"])).toBe("type = Normal")
  })

  it("keeps one term per entry, in order: terms as they are, words as reasons", () => {
    const entry = fc.oneof(
      fc.stringMatching(/^[A-Za-z]{1,12}$/),
      fc
        .tuple(
          fc.constantFrom("type", "reason", "involvedObject.kind"),
          fc.constantFrom("=", "==", "!="),
          fc.stringMatching(/^[A-Za-z]{1,8}$/)
        )
        .map((t) => t.join(""))
    )
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (filters) => {
        const terms = eventFieldSelector(filters)?.split(",")
        expect(terms).toEqual(filters.map((f) => (f.includes("=") ? f : `reason!=${f}`)))
      })
    )
  })
})

describe("usesFilteredEventTypes", () => {
  it("applies the field selector whenever events can be bundled", () => {
    expect(usesFilteredEventTypes({ unbundle: false, bundleUnspecified: false })).toBe(true)
    expect(usesFilteredEventTypes({ unbundle: false, bundleUnspecified: true })).toBe(true)
    expect(usesFilteredEventTypes({ unbundle: true, bundleUnspecified: true })).toBe(true)
    expect(usesFilteredEventTypes({ unbundle: true, bundleUnspecified: false })).toBe(false)
  })
})

describe("matchesCollectedTypes (the original's Test_shouldCollect)", () => {
  const crashLoop = ev({ reason: "CrashLoopBackOff" })
  const defaults: ReadonlyArray<CollectedEventType> = [
    {
      kind: "Pod",
      reasons: ["Failed", "BackOff", "Unhealthy", "FailedScheduling", "FailedMount", "FailedAttachVolume"]
    },
    { kind: "Node", reasons: ["TerminatingEvictedPod", "NodeNotReady", "Rebooted", "HostPortConflict"] },
    { kind: "CronJob", reasons: ["SawCompletedJob"] }
  ]
  it.each<{ name: string; event: EventView; types: ReadonlyArray<CollectedEventType>; collected: boolean }>([
    { name: "matches based on kind", event: ev(), types: [{ kind: "Pod" }], collected: true },
    { name: "matches based on source", event: ev(), types: [{ source: "kubelet" }], collected: true },
    { name: "matches based on reason", event: crashLoop, types: [{ reasons: ["CrashLoopBackOff"] }], collected: true },
    {
      name: "matches by kind and reason",
      event: crashLoop,
      types: [...defaults, { reasons: ["CrashLoopBackOff"] }],
      collected: true
    },
    {
      name: "matches by source and reason",
      event: crashLoop,
      types: [{ source: "kubelet", reasons: ["CrashLoopBackOff"] }],
      collected: true
    },
    {
      name: "matches none",
      event: ev({ reason: "something", sourceHost: "" }),
      types: [{ source: "kubelet", reasons: ["CrashLoopBackOff"] }],
      collected: false
    },
    { name: "another kind", event: ev({ involvedKind: "Node" }), types: [{ kind: "Pod" }], collected: false },
    { name: "another source", event: ev(), types: [{ kind: "Pod", source: "draino" }], collected: false },
    { name: "an empty list", event: ev(), types: [], collected: false },
    { name: "empty reasons mean any", event: crashLoop, types: [{ kind: "Pod", reasons: [] }], collected: true }
  ])("$name", ({ event, types, collected }) => {
    expect(matchesCollectedTypes(event, types)).toBe(collected)
  })
})

describe("validCollectedTypes", () => {
  it("sets apart entries naming neither a kind nor a source", () => {
    const types = [{ kind: "Pod" }, { source: "kubelet", reasons: ["X"] }, { reasons: ["BackOff"] }, {}]
    expect(validCollectedTypes(types)).toEqual({
      valid: [{ kind: "Pod" }, { source: "kubelet", reasons: ["X"] }],
      invalid: [{ reasons: ["BackOff"] }, {}]
    })
  })
})

describe("eventSource (the original's Test_getEventSource)", () => {
  it.each([
    {
      name: "maps the controller name",
      controller: "datadog-operator-manager",
      component: "",
      detection: true,
      source: "datadog operator"
    },
    {
      name: "maps the source component",
      controller: "",
      component: "datadog-operator-manager",
      detection: true,
      source: "datadog operator"
    },
    {
      name: "defaults when unknown",
      controller: "abcd-test-controller",
      component: "abcd-test-source",
      detection: true,
      source: "kubernetes"
    },
    {
      name: "is kubernetes when detection is off",
      controller: "datadog-operator-manager",
      component: "datadog-operator-manager",
      detection: false,
      source: "kubernetes"
    },
    {
      name: "prefers the controller to the component",
      controller: "karpenter",
      component: "default-scheduler",
      detection: true,
      source: "karpenter"
    },
    {
      name: "knows the scheduler",
      controller: "",
      component: "default-scheduler",
      detection: true,
      source: "kube_scheduler"
    }
  ])("$name", ({ controller, component, detection, source }) => {
    expect(eventSource(controller, component, detection)).toBe(source)
  })
})

describe("collectedByDefault", () => {
  it.each<{ name: string; event: EventView; detection?: boolean; collected: boolean }>([
    { name: "Pod Failed", event: ev({ reason: "Failed" }), collected: true },
    { name: "Pod FailedScheduling", event: ev({ reason: "FailedScheduling" }), collected: true },
    { name: "Pod Pulled is not a default", event: ev({ reason: "Pulled" }), collected: false },
    { name: "Node NodeNotReady", event: ev({ involvedKind: "Node", reason: "NodeNotReady" }), collected: true },
    { name: "Node Failed is not a default", event: ev({ involvedKind: "Node", reason: "Failed" }), collected: false },
    {
      name: "CronJob SawCompletedJob",
      event: ev({ involvedKind: "CronJob", reason: "SawCompletedJob" }),
      collected: true
    },
    { name: "BackOff of any kind", event: ev({ involvedKind: "Deployment", reason: "BackOff" }), collected: true },
    {
      name: "PDB CalculateExpectedPodCountFailed is not a default",
      event: ev({ involvedKind: "PodDisruptionBudget", reason: "CalculateExpectedPodCountFailed" }),
      collected: false
    },
    {
      name: "a detected scheduler source keeps the core list",
      event: ev({ sourceComponent: "default-scheduler", reason: "FailedScheduling" }),
      detection: true,
      collected: true
    },
    {
      name: "karpenter's own reasons, with detection",
      event: ev({ involvedKind: "Node", sourceComponent: "karpenter", reason: "DisruptionBlocked" }),
      detection: true,
      collected: true
    },
    {
      name: "karpenter's reasons are nothing without detection",
      event: ev({ involvedKind: "Node", sourceComponent: "karpenter", reason: "DisruptionBlocked" }),
      collected: false
    },
    {
      name: "an integration without a list still keeps BackOff",
      event: ev({ reportingController: "datadog-operator-manager", reason: "BackOff", involvedKind: "DatadogAgent" }),
      detection: true,
      collected: true
    },
    {
      name: "the operator's list is keyed 'datadog-operator' and never applies, as in the original",
      event: ev({ reportingController: "datadog-operator-manager", sourceComponent: "datadog-operator", reason: "X" }),
      detection: true,
      collected: false
    },
    {
      name: "an integration's core list needs its kinds",
      event: ev({ involvedKind: "Deployment", sourceComponent: "kubelet", reason: "Failed" }),
      detection: true,
      collected: false
    }
  ])("$name", ({ event, detection, collected }) => {
    expect(collectedByDefault(event, detection ?? false)).toBe(collected)
  })
})

describe("customSource", () => {
  it("marks user-chosen events apart from the default ones", () => {
    expect(customSource("kubernetes")).toBe("kubernetes_custom")
    expect(customSource("kube_scheduler")).toBe("kube_scheduler_custom")
  })
})
