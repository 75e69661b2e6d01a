import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  backingSlices,
  indexFromScratch,
  MetadataIndex,
  serviceNames
} from "../../../src/services/metadata/MetadataIndex.ts"
import type { SlimEndpointSlice, SlimNode, SlimPod, SlimService } from "../../../src/services/metadata/objects.ts"
import { allNodesResponse, nodeResponse, podTags, type Stores } from "../../../src/services/metadata/views.ts"
import { Store, type WatcherEvent } from "../../../src/streams/store.ts"
import { objectKey } from "../../../src/streams/strip.ts"

type Named = { readonly namespace?: string; readonly name: string }
const keyFor = (o: Named) => objectKey(o.namespace ?? "", o.name)
const applied = <T extends Named>(object: T): WatcherEvent<T> => ({ _tag: "Apply", key: keyFor(object), object })
const deleted = <T extends Named>(object: T): WatcherEvent<T> => ({ _tag: "Delete", key: keyFor(object), object })

const nodeNames = ["node-a", "node-b", "node-c"]
const namespaceNames = ["shop", "kube-system"]
const podNames = ["web-1", "web-2", "db-0", "dns-x"]
const serviceNameChoices = ["web", "web-internal", "db", "kube-dns"]

const endpoint = fc.record({
  podNamespace: fc.constantFrom(...namespaceNames),
  podName: fc.constantFrom(...podNames),
  nodeName: fc.constantFrom(...nodeNames)
})
const slice: fc.Arbitrary<SlimEndpointSlice> = fc
  .record({
    namespace: fc.constantFrom(...namespaceNames),
    name: fc.constantFrom("s1", "s2", "s3", "s4", "s5"),
    serviceName: fc.constantFrom(...serviceNameChoices),
    endpoints: fc.array(endpoint, { maxLength: 6 })
  })
  // Endpoints of a slice live in the slice's namespace.
  .map((s) => ({ ...s, endpoints: s.endpoints.map((e) => ({ ...e, podNamespace: s.namespace })) }))
const pod: fc.Arbitrary<SlimPod> = fc.record({
  namespace: fc.constantFrom(...namespaceNames),
  name: fc.constantFrom(...podNames),
  nodeName: fc.constantFrom(...nodeNames),
  phase: fc.constant("Running"),
  ready: fc.boolean(),
  labels: fc.constant({})
})
const node: fc.Arbitrary<SlimNode> = fc.record({
  name: fc.constantFrom(...nodeNames),
  labels: fc.constant({}),
  annotations: fc.constant({})
})
const service: fc.Arbitrary<SlimService> = fc.record({
  namespace: fc.constantFrom(...namespaceNames),
  name: fc.constantFrom(...serviceNameChoices)
})

type Op =
  | { readonly kind: "slices"; readonly event: WatcherEvent<SlimEndpointSlice> }
  | { readonly kind: "pods"; readonly event: WatcherEvent<SlimPod> }
  | { readonly kind: "nodes"; readonly event: WatcherEvent<SlimNode> }
  | { readonly kind: "services"; readonly event: WatcherEvent<SlimService> }

const eventsOf = <T extends Named>(arb: fc.Arbitrary<T>): fc.Arbitrary<ReadonlyArray<WatcherEvent<T>>> =>
  fc.oneof(
    { weight: 6, arbitrary: arb.map((object) => [applied(object)]) },
    { weight: 3, arbitrary: arb.map((object) => [deleted(object)]) },
    {
      weight: 1,
      arbitrary: fc
        .array(arb, { maxLength: 8 })
        .map(
          (objects): ReadonlyArray<WatcherEvent<T>> => [
            { _tag: "Init" },
            { _tag: "InitPage", objects: objects.map((object) => ({ key: keyFor(object), object })) },
            { _tag: "InitDone" }
          ]
        )
    }
  )

const ops: fc.Arbitrary<ReadonlyArray<Op>> = fc
  .array(
    fc.oneof(
      eventsOf(slice).map((es) => es.map((event) => ({ kind: "slices", event }) as Op)),
      eventsOf(pod).map((es) => es.map((event) => ({ kind: "pods", event }) as Op)),
      eventsOf(node).map((es) => es.map((event) => ({ kind: "nodes", event }) as Op)),
      eventsOf(service).map((es) => es.map((event) => ({ kind: "services", event }) as Op))
    ),
    { maxLength: 40 }
  )
  .map((groups) => groups.flat())

const makeStores = () => ({
  pods: new Store<SlimPod>(),
  nodes: new Store<SlimNode>(),
  services: new Store<SlimService>(),
  namespaces: new Store<{ name: string; labels: Record<string, string>; annotations: Record<string, string> }>(),
  slices: new Store<SlimEndpointSlice>()
})

describe("MetadataIndex", () => {
  it("kept current incrementally, it equals the index rebuilt from scratch", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const stores = makeStores()
        const incremental = new MetadataIndex()
        for (const op of sequence) {
          if (op.kind === "slices") {
            const change = stores.slices.apply(op.event)
            if (change !== undefined) incremental.follow(change)
          } else if (op.kind === "pods") stores.pods.apply(op.event)
          else if (op.kind === "nodes") stores.nodes.apply(op.event)
          else stores.services.apply(op.event)
        }
        const rebuilt = indexFromScratch(stores.slices.snapshot())
        const views: Stores = stores
        expect(allNodesResponse(incremental, views)).toEqual(allNodesResponse(rebuilt, views))
        for (const n of nodeNames) expect(nodeResponse(incremental, views, n)).toEqual(nodeResponse(rebuilt, views, n))
        // And both equal a plain model: the services whose slices list each (node, namespace, pod).
        const model = new Map<string, Set<string>>()
        for (const sl of stores.slices.values()) {
          for (const e of sl.endpoints) {
            const id = `${e.nodeName}/${e.podNamespace}/${e.podName}`
            if (sl.serviceName !== "") model.set(id, new Set([...(model.get(id) ?? []), sl.serviceName]))
          }
        }
        const actual = new Map<string, Set<string>>()
        for (const n of incremental.nodeNames()) {
          for (const [ns, podsOfNs] of incremental.entries(n) ?? []) {
            for (const [p, entry] of podsOfNs) actual.set(`${n}/${ns}/${p}`, new Set(serviceNames(entry)))
          }
        }
        expect(actual).toEqual(model)
        // And no empty leftovers: every node with entries has a pod with a service.
        for (const n of incremental.nodeNames()) {
          for (const podsOfNs of incremental.entries(n)?.values() ?? []) {
            for (const servicesOfPod of podsOfNs.values()) {
              // One service by one slice is a bare name; anything else a map of counts > 0.
              if (typeof servicesOfPod !== "string") {
                expect(servicesOfPod.size).toBeGreaterThan(0)
                const counts = [...servicesOfPod.values()]
                expect(counts.every((c) => c > 0)).toBe(true)
                expect(servicesOfPod.size > 1 || counts[0] !== 1).toBe(true)
              }
            }
          }
        }
      }),
      { numRuns: 300 }
    )
  })

  it("a service spread over many slices stays until its last slice goes", () => {
    const index = new MetadataIndex()
    const endpoints = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, i) => ({
        podNamespace: "shop",
        podName: `web-${from + i}`,
        nodeName: `node-${(from + i) % 3}`
      }))
    // 1500 endpoints in 15 slices, as the EndpointSlice controller would split them.
    for (let i = 0; i < 15; i++) {
      index.applySlice(`shop/web-${i}`, {
        namespace: "shop",
        name: `web-${i}`,
        serviceName: "web",
        endpoints: endpoints(i * 100, (i + 1) * 100)
      })
    }
    const count = () => [...index.nodeNames()].reduce((n, node) => n + (index.entries(node)?.get("shop")?.size ?? 0), 0)
    expect(count()).toBe(1500)
    // The same pod in two slices (endpoints moving between slices) stays mapped until both go.
    index.applySlice("shop/web-extra", {
      namespace: "shop",
      name: "web-extra",
      serviceName: "web",
      endpoints: endpoints(0, 1)
    })
    index.deleteSlice("shop/web-0")
    expect(count()).toBe(1401)
    expect(backingSlices(index.entries("node-0")?.get("shop")?.get("web-0"), "web")).toBe(1)
    index.deleteSlice("shop/web-extra")
    expect(index.entries("node-0")?.get("shop")?.has("web-0")).toBe(false)
  })
})

describe("views", () => {
  const stores = makeStores()
  const index = new MetadataIndex()
  stores.nodes.apply(applied({ name: "node-a", labels: {}, annotations: {} }))
  stores.nodes.apply(applied({ name: "node-b", labels: {}, annotations: {} }))
  for (const [ns, name] of [
    ["shop", "web-1"],
    ["kube-system", "coredns-1"]
  ] as const) {
    stores.pods.apply(applied({ namespace: ns, name, nodeName: "node-a", phase: "Running", ready: true, labels: {} }))
  }
  for (const [ns, name] of [
    ["shop", "web"],
    ["shop", "web-internal"],
    ["kube-system", "kube-dns"]
  ] as const) {
    stores.services.apply(applied({ namespace: ns, name }))
  }
  const sliceOf = (ns: string, service: string, pod: string) => ({
    namespace: ns,
    name: `${service}-abc`,
    serviceName: service,
    endpoints: [{ podNamespace: ns, podName: pod, nodeName: "node-a" }]
  })
  index.applySlice("shop/web-abc", sliceOf("shop", "web", "web-1"))
  index.applySlice("shop/web-internal-abc", sliceOf("shop", "web-internal", "web-1"))
  index.applySlice("kube-system/kube-dns-abc", sliceOf("kube-system", "kube-dns", "coredns-1"))

  it("serves the contract's bundle shape (sets as objects of {})", () => {
    expect(JSON.stringify(nodeResponse(index, stores, "node-a"))).toBe(
      '{"Nodes":{"node-a":{"services":{"kube-system":{"coredns-1":{"kube-dns":{}}},"shop":{"web-1":{"web":{},"web-internal":{}}}}}}}'
    )
  })

  it("a known node without service-backed pods has an empty bundle", () => {
    expect(JSON.stringify(nodeResponse(index, stores, "node-b"))).toBe('{"Nodes":{"node-b":{}}}')
  })

  it("an unknown node gets the original's warning", () => {
    expect(nodeResponse(index, stores, "node-z")).toEqual({
      Warnings: [
        "Node node-z could not be added to the metadata map bundle: the key agent/KubernetesMetadataMapping/node-z was not found in the cache"
      ]
    })
  })

  it("per-pod tags are prefixed, and null when unknown", () => {
    expect(podTags(index, stores, "node-a", "shop", "web-1")).toEqual(["kube_service:web", "kube_service:web-internal"])
    expect(podTags(index, stores, "node-a", "shop", "nope")).toBeNull()
    expect(podTags(index, stores, "node-z", "shop", "web-1")).toBeNull()
  })

  it("hides pods, services and nodes that are gone before their slices change", () => {
    const local = makeStores()
    for (const n of stores.nodes.values()) local.nodes.apply(applied(n))
    for (const p of stores.pods.values()) local.pods.apply(applied(p))
    for (const s of stores.services.values()) local.services.apply(applied(s))
    local.services.apply(deleted({ namespace: "shop", name: "web-internal" }))
    expect(podTags(index, local, "node-a", "shop", "web-1")).toEqual(["kube_service:web"])
    local.pods.apply(
      deleted({ namespace: "shop", name: "web-1", nodeName: "node-a", phase: "", ready: false, labels: {} })
    )
    expect(podTags(index, local, "node-a", "shop", "web-1")).toBeNull()
    local.nodes.apply(deleted({ name: "node-a", labels: {}, annotations: {} }))
    expect(nodeResponse(index, local, "node-a").Warnings).toHaveLength(1)
    expect(objectKey("shop", "x")).toBe("shop/x")
  })
})
