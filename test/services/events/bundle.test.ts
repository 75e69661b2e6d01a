// Bundled mode (bundle.ts, contract §3.4): the original's examples (kubernetes_eventbundle_test.go
// TestFormatEvent and TestEventsTagging, bundled_events_test.go), hosts, drops, counts, times, the
// text budget, and properties of the reducer: every occurrence lands in exactly one bundle, counts
// sum, and the result does not depend on input order except for "since".
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { EventCreateRequest } from "../../../src/layers/datadog/schemas.ts"
import {
  bundle,
  bundleEvents,
  maxEstimatedTextBytes,
  type TransformOptions
} from "../../../src/services/events/bundle.ts"
import type { EventView } from "../../../src/services/events/view.ts"

const noCluster: TransformOptions = { clusterName: "", defaultHost: "dca-host", instanceTags: [] }

const view = (o: Partial<EventView> = {}): EventView => ({
  uid: "e",
  resourceVersion: "1",
  namespace: "default",
  name: "e",
  involvedKind: "Pod",
  involvedName: "web-1",
  involvedNamespace: "default",
  involvedUid: "uid-web-1",
  reason: "Started",
  message: "Started container",
  type: "Normal",
  sourceComponent: "kubelet",
  sourceHost: "node-a",
  firstTimestamp: 709662600_000,
  lastTimestamp: 709662600_000,
  eventTime: undefined,
  count: 1,
  reportingController: "",
  ...o
})

const only = (events: ReadonlyArray<EventView>, options: TransformOptions = noCluster): EventCreateRequest => {
  const out = bundleEvents(events, options)
  expect(out).toHaveLength(1)
  return out[0] as EventCreateRequest
}

const sorted = (tags: ReadonlyArray<string> | undefined) => [...(tags ?? [])].sort()

describe("bundleEvents: the original's TestFormatEvent", () => {
  const objUid = "e6417a7f-f566-11e7-9749-0e4863e1cbf4"
  const podName = "dca-789976f5d7-2ljx6"
  const timestamp = 709662600
  const nodeName = "machine-blue"
  const at = "1992-06-27 16:30:00 +0000 UTC"
  const pod = {
    involvedNamespace: "default",
    involvedName: podName,
    involvedKind: "Pod",
    involvedUid: objUid,
    sourceComponent: "default-scheduler",
    sourceHost: nodeName,
    type: "Normal",
    firstTimestamp: timestamp * 1000,
    lastTimestamp: timestamp * 1000
  }
  const scheduled = "Successfully assigned dca-789976f5d7-2ljx6 to ip-10-0-0-54"
  const twoEvents = [
    view({ ...pod, count: 2, reason: "Scheduled", message: scheduled }),
    view({ ...pod, count: 3, reason: "Started", message: "Started container" })
  ]
  const podTags = [
    "kube_namespace:default",
    "kube_kind:Pod",
    "kubernetes_kind:Pod",
    "namespace:default",
    "source_component:default-scheduler",
    `kube_name:${podName}`,
    `name:${podName}`,
    `pod_name:${podName}`
  ]

  it("basic event: the contract's two-event Pod example", () => {
    const out = only(twoEvents)
    expect({ ...out, tags: sorted(out.tags) }).toEqual<EventCreateRequest>({
      title: "Events from the Pod default/dca-789976f5d7-2ljx6",
      text:
        `%%% \n2 **Scheduled**: ${scheduled}\n 3 **Started**: Started container\n` +
        ` \n _Events emitted by the default-scheduler seen at ${at} since ${at}_ \n\n %%%`,
      dateHappened: timestamp,
      priority: "normal",
      host: nodeName,
      tags: sorted(podTags),
      alertType: "info",
      aggregationKey: `kubernetes_apiserver:${objUid}`,
      sourceTypeName: "kubernetes"
    })
  })

  it("event text escaping: every ~ becomes \\~", () => {
    const out = only([view({ ...pod, reason: "Failed", message: "Error: error response: filepath: ~file~" })])
    expect(out.text).toBe(
      "%%% \n1 **Failed**: Error: error response: filepath: \\~file\\~\n" +
        ` \n _Events emitted by the default-scheduler seen at ${at} since ${at}_ \n\n %%%`
    )
  })

  it("basic event with host info: the cluster name suffix and the provider id tag", () => {
    const out = only(twoEvents, {
      ...noCluster,
      clusterName: "test-cluster",
      providerIdOf: (node) => (node === nodeName ? "test-host-provider-id" : undefined)
    })
    expect(out.host).toBe("machine-blue-test-cluster")
    expect(sorted(out.tags)).toEqual(sorted([...podTags, "host_provider_id:test-host-provider-id"]))
  })
})

describe("bundleEvents: the original's TestEventsTagging", () => {
  it.each([
    ["Pod", "nginx-2d9jp-cmssw", "kubelet", "pod_name"],
    ["Deployment", "nginx", "deployment-controller", "kube_deployment"],
    ["ReplicaSet", "nginx-b49f5958c", "replicaset-controller", "kube_replica_set"],
    ["CronJob", "logger", "cronjob-controller", "kube_cronjob"],
    ["Job", "logger-1609783080", "job-controller", "kube_job"],
    ["Service", "lb", "service-controller", "kube_service"],
    ["DaemonSet", "daemon", "daemonset-controller", "kube_daemon_set"],
    ["StatefulSet", "stateful", "statefulset-controller", "kube_stateful_set"],
    ["ReplicationController", "rc", "replication-controller", "kube_replication_controller"],
    ["PodDisruptionBudget", "pdb", "controllermanager", undefined]
  ])("%s %s from %s: kind tag %s", (kind, name, component, kindTag) => {
    const out = only([view({ involvedKind: kind, involvedName: name, sourceComponent: component })])
    expect(sorted(out.tags)).toEqual(
      sorted([
        `source_component:${component}`,
        `kube_kind:${kind}`,
        `kubernetes_kind:${kind}`,
        `kube_name:${name}`,
        `name:${name}`,
        "namespace:default",
        "kube_namespace:default",
        ...(kindTag === undefined ? [] : [`${kindTag}:${name}`])
      ])
    )
  })
})

describe("bundleEvents: drops, keys and counts", () => {
  it.each([
    { name: "no involvedObject kind", event: view({ involvedKind: "" }) },
    { name: "no involvedObject name", event: view({ involvedName: "" }) },
    { name: "no reason", event: view({ reason: "" }) },
    { name: "no message", event: view({ message: "" }) }
  ])("drops an event with $name", ({ event }) => {
    expect(bundleEvents([event], noCluster)).toEqual([])
  })

  it("sums the counts of identical reason and message, and keeps distinct messages apart", () => {
    const out = only([
      view({ reason: "BackOff", message: "Back-off restarting", count: 2 }),
      view({ reason: "BackOff", message: "Back-off restarting", count: 3 }),
      view({ reason: "BackOff", message: "Back-off pulling", count: 1 })
    ])
    expect(out.text.split(" \n _Events")[0]).toBe(
      "%%% \n1 **BackOff**: Back-off pulling\n 5 **BackOff**: Back-off restarting\n"
    )
  })

  it("keeps a count of 0 as 0, as the original does (events.k8s.io Events without series)", () => {
    expect(only([view({ count: 0 })]).text).toContain("0 **Started**: Started container\n")
  })

  it("sorts lines in Go's byte order, not by UTF-16 units", () => {
    const out = only([view({ reason: "R", message: "\u{ff21}" }), view({ reason: "R", message: "\u{1f600}" })])
    // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts before U+1F600 (F0 9F 98 80); UTF-16 units say the opposite.
    expect(out.text.indexOf("\u{ff21}")).toBeLessThan(out.text.indexOf("\u{1f600}"))
  })

  it("bundles by object uid, kind and event type", () => {
    const out = bundleEvents(
      [
        view({ type: "Normal" }),
        view({ type: "Warning", reason: "BackOff" }),
        view({ type: "Normal", reason: "Pulled" }),
        view({ type: "Normal", involvedUid: "uid-web-1-recreated" }),
        view({ type: "Normal", involvedKind: "Deployment" })
      ],
      noCluster
    )
    expect(out.map((e) => [e.title, e.alertType, e.aggregationKey])).toEqual([
      ["Events from the Pod default/web-1", "info", "kubernetes_apiserver:uid-web-1"],
      ["Events from the Pod default/web-1", "warning", "kubernetes_apiserver:uid-web-1"],
      ["Events from the Pod default/web-1", "info", "kubernetes_apiserver:uid-web-1-recreated"],
      ["Events from the Deployment default/web-1", "info", "kubernetes_apiserver:uid-web-1"]
    ])
    expect(out[0]?.text).toContain("1 **Pulled**")
  })

  it.each([
    { type: "Warning", alert: "warning" },
    { type: "Normal", alert: "info" },
    { type: "Error", alert: "info" },
    { type: "", alert: "info" }
  ])("alert type of $type is $alert", ({ type, alert }) => {
    expect(only([view({ type })]).alertType).toBe(alert)
  })

  it("appends the instance tags, and the bundle takes component and host from its first event", () => {
    const out = only(
      [
        view({ sourceComponent: "kubelet", sourceHost: "node-a" }),
        view({ sourceComponent: "other", sourceHost: "node-b", reason: "X" })
      ],
      { ...noCluster, instanceTags: ["env:prod", "team:k8s"] }
    )
    expect(out.tags?.slice(-2)).toEqual(["env:prod", "team:k8s"])
    expect(out.tags).toContain("source_component:kubelet")
    expect(out.host).toBe("node-a")
    expect(out.text).toContain("_Events emitted by the kubelet seen")
  })

  it("names the detected source with kubernetes_events_source_detection", () => {
    const event = view({ sourceComponent: "default-scheduler" })
    expect(only([event]).sourceTypeName).toBe("kubernetes")
    expect(only([event], { ...noCluster, sourceDetection: true }).sourceTypeName).toBe("kube_scheduler")
  })
})

describe("bundleEvents: times", () => {
  const at = (s: number) => new Date(s * 1000).toISOString().replace("T", " ").replace(".000Z", " +0000 UTC")

  it("is dated by the latest last time, and says 'since' the first time of the event added last", () => {
    const out = only([
      view({ reason: "A", firstTimestamp: 1000_000, lastTimestamp: 5000_000 }),
      view({ reason: "B", firstTimestamp: 3000_000, lastTimestamp: 4000_000 })
    ])
    expect(out.dateHappened).toBe(5000)
    expect(out.text).toContain(`seen at ${at(5000)} since ${at(3000)}_`)
  })

  it("uses eventTime when first or last time is unset, with an empty component as the original prints it", () => {
    // unbundled_events_test.go: a Scheduled event from the new events API bundled with no source.
    const ts = 1716962451
    const out = only([
      view({
        sourceComponent: "",
        reportingController: "default-scheduler",
        reason: "Scheduled",
        message: "Successfully assigned default/squirtle-8fff95dbb-tsc7v to test-host",
        firstTimestamp: undefined,
        lastTimestamp: undefined,
        eventTime: ts * 1000 + 123
      })
    ])
    expect(out.dateHappened).toBe(ts)
    expect(out.text).toBe(
      "%%% \n1 **Scheduled**: Successfully assigned default/squirtle-8fff95dbb-tsc7v to test-host\n \n _Events emitted by the  seen at 2024-05-29 06:00:51 +0000 UTC since 2024-05-29 06:00:51 +0000 UTC_ \n\n %%%"
    )
  })

  it("has no date, and the original's epoch and zero-time wording, when an event has no time at all", () => {
    const out = only([view({ firstTimestamp: undefined, lastTimestamp: undefined, eventTime: undefined })])
    expect(out.dateHappened).toBeUndefined()
    expect(out.text).toContain("seen at 1970-01-01 00:00:00 +0000 UTC since 0001-01-01 00:00:00 +0000 UTC_")
  })
})

describe("bundleEvents: hosts", () => {
  it("attributes a Node event to the node named by the object, whatever the source says", () => {
    // events_common_test.go: draino sets no source host on Node events.
    const out = only(
      [
        view({
          involvedKind: "Node",
          involvedName: "my-node-1",
          involvedNamespace: "",
          sourceComponent: "draino",
          sourceHost: ""
        })
      ],
      { ...noCluster, clusterName: "my-cluster" }
    )
    expect(out.host).toBe("my-node-1-my-cluster")
    expect(out.title).toBe("Events from the Node my-node-1")
    expect(sorted(out.tags)).toEqual(
      sorted([
        "kube_kind:Node",
        "kube_name:my-node-1",
        "kubernetes_kind:Node",
        "name:my-node-1",
        "source_component:draino"
      ])
    )
  })

  it("attributes a Pod event to source.host, else to the pod's node, else to us", () => {
    const draino = view({ sourceComponent: "draino", sourceHost: "" })
    expect(only([view({ sourceHost: "my-node-1" })], { ...noCluster, clusterName: "my-cluster" }).host).toBe(
      "my-node-1-my-cluster"
    )
    expect(
      only([draino], {
        ...noCluster,
        nodeOfPod: (ns, name) => (ns === "default" && name === "web-1" ? "node-z" : undefined)
      }).host
    ).toBe("node-z")
    expect(only([draino], { ...noCluster, clusterName: "my-cluster" }).host).toBe("dca-host")
  })

  it("attributes other kinds to us without the cluster suffix, and sends no host when we have none", () => {
    const deployment = view({ involvedKind: "Deployment", sourceHost: "node-a" })
    expect(only([deployment], { ...noCluster, clusterName: "my-cluster" }).host).toBe("dca-host")
    expect(only([deployment], { ...noCluster, defaultHost: "" })).not.toHaveProperty("host")
  })

  it("tags the last path segment of the node's providerID, and nothing when there is none", () => {
    const node = view({ involvedKind: "Node", involvedName: "ip-10-0-0-1", involvedNamespace: "" })
    const providers: Record<string, string> = {
      "ip-10-0-0-1": "aws:///us-east-1e/i-0abc123",
      "gke-1": "gce://proj/us-east1-a/gke-1"
    }
    const options = { ...noCluster, providerIdOf: (n: string) => providers[n] }
    expect(only([node], options).tags).toContain("host_provider_id:i-0abc123")
    expect(only([{ ...node, involvedName: "gke-1" }], options).tags).toContain("host_provider_id:gke-1")
    expect(
      only([{ ...node, involvedName: "unknown" }], options).tags?.some((t) => t.startsWith("host_provider_id:"))
    ).toBe(false)
    expect(
      only([{ ...node, involvedName: "x" }], { ...noCluster, providerIdOf: () => "" }).tags?.some((t) =>
        t.startsWith("host_provider_id:")
      )
    ).toBe(false)
  })

  it("asks for a provider id only for a node, by its name without the cluster suffix", () => {
    const asked: Array<string> = []
    bundleEvents([view({ involvedKind: "Service" }), view({ sourceHost: "node-a" })], {
      ...noCluster,
      clusterName: "c",
      providerIdOf: (n) => {
        asked.push(n)
        return undefined
      }
    })
    expect(asked).toEqual(["node-a"])
  })
})

describe("bundle: the text budget", () => {
  const longLine = (i: number) => view({ reason: `R${String(i).padStart(3, "0")}`, message: "x".repeat(400) })

  it("starts another bundle for the same object when the text would pass the budget", () => {
    const { bundles, oversized } = bundle(
      Array.from({ length: 20 }, (_, i) => longLine(i)),
      noCluster
    )
    expect(oversized).toEqual([])
    expect(bundles.length).toBeGreaterThan(1)
    for (const b of bundles) {
      expect(b.event.title).toBe("Events from the Pod default/web-1")
      expect(Buffer.byteLength(b.event.text)).toBeLessThanOrEqual(4000)
    }
    expect(bundles.map((b) => b.event.text.match(/\*\*R\d+\*\*/g)?.length ?? 0).reduce((a, n) => a + n, 0)).toBe(20)
  })

  it("adds a repeated line to its bundle even when that bundle is full", () => {
    const events = [...Array.from({ length: 8 }, (_, i) => longLine(i)), longLine(0)]
    const { bundles } = bundle(events, noCluster)
    expect(bundles).toHaveLength(1)
    expect(bundles[0]?.event.text).toContain(`2 **R000**`)
  })

  it("drops, and reports, a single line too long for any bundle", () => {
    const huge = view({ reason: "Huge", message: "y".repeat(maxEstimatedTextBytes) })
    const started = view()
    const { bundles, oversized } = bundle([huge, started], noCluster)
    expect(oversized).toEqual([huge])
    expect(bundles.map((b) => b.members)).toEqual([[started]])
    expect(bundles.map((b) => b.event.text.includes("**Started**"))).toEqual([true])
  })

  it("measures in UTF-8 bytes, as Go's len does", () => {
    // 1000 three-byte characters are 3000 bytes: two such lines do not fit in one bundle.
    const wide = (i: number) => view({ reason: `W${i}`, message: "\u{ff21}".repeat(1000) })
    expect(bundle([wide(1), wide(2)], noCluster).bundles).toHaveLength(2)
  })
})

// --- properties ------------------------------------------------------------------------------------

interface ObjectSpec {
  readonly kind: string
  readonly name: string
  readonly namespace: string
  readonly uid: string
  readonly component: string
  readonly host: string
}

const objects: ReadonlyArray<ObjectSpec> = [
  { kind: "Pod", name: "web-1", namespace: "default", uid: "u1", component: "kubelet", host: "node-a" },
  { kind: "Pod", name: "web-2", namespace: "prod", uid: "u2", component: "default-scheduler", host: "" },
  { kind: "Node", name: "node-a", namespace: "", uid: "u3", component: "kubelet", host: "node-a" },
  { kind: "Deployment", name: "web", namespace: "default", uid: "u4", component: "deployment-controller", host: "" }
]

/**
 * Messages without "\n", "*" or "~", so that a text can be read back line by line; a third are
 * one of two fixed messages, so that identical lines (summed counts) are common.
 */
const message = (minLength: number, maxLength: number) =>
  fc.oneof(
    fc.string({
      minLength,
      maxLength,
      // Lengths spread over the whole range, not clustered near minLength.
      size: "max",
      unit: fc.constantFrom("a", "b", "Z", " ", "-", ":", "/", "0", "é", "\u{1f600}")
    }),
    fc.constantFrom("Back-off restarting failed container", "Started container").map((m) => m.padEnd(minLength, "."))
  )

const occurrence = (minMessage: number, maxMessage: number) =>
  fc.record({
    object: fc.constantFrom(...objects),
    type: fc.constantFrom("Normal", "Warning"),
    reason: fc.constantFrom("Started", "BackOff", "Pulled", "Failed"),
    message: message(minMessage, maxMessage),
    count: fc.nat(5),
    first: fc.integer({ min: 1_600_000_000, max: 1_700_000_000 }),
    age: fc.nat(3600)
  })

type Occurrence = ReturnType<typeof occurrence> extends fc.Arbitrary<infer T> ? T : never

const toView = (o: Occurrence): EventView =>
  view({
    involvedKind: o.object.kind,
    involvedName: o.object.name,
    involvedNamespace: o.object.namespace,
    involvedUid: o.object.uid,
    sourceComponent: o.object.component,
    sourceHost: o.object.host,
    type: o.type,
    reason: o.reason,
    message: o.message,
    count: o.count,
    firstTimestamp: o.first * 1000,
    lastTimestamp: (o.first + o.age) * 1000
  })

/** (bundle identity, reason, message) → summed count, read back from the texts. */
const readTexts = (events: ReadonlyArray<EventCreateRequest>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const e of events) {
    const body = e.text.slice("%%% \n".length, e.text.indexOf(" \n _Events emitted by the "))
    for (const part of body.slice(0, -1).split("\n ")) {
      const m = /^(\d+) \*\*([^*]+)\*\*: (.*)$/su.exec(part)
      expect(m, part).not.toBeNull()
      const key = JSON.stringify([e.aggregationKey, e.alertType, e.title, m?.[2], m?.[3]])
      expect(counts.has(key), `${key} in two bundles`).toBe(false)
      counts.set(key, Number(m?.[1]))
    }
  }
  return counts
}

const expectedCounts = (views: ReadonlyArray<EventView>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const v of views) {
    const title = `Events from the ${v.involvedKind} ${v.involvedNamespace ? `${v.involvedNamespace}/` : ""}${v.involvedName}`
    const key = JSON.stringify([
      `kubernetes_apiserver:${v.involvedUid}`,
      v.type === "Warning" ? "warning" : "info",
      title,
      v.reason,
      v.message
    ])
    counts.set(key, (counts.get(key) ?? 0) + v.count)
  }
  return counts
}

const crowded = occurrence(200, 1500).chain((o) =>
  fc.constantFrom(...objects.slice(0, 2)).map((object) => ({ ...o, object }))
)

describe("bundle: properties", () => {
  it("puts every occurrence in exactly one bundle line of its object and type, counts summed", () => {
    fc.assert(
      fc.property(fc.array(occurrence(1, 60), { maxLength: 40 }), (occurrences) => {
        const views = occurrences.map(toView)
        const { bundles, oversized } = bundle(views, noCluster)
        expect(oversized).toEqual([])
        expect(readTexts(bundles.map((b) => b.event))).toEqual(expectedCounts(views))
      }),
      { numRuns: 300 }
    )
  })

  it("carries every event it bundles exactly once, in the bundle of its object and type, in input order", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(occurrence(1, 1500), crowded), { maxLength: 30 }), (occurrences) => {
        const views = occurrences.map(toView)
        const { bundles } = bundle(views, noCluster)
        const members = bundles.flatMap((b) => b.members)
        expect(new Set(members).size).toBe(members.length)
        expect(new Set(members)).toEqual(new Set(views))
        for (const b of bundles) {
          for (const v of b.members) {
            expect(`kubernetes_apiserver:${v.involvedUid}`).toBe(b.event.aggregationKey)
            expect([v.involvedKind, v.type]).toEqual([b.kind, b.type])
          }
          const order = b.members.map((v) => views.indexOf(v))
          expect(order).toEqual([...order].sort((x, y) => x - y))
        }
      }),
      { numRuns: 200, endOnFailure: true }
    )
  })

  it("splits long texts without losing or repeating a line, and keeps every text under 4000 bytes", () => {
    fc.assert(
      // Two objects and long lines, so that most runs split some bundle.
      fc.property(fc.array(crowded, { minLength: 4, maxLength: 25 }), (occurrences) => {
        const views = occurrences.map(toView)
        const { bundles, oversized } = bundle(views, noCluster)
        expect(oversized).toEqual([])
        const events = bundles.map((b) => b.event)
        for (const e of events) expect(Buffer.byteLength(e.text)).toBeLessThanOrEqual(4000)
        // Split bundles of one object may each hold a line: sum them before comparing.
        const summed = new Map<string, number>()
        for (const e of events) {
          for (const [k, n] of readTexts([e])) summed.set(k, (summed.get(k) ?? 0) + n)
        }
        expect(summed).toEqual(expectedCounts(views))
      }),
      // Shrinking 25 lines of 1500 characters takes minutes: report the first failure as found.
      { numRuns: 100, endOnFailure: true }
    )
  })

  it("gives the same bundles in any input order, but for 'since'", () => {
    const withoutSince = (e: EventCreateRequest) => ({ ...e, text: e.text.replace(/ since [^_]*_/, "_") })
    const key = (e: EventCreateRequest) => JSON.stringify([e.aggregationKey, e.alertType])
    fc.assert(
      fc.property(
        fc
          .array(occurrence(1, 30), { maxLength: 30 })
          .chain((os) =>
            fc.tuple(fc.constant(os), fc.shuffledSubarray(os, { minLength: os.length, maxLength: os.length }))
          ),
        ([original, shuffled]) => {
          const a = bundleEvents(original.map(toView), noCluster).map(withoutSince)
          const b = bundleEvents(shuffled.map(toView), noCluster).map(withoutSince)
          const byKey = (es: ReadonlyArray<EventCreateRequest>) => [...es].sort((x, y) => key(x).localeCompare(key(y)))
          expect(byKey(b)).toEqual(byKey(a))
        }
      ),
      { numRuns: 300 }
    )
  })

  it("dates each bundle by the latest last time among its events", () => {
    fc.assert(
      fc.property(fc.array(occurrence(1, 20), { minLength: 1, maxLength: 30 }), (occurrences) => {
        const views = occurrences.map(toView)
        for (const e of bundleEvents(views, noCluster)) {
          const mine = views.filter(
            (v) =>
              `kubernetes_apiserver:${v.involvedUid}` === e.aggregationKey &&
              (v.type === "Warning" ? "warning" : "info") === e.alertType
          )
          expect(e.dateHappened).toBe(Math.max(...mine.map((v) => Math.floor((v.lastTimestamp ?? 0) / 1000))))
        }
      }),
      { numRuns: 200 }
    )
  })
})
