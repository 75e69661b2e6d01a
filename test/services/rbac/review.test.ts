// The reviews asked for the rights table, the verdict per feature, and the words of the fix.
import { describe, expect, it } from "@effect/vitest"
import { defaultInstance } from "../../../src/services/kubernetesApiserver/instance.ts"
import {
  type Answer,
  fixText,
  missingText,
  questions,
  reviewOf,
  ruleText,
  verdicts
} from "../../../src/services/rbac/review.ts"
import { featureRights, shippedRoles } from "../../../src/services/rbac/rights.ts"
import { podConfig } from "../../support/podConfig.ts"

const table = featureRights(podConfig({ DD_COLLECT_KUBERNETES_EVENTS: "true" }), defaultInstance(true))

/** Every question answered `allowed`, except those `refuse` picks. */
const answer = (refuse: (feature: string, resource: string, verb: string) => boolean): ReadonlyArray<Answer> =>
  questions(table).map((q) => {
    const rule = table.find((f) => f.feature === q.feature)?.rights[q.right]?.rule
    const resource = rule?._tag === "Resource" ? rule.resource : (rule?.path ?? "")
    return { ...q, allowed: !refuse(q.feature, resource, q.verb) }
  })

describe("reviews", () => {
  it("one SelfSubjectAccessReview per verb, with the rule's group, resource, namespace and name", () => {
    const qs = questions(table)
    const verbs = table.reduce((n, f) => n + f.rights.reduce((m, r) => m + r.rule.verbs.length, 0), 0)
    expect(qs).toHaveLength(verbs)
    expect(
      reviewOf(
        { _tag: "Resource", group: "", resource: "configmaps", namespace: "datadog", name: "datadogtoken", verbs: [] },
        "update"
      )
    ).toEqual({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          verb: "update",
          group: "",
          resource: "configmaps",
          namespace: "datadog",
          name: "datadogtoken"
        }
      }
    })
    // Cluster-wide (every namespace): no namespace key at all.
    expect(reviewOf({ _tag: "Resource", group: "", resource: "events", verbs: [] }, "watch").spec).toEqual({
      resourceAttributes: { verb: "watch", group: "", resource: "events" }
    })
    expect(reviewOf({ _tag: "NonResource", path: "/readyz", verbs: [] }, "get").spec).toEqual({
      nonResourceAttributes: { path: "/readyz", verb: "get" }
    })
  })
})

describe("verdicts", () => {
  it("all granted", () => {
    expect(
      verdicts(
        table,
        answer(() => false)
      ).map((v) => [v.feature, v.state, v.missing.length])
    ).toEqual([
      ["apiServerProbe", "granted", 0],
      ["metadataMapper", "granted", 0],
      ["clusterId", "granted", 0],
      ["eventCollection", "granted", 0],
      ["controlPlaneCheck", "granted", 0]
    ])
  })

  it("a refused verb makes only its feature missing, naming the verbs refused", () => {
    const v = verdicts(
      table,
      answer((feature, resource, verb) => feature === "eventCollection" && resource === "events" && verb === "watch")
    )
    expect(v.filter((f) => f.state !== "granted").map((f) => f.feature)).toEqual(["eventCollection"])
    const events = v.find((f) => f.feature === "eventCollection")
    expect(events?.missing.map((m) => [ruleText(m.right.rule, m.verbs), m.verbs])).toEqual([
      ['{apiGroups: [""], resources: ["events"], verbs: ["watch"]}', ["watch"]]
    ])
  })

  it("a right with a fallback refused leaves its feature granted, and is still listed", () => {
    const v = verdicts(
      table,
      answer((_f, resource) => resource === "componentstatuses")
    )
    const check = v.find((f) => f.feature === "controlPlaneCheck")
    expect(check?.state).toBe("granted")
    expect(check?.missing.map((m) => m.right.fallback)).toEqual(["the check reports /readyz instead of each component"])
  })

  it("a review that could not be made is unknown, never missing", () => {
    const answers = questions(table).map(
      (q): Answer =>
        q.feature === "clusterId"
          ? { ...q, allowed: undefined, error: "connect ECONNREFUSED" }
          : { ...q, allowed: true }
    )
    const id = verdicts(table, answers).find((f) => f.feature === "clusterId")
    expect(id).toMatchObject({ state: "unknown", missing: [], errors: ["connect ECONNREFUSED"] })
  })
})

describe("the fix, in words", () => {
  it("names the rule to add and the shipped role to add it to", () => {
    const events = verdicts(
      table,
      answer((feature, resource) => feature === "eventCollection" && resource === "events")
    ).find((f) => f.feature === "eventCollection")
    const [missing] = events?.missing ?? []
    if (events === undefined || missing === undefined) throw new Error("expected a missing events right")
    expect(missingText(events, missing)).toBe(
      "RBAC: the agent's ServiceAccount may not list, watch events; event collection: stopped until it is granted (checked again every few minutes). " +
        'To fix it, add to the ClusterRole datadog-cluster-agent the rule {apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}'
    )
  })

  it("a namespaced rule names the Role and its namespace; a built-in role is bound, not edited", () => {
    expect(
      fixText({
        right: {
          rule: {
            _tag: "Resource",
            group: "",
            resource: "configmaps",
            namespace: "datadog",
            name: "datadogtoken",
            verbs: ["get", "update"]
          },
          grant: shippedRoles.own("datadog")
        },
        verbs: ["update"]
      })
    ).toBe(
      'add to the Role datadog-cluster-agent (namespace datadog) the rule {apiGroups: [""], resources: ["configmaps"], resourceNames: ["datadogtoken"], verbs: ["update"]}'
    )
    expect(
      fixText({
        right: {
          rule: { _tag: "Resource", group: "authentication.k8s.io", resource: "tokenreviews", verbs: ["create"] },
          grant: shippedRoles.authDelegator
        },
        verbs: ["create"]
      })
    ).toBe(
      "bind the built-in ClusterRole system:auth-delegator to the agent's ServiceAccount with a ClusterRoleBinding"
    )
    expect(ruleText({ _tag: "NonResource", path: "/readyz", verbs: ["get"] })).toBe(
      '{nonResourceURLs: ["/readyz"], verbs: ["get"]}'
    )
  })
})
