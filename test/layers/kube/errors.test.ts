import { describe, expect, it } from "@effect/vitest"
import {
  errorFromResponse,
  errorFromStatus,
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
