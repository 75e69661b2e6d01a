/**
 * DatadogClient against the real fake Datadog API (dev/fakeDatadog): what each method sends
 * (path, headers, body) and what it decodes; failures and their reasons; retries, 429 waits and
 * timeouts on the test clock (the sockets are real: a test waits for the real request, then
 * moves the clock); telemetry. Proxies: DatadogClientProxy.test.ts; key validation at start:
 * DatadogClientKeyCheck.test.ts.
 */
import { beforeEach, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Metric, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { type FakeDatadog, startFakeDatadog } from "../../dev/fakeDatadog/index.ts"
import { ClusterAgentConfig, type ClusterAgentConfigShape, resolve } from "../../src/layers/Config.ts"
import {
  clientOptionsFromConfig,
  DatadogApiError,
  DatadogClient,
  type EventCreateRequest,
  type ServiceCheck
} from "../../src/layers/DatadogClient.ts"
import { formatPrometheus } from "../../src/lib/prometheus.ts"
import { parsePrometheus } from "../support/prometheus.ts"
import { startGzipRelay } from "./datadog/servers.ts"
import {
  API_KEY,
  APP_KEY,
  captureLogs,
  clientOptions,
  metricValue,
  nthRetry,
  until,
  useFakeDatadog
} from "./datadog/support.ts"

const EVENTS = "/api/v1/events"
const CHECK_RUN = "/api/v1/check_run"
const VALIDATE = "/api/v1/validate"
const QUERY = "/api/v1/query"

const fake = useFakeDatadog()

beforeEach(() => {
  fake.setQueryRateLimit({})
})

const client = (overrides: Parameters<typeof clientOptions>[1] = {}) =>
  DatadogClient.make(clientOptions(fake.url, overrides))

const event = (title: string, extra: Partial<EventCreateRequest> = {}): EventCreateRequest => ({
  title,
  text: `text of ${title}`,
  ...extra
})

const failure = <A>(effect: Effect.Effect<A, DatadogApiError>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail"
      ? Effect.succeed(exit.cause.reasons[0].error)
      : Effect.die(new Error(`expected a DatadogApiError, got ${String(exit)}`))
  )

const requestsCount = (status: "success" | "error") => metricValue("datadog_requests", { status })
const gauge = (name: string, endpoint: string) => metricValue(`rate_limit_queries_${name}`, { endpoint })

describe("DatadogClient: requests and answers", () => {
  it.effect("validateApiKey: GET /api/v1/validate with DD-API-KEY and the agent's user agent", () =>
    Effect.gen(function* () {
      const c = yield* client()
      yield* c.validateApiKey()
      const [request] = fake.requests({ path: VALIDATE })
      expect(request?.method).toBe("GET")
      expect(request?.status).toBe(200)
      expect(request?.headers["dd-api-key"]).toBe(API_KEY)
      expect(request?.headers["dd-application-key"]).toBeUndefined()
      expect(request?.headers["user-agent"]).toMatch(/^datadog-cluster-agent\/\d+\.\d+\.\d+/)
      expect(request?.headers["accept-encoding"]).toBe("gzip, deflate")
      expect(request?.query).toEqual({})
      expect((yield* c.keyStatus).state).toBe("valid")
    })
  )

  it.effect("submitEvents: one POST /api/v1/events per event, in order, snake_case bodies; the created ids", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const first = event("Events from the Pod default/web-1", {
        dateHappened: 1_700_000_000,
        priority: "normal",
        host: "node-1",
        tags: ["kube_namespace:default", "kube_kind:Pod"],
        alertType: "info",
        aggregationKey: "kubernetes_apiserver:uid-1",
        sourceTypeName: "kubernetes",
        relatedEventId: 7,
        deviceName: "dev"
      })
      const ids = yield* c.submitEvents([first, event("second")])
      const requests = fake.requests({ path: EVENTS })
      expect(requests.map((r) => [r.method, r.status])).toEqual([
        ["POST", 202],
        ["POST", 202]
      ])
      expect(fake.events()).toEqual([
        {
          title: first.title,
          text: first.text,
          date_happened: 1_700_000_000,
          priority: "normal",
          host: "node-1",
          tags: ["kube_namespace:default", "kube_kind:Pod"],
          alert_type: "info",
          aggregation_key: "kubernetes_apiserver:uid-1",
          source_type_name: "kubernetes",
          related_event_id: 7,
          device_name: "dev"
        },
        { title: "second", text: "text of second" }
      ])
      // The ids are the fake's (consecutive), as strings (id_str: exact for 64-bit ids).
      expect(ids).toHaveLength(2)
      expect(Number(ids[1])).toBe(Number(ids[0]) + 1)
      for (const r of requests) {
        expect(r.headers["dd-api-key"]).toBe(API_KEY)
        expect(r.headers["content-type"]).toBe("application/json")
        expect(r.headers["user-agent"]).toMatch(/^datadog-cluster-agent\//)
      }
    })
  )

  it.effect("submitServiceChecks: one POST /api/v1/check_run with every check; nothing for none", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const checks: ReadonlyArray<ServiceCheck> = [
        {
          check: "kube_apiserver_controlplane.up",
          hostName: "",
          status: 0,
          tags: ["component:etcd-0"],
          timestamp: 1_700_000_000,
          message: '{"health":"true"}'
        },
        { check: "kube_apiserver_controlplane.up", hostName: "dca", status: 2, tags: [] }
      ]
      yield* c.submitServiceChecks(checks)
      yield* c.submitServiceChecks([])
      expect(fake.requests({ path: CHECK_RUN })).toHaveLength(1)
      expect(fake.requests({ path: CHECK_RUN })[0]?.status).toBe(202)
      expect(fake.serviceChecks()).toEqual([
        {
          check: "kube_apiserver_controlplane.up",
          host_name: "",
          status: 0,
          tags: ["component:etcd-0"],
          timestamp: 1_700_000_000,
          message: '{"health":"true"}'
        },
        { check: "kube_apiserver_controlplane.up", host_name: "dca", status: 2, tags: [] }
      ])
    })
  )

  it.effect("queryMetrics: GET /api/v1/query with both keys; series decoded with queryIndex and null points", () =>
    Effect.gen(function* () {
      const q0 = "avg:nginx.net.request_per_s{kube_container_name:nginx}.rollup(30)"
      const q1 = "max:no.data{a:b}.rollup(30)"
      const q2 = "sum:redis.clients{*}.rollup(30)"
      fake.setSeries(q0, [
        [1_700_000_000_000, 1.5],
        [1_700_000_030_000, null],
        [1_700_000_060_000, 2.5]
      ])
      fake.setSeries(q2, [[1_700_000_300_000, 4]])
      const c = yield* client()
      const answer = yield* c.queryMetrics({ from: 1_700_000_000, to: 1_700_000_300, query: `${q0},${q1},${q2}` })
      const [request] = fake.requests({ path: QUERY })
      expect(request?.query).toEqual({ from: "1700000000", to: "1700000300", query: `${q0},${q1},${q2}` })
      expect(request?.headers["dd-api-key"]).toBe(API_KEY)
      expect(request?.headers["dd-application-key"]).toBe(APP_KEY)
      expect(answer.status).toBe("ok")
      expect(answer.fromDate).toBe(1_700_000_000_000)
      expect(answer.toDate).toBe(1_700_000_300_000)
      expect(answer.series.map((s) => [s.queryIndex, s.metric, s.scope, s.expression])).toEqual([
        [0, "nginx.net.request_per_s", "kube_container_name:nginx", q0],
        [2, "redis.clients", "*", q2]
      ])
      expect(answer.series[0]?.pointlist).toEqual([
        [1_700_000_000_000, 1.5],
        [1_700_000_030_000, null],
        [1_700_000_060_000, 2.5]
      ])
      expect(answer.series[0]?.interval).toBe(30)
      expect(answer.series[0]?.aggr).toBe("avg")
    })
  )

  it.effect("accepts gzip-compressed answers", () =>
    Effect.gen(function* () {
      const relay = yield* Effect.acquireRelease(
        Effect.promise(() => startGzipRelay(fake.url)),
        (r) => Effect.promise(r.close)
      )
      fake.setSeries("avg:a{*}.rollup(30)", [[1_000, 3]])
      const c = yield* DatadogClient.make(clientOptions(relay.url))
      const answer = yield* c.queryMetrics({ from: 0, to: 10, query: "avg:a{*}.rollup(30)" })
      expect(answer.series[0]?.pointlist).toEqual([[1_000, 3]])
      expect(yield* c.submitEvent(event("zipped"))).toMatch(/^\d+$/)
      expect(fake.events().map((e) => e.title)).toEqual(["zipped"])
    })
  )
})

describe("DatadogClient: failures that are not retried", () => {
  it.effect("a rejected key: Forbidden with status 403, one request, key status invalid", () =>
    Effect.gen(function* () {
      fake.setAcceptedApiKeys(["another-key"])
      const c = yield* client()
      const e = yield* failure(c.submitEvent(event("refused")))
      expect(e).toBeInstanceOf(DatadogApiError)
      expect(e.reason).toBe("Forbidden")
      expect(e.status).toBe(403)
      expect(e.endpoint).toBe(EVENTS)
      expect(e.message).toBe("POST /api/v1/events: 403 Forbidden: Forbidden")
      expect(fake.requests({ path: EVENTS })).toHaveLength(1)
      const status = yield* c.keyStatus
      expect(status.state).toBe("invalid")
      expect(status.lastError).toBe(e.message)
    })
  )

  it.effect("a 400: BadRequest with Datadog's errors as the detail, scrubbed of keys, one request", () =>
    Effect.gen(function* () {
      fake.inject(
        { kind: "status", status: 400, body: { errors: [`bad request for ${API_KEY}`, "second"] } },
        { path: CHECK_RUN }
      )
      const c = yield* client()
      const e = yield* failure(c.submitServiceChecks([{ check: "x", hostName: "h", status: 1, tags: [] }]))
      expect(e.reason).toBe("BadRequest")
      expect(e.status).toBe(400)
      expect(e.detail).toBe(`bad request for ${"*".repeat(27)}bcdef; second`)
      expect(e.message).not.toContain(API_KEY)
      expect(fake.requests({ path: CHECK_RUN })).toHaveLength(1)
    })
  )

  it.effect("no key configured: Unauthorized naming the variables, nothing sent", () =>
    Effect.gen(function* () {
      const c = yield* client({ apiKey: Option.none(), queryAppKey: Option.none() })
      const e = yield* failure(c.submitEvent(event("no key")))
      expect(e.reason).toBe("Unauthorized")
      expect(e.status).toBeUndefined()
      expect(e.detail).toBe("no API key (DD_API_KEY) configured")
      const q = yield* failure(c.queryMetrics({ from: 0, to: 1, query: "avg:a{*}" }))
      expect(q.reason).toBe("Unauthorized")
      expect(q.detail).toContain("DD_EXTERNAL_METRICS_PROVIDER_APP_KEY or DD_APP_KEY")
      expect(fake.requests()).toHaveLength(0)
    })
  )

  it.effect("an invalid payload is a BadRequest without a request", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const bad = { title: "t", text: "x", alertType: "panic" } as unknown as EventCreateRequest
      const e = yield* failure(c.submitEvent(bad))
      expect(e.reason).toBe("BadRequest")
      expect(e.status).toBeUndefined()
      expect(e.detail).toMatch(/^invalid payload, not sent: alertType: /)
      expect(fake.requests()).toHaveLength(0)
    })
  )

  it.effect("a malformed 2xx is Decode (never a success), and is not retried", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const c = yield* client()
      const errorsBefore = yield* requestsCount("error")
      fake.inject({ kind: "malformed" }, { path: EVENTS, times: 1 })
      const e = yield* failure(c.submitEvent(event("garbled")))
      expect(e.reason).toBe("Decode")
      expect(e.status).toBe(202)
      expect(e.detail).toMatch(/^the answer is not JSON \(\d+ bytes\)/)
      expect(fake.requests({ path: EVENTS })).toHaveLength(1)
      expect(logs.retries()).toHaveLength(0)
      expect((yield* requestsCount("error")) - errorsBefore).toBe(1)

      // JSON of the wrong shape: the field is named.
      fake.inject({ kind: "malformed", body: '{"status":"ok","series":[{"pointlist":"none"}]}' }, { path: QUERY })
      const q = yield* failure(c.queryMetrics({ from: 0, to: 1, query: "avg:a{*}" }))
      expect(q.reason).toBe("Decode")
      expect(q.status).toBe(200)
      expect(q.detail).toMatch(/^unexpected answer: series\[0\]\.pointlist: /)
      // Valid JSON reporting an error: BadRequest with Datadog's message.
      fake.clearFaults()
      fake.inject({ kind: "malformed", body: '{"status":"error","error":"Error parsing query"}' }, { path: QUERY })
      const r = yield* failure(c.queryMetrics({ from: 0, to: 1, query: "avg:a{*}" }))
      expect(r.reason).toBe("BadRequest")
      expect(r.detail).toBe("Error parsing query")
      // The body of an event answer missing its event is Decode too.
      fake.inject({ kind: "malformed", body: '{"status":"ok"}' }, { path: EVENTS, times: 1 })
      const s = yield* failure(c.submitEvent(event("no event")))
      expect(s.reason).toBe("Decode")
      expect(s.detail).toBe("unexpected answer: event: missing")
    }).pipe(Effect.provide(logs.layer))
  })
})

describe("DatadogClient: retries (test clock)", () => {
  it.effect("5xx twice, then success: capped, jittered exponential backoff from 1 s", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const c = yield* client()
      const before = { success: yield* requestsCount("success"), error: yield* requestsCount("error") }
      fake.inject({ kind: "status", status: 503 }, { path: EVENTS, times: 2 })
      const fiber = yield* Effect.forkChild(c.submitEvent(event("after 503s")))
      const first = yield* nthRetry(logs, 1)
      expect(first).toBeGreaterThanOrEqual(800)
      expect(first).toBeLessThanOrEqual(1200)
      yield* TestClock.adjust(first + 1)
      const second = yield* nthRetry(logs, 2)
      expect(second).toBeGreaterThanOrEqual(1600)
      expect(second).toBeLessThanOrEqual(2400)
      yield* TestClock.adjust(second + 1)
      const id = yield* Fiber.join(fiber)
      expect(id).toMatch(/^\d+$/)
      expect(fake.requests({ path: EVENTS }).map((r) => r.status)).toEqual([503, 503, 202])
      expect(fake.events().map((e) => e.title)).toEqual(["after 503s"])
      // Attempts at 0, then after each announced delay (clock times; delays are rounded to the ms).
      const times = logs.attempts(EVENTS).map((l) => l.time)
      const gaps = times.slice(1).map((t, i) => t - (times[i] ?? 0))
      expect(gaps).toHaveLength(2)
      gaps.forEach((gap, i) => {
        const announced = i === 0 ? first : second
        expect(Math.abs(gap - announced)).toBeLessThanOrEqual(2)
      })
      expect(logs.retries()[0]?.annotations).toMatchObject({ endpoint: EVENTS, reason: "ServerError" })
      // Every attempt counts: two errors, one success.
      expect((yield* requestsCount("error")) - before.error).toBe(2)
      expect((yield* requestsCount("success")) - before.success).toBe(1)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("429: waits exactly X-RateLimit-Reset seconds, then retries; the rate-limit gauges follow", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const c = yield* client()
      fake.setSeries("avg:q{*}.rollup(30)", [[1_000, 1]])
      fake.setQueryRateLimit({ limit: 300, period: 3600, remaining: 120, reset: 900 })
      fake.inject({ kind: "rateLimit", limit: 100, period: 60, remaining: 0, reset: 7 }, { path: QUERY, times: 1 })
      const fiber = yield* Effect.forkChild(c.queryMetrics({ from: 0, to: 10, query: "avg:q{*}.rollup(30)" }))
      expect(yield* nthRetry(logs, 1)).toBe(7_000)
      expect(logs.retries()[0]?.annotations.reason).toBe("RateLimited")
      // The 429's headers are published at once.
      expect(yield* gauge("limit", QUERY)).toBe(100)
      expect(yield* gauge("remaining", QUERY)).toBe(0)
      expect(yield* gauge("period", QUERY)).toBe(60)
      expect(yield* gauge("reset", QUERY)).toBe(7)
      // Not a millisecond early.
      yield* TestClock.adjust(6_999)
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow
      expect(logs.attempts(QUERY)).toHaveLength(1)
      yield* TestClock.adjust(1)
      const answer = yield* Fiber.join(fiber)
      expect(answer.series).toHaveLength(1)
      expect(fake.requests({ path: QUERY }).map((r) => r.status)).toEqual([429, 200])
      // Then the successful answer's headers.
      expect(yield* gauge("limit", QUERY)).toBe(300)
      expect(yield* gauge("remaining", QUERY)).toBe(120)
      expect(yield* gauge("period", QUERY)).toBe(3600)
      expect(yield* gauge("reset", QUERY)).toBe(900)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a dropped connection is Transport, retried after the backoff; the event arrives once", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const c = yield* client()
      fake.inject({ kind: "drop" }, { path: EVENTS, times: 1 })
      const fiber = yield* Effect.forkChild(c.submitEvent(event("after a drop")))
      const delay = yield* nthRetry(logs, 1)
      expect(logs.retries()[0]?.annotations.reason).toBe("Transport")
      yield* TestClock.adjust(delay + 1)
      yield* Fiber.join(fiber)
      expect(fake.requests({ path: EVENTS }).map((r) => r.status ?? "dropped")).toEqual(["dropped", 202])
      expect(fake.events().map((e) => e.title)).toEqual(["after a drop"])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("no answer within the timeout is Timeout (clock time), retried", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const c = yield* client({ timeout: Duration.seconds(10) })
      fake.inject({ kind: "latency", ms: 120_000 }, { path: VALIDATE, times: 1 })
      const fiber = yield* Effect.forkChild(c.validateApiKey())
      yield* until("the held request", () => fake.requests({ path: VALIDATE }).length === 1)
      yield* TestClock.adjust("10 seconds")
      const delay = yield* nthRetry(logs, 1)
      expect(logs.retries()[0]?.annotations).toMatchObject({
        reason: "Timeout",
        error: "GET /api/v1/validate: Timeout: no answer within 10s"
      })
      yield* TestClock.adjust(delay + 1)
      yield* Fiber.join(fiber)
      expect(fake.requests({ path: VALIDATE }).map((r) => r.status)).toEqual([undefined, 200])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("exhausted retries surface the last error with its status and rate-limit headers", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const c = yield* client()
      fake.inject({ kind: "rateLimit", limit: 50, period: 10, remaining: 0, reset: 2 }, { path: QUERY })
      const fiber = yield* Effect.forkChild(Effect.exit(c.queryMetrics({ from: 0, to: 10, query: "avg:a{*}" })))
      for (let n = 1; n <= 3; n++) {
        expect(yield* nthRetry(logs, n)).toBe(2_000)
        yield* TestClock.adjust(2_000)
      }
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit)).toBe(true)
      const e = Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail" ? exit.cause.reasons[0].error : undefined
      expect(e).toBeInstanceOf(DatadogApiError)
      expect(e?.reason).toBe("RateLimited")
      expect(e?.status).toBe(429)
      expect(e?.endpoint).toBe(QUERY)
      expect(e?.rateLimit).toEqual({ limit: 50, remaining: 0, period: 10, reset: 2 })
      // The first attempt and three retries.
      expect(fake.requests({ path: QUERY })).toHaveLength(4)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("submitEvents stops at a failing event; acceptedIds lists the events already created", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      // A fake of its own: once it has created the first event, it answers 500 to every other
      // (decided as the answer is written, before the client can send the next event).
      let own: FakeDatadog | undefined
      own = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startFakeDatadog({
            onRequest: (r) => {
              if (r.path === EVENTS && r.status === 202) own?.inject({ kind: "status", status: 500 }, { path: EVENTS })
            }
          })
        ),
        (f) => Effect.promise(f.close)
      )
      const ownFake = own
      const c = yield* DatadogClient.make(clientOptions(ownFake.url))
      const fiber = yield* Effect.forkChild(Effect.exit(c.submitEvents([event("one"), event("two"), event("three")])))
      for (let n = 1; n <= 3; n++) {
        const delay = yield* nthRetry(logs, n)
        yield* TestClock.adjust(delay + 1)
      }
      const exit = yield* Fiber.join(fiber)
      const e = Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail" ? exit.cause.reasons[0].error : undefined
      expect(e?.reason).toBe("ServerError")
      expect(e?.status).toBe(500)
      expect(e?.acceptedIds).toHaveLength(1)
      expect(e?.acceptedIds?.[0]).toMatch(/^\d+$/)
      expect(ownFake.events().map((x) => x.title)).toEqual(["one"])
      // "two" was tried four times; "three" was never sent.
      expect(ownFake.requests({ path: EVENTS }).map((r) => [(r.body as { title?: string }).title, r.status])).toEqual([
        ["one", 202],
        ["two", 500],
        ["two", 500],
        ["two", 500],
        ["two", 500]
      ])
    }).pipe(Effect.provide(logs.layer))
  })
})

describe("DatadogClient: telemetry", () => {
  it.effect("datadog_requests{status} and rate_limit_queries_*{endpoint} in the Prometheus exposition", () =>
    Effect.gen(function* () {
      const c = yield* client()
      fake.setQueryRateLimit({ limit: 1600, period: 3600, remaining: 1234, reset: 321 })
      yield* c.queryMetrics({ from: 0, to: 10, query: "avg:a{*}" })
      const exposition = parsePrometheus(formatPrometheus(yield* Metric.snapshot))
      expect(exposition.types.get("datadog_requests")).toBe("counter")
      expect(exposition.types.get("rate_limit_queries_remaining")).toBe("gauge")
      const sample = (name: string, labels: Record<string, string>) =>
        exposition.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
          ?.value
      expect(sample("datadog_requests", { status: "success" })).toBeGreaterThanOrEqual(1)
      expect(sample("rate_limit_queries_limit", { endpoint: QUERY })).toBe(1600)
      expect(sample("rate_limit_queries_remaining", { endpoint: QUERY })).toBe(1234)
      expect(sample("rate_limit_queries_period", { endpoint: QUERY })).toBe(3600)
      expect(sample("rate_limit_queries_reset", { endpoint: QUERY })).toBe(321)
    })
  )
})

describe("DatadogClient: configuration", () => {
  const machine = { hostname: "node-1", serviceAccountNamespace: Option.none<string>() }
  const configOf = (env: Record<string, string>): ClusterAgentConfigShape => {
    const config = resolve(env, machine)
    if (!("apiBaseUrl" in config)) throw new Error(config.message)
    return config
  }

  it.each([
    [{}, "https://api.datadoghq.com", "https://api.datadoghq.com"],
    [{ DD_SITE: "datadoghq.eu" }, "https://api.datadoghq.eu", "https://api.datadoghq.eu"],
    [{ DD_SITE: "us5.datadoghq.com" }, "https://api.us5.datadoghq.com", "https://api.us5.datadoghq.com"],
    [{ DD_DD_URL: "http://relay.local:8080" }, "http://relay.local:8080", "https://api.datadoghq.com"],
    [
      { DD_DD_URL: "http://relay.local:8080/", DD_SITE: "datadoghq.eu" },
      "http://relay.local:8080",
      "https://api.datadoghq.eu"
    ],
    [{ DD_URL: "https://legacy.example" }, "https://legacy.example", "https://api.datadoghq.com"],
    [
      { DD_DD_URL: "https://new.example", DD_URL: "https://legacy.example" },
      "https://new.example",
      "https://api.datadoghq.com"
    ],
    [
      { DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: "https://metrics.example/" },
      "https://api.datadoghq.com",
      "https://metrics.example"
    ],
    [{ DATADOG_HOST: "https://host.example" }, "https://api.datadoghq.com", "https://host.example"],
    [
      { DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: "https://metrics.example", DATADOG_HOST: "https://host.example" },
      "https://api.datadoghq.com",
      "https://metrics.example"
    ],
    [{ DD_DD_URL: "http://relay.local", DD_SITE: "datadoghq.eu" }, "http://relay.local", "https://api.datadoghq.eu"]
  ] as const)("base URLs for %j: api %s, queries %s", (env, api, query) => {
    const options = clientOptionsFromConfig(configOf(env))
    expect(options.apiUrl).toBe(api)
    expect(options.queryUrl).toBe(query)
  })

  it("keys: the external-metrics keys for queries, else DD_API_KEY / DD_APP_KEY; the timeout and proxies", () => {
    const plain = clientOptionsFromConfig(configOf({ DD_API_KEY: "api", DD_APP_KEY: "app" }))
    expect(Option.map(plain.apiKey, Redacted.value)).toEqual(Option.some("api"))
    expect(Option.map(plain.queryApiKey, Redacted.value)).toEqual(Option.some("api"))
    expect(Option.map(plain.queryAppKey, Redacted.value)).toEqual(Option.some("app"))
    expect(Duration.toSeconds(plain.timeout)).toBe(20)
    expect(plain.proxy).toEqual({ http: undefined, https: undefined, noProxy: [], nonExactMatch: false })
    const own = clientOptionsFromConfig(
      configOf({
        DD_API_KEY: "api",
        DD_APP_KEY: "app",
        DD_EXTERNAL_METRICS_PROVIDER_API_KEY: "em-api",
        DD_EXTERNAL_METRICS_PROVIDER_APP_KEY: "em-app",
        DD_FORWARDER_TIMEOUT: "7",
        HTTPS_PROXY: "http://proxy:3128",
        DD_PROXY_NO_PROXY: "a.example b.example:443",
        DD_NO_PROXY_NONEXACT_MATCH: "true"
      })
    )
    expect(Option.map(own.apiKey, Redacted.value)).toEqual(Option.some("api"))
    expect(Option.map(own.queryApiKey, Redacted.value)).toEqual(Option.some("em-api"))
    expect(Option.map(own.queryAppKey, Redacted.value)).toEqual(Option.some("em-app"))
    expect(Duration.toSeconds(own.timeout)).toBe(7)
    expect(own.proxy).toEqual({
      http: undefined,
      https: "http://proxy:3128",
      noProxy: ["a.example", "b.example:443"],
      nonExactMatch: true
    })
  })

  it.effect.each([
    ["DD_DD_URL", (url: string) => ({ DD_DD_URL: url })],
    ["DD_URL (legacy)", (url: string) => ({ DD_URL: url })]
  ] as const)("the layer sends to a plain http:// %s, queries to DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", ([, envOf]) =>
    Effect.gen(function* () {
      const c = yield* DatadogClient
      yield* c.validateApiKey()
      yield* c.queryMetrics({ from: 0, to: 1, query: "avg:a{*}" })
      expect(fake.requests().map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
        "GET /api/v1/validate 200",
        "GET /api/v1/query 200"
      ])
      expect(c.endpoints).toEqual({ api: fake.url, query: fake.url })
    }).pipe(
      Effect.provide(
        DatadogClient.layer.pipe(
          Layer.provide(
            ClusterAgentConfig.fromEnv({
              ...envOf(fake.url),
              DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: fake.url,
              DD_API_KEY: API_KEY,
              DD_APP_KEY: APP_KEY
            })
          ),
          Layer.orDie
        )
      )
    )
  )
})
