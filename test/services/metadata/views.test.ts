// What node agents read from the metadata mapper (contract §1.5): the per-node bundle, the
// all-nodes map and per-pod tags. MetadataIndex.test.ts checks the contract's example shapes and
// that gone objects are hidden; here: ordering, pods that moved node, entries that become empty,
// the all-nodes map, and a property tying the three views to the stores.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { MetadataIndex } from "../../../src/services/metadata/MetadataIndex.ts"
import type {
  SlimEndpointSlice,
  SlimNamespace,
  SlimNode,
  SlimPod,
  SlimService
} from "../../../src/services/metadata/objects.ts"
import {
  allNodesResponse,
  bundleOf,
  missingNodeWarning,
  nodeResponse,
  nodeServices,
  podTags,
  type Stores
} from "../../../src/services/metadata/views.ts"
import { Store } from "../../../src/streams/store.ts"
import { objectKey } from "../../../src/streams/strip.ts"

const makeStores = () => ({
  pods: new Store<SlimPod>(),
  nodes: new Store<SlimNode>(),
  services: new Store<SlimService>(),
  namespaces: new Store<SlimNamespace>()
})

const podOf = (namespace: string, name: string, nodeName: string): SlimPod => ({
  namespace,
  name,
  nodeName,
  phase: "Running",
  ready: true,
  labels: {}
})

const addNode = (stores: ReturnType<typeof makeStores>, name: string) =>
  stores.nodes.apply({ _tag: "Apply", key: objectKey("", name), object: { name, labels: {}, annotations: {} } })
const addPod = (stores: ReturnType<typeof makeStores>, pod: SlimPod) =>
  stores.pods.apply({ _tag: "Apply", key: objectKey(pod.namespace, pod.name), object: pod })
const addService = (stores: ReturnType<typeof makeStores>, namespace: string, name: string) =>
  stores.services.apply({ _tag: "Apply", key: objectKey(namespace, name), object: { namespace, name } })
const removeService = (stores: ReturnType<typeof makeStores>, namespace: string, name: string) =>
  stores.services.apply({ _tag: "Delete", key: objectKey(namespace, name), object: { namespace, name } })

/** A slice of `service` listing `pods` (name → node) of its namespace. */
const sliceOf = (namespace: string, service: string, pods: ReadonlyArray<readonly [string, string]>) => ({
  namespace,
  name: `${service}-slice`,
  serviceName: service,
  endpoints: pods.map(([podName, nodeName]) => ({ podNamespace: namespace, podName, nodeName }))
})

describe("ordering", () => {
  // Everything is added in reverse order, so a sorted answer is the views' doing.
  const stores = makeStores()
  const index = new MetadataIndex()
  addNode(stores, "node-a")
  for (const [ns, pod] of [
    ["zeta", "z-pod"],
    ["alpha", "b-pod"],
    ["alpha", "a-pod"]
  ] as const) {
    addPod(stores, podOf(ns, pod, "node-a"))
  }
  for (const [ns, svc] of [
    ["zeta", "zz"],
    ["alpha", "web-internal"],
    ["alpha", "web"],
    ["alpha", "api"]
  ] as const) {
    addService(stores, ns, svc)
  }
  index.applySlice("zeta/zz-slice", sliceOf("zeta", "zz", [["z-pod", "node-a"]]))
  index.applySlice(
    "alpha/web-internal-slice",
    sliceOf("alpha", "web-internal", [
      ["b-pod", "node-a"],
      ["a-pod", "node-a"]
    ])
  )
  index.applySlice("alpha/web-slice", sliceOf("alpha", "web", [["a-pod", "node-a"]]))
  index.applySlice("alpha/api-slice", sliceOf("alpha", "api", [["a-pod", "node-a"]]))

  it("namespaces, pods and services come sorted by name", () => {
    const services = nodeServices(index, stores, "node-a")
    expect([...(services?.keys() ?? [])]).toEqual(["alpha", "zeta"])
    expect([...(services?.get("alpha")?.keys() ?? [])]).toEqual(["a-pod", "b-pod"])
    expect(services?.get("alpha")?.get("a-pod")).toEqual(["api", "web", "web-internal"])
    expect(JSON.stringify(nodeResponse(index, stores, "node-a"))).toBe(
      JSON.stringify({
        Nodes: {
          "node-a": {
            services: {
              alpha: { "a-pod": { api: {}, web: {}, "web-internal": {} }, "b-pod": { "web-internal": {} } },
              zeta: { "z-pod": { zz: {} } }
            }
          }
        }
      })
    )
  })

  it("per-pod tags are sorted too", () => {
    expect(podTags(index, stores, "node-a", "alpha", "a-pod")).toEqual([
      "kube_service:api",
      "kube_service:web",
      "kube_service:web-internal"
    ])
  })

  it("the all-nodes map lists nodes sorted by name", () => {
    const local = makeStores()
    for (const n of ["node-c", "node-a", "node-b"]) addNode(local, n)
    expect(Object.keys(allNodesResponse(new MetadataIndex(), local).Nodes ?? {})).toEqual([
      "node-a",
      "node-b",
      "node-c"
    ])
  })
})

describe("only what exists now is shown", () => {
  it("a pod that moved to another node is not shown on the node its old slice names", () => {
    const stores = makeStores()
    const index = new MetadataIndex()
    addNode(stores, "node-a")
    addNode(stores, "node-b")
    addService(stores, "shop", "web")
    // The pod was recreated on node-b; the slice still says node-a.
    addPod(stores, podOf("shop", "web-1", "node-b"))
    index.applySlice("shop/web-slice", sliceOf("shop", "web", [["web-1", "node-a"]]))
    expect(podTags(index, stores, "node-a", "shop", "web-1")).toBeNull()
    expect(nodeResponse(index, stores, "node-a")).toEqual({ Nodes: { "node-a": {} } })
    // Nor on node-b, which no slice names yet.
    expect(podTags(index, stores, "node-b", "shop", "web-1")).toBeNull()
  })

  it("a pod whose services are all gone leaves the bundle, and its namespace with it", () => {
    const stores = makeStores()
    const index = new MetadataIndex()
    addNode(stores, "node-a")
    addPod(stores, podOf("shop", "web-1", "node-a"))
    addPod(stores, podOf("kube-system", "dns-1", "node-a"))
    addService(stores, "shop", "web")
    addService(stores, "kube-system", "kube-dns")
    index.applySlice("shop/web-slice", sliceOf("shop", "web", [["web-1", "node-a"]]))
    index.applySlice("kube-system/kube-dns-slice", sliceOf("kube-system", "kube-dns", [["dns-1", "node-a"]]))

    removeService(stores, "shop", "web")
    expect(nodeResponse(index, stores, "node-a")).toEqual({
      Nodes: { "node-a": { services: { "kube-system": { "dns-1": { "kube-dns": {} } } } } }
    })
    // A pod without a service has no tags: null, as for an unknown pod (not an empty list).
    expect(podTags(index, stores, "node-a", "shop", "web-1")).toBeNull()

    removeService(stores, "kube-system", "kube-dns")
    expect(JSON.stringify(nodeResponse(index, stores, "node-a"))).toBe('{"Nodes":{"node-a":{}}}')
  })

  it("a service of the same name in another namespace does not keep an entry alive", () => {
    const stores = makeStores()
    const index = new MetadataIndex()
    addNode(stores, "node-a")
    addPod(stores, podOf("shop", "web-1", "node-a"))
    addService(stores, "other", "web")
    index.applySlice("shop/web-slice", sliceOf("shop", "web", [["web-1", "node-a"]]))
    expect(podTags(index, stores, "node-a", "shop", "web-1")).toBeNull()
  })
})

describe("nodeServices", () => {
  it("is undefined for an unknown node, even when slices name it", () => {
    const stores = makeStores()
    const index = new MetadataIndex()
    addPod(stores, podOf("shop", "web-1", "ghost"))
    addService(stores, "shop", "web")
    index.applySlice("shop/web-slice", sliceOf("shop", "web", [["web-1", "ghost"]]))
    expect(nodeServices(index, stores, "ghost")).toBeUndefined()
    expect(nodeResponse(index, stores, "ghost")).toEqual({ Warnings: [missingNodeWarning("ghost")] })
  })

  it("is empty for a known node that no slice names", () => {
    const stores = makeStores()
    addNode(stores, "node-a")
    expect(nodeServices(new MetadataIndex(), stores, "node-a")?.size).toBe(0)
  })
})

describe("bundleOf", () => {
  it("leaves out `services` when there are none (the original's omitempty)", () => {
    expect(bundleOf(new Map())).toEqual({})
    expect(JSON.stringify(bundleOf(new Map()))).toBe("{}")
  })

  it("serialises each set of services as an object of {} (Go's sets.String)", () => {
    const bundle = bundleOf(new Map([["ns", new Map([["p", ["a", "b"]]])]]))
    expect(JSON.stringify(bundle)).toBe('{"services":{"ns":{"p":{"a":{},"b":{}}}}}')
  })
})

describe("missingNodeWarning", () => {
  it("is the original's text (contract §1.5)", () => {
    expect(missingNodeWarning("node-a")).toBe(
      "Node node-a could not be added to the metadata map bundle: the key agent/KubernetesMetadataMapping/node-a was not found in the cache"
    )
  })
})

describe("allNodesResponse", () => {
  it("is an empty object when no node is known (Nodes is omitempty)", () => {
    expect(JSON.stringify(allNodesResponse(new MetadataIndex(), makeStores()))).toBe("{}")
  })

  it("shows every known node, with an empty bundle for nodes without service-backed pods", () => {
    const stores = makeStores()
    const index = new MetadataIndex()
    addNode(stores, "node-a")
    addNode(stores, "node-b")
    addPod(stores, podOf("shop", "web-1", "node-a"))
    addPod(stores, podOf("shop", "web-2", "ghost"))
    addService(stores, "shop", "web")
    index.applySlice(
      "shop/web-slice",
      sliceOf("shop", "web", [
        ["web-1", "node-a"],
        ["web-2", "ghost"]
      ])
    )
    // A node only the slices know ("ghost") is not a node.
    expect(allNodesResponse(index, stores)).toEqual({
      Nodes: { "node-a": { services: { shop: { "web-1": { web: {} } } } }, "node-b": {} }
    })
  })
})

// A small world of stores and slices, and what the contract says about any such world.
const nodeNames = ["node-a", "node-b", "node-c"]
const namespaceNames = ["shop", "kube-system"]
const podNames = ["web-1", "web-2", "db-0"]
const serviceNames = ["web", "db", "kube-dns"]

const world = fc.record({
  nodes: fc.subarray(nodeNames),
  pods: fc.array(
    fc.record({
      namespace: fc.constantFrom(...namespaceNames),
      name: fc.constantFrom(...podNames),
      node: fc.constantFrom(...nodeNames)
    }),
    { minLength: 1, maxLength: 10 }
  ),
  services: fc.array(
    fc.record({ namespace: fc.constantFrom(...namespaceNames), name: fc.constantFrom(...serviceNames) }),
    { minLength: 1, maxLength: 6 }
  ),
  slices: fc.array(
    fc.record({
      namespace: fc.constantFrom(...namespaceNames),
      service: fc.constantFrom(...serviceNames),
      endpoints: fc.array(fc.tuple(fc.constantFrom(...podNames), fc.constantFrom(...nodeNames)), { maxLength: 4 })
    }),
    { minLength: 1, maxLength: 8 }
  )
})

const build = (w: typeof world extends fc.Arbitrary<infer W> ? W : never) => {
  const stores = makeStores()
  const index = new MetadataIndex()
  for (const n of w.nodes) addNode(stores, n)
  for (const p of w.pods) addPod(stores, podOf(p.namespace, p.name, p.node))
  for (const s of w.services) addService(stores, s.namespace, s.name)
  w.slices.forEach((s, i) => {
    const slice: SlimEndpointSlice = { ...sliceOf(s.namespace, s.service, s.endpoints), name: `slice-${i}` }
    index.applySlice(objectKey(s.namespace, slice.name), slice)
  })
  return { stores: stores as Stores, index }
}

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))

describe("the three views agree with the stores", () => {
  it("every entry is backed by a slice and by a node, pod and service that exist now", () => {
    let shown = 0
    fc.assert(
      fc.property(world, (w) => {
        const { stores, index } = build(w)
        const all = allNodesResponse(index, stores)
        expect(Object.keys(all.Nodes ?? {})).toEqual(sorted(w.nodes))
        for (const node of nodeNames) {
          const one = nodeResponse(index, stores, node)
          if (!w.nodes.includes(node)) {
            expect(one).toEqual({ Warnings: [missingNodeWarning(node)] })
            continue
          }
          // The per-node bundle is the same as that node's entry in the all-nodes map.
          expect(one).toEqual({ Nodes: { [node]: all.Nodes?.[node] } })
          const bundle = one.Nodes?.[node] ?? {}
          // The model: pods that exist on this node, with the services that exist and whose slices
          // list the pod on this node.
          const expected: Record<string, Record<string, Array<string>>> = {}
          for (const ns of namespaceNames) {
            for (const pod of podNames) {
              const live = stores.pods.get(objectKey(ns, pod))
              const services = serviceNames.filter(
                (svc) =>
                  stores.services.has(objectKey(ns, svc)) &&
                  w.slices.some(
                    (s) =>
                      s.namespace === ns && s.service === svc && s.endpoints.some(([p, n]) => p === pod && n === node)
                  )
              )
              if (live?.nodeName === node && services.length > 0) {
                expected[ns] = { ...expected[ns], [pod]: sorted(services) }
              }
              const tags = podTags(index, stores, node, ns, pod)
              expect(tags).toEqual(
                live?.nodeName === node && services.length > 0
                  ? sorted(services).map((svc) => `kube_service:${svc}`)
                  : null
              )
            }
          }
          const actual: Record<string, Record<string, Array<string>>> = {}
          for (const [ns, pods] of Object.entries(bundle.services ?? {})) {
            for (const [pod, set] of Object.entries(pods)) {
              for (const v of Object.values(set)) expect(v).toEqual({})
              actual[ns] = { ...actual[ns], [pod]: Object.keys(set) }
            }
          }
          expect(actual).toEqual(expected)
          shown += Object.keys(actual).length
          // `services` is present exactly when something is in it.
          expect("services" in bundle).toBe(Object.keys(expected).length > 0)
        }
      }),
      { numRuns: 400 }
    )
    // The worlds were not all empty: many had entries to show.
    expect(shown).toBeGreaterThan(40)
  })
})
