import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import {
  describeIssue,
  errorFromIssue,
  errorFromResponse,
  errorFromStatus,
  formatFieldPath,
  isRetryable,
  KubeError,
  reasonForStatus
} from "../../../src/layers/kube/errors.ts"
import { collectionPath, objectPath, withQuery } from "../../../src/layers/kube/paths.ts"

describe("reasonForStatus", () => {
  it.each([
    [400, "Invalid", false],
    [401, "Unauthorized", false],
    [403, "Forbidden", false],
    [404, "NotFound", false],
    [405, "Invalid", false],
    [409, "Conflict", false],
    [410, "Gone", false],
    [422, "Invalid", false],
    [429, "TooManyRequests", true],
    [500, "ServerError", true],
    [503, "ServerError", true],
    [504, "ServerError", true]
  ] as const)("%d → %s (retryable: %s)", (status, reason, retryable) => {
    expect(reasonForStatus(status)).toBe(reason)
    expect(isRetryable(new KubeError({ reason, verb: "GET", path: "/x", status, detail: "" }))).toBe(retryable)
  })

  it("retries transport failures and timeouts, not decode failures", () => {
    const e = (reason: "Transport" | "Timeout" | "Decode") =>
      new KubeError({ reason, verb: "GET", path: "/", detail: "" })
    expect(isRetryable(e("Transport"))).toBe(true)
    expect(isRetryable(e("Timeout"))).toBe(true)
    expect(isRetryable(e("Decode"))).toBe(false)
  })
})

describe("errorFromResponse", () => {
  it("keeps the API's reason and message of a Status body", () => {
    const body = JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: 'configmaps "x" already exists',
      reason: "AlreadyExists",
      code: 409
    })
    const e = errorFromResponse("POST", "/api/v1/namespaces/a/configmaps", 409, body)
    expect(e).toMatchObject({ reason: "Conflict", status: 409, apiReason: "AlreadyExists" })
    expect(e.message).toBe(
      'POST /api/v1/namespaces/a/configmaps: 409 Conflict/AlreadyExists: configmaps "x" already exists'
    )
  })

  it("uses a text body as the detail", () => {
    const e = errorFromResponse("GET", "/readyz", 500, "[-]etcd failed\nreadyz check failed\n")
    expect(e).toMatchObject({ reason: "ServerError", status: 500, detail: "[-]etcd failed\nreadyz check failed" })
    expect(e.apiReason).toBeUndefined()
  })

  it("names the status when the body is empty", () => {
    expect(errorFromResponse("GET", "/x", 503, "").detail).toBe("HTTP 503")
  })
})

describe("errorFromStatus", () => {
  it("maps a watch ERROR 410 to Gone", () => {
    const e = errorFromStatus("WATCH", "/api/v1/pods?watch=true", {
      kind: "Status",
      code: 410,
      reason: "Expired",
      message: "too old resource version: 1 (42)"
    })
    expect(e).toMatchObject({ reason: "Gone", status: 410, apiReason: "Expired", verb: "WATCH" })
  })

  it("takes a Status without a code as a server error", () => {
    expect(errorFromStatus("WATCH", "/", { kind: "Status", message: "boom" })).toMatchObject({
      reason: "ServerError",
      detail: "boom"
    })
  })
})

describe("decode errors", () => {
  it.each([
    [[], ""],
    [["spec"], "spec"],
    [["spec", "metrics", 0, "external"], "spec.metrics[0].external"],
    [["metadata", "labels", "app.kubernetes.io/name"], 'metadata.labels["app.kubernetes.io/name"]'],
    [["data", "event.tokenKey"], 'data["event.tokenKey"]'],
    [[0, "a"], "[0].a"],
    [["data", ""], 'data[""]'],
    [["$ref", "_x1"], "$ref._x1"]
  ] as const)("field path %j → %s", (path, text) => {
    expect(formatFieldPath(path)).toBe(text)
  })

  const Thing = Schema.Struct({
    spec: Schema.Struct({ count: Schema.Number, name: Schema.optionalKey(Schema.String) })
  })
  const issueOf = (value: unknown) => {
    const r = Schema.decodeUnknownResult(Thing)(value)
    if (Result.isSuccess(r)) throw new Error("expected a failure")
    return r.failure.issue
  }

  it.each([
    [{ spec: { count: "60" } }, 'spec.count: expected number, got "60"'],
    [{ spec: {} }, "spec.count: missing"],
    [{ spec: { count: 1, name: { password: "hunter2" } } }, "spec.name: expected string, got an object"],
    [{ spec: { count: [1] } }, "spec.count: expected number, got an array"],
    [{ spec: null }, "spec: expected object, got null"],
    [7, "expected object, got 7"]
  ])("%j → %s", (value, detail) => {
    expect(describeIssue(issueOf(value), value)).toBe(detail)
  })

  it("a Decode KubeError carries verb, path and status", () => {
    const value = { spec: { count: false } }
    const e = errorFromIssue("GET", "/api/v1/x", issueOf(value), value, 200)
    expect(e).toMatchObject({ _tag: "KubeError", reason: "Decode", verb: "GET", path: "/api/v1/x", status: 200 })
    expect(e.message).toBe("GET /api/v1/x: 200 Decode: spec.count: expected number, got false")
    expect(isRetryable(e)).toBe(false)
    expect(errorFromIssue("WATCH", "/w", issueOf(value), value).status).toBeUndefined()
  })
})

describe("paths", () => {
  it.each([
    [{ group: "", version: "v1", resource: "pods" }, "/api/v1/pods"],
    [
      { group: "", version: "v1", resource: "configmaps", namespace: "kube-system" },
      "/api/v1/namespaces/kube-system/configmaps"
    ],
    [
      { group: "coordination.k8s.io", version: "v1", resource: "leases", namespace: "a" },
      "/apis/coordination.k8s.io/v1/namespaces/a/leases"
    ],
    [
      { group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" },
      "/apis/autoscaling/v2/horizontalpodautoscalers"
    ]
  ])("%j → %s", (ref, path) => {
    expect(collectionPath(ref)).toBe(path)
  })

  it("encodes names and query values", () => {
    expect(objectPath({ group: "", version: "v1", resource: "configmaps", namespace: "a" }, "x/y")).toBe(
      "/api/v1/namespaces/a/configmaps/x%2Fy"
    )
    expect(
      withQuery("/api/v1/pods", {
        labelSelector: "app in (a,b)",
        limit: 10,
        continue: undefined,
        resourceVersion: "",
        watch: true
      })
    ).toBe("/api/v1/pods?labelSelector=app+in+%28a%2Cb%29&limit=10&watch=true")
  })
})
