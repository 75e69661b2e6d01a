// The collector's entry (transform.ts) in every mode, on the original's own table
// (unbundled_events_test.go TestUnbundledEventsTransform and TestUnbundledEventsTransformFiltering,
// bundled_events_test.go TestBundledEventsTransform), and the labels of both counters.
//
// Bundled tags follow the contract (§3.4); the newest original also puts orchestrator:kubernetes
// and reporting_controller:<controller> on bundles, which its tables below show and we do not.
import { describe, expect, it } from "@effect/vitest"
import {
  type Emitted,
  kubeEventLabels,
  type TransformMode,
  toDatadogEvents,
  transformEvents
} from "../../../src/services/events/transform.ts"
import type { EventView } from "../../../src/services/events/view.ts"

const ts = 1716962451
const oldTs = ts - 3 * 3600
const at = "2024-05-29 06:00:51 +0000 UTC"
const before = "2024-05-29 03:00:51 +0000 UTC"

const view = (o: Partial<EventView>): EventView => ({
  uid: "e",
  resourceVersion: "1",
  namespace: "default",
  name: "e",
  involvedKind: "Pod",
  involvedName: "",
  involvedNamespace: "default",
  involvedUid: "",
  reason: "",
  message: "",
  type: "Normal",
  sourceComponent: "kubelet",
  sourceHost: "test-host",
  firstTimestamp: ts * 1000,
  lastTimestamp: ts * 1000,
  eventTime: undefined,
  count: 1,
  reportingController: "",
  ...o
})

const wartortle = view({
  involvedName: "wartortle-8fff95dbb-tsc7v",
  involvedUid: "17f2bab8-d051-4861-bc87-db3ba75dd6f6",
  type: "Warning",
  reason: "Failed",
  message: "All containers terminated"
})
const pulled = 'Successfully pulled image "pokemon/squirtle:latest" in 1.263s (1.263s including waiting)'
const squirtle = view({
  involvedName: "squirtle-8fff95dbb-tsc7v",
  involvedUid: "43b7e0d3-9212-4355-a957-4ac15ce3a7f7",
  reason: "Pulled",
  message: pulled,
  firstTimestamp: oldTs * 1000
})
const scheduled = view({
  involvedName: "squirtle-8fff95dbb-tsc7v",
  involvedUid: "43b7e0d3-9212-4355-a957-4ac15ce3a263",
  reason: "Scheduled",
  message: "Successfully assigned default/squirtle-8fff95dbb-tsc7v to test-host",
  sourceComponent: "",
  reportingController: "default-scheduler",
  firstTimestamp: undefined,
  lastTimestamp: undefined,
  eventTime: ts * 1000
})
const blastoise = {
  involvedKind: "ReplicaSet",
  involvedName: "blastoise-759fd559f7",
  involvedUid: "b96b5c25-6282-4e6f-a2fb-010196a284d9"
}
const killing = view({
  ...blastoise,
  reason: "Killing",
  message: "Stopping container blastoise",
  reportingController: "disruption-budget-manager"
})
const deleted = view({ ...blastoise, reason: "SuccessfulDelete", message: "Deleted pod: blastoise-759fd559f7-5wtqr" })
const pdbMessage =
  'Failed to calculate the number of expected pods: found no controllers for pod "otel-demo-opensearch-0"'
const pdb = view({
  involvedKind: "PodDisruptionBudget",
  involvedName: "otel-demo-opensearch-pdb",
  involvedUid: "b63ccea1-89bd-403c-8a06-d189bb01deff",
  type: "Warning",
  reason: "CalculateExpectedPodCountFailed",
  message: pdbMessage
})
const incoming = [wartortle, squirtle, scheduled, killing, deleted, pdb]

const mode = (o: Partial<TransformMode> = {}): TransformMode => ({
  clusterName: "test-cluster",
  defaultHost: "dca-host",
  instanceTags: [],
  unbundle: false,
  bundleUnspecified: false,
  collectedEventTypes: [],
  filteringEnabled: false,
  ...o
})

const text = (lines: string, component = "kubelet", since = at) =>
  `%%% \n${lines} \n _Events emitted by the ${component} seen at ${at} since ${since}_ \n\n %%%`

interface Row {
  readonly title: string
  readonly text: string
  readonly host: string | undefined
  readonly alert: string | undefined
  readonly key: string | undefined
  readonly source: string | undefined
  readonly date: number | undefined
  readonly bundled: string
}

/** Rows sorted by title and text, as the original's tables sort events before comparing. */
const rows = (rs: ReadonlyArray<Row>): ReadonlyArray<Row> =>
  [...rs].sort((a, b) => (a.title + a.text < b.title + b.text ? -1 : 1))

/** What the original's tables compare. */
const summary = (emitted: ReadonlyArray<Emitted>): ReadonlyArray<Row> =>
  rows(
    emitted.map(({ event, labels }) => ({
      title: event.title,
      text: event.text,
      host: event.host,
      alert: event.alertType,
      key: event.aggregationKey,
      source: event.sourceTypeName,
      date: event.dateHappened,
      bundled: labels.is_bundled
    }))
  )

const bundled = {
  wartortle: {
    title: "Events from the Pod default/wartortle-8fff95dbb-tsc7v",
    text: text("1 **Failed**: All containers terminated\n"),
    host: "test-host-test-cluster",
    alert: "warning",
    key: "kubernetes_apiserver:17f2bab8-d051-4861-bc87-db3ba75dd6f6",
    source: "kubernetes",
    date: ts,
    bundled: "true"
  },
  squirtle: {
    title: "Events from the Pod default/squirtle-8fff95dbb-tsc7v",
    text: text(`1 **Pulled**: ${pulled}\n`, "kubelet", before),
    host: "test-host-test-cluster",
    alert: "info",
    key: "kubernetes_apiserver:43b7e0d3-9212-4355-a957-4ac15ce3a7f7",
    source: "kubernetes",
    date: ts,
    bundled: "true"
  },
  scheduled: {
    title: "Events from the Pod default/squirtle-8fff95dbb-tsc7v",
    text: text("1 **Scheduled**: Successfully assigned default/squirtle-8fff95dbb-tsc7v to test-host\n", ""),
    host: "test-host-test-cluster",
    alert: "info",
    key: "kubernetes_apiserver:43b7e0d3-9212-4355-a957-4ac15ce3a263",
    source: "kubernetes",
    date: ts,
    bundled: "true"
  },
  blastoise: {
    title: "Events from the ReplicaSet default/blastoise-759fd559f7",
    text: text(
      "1 **Killing**: Stopping container blastoise\n 1 **SuccessfulDelete**: Deleted pod: blastoise-759fd559f7-5wtqr\n"
    ),
    host: "dca-host",
    alert: "info",
    key: "kubernetes_apiserver:b96b5c25-6282-4e6f-a2fb-010196a284d9",
    source: "kubernetes",
    date: ts,
    bundled: "true"
  },
  pdb: {
    title: "Events from the PodDisruptionBudget default/otel-demo-opensearch-pdb",
    text: text(`1 **CalculateExpectedPodCountFailed**: ${pdbMessage}\n`),
    host: "dca-host",
    alert: "warning",
    key: "kubernetes_apiserver:b63ccea1-89bd-403c-8a06-d189bb01deff",
    source: "kubernetes",
    date: ts,
    bundled: "true"
  }
}

const single = (v: EventView, alert: string, source = "kubernetes") => ({
  title: `${v.involvedKind} default/${v.involvedName}: ${v.reason}`,
  text: v.message,
  host: v.involvedKind === "Pod" ? "test-host-test-cluster" : "dca-host",
  alert,
  key: `kubernetes_apiserver:${v.involvedUid}`,
  source,
  date: ts,
  bundled: "false"
})

describe("toDatadogEvents: bundled mode", () => {
  it("bundles everything by default (TestBundledEventsTransform, all events are bundled)", () => {
    expect(summary(toDatadogEvents(incoming, mode()))).toEqual(
      rows([bundled.pdb, bundled.blastoise, bundled.scheduled, bundled.squirtle, bundled.wartortle])
    )
  })

  it("keeps only the default list with filtering_enabled (TestBundledEventsTransform, default filtering enabled)", () => {
    expect(summary(toDatadogEvents(incoming, mode({ filteringEnabled: true })))).toEqual(rows([bundled.wartortle]))
  })

  it("keeps collected_event_types too with filtering_enabled, as written, reason-only entries included", () => {
    const out = toDatadogEvents(
      incoming,
      mode({ filteringEnabled: true, collectedEventTypes: [{ reasons: ["Pulled"] }] })
    )
    expect(summary(out)).toEqual(rows([bundled.squirtle, bundled.wartortle]))
  })

  it("ignores collected_event_types without filtering_enabled", () => {
    expect(toDatadogEvents(incoming, mode({ collectedEventTypes: [{ kind: "Pod" }] }))).toHaveLength(5)
  })

  it("tags bundles as the contract lists, with the instance tags", () => {
    const [out] = toDatadogEvents([killing], mode({ instanceTags: ["env:prod"] }))
    expect(out?.event.tags).toEqual([
      "kube_kind:ReplicaSet",
      "kube_name:blastoise-759fd559f7",
      "kubernetes_kind:ReplicaSet",
      "name:blastoise-759fd559f7",
      "kube_namespace:default",
      "namespace:default",
      "kube_replica_set:blastoise-759fd559f7",
      "source_component:kubelet",
      "env:prod"
    ])
  })
})

describe("toDatadogEvents: unbundled mode (TestUnbundledEventsTransform)", () => {
  it("unbundled events by Kind:Pod", () => {
    const out = toDatadogEvents(
      incoming,
      mode({ unbundle: true, bundleUnspecified: true, collectedEventTypes: [{ kind: "Pod", source: "", reasons: [] }] })
    )
    expect(summary(out)).toEqual(
      rows([
        bundled.pdb,
        bundled.blastoise,
        single(squirtle, "info"),
        single(scheduled, "info"),
        single(wartortle, "warning")
      ])
    )
  })

  it("unbundled events by Kind:Pod, don't bundle unspecified events", () => {
    const out = toDatadogEvents(incoming, mode({ unbundle: true, collectedEventTypes: [{ kind: "Pod" }] }))
    expect(summary(out)).toEqual(
      rows([single(squirtle, "info"), single(scheduled, "info"), single(wartortle, "warning")])
    )
  })

  it("unbundled events by Kind:ReplicaSet and Reason:Killing,SuccessfulDelete", () => {
    const out = toDatadogEvents(
      incoming,
      mode({
        unbundle: true,
        bundleUnspecified: true,
        collectedEventTypes: [{ kind: "ReplicaSet", reasons: ["Killing", "SuccessfulDelete"] }]
      })
    )
    expect(summary(out)).toEqual(
      rows([
        bundled.pdb,
        bundled.scheduled,
        bundled.squirtle,
        bundled.wartortle,
        single(killing, "info"),
        single(deleted, "info")
      ])
    )
  })

  it("ignores an entry naming neither kind nor source, and bundles what is left", () => {
    const out = toDatadogEvents(
      incoming,
      mode({ unbundle: true, bundleUnspecified: true, collectedEventTypes: [{ reasons: ["Failed"] }] })
    )
    expect(out.every((e) => e.labels.is_bundled === "true")).toBe(true)
    expect(out).toHaveLength(5)
  })

  it("tags unbundled events with orchestrator, reporting controller and reason", () => {
    const [out] = toDatadogEvents([killing], mode({ unbundle: true, collectedEventTypes: [{ kind: "ReplicaSet" }] }))
    expect(out?.event.tags).toEqual([
      "event_reason:Killing",
      "kube_kind:ReplicaSet",
      "kube_name:blastoise-759fd559f7",
      "kube_namespace:default",
      "kube_replica_set:blastoise-759fd559f7",
      "kubernetes_kind:ReplicaSet",
      "name:blastoise-759fd559f7",
      "namespace:default",
      "orchestrator:kubernetes",
      "reporting_controller:disruption-budget-manager",
      "source_component:kubelet"
    ])
  })
})

describe("toDatadogEvents: unbundled mode with filtering (TestUnbundledEventsTransformFiltering)", () => {
  it("default filtering enabled, bundle unspecified events disabled", () => {
    const out = toDatadogEvents(incoming, mode({ unbundle: true, filteringEnabled: true }))
    expect(summary(out)).toEqual(rows([single(wartortle, "warning")]))
  })

  it("default filtering enabled with a custom filter: the user's events are kubernetes_custom", () => {
    // The original's table means this case but never passes its filter; this is what it means.
    const out = toDatadogEvents(
      incoming,
      mode({
        unbundle: true,
        filteringEnabled: true,
        collectedEventTypes: [{ kind: "Pod", source: "kubelet", reasons: ["Pulled"] }]
      })
    )
    expect(summary(out)).toEqual(rows([single(squirtle, "info", "kubernetes_custom"), single(wartortle, "warning")]))
  })

  it("default filtering and bundle unspecified events enabled: the rest is bundled, unfiltered", () => {
    const out = toDatadogEvents(incoming, mode({ unbundle: true, bundleUnspecified: true, filteringEnabled: true }))
    expect(summary(out)).toEqual(
      rows([bundled.pdb, bundled.blastoise, bundled.scheduled, bundled.squirtle, single(wartortle, "warning")])
    )
  })
})

describe("counter labels", () => {
  it("labels kube_events with kind, component, type, reason and the undecorated source", () => {
    expect(kubeEventLabels(wartortle)).toEqual({
      kind: "Pod",
      component: "kubelet",
      type: "Warning",
      reason: "Failed",
      source: "kubernetes"
    })
    expect(kubeEventLabels(view({ sourceComponent: "default-scheduler" }), true).source).toBe("kube_scheduler")
  })

  it("counts what bundled mode considers: every event with kind, name, reason and message, filtered or not", () => {
    const broken = view({ involvedName: "x", reason: "" })
    const { received } = transformEvents([...incoming, broken], mode({ filteringEnabled: true }))
    expect(received).toEqual(incoming.map((v) => kubeEventLabels(v)))
  })

  it("counts every event once in unbundled mode, also those it bundles", () => {
    const { received } = transformEvents(
      incoming,
      mode({ unbundle: true, bundleUnspecified: true, filteringEnabled: true })
    )
    expect(received).toHaveLength(incoming.length)
  })

  it("labels emitted_events by kind, type, source and bundling", () => {
    const out = toDatadogEvents(
      [wartortle, squirtle, killing],
      mode({ unbundle: true, bundleUnspecified: true, filteringEnabled: true, collectedEventTypes: [{ kind: "Pod" }] })
    )
    expect(out.map((e) => e.labels)).toEqual([
      { kind: "Pod", type: "Warning", source: "kubernetes", is_bundled: "false" },
      { kind: "Pod", type: "Normal", source: "kubernetes_custom", is_bundled: "false" },
      { kind: "ReplicaSet", type: "Normal", source: "kubernetes", is_bundled: "true" }
    ])
  })

  it("labels a bundle with the detected source of its first event", () => {
    const out = toDatadogEvents([killing], mode({ sourceDetection: true }))
    expect(out.map((e) => [e.event.sourceTypeName, e.labels.source])).toEqual([["kubernetes", "kubernetes"]])
    const scheduler = toDatadogEvents(
      [view({ ...killing, sourceComponent: "default-scheduler", reportingController: "" })],
      mode({ sourceDetection: true })
    )
    expect(scheduler.map((e) => [e.event.sourceTypeName, e.labels.source])).toEqual([
      ["kube_scheduler", "kube_scheduler"]
    ])
  })
})

describe("transformEvents", () => {
  it("reports what it could not bundle, in both modes", () => {
    const huge = view({ ...killing, message: "z".repeat(4000) })
    expect(transformEvents([huge, wartortle], mode()).oversized).toEqual([huge])
    expect(transformEvents([huge], mode({ unbundle: true, bundleUnspecified: true })).oversized).toEqual([huge])
    // Unbundled events are never too long for a bundle: they are not bundled.
    expect(
      transformEvents([huge], mode({ unbundle: true, collectedEventTypes: [{ kind: "ReplicaSet" }] })).oversized
    ).toEqual([])
  })

  it("says which Kubernetes events each Datadog event carries, so that the caller knows what was sent", () => {
    const members = (m: TransformMode) => toDatadogEvents(incoming, m).map((e) => e.members)
    expect(members(mode({ filteringEnabled: true }))).toEqual([[wartortle]])
    expect(members(mode({ unbundle: true, collectedEventTypes: [{ kind: "ReplicaSet" }] }))).toEqual([
      [killing],
      [deleted]
    ])
    const all = members(mode({ unbundle: true, bundleUnspecified: true, collectedEventTypes: [{ kind: "Pod" }] }))
    expect(all).toEqual([[wartortle], [squirtle], [scheduled], [killing, deleted], [pdb]])
  })

  it("gives toDatadogEvents its events", () => {
    const m = mode({ unbundle: true, bundleUnspecified: true, collectedEventTypes: [{ kind: "Pod" }] })
    expect(toDatadogEvents(incoming, m)).toEqual(transformEvents(incoming, m).emitted)
  })

  it("sends nothing for nothing", () => {
    expect(transformEvents([], mode())).toEqual({ emitted: [], received: [], oversized: [] })
  })
})
