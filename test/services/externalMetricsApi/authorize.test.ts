import { describe, expect, it } from "@effect/vitest"
import type { SubjectAccessReview } from "../../../src/layers/kube/types.ts"
import type { User } from "../../../src/services/externalMetricsApi/authenticate.ts"
import {
  type Authorizable,
  authorize,
  forbiddenMessage,
  type ReviewResult,
  reviewKey,
  reviewResult,
  reviewSpec
} from "../../../src/services/externalMetricsApi/authorize.ts"
import { requestInfo } from "../../../src/services/externalMetricsApi/requestInfo.ts"
import { makeTtlCache } from "../../../src/services/externalMetricsApi/ttlCache.ts"

const info = (path: string, method = "GET"): Authorizable => {
  const i = requestInfo(method, path, new URLSearchParams())
  if (i._tag === "Health") throw new Error("health is not authorized")
  return i
}
const metric = info("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/nginx.net.request_per_s")
const discovery = info("/apis/external.metrics.k8s.io/v1beta1")
const hpa: User = {
  name: "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
  uid: "u-1",
  groups: ["system:serviceaccounts", "system:authenticated"],
  extra: { "authentication.kubernetes.io/pod-name": ["kcm-0"] }
}

describe("reviewSpec", () => {
  it("a metric GET asks for list of the metric in external.metrics.k8s.io/v1beta1 in its namespace", () => {
    expect(reviewSpec(hpa, metric)).toEqual({
      user: hpa.name,
      uid: "u-1",
      groups: hpa.groups,
      extra: hpa.extra,
      resourceAttributes: {
        namespace: "shop",
        verb: "list",
        group: "external.metrics.k8s.io",
        version: "v1beta1",
        resource: "nginx.net.request_per_s"
      }
    })
  })

  it("discovery asks for get on the path", () => {
    expect(reviewSpec({ name: "bob", groups: [], extra: {} }, discovery)).toEqual({
      user: "bob",
      groups: [],
      nonResourceAttributes: { path: "/apis/external.metrics.k8s.io/v1beta1", verb: "get" }
    })
  })

  it("the cache key does not depend on the order of groups or extra keys", () => {
    const a = reviewSpec({ name: "x", groups: ["a", "b"], extra: { k: ["1"], j: ["2"] } }, metric)
    const b = reviewSpec({ name: "x", groups: ["b", "a"], extra: { j: ["2"], k: ["1"] } }, metric)
    expect(reviewKey(a)).toBe(reviewKey(b))
    expect(reviewKey(a)).not.toBe(reviewKey(reviewSpec({ name: "y", groups: ["a", "b"], extra: {} }, metric)))
    expect(reviewKey(a)).not.toBe(reviewKey(reviewSpec({ name: "x", groups: ["a", "b"], extra: {} }, discovery)))
  })
})

describe("forbiddenMessage", () => {
  it("words it like the API server", () => {
    const bob: User = { name: "bob", groups: [], extra: {} }
    expect(forbiddenMessage(bob, metric, "")).toBe(
      'nginx.net.request_per_s.external.metrics.k8s.io is forbidden: User "bob" cannot list resource "nginx.net.request_per_s" in API group "external.metrics.k8s.io" in the namespace "shop"'
    )
    expect(forbiddenMessage(bob, discovery, "")).toBe(
      'forbidden: User "bob" cannot get path "/apis/external.metrics.k8s.io/v1beta1"'
    )
    expect(forbiddenMessage(bob, info("/apis/external.metrics.k8s.io/v1beta1/m"), "no RBAC policy matched")).toBe(
      'm.external.metrics.k8s.io is forbidden: User "bob" cannot list resource "m" in API group "external.metrics.k8s.io" at the cluster scope: no RBAC policy matched'
    )
  })
})

describe("reviewResult", () => {
  const review = (status: SubjectAccessReview["status"]): SubjectAccessReview => ({
    spec: {},
    ...(status && { status })
  })
  it.each<[SubjectAccessReview["status"], ReviewResult]>([
    [{ allowed: true }, { allowed: true, reason: "" }],
    [
      { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "x"' },
      { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "x"' }
    ],
    [{ allowed: false }, { allowed: false, reason: "" }],
    [
      { allowed: false, denied: true, reason: "nope" },
      { allowed: false, reason: "nope" }
    ],
    [
      { allowed: true, denied: true },
      { allowed: false, reason: "" }
    ],
    [undefined, { allowed: false, reason: "" }]
  ])("%j → %j", (status, expected) => {
    expect(reviewResult(review(status))).toEqual(expected)
  })
})

describe("authorize", () => {
  const setup = () => {
    let clock = 0
    const calls: Array<SubjectAccessReview["spec"]> = []
    let answer: ReviewResult | Error = { allowed: true, reason: "" }
    const cache = makeTtlCache<ReviewResult>({ ttlMs: () => 10_000, maxEntries: 100, now: () => clock })
    const run = (user: User, what: Authorizable) =>
      authorize(user, what, cache, async (spec) => {
        calls.push(spec)
        if (answer instanceof Error) throw answer
        return answer
      })
    return {
      run,
      calls,
      tick: (ms: number) => {
        clock += ms
      },
      answer: (a: ReviewResult | Error) => {
        answer = a
      }
    }
  }

  it("system:masters is allowed without a review", async () => {
    const t = setup()
    const aggregator: User = { name: "system:kube-aggregator", groups: ["system:masters"], extra: {} }
    expect(await t.run(aggregator, discovery)).toEqual({ _tag: "Allowed" })
    expect(await t.run(aggregator, metric)).toEqual({ _tag: "Allowed" })
    expect(t.calls).toEqual([])
  })

  it("caches allow and deny for 10 s, per user and request", async () => {
    const t = setup()
    expect(await t.run(hpa, metric)).toEqual({ _tag: "Allowed" })
    expect(await t.run(hpa, metric)).toEqual({ _tag: "Allowed" })
    expect(t.calls).toHaveLength(1)
    t.answer({ allowed: false, reason: "no RBAC policy matched" })
    const bob: User = { name: "bob", groups: [], extra: {} }
    expect(await t.run(bob, metric)).toEqual({ _tag: "Denied", reason: "no RBAC policy matched" })
    expect(await t.run(bob, metric)).toEqual({ _tag: "Denied", reason: "no RBAC policy matched" })
    expect(t.calls).toHaveLength(2)
    // The HPA's allow still holds until it expires; then the new answer counts.
    expect(await t.run(hpa, metric)).toEqual({ _tag: "Allowed" })
    t.tick(9_999)
    expect(await t.run(hpa, metric)).toEqual({ _tag: "Allowed" })
    t.tick(1)
    expect(await t.run(hpa, metric)).toMatchObject({ _tag: "Denied" })
    expect(t.calls).toHaveLength(3)
  })

  it("a review that cannot be made is a failure, never an allow, and is not cached", async () => {
    const t = setup()
    t.answer(new Error("cannot create a SubjectAccessReview: connect ECONNREFUSED"))
    expect(await t.run(hpa, metric)).toEqual({
      _tag: "Failed",
      detail: "cannot create a SubjectAccessReview: connect ECONNREFUSED"
    })
    t.answer({ allowed: true, reason: "" })
    expect(await t.run(hpa, metric)).toEqual({ _tag: "Allowed" })
    expect(t.calls).toHaveLength(2)
  })
})
