// REST paths of the Kubernetes API, from its URL scheme: core resources live under /api/v1,
// grouped ones under /apis/<group>/<version>; namespaced collections add /namespaces/<ns>;
// one object adds /<name>. (Collection paths of the four basic shapes are in errors.test.ts.)
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  collectionPath,
  componentStatuses,
  configMaps,
  core,
  events,
  groupVersionPath,
  leases,
  namespaces,
  objectPath,
  selfSubjectAccessReviews,
  subjectAccessReviews,
  tokenReviews,
  withQuery
} from "../../../src/layers/kube/paths.ts"

describe("groupVersionPath", () => {
  it.each([
    ["", "v1", "/api/v1"],
    ["apps", "v1", "/apis/apps/v1"],
    ["coordination.k8s.io", "v1", "/apis/coordination.k8s.io/v1"],
    ["autoscaling", "v2", "/apis/autoscaling/v2"]
  ])("group %j version %s → %s", (group, version, path) => {
    expect(groupVersionPath(group, version)).toBe(path)
  })
})

describe("the resources the agent uses", () => {
  it.each([
    ["configMaps", collectionPath(configMaps("datadog")), "/api/v1/namespaces/datadog/configmaps"],
    ["namespaces", collectionPath(namespaces), "/api/v1/namespaces"],
    ["componentStatuses", collectionPath(componentStatuses), "/api/v1/componentstatuses"],
    ["events", collectionPath(events("kube-system")), "/api/v1/namespaces/kube-system/events"],
    ["leases", collectionPath(leases("datadog")), "/apis/coordination.k8s.io/v1/namespaces/datadog/leases"],
    ["tokenReviews", collectionPath(tokenReviews), "/apis/authentication.k8s.io/v1/tokenreviews"],
    [
      "subjectAccessReviews",
      collectionPath(subjectAccessReviews),
      "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    ],
    [
      "selfSubjectAccessReviews",
      collectionPath(selfSubjectAccessReviews),
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    ]
  ])("%s → %s", (_name, actual, expected) => {
    expect(actual).toBe(expected)
  })

  it("one object of a namespaced and of a cluster-scoped collection", () => {
    expect(objectPath(configMaps("datadog"), "datadog-cluster-id")).toBe(
      "/api/v1/namespaces/datadog/configmaps/datadog-cluster-id"
    )
    expect(objectPath(namespaces, "kube-system")).toBe("/api/v1/namespaces/kube-system")
    expect(objectPath(leases("dd"), "datadog-leader-election")).toBe(
      "/apis/coordination.k8s.io/v1/namespaces/dd/leases/datadog-leader-election"
    )
  })

  it("core() is the core group at v1, cluster-wide without a namespace", () => {
    expect(core("pods")).toEqual({ group: "", version: "v1", resource: "pods", namespace: undefined })
    expect(collectionPath(core("pods"))).toBe("/api/v1/pods")
    expect(collectionPath(core("pods", "shop"))).toBe("/api/v1/namespaces/shop/pods")
  })
})

describe("namespaces and names in paths", () => {
  it("an empty namespace means every namespace (or cluster scope), like no namespace", () => {
    expect(collectionPath(core("pods", ""))).toBe(collectionPath(core("pods")))
    expect(objectPath(core("nodes", ""), "node-a")).toBe("/api/v1/nodes/node-a")
  })

  it("escapes what is not a plain segment", () => {
    expect(collectionPath(core("pods", "a/b"))).toBe("/api/v1/namespaces/a%2Fb/pods")
    expect(objectPath(core("pods", "ns"), "a b?c#d%")).toBe("/api/v1/namespaces/ns/pods/a%20b%3Fc%23d%25")
    expect(objectPath(core("pods", "ns"), "é")).toBe("/api/v1/namespaces/ns/pods/%C3%A9")
  })

  it("leaves Kubernetes names (DNS subdomains) as they are", () => {
    expect(objectPath(core("pods", "kube-system"), "coredns-66bff.x1")).toBe(
      "/api/v1/namespaces/kube-system/pods/coredns-66bff.x1"
    )
  })

  it("any name and namespace stay one segment each and decode back", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (namespace, name) => {
        const segments = objectPath(core("configmaps", namespace), name).split("/")
        expect(segments).toHaveLength(7)
        expect(segments.slice(0, 4)).toEqual(["", "api", "v1", "namespaces"])
        expect(decodeURIComponent(segments[4] as string)).toBe(namespace)
        expect(segments[5]).toBe("configmaps")
        expect(decodeURIComponent(segments[6] as string)).toBe(name)
      }),
      { numRuns: 300 }
    )
  })
})

describe("withQuery", () => {
  it("adds nothing, not even '?', when no value is set", () => {
    expect(withQuery("/api/v1/pods", {})).toBe("/api/v1/pods")
    expect(withQuery("/api/v1/pods", { continue: undefined, labelSelector: "" })).toBe("/api/v1/pods")
  })

  it("booleans become true/false, and false and 0 are kept (they are values)", () => {
    expect(withQuery("/p", { watch: false })).toBe("/p?watch=false")
    expect(withQuery("/p", { allowWatchBookmarks: true })).toBe("/p?allowWatchBookmarks=true")
    expect(withQuery("/p", { resourceVersion: 0 })).toBe("/p?resourceVersion=0")
  })

  it("keeps the order given, and escapes selectors", () => {
    expect(withQuery("/api/v1/pods", { fieldSelector: "spec.nodeName=node-a", limit: 500, continue: "abc==" })).toBe(
      "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a&limit=500&continue=abc%3D%3D"
    )
  })

  it("the query parses back to exactly the set values, as strings", () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(undefined))
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-zA-Z]{1,12}$/), value), (query) => {
        const path = withQuery("/x", query)
        const expected = Object.entries(query)
          .filter(([, v]) => v !== undefined && v !== "")
          .map(([k, v]) => [k, String(v)])
        const [base, qs] = path.split(/\?(.*)/s)
        expect(base).toBe("/x")
        expect([...new URLSearchParams(qs ?? "").entries()]).toEqual(expected)
        if (expected.length === 0) expect(path).toBe("/x")
      }),
      { numRuns: 300 }
    )
  })
})
