import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { KubeObject, ResourceRef } from "../../src/layers/kube/types.ts"
import { groupRequests, unionStrip, type WatchRequest, watchKey } from "../../src/streams/request.ts"
import { keyOf, record, text } from "../../src/streams/strip.ts"

const pods: ResourceRef = { group: "", version: "v1", resource: "pods" }
const request = (overrides: Partial<WatchRequest<unknown>> = {}): WatchRequest<unknown> => ({
  name: "pods",
  resource: pods,
  strip: (o) => o,
  ...overrides
})

const stripName = (o: KubeObject) => ({ name: text(o.metadata?.name) })
const stripNode = (o: KubeObject) => ({ nodeName: text(record(o.spec).nodeName) })
const pod: KubeObject = { metadata: { namespace: "default", name: "web-1" }, spec: { nodeName: "node-1" } }

// Small domains, so that equal requests are drawn often. Namespaces are omitted or real names:
// "" is no namespace a request declares (see the report on `ns=` vs `ns=*`).
const resource: fc.Arbitrary<ResourceRef> = fc.record(
  {
    group: fc.constantFrom("", "apps", "discovery.k8s.io"),
    version: fc.constantFrom("v1", "v1beta1"),
    resource: fc.constantFrom("pods", "services", "nodes"),
    namespace: fc.constantFrom("default", "kube-system")
  },
  { requiredKeys: ["group", "version", "resource"] }
)
const selector = fc.option(fc.constantFrom("", "app=web", "tier in (a,b)", "spec.nodeName=node-1"), { nil: undefined })
const anyRequest: fc.Arbitrary<WatchRequest<unknown>> = fc.record({
  name: fc.constantFrom("pods", "services", "for-metadata", "for-events"),
  resource,
  labelSelector: selector,
  fieldSelector: selector,
  strip: fc.constantFrom(stripName, stripNode, (o: KubeObject) => o)
})

/** No selector and an empty one select the same objects. */
const sameSelector = (a: string | undefined, b: string | undefined) => (a ?? "") === (b ?? "")
const sameWatch = (a: WatchRequest<unknown>, b: WatchRequest<unknown>) =>
  a.resource.group === b.resource.group &&
  a.resource.version === b.resource.version &&
  a.resource.resource === b.resource.resource &&
  a.resource.namespace === b.resource.namespace &&
  sameSelector(a.labelSelector, b.labelSelector) &&
  sameSelector(a.fieldSelector, b.fieldSelector)

describe("watchKey", () => {
  it("tells apart the resource, the namespace and each selector", () => {
    const base = request({ labelSelector: "app=web" })
    const keys = [
      base,
      request({ resource: { ...pods, group: "metrics.k8s.io" }, labelSelector: "app=web" }),
      request({ resource: { ...pods, version: "v2" }, labelSelector: "app=web" }),
      request({ resource: { ...pods, resource: "services" }, labelSelector: "app=web" }),
      request({ resource: { ...pods, namespace: "default" }, labelSelector: "app=web" }),
      request({ labelSelector: "app=db" }),
      request({ labelSelector: "app=web", fieldSelector: "spec.nodeName=n1" }),
      // A label selector is not the same as that text as a field selector.
      request({ fieldSelector: "app=web" })
    ].map(watchKey)
    expect(new Set(keys).size).toBe(keys.length)
  })

  it("ignores the name and the stripper: features with different strippers share a watch", () => {
    expect(watchKey(request({ name: "a", strip: stripName }))).toBe(watchKey(request({ name: "b", strip: stripNode })))
  })

  it("treats no selector and an empty selector alike", () => {
    expect(watchKey(request({ labelSelector: "", fieldSelector: "" }))).toBe(watchKey(request()))
  })

  it("is equal exactly when the resource, namespace and selectors are", () => {
    fc.assert(
      fc.property(anyRequest, anyRequest, (a, b) => {
        expect(watchKey(a) === watchKey(b)).toBe(sameWatch(a, b))
      }),
      { numRuns: 2000 }
    )
  })
})

describe("unionStrip", () => {
  it("of one request is that request's stripper itself", () => {
    const only = request({ strip: stripName })
    expect(unionStrip([only])).toBe(stripName)
  })

  it("of requests that share one stripper is that stripper itself", () => {
    expect(unionStrip([request({ strip: stripNode }), request({ name: "other", strip: stripNode })])).toBe(stripNode)
  })

  it("of two strippers keeps the fields of both", () => {
    const strip = unionStrip([request({ strip: stripName }), request({ strip: stripNode })])
    expect(strip(pod)).toEqual({ name: "web-1", nodeName: "node-1" })
  })

  it("calls each distinct stripper once per object", () => {
    const calls: Array<string> = []
    const a = (o: KubeObject) => {
      calls.push("a")
      return { key: keyOf(o) }
    }
    const b = (o: KubeObject) => {
      calls.push("b")
      return { labels: record(o.metadata?.labels) }
    }
    const strip = unionStrip([request({ strip: a }), request({ strip: b }), request({ strip: a })])
    expect(strip({ metadata: { namespace: "ns", name: "x", labels: { app: "web" } } })).toEqual({
      key: "ns/x",
      labels: { app: "web" }
    })
    expect(calls.sort()).toEqual(["a", "b"])
  })

  it("of no requests keeps nothing", () => {
    expect(unionStrip([])(pod)).toEqual({})
  })

  it("merges the fields of any strippers that pick disjoint fields", () => {
    const fieldNames = fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e", "f"), { minLength: 1, maxLength: 6 })
    fc.assert(
      fc.property(
        fieldNames,
        fc.integer({ min: 1, max: 4 }),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (fields, n, spec) => {
          // Deal the fields out to n strippers, each keeping its own fields of `spec`.
          const owned = Array.from({ length: n }, (_, i) => fields.filter((_, j) => j % n === i))
          const strippers = owned.map(
            (mine) => (o: KubeObject) => Object.fromEntries(mine.map((f) => [f, record(o.spec)[f] ?? null]))
          )
          const object: KubeObject = { spec }
          const expected = Object.assign({}, ...strippers.map((s) => s(object)))
          const union = unionStrip(strippers.map((strip) => request({ strip })))
          expect(union(object)).toEqual(expected)
          expect(Object.keys(union(object) as object).sort()).toEqual([...fields].sort())
        }
      ),
      { numRuns: 500 }
    )
  })
})

describe("groupRequests", () => {
  it("groups requests with equal keys, in declaration order", () => {
    const a = request({ name: "metadata", strip: stripName })
    const b = request({ name: "services", resource: { ...pods, resource: "services" } })
    const c = request({ name: "events", strip: stripNode })
    const d = request({ name: "on-node", fieldSelector: "spec.nodeName=n1" })
    const groups = groupRequests([a, b, c, d])
    expect([...groups.keys()]).toEqual([watchKey(a), watchKey(b), watchKey(d)])
    expect(groups.get(watchKey(a))).toEqual([a, c])
    expect(groups.get(watchKey(b))).toEqual([b])
    expect(groups.get(watchKey(d))).toEqual([d])
  })

  it("of nothing is empty", () => {
    expect(groupRequests([]).size).toBe(0)
  })

  it("keeps every request once, under its own key, in declaration order within and across groups", () => {
    fc.assert(
      fc.property(fc.array(anyRequest, { maxLength: 30 }), (requests) => {
        const groups = groupRequests(requests)
        // Groups come in the order of their first request.
        const firstSeen = [...new Set(requests.map(watchKey))]
        expect([...groups.keys()]).toEqual(firstSeen)
        for (const [key, members] of groups) {
          expect(members.length).toBeGreaterThan(0)
          for (const r of members) expect(watchKey(r)).toBe(key)
          // Within a group, the requests in declaration order (the same objects).
          expect(members).toEqual(requests.filter((r) => watchKey(r) === key))
          const declared = requests.filter((q) => watchKey(q) === key)
          for (let i = 0; i < members.length; i++) expect(members[i]).toBe(declared[i])
        }
        expect([...groups.values()].reduce((n, g) => n + g.length, 0)).toBe(requests.length)
      }),
      { numRuns: 500 }
    )
  })
})
