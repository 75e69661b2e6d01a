// Unbundled mode (unbundled.ts, contract §3.4): one Datadog event per Kubernetes event, its
// title, raw text, time, sorted tags and host; and which events are unbundled, left to bundle or
// dropped. The original's whole-mode tables run through transform.test.ts.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { EventCreateRequest } from "../../../src/layers/datadog/schemas.ts"
import type { TransformOptions } from "../../../src/services/events/common.ts"
import { type UnbundleOptions, unbundle, unbundledEvent } from "../../../src/services/events/unbundled.ts"
import type { EventView } from "../../../src/services/events/view.ts"

const options: TransformOptions = { clusterName: "test-cluster", defaultHost: "dca-host", instanceTags: [] }
const ts = 1716962451

const view = (o: Partial<EventView> = {}): EventView => ({
  uid: "e",
  resourceVersion: "1",
  namespace: "default",
  name: "e",
  involvedKind: "Pod",
  involvedName: "wartortle-8fff95dbb-tsc7v",
  involvedNamespace: "default",
  involvedUid: "17f2bab8-d051-4861-bc87-db3ba75dd6f6",
  reason: "Failed",
  message: "All containers terminated",
  type: "Warning",
  sourceComponent: "kubelet",
  sourceHost: "test-host",
  firstTimestamp: ts * 1000,
  lastTimestamp: ts * 1000,
  eventTime: undefined,
  count: 1,
  reportingController: "",
  ...o
})

describe("unbundledEvent", () => {
  it("is the original's unbundled Pod event: title with the reason, raw message, sorted tags", () => {
    expect(unbundledEvent(view(), "kubernetes", options)).toEqual<EventCreateRequest>({
      title: "Pod default/wartortle-8fff95dbb-tsc7v: Failed",
      text: "All containers terminated",
      dateHappened: ts,
      priority: "normal",
      host: "test-host-test-cluster",
      tags: [
        "event_reason:Failed",
        "kube_kind:Pod",
        "kube_name:wartortle-8fff95dbb-tsc7v",
        "kube_namespace:default",
        "kubernetes_kind:Pod",
        "name:wartortle-8fff95dbb-tsc7v",
        "namespace:default",
        "orchestrator:kubernetes",
        "pod_name:wartortle-8fff95dbb-tsc7v",
        "reporting_controller:",
        "source_component:kubelet"
      ],
      alertType: "warning",
      aggregationKey: "kubernetes_apiserver:17f2bab8-d051-4861-bc87-db3ba75dd6f6",
      sourceTypeName: "kubernetes"
    })
  })

  it("dates by eventTime when there is no last time (events.k8s.io), with an empty source component", () => {
    const out = unbundledEvent(
      view({
        reason: "Scheduled",
        message: "Successfully assigned default/squirtle-8fff95dbb-tsc7v to test-host",
        sourceComponent: "",
        reportingController: "default-scheduler",
        firstTimestamp: undefined,
        lastTimestamp: undefined,
        eventTime: ts * 1000 + 500
      }),
      "kubernetes",
      options
    )
    expect(out.dateHappened).toBe(ts)
    expect(out.tags).toContain("source_component:")
    expect(out.tags).toContain("reporting_controller:default-scheduler")
  })

  it("prefers the last time to eventTime, and sends no date without either", () => {
    expect(unbundledEvent(view({ eventTime: (ts + 99) * 1000 }), "kubernetes", options).dateHappened).toBe(ts)
    const timeless = unbundledEvent(view({ lastTimestamp: undefined }), "kubernetes", options)
    expect(timeless).not.toHaveProperty("dateHappened")
  })

  it("does not escape ~ nor require a reason or message, as the original", () => {
    const out = unbundledEvent(view({ reason: "", message: "~gone~" }), "kubernetes", options)
    expect(out.title).toBe("Pod default/wartortle-8fff95dbb-tsc7v: ")
    expect(out.text).toBe("~gone~")
  })

  it("titles cluster-scoped objects without a namespace, and tags the provider id of a Node", () => {
    const out = unbundledEvent(
      view({
        involvedKind: "Node",
        involvedName: "node-1",
        involvedNamespace: "",
        reason: "NodeNotReady",
        sourceHost: ""
      }),
      "kubernetes",
      { ...options, providerIdOf: () => "aws:///us-east-1e/i-0abc" }
    )
    expect(out.title).toBe("Node node-1: NodeNotReady")
    expect(out.host).toBe("node-1-test-cluster")
    expect(out.tags).toContain("host_provider_id:i-0abc")
    expect(out.tags?.some((t) => t.startsWith("namespace:") || t.startsWith("kube_namespace:"))).toBe(false)
  })

  it("sends other kinds from our host, with the given source, and the instance tags last", () => {
    const out = unbundledEvent(view({ involvedKind: "ReplicaSet", involvedName: "rs" }), "kubernetes_custom", {
      ...options,
      instanceTags: ["env:prod", "a:first"]
    })
    expect(out.host).toBe("dca-host")
    expect(out.sourceTypeName).toBe("kubernetes_custom")
    expect(out.tags?.slice(-2)).toEqual(["env:prod", "a:first"])
    expect(out.tags).toContain("kube_replica_set:rs")
  })

  it("keeps its own tags sorted and unique whatever the values", () => {
    const text = fc.string({ maxLength: 8, unit: fc.constantFrom("a", "B", ":", "_", "\u{ff21}", "\u{1f600}") })
    fc.assert(
      fc.property(
        fc.record({ reason: text, involvedName: text, sourceComponent: text, reportingController: text }),
        (o) => {
          const tags = unbundledEvent(view(o), "kubernetes", options).tags ?? []
          const bytes = tags.map((t) => Buffer.from(t))
          for (let i = 1; i < bytes.length; i++) {
            expect(Buffer.compare(bytes[i - 1] as Buffer, bytes[i] as Buffer)).toBe(-1)
          }
        }
      ),
      { numRuns: 300 }
    )
  })
})

describe("unbundle", () => {
  const mode = (o: Partial<UnbundleOptions> = {}): UnbundleOptions => ({
    ...options,
    collectedEventTypes: [{ kind: "Pod" }],
    bundleUnspecified: false,
    filteringEnabled: false,
    ...o
  })
  const pod = view()
  const rs = view({ involvedKind: "ReplicaSet", involvedName: "blastoise-759fd559f7", reason: "Killing" })

  it("unbundles the listed types and drops the others", () => {
    const { unbundled, toBundle } = unbundle([pod, rs], mode())
    expect(unbundled.map((u) => u.event.title)).toEqual(["Pod default/wartortle-8fff95dbb-tsc7v: Failed"])
    expect(toBundle).toEqual([])
  })

  it("leaves the others to bundle, in order, with bundle_unspecified_events", () => {
    const rs2 = { ...rs, reason: "SuccessfulDelete" }
    const { toBundle } = unbundle([rs, pod, rs2], mode({ bundleUnspecified: true }))
    expect(toBundle).toEqual([rs, rs2])
  })

  it("with filtering_enabled, unbundles the default list too and marks the user's types _custom", () => {
    const pulled = view({ reason: "Pulled" })
    const { unbundled, toBundle } = unbundle(
      [pod, pulled, rs],
      mode({ filteringEnabled: true, collectedEventTypes: [{ kind: "Pod", source: "kubelet", reasons: ["Pulled"] }] })
    )
    expect(unbundled.map((u) => [u.event.title, u.source])).toEqual([
      ["Pod default/wartortle-8fff95dbb-tsc7v: Failed", "kubernetes"],
      ["Pod default/wartortle-8fff95dbb-tsc7v: Pulled", "kubernetes_custom"]
    ])
    expect(toBundle).toEqual([])
  })

  it("labels each unbundled event with its object's kind and the event type", () => {
    const { unbundled } = unbundle([pod], mode())
    expect(unbundled.map(({ kind, type, source }) => ({ kind, type, source }))).toEqual([
      { kind: "Pod", type: "Warning", source: "kubernetes" }
    ])
  })
})
