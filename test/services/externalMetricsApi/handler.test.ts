import { describe, expect, it } from "@effect/vitest"
import { acceptsPlainJson } from "../../../src/services/externalMetricsApi/accept.ts"
import { apiResourceList } from "../../../src/services/externalMetricsApi/discovery.ts"
import { handle } from "../../../src/services/externalMetricsApi/handler.ts"
import { rfc3339Seconds } from "../../../src/services/externalMetricsApi/metricValues.ts"
import { requestInfo } from "../../../src/services/externalMetricsApi/requestInfo.ts"
import { entry, staticServed } from "./staticServed.ts"

const now = Date.parse("2026-01-02T03:04:05.678Z")
const served = staticServed([
  entry("nginx.net.request_per_s", { kube_container_name: "nginx" }, 2.5),
  entry("nginx.net.request_per_s", { kube_container_name: "nginx" }, 9, { ts: 1_600_000_000 }),
  entry("nginx.net.request_per_s", { kube_container_name: "api", env: "prod" }, 1500),
  entry("Queue.Depth", { queue: "jobs" }, 3_000_000),
  entry("queue.depth", { queue: "mail" }, 0.001, { valid: false, reason: "no data in the last 300 s" }),
  entry("queue.depth", { queue: "mail" }, 7, { valid: false, reason: "value older than max age" })
])
const sources = { served, now: () => now }

const get = (url: string, accept?: string, method = "GET") => {
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  const query = new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
  const r = handle(requestInfo(method, path, query), { method, query, accept }, sources)
  return { ...r, json: r.headers["content-type"] === "application/json" ? JSON.parse(r.body) : undefined }
}

const metricPath = (name: string, selector?: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${name}${
    selector === undefined ? "" : `?labelSelector=${encodeURIComponent(selector)}`
  }`

const status = (code: number, reason: string, message: string | RegExp) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message: typeof message === "string" ? message : expect.stringMatching(message),
  reason,
  code
})

const aggregatedAccept =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

describe("discovery", () => {
  it("GET /apis is the legacy APIGroupList of the one group", () => {
    const r = get("/apis")
    expect(r.status).toBe(200)
    expect(r.json).toEqual({
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: [
        {
          name: "external.metrics.k8s.io",
          versions: [{ groupVersion: "external.metrics.k8s.io/v1beta1", version: "v1beta1" }],
          preferredVersion: { groupVersion: "external.metrics.k8s.io/v1beta1", version: "v1beta1" }
        }
      ]
    })
  })

  it("GET /apis/external.metrics.k8s.io is the APIGroup", () => {
    expect(get("/apis/external.metrics.k8s.io").json).toMatchObject({
      kind: "APIGroup",
      apiVersion: "v1",
      name: "external.metrics.k8s.io",
      preferredVersion: { groupVersion: "external.metrics.k8s.io/v1beta1" }
    })
  })

  it("the resource list has the generic entry and one per known metric, lower-cased", () => {
    const r = get("/apis/external.metrics.k8s.io/v1beta1")
    expect(r.json).toEqual({
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: "external.metrics.k8s.io/v1beta1",
      resources: ["externalmetrics", "nginx.net.request_per_s", "queue.depth"].map((name) => ({
        name,
        singularName: "",
        namespaced: true,
        kind: "ExternalMetricValueList",
        verbs: ["get"]
      }))
    })
  })

  it("the resource list is never empty (kubectl's discovery breaks on one)", () => {
    expect(apiResourceList([]).resources.map((r) => r.name)).toEqual(["externalmetrics"])
    expect(apiResourceList(["b", "a", "b", "externalmetrics"]).resources.map((r) => r.name)).toEqual([
      "externalmetrics",
      "a",
      "b"
    ])
  })

  it("answers 406 to an Accept naming only aggregated discovery, so the aggregator falls back", () => {
    for (const path of ["/apis", "/apis/external.metrics.k8s.io", "/apis/external.metrics.k8s.io/v1beta1"]) {
      const r = get(path, aggregatedAccept)
      expect(r.status).toBe(406)
      expect(r.json).toEqual(status(406, "NotAcceptable", /only the following media types are accepted/))
      expect(get(path, `${aggregatedAccept},application/json`).status).toBe(200)
    }
  })

  it("serves both OpenAPI documents, valid and empty", () => {
    expect(get("/openapi/v2").json).toMatchObject({ swagger: "2.0", paths: {} })
    expect(get("/openapi/v2").json.info.title).toEqual(expect.any(String))
    expect(get("/openapi/v3").json).toEqual({ paths: {} })
  })

  it("health paths answer ok", () => {
    for (const path of ["/healthz", "/livez", "/readyz"]) {
      expect(get(path)).toMatchObject({ status: 200, body: "ok" })
    }
  })
})

describe("acceptsPlainJson", () => {
  it.each<[string | undefined, boolean]>([
    [undefined, true],
    ["", true],
    ["application/json", true],
    ["*/*", true],
    ["application/*", true],
    ["application/json, */*", true],
    ["application/vnd.kubernetes.protobuf, */*", true],
    ["application/json;q=0.9", true],
    [aggregatedAccept, false],
    ["application/json;as=Table;v=v1;g=meta.k8s.io", false],
    ["application/vnd.kubernetes.protobuf", false],
    ["application/yaml", false],
    ["application/json;q=0", false],
    ["APPLICATION/JSON", true]
  ])("%j → %s", (accept, expected) => {
    expect(acceptsPlainJson(accept)).toBe(expected)
  })
})

describe("the metric value list", () => {
  it("serves the newest valid value of each matching label set, as a quantity, timestamp now", () => {
    const r = get(metricPath("nginx.net.request_per_s", "kube_container_name=nginx"))
    expect(r.status).toBe(200)
    expect(r.json).toEqual({
      kind: "ExternalMetricValueList",
      apiVersion: "external.metrics.k8s.io/v1beta1",
      metadata: {},
      items: [
        {
          metricName: "nginx.net.request_per_s",
          metricLabels: { kube_container_name: "nginx" },
          timestamp: "2026-01-02T03:04:05Z",
          value: "2500m"
        }
      ]
    })
  })

  it("without a selector every label set is an item, each once", () => {
    const r = get(metricPath("nginx.net.request_per_s"))
    expect(r.json.items.map((i: { value: string }) => i.value)).toEqual(["2500m", "1500"])
  })

  it("matches the metric name lower-cased, ignores the namespace, keeps the selector's case", () => {
    const r = get("/apis/external.metrics.k8s.io/v1beta1/namespaces/other/QUEUE.DEPTH?labelSelector=queue%3Djobs")
    expect(r.json.items).toEqual([
      { metricName: "Queue.Depth", metricLabels: { queue: "jobs" }, timestamp: "2026-01-02T03:04:05Z", value: "3M" }
    ])
    expect(get(metricPath("queue.depth", "queue=JOBS")).json.items).toEqual([])
  })

  it("no match at all is 200 with no items (the original's answer)", () => {
    expect(get(metricPath("nginx.net.request_per_s", "kube_container_name=redis"))).toMatchObject({
      status: 200,
      json: { kind: "ExternalMetricValueList", items: [] }
    })
    expect(get(metricPath("unknown.metric")).json.items).toEqual([])
  })

  it("a matched label set without a valid entry is a 503 naming the metric, its labels and why", () => {
    const r = get(metricPath("queue.depth", "queue=mail"))
    expect(r.status).toBe(503)
    expect(r.json).toEqual(
      status(
        503,
        "ServiceUnavailable",
        'external metric "queue.depth" with labels {queue=mail} has no valid value: no data in the last 300 s'
      )
    )
    // One invalid label set spoils a list that also matched a valid one: no partial sums.
    expect(get(metricPath("queue.depth")).status).toBe(503)
  })

  it("Unavailable is a 503 with the reason", () => {
    const down = staticServed()
    down.set({ unavailable: "local copy older than 60 s" })
    const path = metricPath("nginx.net.request_per_s")
    const query = new URLSearchParams()
    const r = handle(
      requestInfo("GET", path, query),
      { method: "GET", query, accept: undefined },
      {
        served: down,
        now: () => now
      }
    )
    expect(r.status).toBe(503)
    expect(JSON.parse(r.body)).toEqual(
      status(
        503,
        "ServiceUnavailable",
        'external metric "nginx.net.request_per_s" is unavailable: local copy older than 60 s'
      )
    )
  })

  it("a selector that does not parse is a 400 naming the problem", () => {
    const r = get(metricPath("queue.depth", "queue in mail"))
    expect(r.status).toBe(400)
    expect(r.json).toEqual(status(400, "BadRequest", /^unable to parse labelSelector "queue in mail": .*'\('/))
  })

  it("rfc3339Seconds drops the milliseconds", () => {
    expect(rfc3339Seconds(Date.parse("2024-05-01T12:00:07.999Z"))).toBe("2024-05-01T12:00:07Z")
  })
})

describe("other requests", () => {
  it.each([
    "/",
    "/api",
    "/apis/other.k8s.io/v1",
    "/apis/external.metrics.k8s.io/v1beta2",
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/default",
    "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/m/name",
    "/apis/external.metrics.k8s.io/v1beta1/m",
    "/apis/custom.metrics.k8s.io/v1beta1/namespaces/default/pods/*/m"
  ])("%s → 404 Status", (path) => {
    const r = get(path)
    expect(r.status).toBe(404)
    expect(r.json).toEqual(status(404, "NotFound", "the server could not find the requested resource"))
  })

  it.each(["POST", "PUT", "DELETE", "PATCH"])("%s → 405 Status", (method) => {
    for (const path of ["/apis", metricPath("queue.depth"), "/healthz"]) {
      const r = get(path, undefined, method)
      expect(r.status).toBe(405)
      expect(r.json).toEqual(status(405, "MethodNotAllowed", /does not allow this method/))
    }
  })

  it("a watch of a metric is not served", () => {
    expect(get(`${metricPath("queue.depth")}?watch=true`).status).toBe(405)
  })
})

describe("requestInfo", () => {
  const q = new URLSearchParams()
  it("a GET of a metric is a namespaced list of the metric resource (what RBAC must grant)", () => {
    expect(requestInfo("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/Nginx.Req", q)).toEqual({
      _tag: "Resource",
      route: "externalMetric",
      attributes: {
        verb: "list",
        group: "external.metrics.k8s.io",
        version: "v1beta1",
        resource: "Nginx.Req",
        namespace: "shop",
        name: "",
        subresource: ""
      }
    })
  })

  it("derives watch, get of a name, and deletecollection like k8s.io/apiserver", () => {
    const base = "/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/m"
    const verb = (method: string, path: string, query = q) => {
      const info = requestInfo(method, path, query)
      return info._tag === "Resource" ? info.attributes.verb : info._tag
    }
    expect(verb("GET", base, new URLSearchParams("watch=1"))).toBe("watch")
    expect(verb("GET", base, new URLSearchParams("watch=false"))).toBe("list")
    expect(verb("GET", `${base}/x`)).toBe("get")
    expect(verb("DELETE", base)).toBe("deletecollection")
    expect(verb("POST", base)).toBe("create")
  })

  it("discovery and OpenAPI are non-resource paths; health is its own kind", () => {
    expect(requestInfo("GET", "/apis/external.metrics.k8s.io/v1beta1", q)).toEqual({
      _tag: "NonResource",
      route: "apiResources",
      path: "/apis/external.metrics.k8s.io/v1beta1",
      verb: "get"
    })
    expect(requestInfo("GET", "/openapi/v2", q)).toMatchObject({ _tag: "NonResource", route: "openapiV2" })
    expect(requestInfo("GET", "/readyz", q)).toEqual({ _tag: "Health", route: "readyz" })
    expect(requestInfo("GET", "/readyz/ping", q)).toMatchObject({ _tag: "NonResource", route: "unknown" })
  })

  it("decodes path segments", () => {
    const info = requestInfo("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/a/my%2Emetric", q)
    expect(info).toMatchObject({ route: "externalMetric", attributes: { resource: "my.metric" } })
  })
})
