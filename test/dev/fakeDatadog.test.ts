/**
 * The fake Datadog API against the real `@datadog/datadog-api-client` v1 client (so the fake
 * accepts exactly what the library sends and answers what it decodes), and against plain fetch
 * for what the library hides (headers of an error, compressed bodies, multipart uploads).
 */
import { deflateSync, gzipSync } from "node:zlib"
import { logger } from "@datadog/datadog-api-client/dist/logger.js"
import {
  type Configuration,
  createConfiguration
} from "@datadog/datadog-api-client/dist/packages/datadog-api-client-common/configuration.js"
import { ApiException } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-common/exception.js"
import { BaseServerConfiguration } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-common/servers.js"
import { AuthenticationApi } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/apis/AuthenticationApi.js"
import { EventsApi } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/apis/EventsApi.js"
import { MetricsApi } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/apis/MetricsApi.js"
import { ServiceChecksApi } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/apis/ServiceChecksApi.js"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { FakeDatadog, startFakeDatadog } from "../../dev/fakeDatadog/index.ts"

let fake: FakeDatadog

beforeAll(async () => {
  logger.setLevel("silent") // the library logs every transport error (the dropped connections here) to the console
  fake = await startFakeDatadog()
})
afterAll(async () => {
  await fake?.close()
})
beforeEach(() => {
  fake.reset()
  fake.setAcceptedApiKeys("any")
  fake.setAcceptedAppKeys("any")
  fake.setQueryRateLimit({})
})

const config = (options: { apiKey?: string; appKey?: string; retry?: boolean } = {}): Configuration =>
  createConfiguration({
    baseServer: new BaseServerConfiguration(fake.url, {}),
    authMethods: { apiKeyAuth: options.apiKey ?? "api-key-1", appKeyAuth: options.appKey ?? "app-key-1" },
    ...(options.retry === true ? { enableRetry: true, maxRetries: 2 } : {})
  })

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected the call to fail")
}

const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "dd-api-key": "k", "content-type": "application/json", ...headers },
    body
  })

const event = (title: string) => ({ title, text: `text of ${title}`, tags: ["kube_kind:Pod"] })

describe("the real v1 client against the fake", () => {
  it("validates an accepted API key and refuses others with 403 Forbidden", async () => {
    fake.setAcceptedApiKeys(["good"])
    const ok = await new AuthenticationApi(config({ apiKey: "good" })).validate()
    expect(ok.valid).toBe(true)

    const error = await rejection(new AuthenticationApi(config({ apiKey: "bad" })).validate())
    expect(error).toBeInstanceOf(ApiException)
    expect((error as ApiException<unknown>).code).toBe(403)
    expect((error as ApiException<{ errors: string[] }>).body.errors).toEqual(["Forbidden"])

    const [accepted, refused] = fake.requests({ path: "/api/v1/validate" })
    expect(accepted?.headers["dd-api-key"]).toBe("good")
    expect(accepted?.status).toBe(200)
    expect(refused?.status).toBe(403)
    expect(refused?.accepted).toBe(false)
  })

  it("creates an event: 202 with the event and an id, recorded with the library's headers", async () => {
    const api = new EventsApi(config())
    const sent = {
      title: "Events from the Pod default/web-1",
      text: "%%% \n1 **Scheduled**: ok\n \n %%%",
      dateHappened: 1_700_000_000,
      priority: "normal" as const,
      host: "node-1",
      tags: ["kube_namespace:default", "kube_kind:Pod"],
      alertType: "info" as const,
      aggregationKey: "kubernetes_apiserver:uid-1",
      sourceTypeName: "kubernetes",
      relatedEventId: 7
    }
    const response = await api.createEvent({ body: sent })
    expect(response.status).toBe("ok")
    expect(response.event?.id).toBe(1)
    expect(response.event?.title).toBe(sent.title)
    expect(response.event?.tags).toEqual(sent.tags)

    expect(fake.events()).toEqual([
      {
        title: sent.title,
        text: sent.text,
        date_happened: 1_700_000_000,
        priority: "normal",
        host: "node-1",
        tags: sent.tags,
        alert_type: "info",
        aggregation_key: "kubernetes_apiserver:uid-1",
        source_type_name: "kubernetes",
        related_event_id: 7
      }
    ])
    const [request] = fake.requests({ path: "/api/v1/events" })
    expect(request?.method).toBe("POST")
    expect(request?.status).toBe(202)
    expect(request?.headers["dd-api-key"]).toBe("api-key-1")
    expect(request?.headers["dd-application-key"]).toBeUndefined()
    expect(request?.headers["content-type"]).toBe("application/json")
    expect(request?.headers["content-encoding"]).toBeUndefined()
    expect(request?.headers["user-agent"]).toMatch(/^datadog-api-client-typescript\/1\.64\.0 /)
    expect(request?.headers["accept-encoding"]).toBe("gzip,deflate")
  })

  it("keeps every accepted event, in arrival order", async () => {
    const api = new EventsApi(config())
    for (let i = 0; i < 20; i++) await api.createEvent({ body: event(`e${i}`) })
    await Promise.all([20, 21, 22].map((i) => api.createEvent({ body: event(`e${i}`) })))
    const titles = fake.events().map((e) => e.title)
    expect(titles.slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `e${i}`))
    expect([...titles.slice(20)].sort()).toEqual(["e20", "e21", "e22"])
  })

  it("accepts service checks: 202 {status: ok}, each check recorded", async () => {
    const api = new ServiceChecksApi(config())
    const response = await api.submitServiceCheck({
      body: [
        {
          check: "kube_apiserver_controlplane.up",
          hostName: "",
          status: 0,
          tags: ["component:etcd-0"],
          timestamp: 1_700_000_000,
          message: '{"health":"true"}'
        },
        { check: "kube_apiserver_controlplane.up", hostName: "dca", status: 2, tags: [], message: "down" }
      ]
    })
    expect(response.status).toBe("ok")
    expect(fake.serviceChecks()).toEqual([
      {
        check: "kube_apiserver_controlplane.up",
        host_name: "",
        status: 0,
        tags: ["component:etcd-0"],
        timestamp: 1_700_000_000,
        message: '{"health":"true"}'
      },
      { check: "kube_apiserver_controlplane.up", host_name: "dca", status: 2, tags: [], message: "down" }
    ])
    expect(fake.requests({ path: "/api/v1/check_run" })[0]?.headers.accept).toBe("text/json, application/json")
  })

  it("answers several queries at once, each series with its query_index", async () => {
    const q0 = "avg:nginx.net.request_per_s{kube_container_name:nginx,env:prod}.rollup(30)"
    const q1 = "sum:redis.clients{*}.rollup(30)"
    const q2 = "max:no.data{a:b}.rollup(30)"
    fake.setSeries(q0, [
      [1_700_000_000_000, 1.5],
      [1_700_000_030_000, null],
      [1_700_000_060_000, 2.5]
    ])
    fake.setSeries(q1, (query, from, to) => [{ points: [[to * 1000, from]], scope: "*", tagSet: [query] }])

    const response = await new MetricsApi(config()).queryMetrics({
      from: 1_700_000_000,
      to: 1_700_000_300,
      query: `${q0},${q2},${q1}`
    })
    expect(response.status).toBe("ok")
    expect(response.resType).toBe("time_series")
    expect(response.fromDate).toBe(1_700_000_000_000)
    expect(response.toDate).toBe(1_700_000_300_000)
    expect(response.query).toBe(`${q0},${q2},${q1}`)
    const series = response.series ?? []
    expect(series.map((s) => [s.queryIndex, s.metric, s.scope, s.expression])).toEqual([
      [0, "nginx.net.request_per_s", "kube_container_name:nginx,env:prod", q0],
      [2, "redis.clients", "*", q1]
    ])
    expect(series[0]?.pointlist).toEqual([
      [1_700_000_000_000, 1.5],
      [1_700_000_030_000, null],
      [1_700_000_060_000, 2.5]
    ])
    expect(series[0]?.aggr).toBe("avg")
    expect(series[0]?.interval).toBe(30)
    expect(series[0]?.length).toBe(3)
    expect(series[1]?.pointlist).toEqual([[1_700_000_300_000, 1_700_000_000]])
    expect(series[1]?.tagSet).toEqual([q1])

    const [request] = fake.requests({ path: "/api/v1/query" })
    expect(request?.method).toBe("GET")
    expect(request?.query).toEqual({ from: "1700000000", to: "1700000300", query: `${q0},${q2},${q1}` })
    expect(request?.headers["dd-api-key"]).toBe("api-key-1")
    expect(request?.headers["dd-application-key"]).toBe("app-key-1")
    expect(fake.metricQueries()).toEqual([
      { from: 1_700_000_000, to: 1_700_000_300, query: `${q0},${q2},${q1}`, time: request?.time }
    ])
  })

  it("answers several series for one query, a fallback for unscripted queries, and none otherwise", async () => {
    fake.setSeries("a{*}", [{ points: [[1000, 1]] }, { points: [[1000, 2]], scope: "host:x" }])
    const api = new MetricsApi(config())
    const twice = await api.queryMetrics({ from: 1, to: 2, query: "a{*}" })
    expect(twice.series?.map((s) => [s.queryIndex, s.scope, s.pointlist])).toEqual([
      [0, "*", [[1000, 1]]],
      [0, "host:x", [[1000, 2]]]
    ])
    expect((await api.queryMetrics({ from: 1, to: 2, query: "b{*}" })).series).toEqual([])
    fake.setSeriesFallback((query) => (query.startsWith("b") ? [[5000, 5]] : undefined))
    const fallback = await api.queryMetrics({ from: 1, to: 2, query: "b{*},c{*}" })
    expect(fallback.series?.map((s) => [s.queryIndex, s.pointlist])).toEqual([[0, [[5000, 5]]]])
  })

  it("refuses a metrics query without an application key", async () => {
    const api = new MetricsApi(
      createConfiguration({ baseServer: new BaseServerConfiguration(fake.url, {}), authMethods: { apiKeyAuth: "k" } })
    )
    const error = (await rejection(api.queryMetrics({ from: 1, to: 2, query: "a{*}" }))) as ApiException<{
      errors: string[]
    }>
    expect(error.code).toBe(403)
    expect(error.body.errors[0]).toMatch(/application key/)
  })

  it("sets X-RateLimit-* on query answers, counting down, or fixed values", async () => {
    fake.setQueryRateLimit({ limit: 10, period: 60 })
    const get = () =>
      fetch(`${fake.url}/api/v1/query?from=1&to=2&query=a{*}`, {
        headers: { "dd-api-key": "k", "dd-application-key": "a" }
      })
    const first = await get()
    const second = await get()
    expect(first.headers.get("x-ratelimit-limit")).toBe("10")
    expect(first.headers.get("x-ratelimit-period")).toBe("60")
    expect(first.headers.get("x-ratelimit-remaining")).toBe("9")
    expect(second.headers.get("x-ratelimit-remaining")).toBe("8")
    expect(Number(first.headers.get("x-ratelimit-reset"))).toBeGreaterThan(0)
    expect(Number(first.headers.get("x-ratelimit-reset"))).toBeLessThanOrEqual(60)

    fake.setQueryRateLimit({ limit: 1600, period: 3600, remaining: 42, reset: 17 })
    const fixed = await get()
    expect([...fixed.headers].filter(([name]) => name.startsWith("x-ratelimit-"))).toEqual([
      ["x-ratelimit-limit", "1600"],
      ["x-ratelimit-period", "3600"],
      ["x-ratelimit-remaining", "42"],
      ["x-ratelimit-reset", "17"]
    ])
    fake.setQueryRateLimit(false)
    expect((await get()).headers.get("x-ratelimit-limit")).toBeNull()
  })
})

describe("faults", () => {
  it("a 5xx reaches the library as an ApiException with that code; the event is not kept", async () => {
    fake.inject({ kind: "status", status: 503 }, { path: "/api/v1/events", times: 1 })
    const api = new EventsApi(config())
    const error = (await rejection(api.createEvent({ body: event("lost") }))) as ApiException<unknown>
    expect(error).toBeInstanceOf(ApiException)
    expect(error.code).toBe(503)
    await api.createEvent({ body: event("kept") })
    expect(fake.events().map((e) => e.title)).toEqual(["kept"])
    expect(fake.requests({ path: "/api/v1/events" }).map((r) => [r.status, r.fault, r.accepted])).toEqual([
      [503, "status", false],
      [202, undefined, true]
    ])
  })

  it("a 429 carries X-RateLimit-* headers; the library's own retry waits X-RateLimit-Reset seconds", async () => {
    fake.inject({ kind: "rateLimit", limit: 1600, period: 3600, remaining: 0, reset: 12 }, { times: 1 })
    const response = await fetch(`${fake.url}/api/v1/query?from=1&to=2&query=a{*}`, {
      headers: { "dd-api-key": "k", "dd-application-key": "a" }
    })
    expect(response.status).toBe(429)
    expect(await response.json()).toEqual({ errors: ["Too many requests"] })
    expect(response.headers.get("x-ratelimit-limit")).toBe("1600")
    expect(response.headers.get("x-ratelimit-period")).toBe("3600")
    expect(response.headers.get("x-ratelimit-remaining")).toBe("0")
    expect(response.headers.get("x-ratelimit-reset")).toBe("12")

    // reset 0: the library retries at once (it sleeps X-RateLimit-Reset seconds) and succeeds.
    fake.inject({ kind: "rateLimit", reset: 0 }, { path: "/api/v1/check_run", times: 1 })
    const api = new ServiceChecksApi(config({ retry: true }))
    await api.submitServiceCheck({ body: [{ check: "c", hostName: "h", status: 0, tags: [] }] })
    expect(fake.requests({ path: "/api/v1/check_run" }).map((r) => r.status)).toEqual([429, 202])
    expect(fake.serviceChecks()).toHaveLength(1)

    // Without retries the library throws; its ApiException has the code but no headers.
    fake.inject({ kind: "rateLimit" }, { path: "/api/v1/validate", times: 1 })
    const error = (await rejection(new AuthenticationApi(config()).validate())) as ApiException<unknown>
    expect(error.code).toBe(429)
    expect(Object.keys(error)).not.toContain("headers")
  })

  it("a malformed body: fetch fails to parse it, and the library silently decodes it as an empty success", async () => {
    fake.inject({ kind: "malformed" }, { path: "/api/v1/validate", times: 1 })
    const raw = await fetch(`${fake.url}/api/v1/validate`, { headers: { "dd-api-key": "k" } })
    expect(raw.status).toBe(200)
    expect(raw.headers.get("content-type")).toBe("application/json")
    await expect(raw.json()).rejects.toThrow(SyntaxError)

    fake.inject({ kind: "malformed" }, { path: "/api/v1/events", times: 1 })
    const response = await new EventsApi(config()).createEvent({ body: event("mangled") })
    // The library's JSON.parse failure falls back to the raw text: no status, no event.
    expect(response.status).toBeUndefined()
    expect(response.event).toBeUndefined()
    // The fake did act on it, as Datadog would have before the answer got mangled.
    expect(fake.events().map((e) => e.title)).toEqual(["mangled"])
    expect(fake.requests({ path: "/api/v1/events" })[0]?.fault).toBe("malformed")
  })

  it("a dropped connection: the socket closes without an answer", async () => {
    fake.inject({ kind: "drop" }, { path: "/api/v1/events", times: 1 })
    const error = (await rejection(new EventsApi(config()).createEvent({ body: event("dropped") }))) as {
      code?: string
    }
    expect(error.code).toBe("ECONNRESET")
    await expect(post("/api/v1/events", JSON.stringify(event("x")))).resolves.toHaveProperty("status", 202)
    expect(fake.events().map((e) => e.title)).toEqual(["x"])
    const [dropped] = fake.requests({ path: "/api/v1/events" })
    expect(dropped?.status).toBeUndefined()
    expect(dropped?.done).toBe(true)
    expect(dropped?.fault).toBe("drop")

    // afterAccepting: Datadog kept the event, the answer was lost on the way back.
    fake.inject({ kind: "drop", afterAccepting: true }, { times: 1 })
    await expect(post("/api/v1/events", JSON.stringify(event("kept, unanswered")))).rejects.toThrow(TypeError)
    expect(fake.events().map((e) => e.title)).toEqual(["x", "kept, unanswered"])
  })

  it("latency delays the answer, and adds up with another fault", async () => {
    fake.inject({ kind: "latency", ms: 300 }, { path: "/api/v1/validate", times: 2 })
    fake.inject({ kind: "status", status: 502 }, { path: "/api/v1/validate", times: 1 })
    const timed = async () => {
      const start = performance.now()
      const response = await fetch(`${fake.url}/api/v1/validate`, { headers: { "dd-api-key": "k" } })
      return { status: response.status, ms: performance.now() - start }
    }
    const first = await timed()
    const second = await timed()
    const third = await timed()
    expect(first.status).toBe(502)
    expect(first.ms).toBeGreaterThanOrEqual(290)
    expect(second.status).toBe(200)
    expect(second.ms).toBeGreaterThanOrEqual(290)
    expect(third.status).toBe(200)
    expect(third.ms).toBeLessThan(290)
    expect(fake.requests().map((r) => r.fault)).toEqual(["status", "latency", undefined])
  })

  it("applies by path and method, for N requests or until removed; rules without a path spare /fake/", async () => {
    const handle = fake.inject({ kind: "status", status: 500 }, { path: /^\/api\/v1\/(events|check_run)$/ })
    const once = fake.inject({ kind: "status", status: 504 }, { method: "GET", times: 1 })
    expect(once.remaining()).toBe(1)
    const status = async (path: string, init?: RequestInit) =>
      (await fetch(`${fake.url}${path}`, { headers: { "dd-api-key": "k" }, ...init })).status
    expect(await status("/api/v1/validate")).toBe(504)
    expect(once.remaining()).toBe(0)
    expect(await status("/api/v1/validate")).toBe(200)
    expect(await status("/fake/requests")).toBe(200)
    for (let i = 0; i < 3; i++) expect((await post("/api/v1/events", JSON.stringify(event("e")))).status).toBe(500)
    expect(handle.applied()).toBe(3)
    expect(handle.remaining()).toBe(Number.POSITIVE_INFINITY)
    handle.remove()
    expect((await post("/api/v1/events", JSON.stringify(event("e")))).status).toBe(202)

    fake.inject({ kind: "status", status: 500 })
    expect(await status("/api/v1/validate")).toBe(500)
    fake.clearFaults()
    expect(await status("/api/v1/validate")).toBe(200)
  })
})

describe("recording", () => {
  it("decodes gzip and deflate bodies before parsing them", async () => {
    const gz = await post("/api/v1/events", gzipSync(JSON.stringify(event("gzipped"))), { "content-encoding": "gzip" })
    const df = await post(
      "/api/v1/check_run",
      deflateSync(JSON.stringify([{ check: "c", host_name: "h", status: 1 }])),
      {
        "content-encoding": "deflate"
      }
    )
    expect([gz.status, df.status]).toEqual([202, 202])
    expect(fake.events().map((e) => e.title)).toEqual(["gzipped"])
    expect(fake.serviceChecks()).toEqual([{ check: "c", host_name: "h", status: 1 }])
    const [gzRecord, dfRecord] = fake.requests()
    expect(gzRecord?.headers["content-encoding"]).toBe("gzip")
    expect(gzRecord?.rawBody.toString()).toBe(JSON.stringify(event("gzipped")))
    expect(dfRecord?.body).toEqual([{ check: "c", host_name: "h", status: 1 }])

    const bad = await post("/api/v1/events", "not gzip", { "content-encoding": "gzip" })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ errors: [expect.stringMatching(/^Bad Request: body is not valid gzip/)] })
  })

  it("waits for a request still to come, and times out naming what it saw", async () => {
    const waiting = fake.waitForRequest((r) => r.path === "/api/v1/events" && r.done)
    // Sent only once the wait is registered: the request is still to come when waiting starts.
    void post("/api/v1/events", JSON.stringify(event("late")))
    const request = await waiting
    expect(request.status).toBe(202)
    expect(await fake.waitFor(() => fake.events().length === 1 && fake.events()[0])).toMatchObject({ title: "late" })
    await expect(
      fake.waitFor(() => fake.events().length > 1, { timeoutMs: 100, what: "a second event" })
    ).rejects.toThrow(
      /timed out after 100 ms waiting for a second event; 1 requests recorded, last: POST \/api\/v1\/events 202/
    )
  })

  it("records a flare upload: HEAD, then a multipart POST with fields and the file's bytes", async () => {
    const head = await fetch(`${fake.url}/support/flare/4242`, { method: "HEAD", headers: { "dd-api-key": "k" } })
    expect(head.status).toBe(200)
    const bytes = new Uint8Array(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256))
    const form = new FormData()
    form.append("case_id", "4242")
    form.append("email", "ops@example.com")
    form.append("source", "local")
    form.append("flare_file", new Blob([bytes], { type: "application/zip" }), "datadog-agent-2024-05-01.zip")
    form.append("agent_version", "7.72.0")
    form.append("hostname", "dca-0")
    const response = await fetch(`${fake.url}/support/flare/4242`, {
      method: "POST",
      headers: { "dd-api-key": "k" },
      body: form
    })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ case_id: 4242 })

    const [upload] = fake.flares()
    expect(upload?.pathCaseId).toBe("4242")
    expect(upload?.caseId).toBe(4242)
    expect(upload?.fields).toEqual({
      case_id: "4242",
      email: "ops@example.com",
      source: "local",
      agent_version: "7.72.0",
      hostname: "dca-0"
    })
    expect(upload?.file?.filename).toBe("datadog-agent-2024-05-01.zip")
    expect(upload?.file?.contentType).toBe("application/zip")
    expect(upload?.file?.bytes.equals(Buffer.from(bytes))).toBe(true)

    const noCase = new FormData()
    noCase.append("flare_file", new Blob(["zip"]), "f.zip")
    const fresh = await fetch(`${fake.url}/support/flare`, {
      method: "POST",
      headers: { "dd-api-key": "k" },
      body: noCase
    })
    expect(await fresh.json()).toEqual({ case_id: expect.any(Number) })
    const empty = await fetch(`${fake.url}/support/flare`, {
      method: "POST",
      headers: { "dd-api-key": "k" },
      body: new FormData()
    })
    expect(empty.status).toBe(400)
  })

  it("serves what it recorded at GET /fake/requests, keys redacted, and clears it on DELETE", async () => {
    await post("/api/v1/events", JSON.stringify(event("shown")), { "dd-api-key": "secret-api-key-abcd" })
    const listed = (await (await fetch(`${fake.url}/fake/requests`)).json()) as Array<Record<string, unknown>>
    expect(listed).toHaveLength(1)
    expect(listed[0]).toMatchObject({
      method: "POST",
      path: "/api/v1/events",
      status: 202,
      accepted: true,
      body: event("shown"),
      headers: expect.objectContaining({ "dd-api-key": "***abcd" })
    })
    expect(fake.requests()).toHaveLength(1) // the fake's own endpoints are not recorded
    expect((await fetch(`${fake.url}/fake/requests`, { method: "DELETE" })).status).toBe(200)
    expect(fake.requests()).toEqual([])
  })
})

describe("bad requests", () => {
  const errorsOf = async (response: Response) => ({
    status: response.status,
    body: (await response.json()) as { errors: string[] }
  })

  const cases: ReadonlyArray<{ name: string; status: number; message: RegExp; send: () => Promise<Response> }> = [
    {
      name: "malformed JSON",
      status: 400,
      message: /^Bad Request: malformed JSON/,
      send: () => post("/api/v1/events", "{nope")
    },
    {
      name: "an event without a title",
      status: 400,
      message: /title is required/,
      send: () => post("/api/v1/events", JSON.stringify({ text: "t" }))
    },
    {
      name: "a service check with status 5",
      status: 400,
      message: /service check \[0\]: status must be 0 \(OK\)/,
      send: () => post("/api/v1/check_run", JSON.stringify([{ check: "c", host_name: "h", status: 5 }]))
    },
    {
      name: "service checks not in an array",
      status: 400,
      message: /JSON array/,
      send: () => post("/api/v1/check_run", "{}")
    },
    {
      name: "a missing API key",
      status: 403,
      message: /no API key \(DD-API-KEY header\)/,
      send: () => fetch(`${fake.url}/api/v1/events`, { method: "POST", body: "{}" })
    },
    {
      name: "a query without from",
      status: 400,
      message: /Missing required parameter 'from'/,
      send: () =>
        fetch(`${fake.url}/api/v1/query?to=2&query=a`, { headers: { "dd-api-key": "k", "dd-application-key": "a" } })
    },
    {
      name: "a wrong method",
      status: 405,
      message: /Method Not Allowed: GET \/api\/v1\/events \(allowed: POST\)/,
      send: () => fetch(`${fake.url}/api/v1/events`)
    },
    {
      name: "an unknown path",
      status: 404,
      message: /Not found: GET \/api\/v2\/series/,
      send: () => fetch(`${fake.url}/api/v2/series`)
    }
  ]

  it.each(cases)("$name: $status naming the problem", async ({ send, status, message }) => {
    const { status: got, body } = await errorsOf(await send())
    expect(got).toBe(status)
    expect(body.errors).toHaveLength(1)
    expect(body.errors[0]).toMatch(message)
  })

  it("a 405 names the allowed methods in Allow", async () => {
    const response = await fetch(`${fake.url}/api/v1/check_run`, { method: "PUT", headers: { "dd-api-key": "k" } })
    expect(response.headers.get("allow")).toBe("POST")
  })
})

describe("close", () => {
  it("drops requests held by latency and stops at once", async () => {
    const own = await startFakeDatadog()
    own.inject({ kind: "latency", ms: 60_000 })
    const pending = fetch(`${own.url}/api/v1/validate`, { headers: { "dd-api-key": "k" } })
    await own.waitForRequest((r) => r.path === "/api/v1/validate")
    const start = performance.now()
    await own.close()
    await expect(pending).rejects.toThrow(TypeError)
    expect(performance.now() - start).toBeLessThan(5_000)
    expect(own.requests()[0]?.status).toBeUndefined()
  })
})

describe("FakeDatadog in Effect", () => {
  it("scoped: serves while the scope is open and is closed with it", async () => {
    const scope = Effect.runSync(Scope.make())
    const started = await Effect.runPromise(FakeDatadog.scoped({ acceptedApiKeys: ["x"] }).pipe(Scope.provide(scope)))
    const response = await fetch(`${started.url}/api/v1/validate`, { headers: { "dd-api-key": "x" } })
    expect(await response.json()).toEqual({ valid: true })
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await expect(fetch(`${started.url}/api/v1/validate`)).rejects.toThrow(TypeError)
  })

  it("layer: provides FakeDatadog.Service", async () => {
    const url = await Effect.runPromise(
      Effect.gen(function* () {
        const served = yield* FakeDatadog.Service
        const response = yield* Effect.promise(() =>
          fetch(`${served.url}/api/v1/validate`, { headers: { "dd-api-key": "k" } })
        )
        expect(response.status).toBe(200)
        expect(served.requests()).toHaveLength(1)
        return served.url
      }).pipe(Effect.provide(Layer.fresh(FakeDatadog.layer())))
    )
    await expect(fetch(`${url}/api/v1/validate`)).rejects.toThrow(TypeError)
  })
})
