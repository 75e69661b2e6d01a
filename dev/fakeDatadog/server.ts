/**
 * A fake Datadog API: a real HTTP server (node:http) answering what the cluster agent calls
 * (`/api/v1/validate`, `/api/v1/events`, `/api/v1/check_run`, `/api/v1/query`,
 * `/support/flare`), recording every request, with scriptable metric series and faults.
 * Usable from plain async code (`startFakeDatadog`) and from Effect (`FakeDatadog.scoped` in
 * index.ts). Its own endpoints: `GET /fake/requests` (what it recorded, keys redacted) and
 * `DELETE /fake/requests`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { decodeBody } from "./body.ts"
import { type Fault, type FaultHandle, type FaultOptions, Faults, rateLimitHeaders } from "./faults.ts"
import { type SeriesFunction, type SeriesScript, SeriesScripts } from "./metrics.ts"
import { type RecordedRequest, Recorder, type RequestFilter, type WaitOptions } from "./recorder.ts"
import {
  type Answer,
  allowedMethods,
  answer,
  type EventBody,
  errors,
  type FlareUpload,
  isQueryPath,
  type KeyPolicy,
  type RouteState,
  type ServiceCheckBody
} from "./routes.ts"

export interface QueryRateLimit {
  /** Default 1600 (Datadog's default for metric queries). */
  readonly limit?: number
  /** Seconds; default 3600. */
  readonly period?: number
  /** A fixed `X-RateLimit-Remaining`; default: limit minus the queries answered in this period. */
  readonly remaining?: number
  /** A fixed `X-RateLimit-Reset`; default: seconds left in this period. */
  readonly reset?: number
}

export interface FakeDatadogOptions {
  /** Default 0 (a free port). */
  readonly port?: number
  /** Default "127.0.0.1". */
  readonly host?: string
  /** API keys accepted in `DD-API-KEY`; default "any" (any non-empty key). */
  readonly acceptedApiKeys?: KeyPolicy
  /** Application keys accepted in `DD-APPLICATION-KEY`; default "any". */
  readonly acceptedAppKeys?: KeyPolicy
  /** `X-RateLimit-*` on `/api/v1/query` answers; `false` for none. */
  readonly queryRateLimit?: QueryRateLimit | false
  /** Called once per API request, when it was answered or dropped. */
  readonly onRequest?: (request: RecordedRequest) => void
}

/** A metrics query the fake answered. */
export interface MetricQuery {
  readonly from: number
  readonly to: number
  /** The `query` parameter as sent. */
  readonly query: string
  readonly time: number
}

export interface FakeDatadog {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string
  readonly port: number

  /** Every API request recorded (in arrival order), optionally filtered by path and method. */
  readonly requests: (filter?: RequestFilter) => ReadonlyArray<RecordedRequest>
  /** The first recorded request (already there or yet to come) satisfying the predicate. */
  readonly waitForRequest: (
    predicate: (request: RecordedRequest) => boolean,
    options?: WaitOptions
  ) => Promise<RecordedRequest>
  /** The first value other than undefined/false of `probe`, re-checked as requests come and are answered. */
  readonly waitFor: <A>(probe: () => A | undefined | false, options?: WaitOptions) => Promise<A>
  readonly clearRequests: () => void

  /** The events accepted (see RecordedRequest.accepted), in arrival order. */
  readonly events: () => ReadonlyArray<EventBody>
  /** The service checks accepted, flattened, in arrival order. */
  readonly serviceChecks: () => ReadonlyArray<ServiceCheckBody>
  /** The metric queries answered, in arrival order. */
  readonly metricQueries: () => ReadonlyArray<MetricQuery>
  /** The flares uploaded (POST), in arrival order. */
  readonly flares: () => ReadonlyArray<FlareUpload>

  /** Scripts the series answering exactly this query (points, several series, none, or a function). */
  readonly setSeries: (query: string, script: SeriesScript) => void
  /** Answers every query without an exact script; undefined removes it. */
  readonly setSeriesFallback: (fallback: SeriesFunction | undefined) => void
  readonly clearSeries: () => void

  /** Injects a fault for the matching requests (default: every API path, until removed). */
  readonly inject: (fault: Fault, options?: FaultOptions) => FaultHandle
  readonly clearFaults: () => void

  readonly setAcceptedApiKeys: (keys: KeyPolicy) => void
  readonly setAcceptedAppKeys: (keys: KeyPolicy) => void
  /** Replaces the `X-RateLimit-*` settings of `/api/v1/query` and starts a new period. */
  readonly setQueryRateLimit: (limit: QueryRateLimit | false) => void

  /** Clears requests, faults and series. */
  readonly reset: () => void
  /** Stops listening, drops open connections and pending delays. */
  readonly close: () => Promise<void>
}

const MALFORMED_BODY = '{"status":"ok","event":{"id":'

const lowerCaseHeaders = (req: IncomingMessage): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

const readAll = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const redact = (value: string) => (value.length <= 4 ? "***" : `***${value.slice(-4)}`)
const SECRET_HEADERS = new Set(["dd-api-key", "dd-application-key", "authorization"])
const SECRET_PARAMS = new Set(["api_key", "application_key"])

/** A request as JSON for people (`GET /fake/requests`, logs): keys redacted, file bytes as sizes. */
export const summarize = (r: RecordedRequest) => ({
  seq: r.seq,
  time: new Date(r.time).toISOString(),
  method: r.method,
  path: r.path,
  query: Object.fromEntries(Object.entries(r.query).map(([k, v]) => [k, SECRET_PARAMS.has(k) ? redact(v) : v])),
  headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, SECRET_HEADERS.has(k) ? redact(v) : v])),
  body: JSON.parse(
    JSON.stringify(r.body ?? null, (_key, value) =>
      value !== null && typeof value === "object" && value.type === "Buffer" && Array.isArray(value.data)
        ? `<${value.data.length} bytes>`
        : value
    )
  ),
  ...(r.bodyError === undefined ? {} : { bodyError: r.bodyError }),
  status: r.status ?? null,
  fault: r.fault ?? null,
  accepted: r.accepted
})

export const startFakeDatadog = async (options: FakeDatadogOptions = {}): Promise<FakeDatadog> => {
  const host = options.host ?? "127.0.0.1"
  const recorder = new Recorder()
  const faults = new Faults()
  const series = new SeriesScripts()
  const flares = new WeakMap<RecordedRequest, FlareUpload>()
  const sleeps = new Set<() => void>()
  let closed = false
  let rateLimit = options.queryRateLimit
  const rateWindow = { start: Date.now(), used: 0 }
  const state: RouteState = {
    series,
    apiKeys: options.acceptedApiKeys ?? "any",
    appKeys: options.acceptedAppKeys ?? "any",
    nextEventId: 1,
    nextCaseId: 1000,
    baseUrl: ""
  }

  /** Resolves after `ms`, or at once when the server closes (the caller then finds `closed`). */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        sleeps.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      sleeps.add(wake)
    })

  const queryRateHeaders = (): Record<string, string> => {
    if (rateLimit === false) return {}
    const limit = rateLimit?.limit ?? 1600
    const period = rateLimit?.period ?? 3600
    const now = Date.now()
    if (now - rateWindow.start >= period * 1000) {
      rateWindow.start = now - ((now - rateWindow.start) % (period * 1000))
      rateWindow.used = 0
    }
    rateWindow.used += 1
    return rateLimitHeaders({
      limit,
      period,
      remaining: rateLimit?.remaining ?? Math.max(0, limit - rateWindow.used),
      reset: rateLimit?.reset ?? Math.max(1, Math.ceil((rateWindow.start + period * 1000 - now) / 1000))
    })
  }

  const send = (
    res: ServerResponse,
    method: string,
    status: number,
    body: unknown,
    headers: Record<string, string> = {}
  ): boolean => {
    if (res.destroyed || res.headersSent) return false
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body)
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers
    })
    res.end(method === "HEAD" ? undefined : text)
    return true
  }

  const serveOwn = (req: IncomingMessage, res: ServerResponse, url: URL): void => {
    const method = req.method ?? "GET"
    if (url.pathname !== "/fake/requests") {
      send(res, method, 404, errors(404, `Not found: ${url.pathname}`).body)
    } else if (method === "DELETE") {
      recorder.clear()
      send(res, method, 200, { cleared: true })
    } else if (method !== "GET") {
      send(res, method, 405, errors(405, `Method Not Allowed: ${method}`).body, { allow: "GET, DELETE" })
    } else {
      const path = url.searchParams.get("path") ?? undefined
      send(res, method, 200, recorder.list(path === undefined ? undefined : { path }).map(summarize))
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake.invalid")
    const bytes = await readAll(req)
    if (url.pathname.startsWith("/fake/")) return serveOwn(req, res, url)
    const headers = lowerCaseHeaders(req)
    const decoded = await decodeBody(bytes, headers)
    const record: RecordedRequest = {
      seq: recorder.nextSeq(),
      time: Date.now(),
      method: (req.method ?? "GET").toUpperCase(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      rawBody: decoded.raw,
      body: decoded.body,
      ...(decoded.error === undefined ? {} : { bodyError: decoded.error }),
      accepted: false,
      done: false
    }
    recorder.add(record)
    const finish = (status: number | undefined) => {
      if (status !== undefined) record.status = status
      record.done = true
      recorder.changed()
      options.onRequest?.(record)
    }
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      // A client that went away (while a latency fault held its request) got no answer.
      finish(send(res, record.method, status, body, extra) ? status : undefined)
    }
    const drop = () => {
      req.socket.destroy()
      finish(undefined)
    }

    const plan = faults.plan(record)
    if (plan.delayed) record.fault = "latency"
    if (plan.delayMs > 0) await sleep(plan.delayMs)
    if (closed) return drop()
    const fault = plan.fault
    if (fault !== undefined) record.fault = fault.kind
    if (fault?.kind === "drop" && fault.afterAccepting !== true) return drop()
    if (fault?.kind === "status") {
      const reason = `fault injected: status ${fault.status}`
      return reply(fault.status, fault.body ?? errors(fault.status, reason).body)
    }
    if (fault?.kind === "rateLimit") {
      const headers = rateLimitHeaders({
        limit: fault.limit ?? 100,
        period: fault.period ?? 60,
        remaining: fault.remaining ?? 0,
        reset: fault.reset ?? 1
      })
      return reply(429, errors(429, "Too many requests").body, headers)
    }

    const result: Answer = answer(record, state)
    record.accepted = result.accepted
    if (result.flare !== undefined) flares.set(record, result.flare)
    const extra: Record<string, string> = isQueryPath(record.path) ? queryRateHeaders() : {}
    if (result.status === 405) extra.allow = allowedMethods(record.path) ?? ""
    if (fault?.kind === "drop") return drop()
    if (fault?.kind === "malformed") return reply(result.status, fault.body ?? MALFORMED_BODY, extra)
    return reply(result.status, result.body, extra)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, req.method ?? "GET", 500, { errors: [`fake Datadog: ${String(error)}`] })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`
  state.baseUrl = url

  const accepted = (path: string) => recorder.list({ path }).filter((r) => r.accepted)

  return {
    url,
    port,
    requests: (filter) => recorder.list(filter),
    waitForRequest: (predicate, waitOptions) =>
      recorder.waitFor(() => recorder.list().find(predicate), { what: "a matching request", ...waitOptions }),
    waitFor: (probe, waitOptions) => recorder.waitFor(probe, waitOptions),
    clearRequests: () => recorder.clear(),
    events: () => accepted("/api/v1/events").map((r) => r.body as EventBody),
    serviceChecks: () => accepted("/api/v1/check_run").flatMap((r) => r.body as ServiceCheckBody[]),
    metricQueries: () =>
      accepted("/api/v1/query").map((r) => ({
        from: Number(r.query.from),
        to: Number(r.query.to),
        query: r.query.query ?? "",
        time: r.time
      })),
    flares: () =>
      recorder.list({ path: /^\/support\/flare/ }).flatMap((r) => {
        const upload = flares.get(r)
        return upload === undefined ? [] : [upload]
      }),
    setSeries: (query, script) => series.set(query, script),
    setSeriesFallback: (fallback) => series.setFallback(fallback),
    clearSeries: () => series.clear(),
    inject: (fault, faultOptions) => faults.inject(fault, faultOptions),
    clearFaults: () => faults.clear(),
    setAcceptedApiKeys: (keys) => {
      state.apiKeys = keys
    },
    setAcceptedAppKeys: (keys) => {
      state.appKeys = keys
    },
    setQueryRateLimit: (limit) => {
      rateLimit = limit
      rateWindow.start = Date.now()
      rateWindow.used = 0
    },
    reset: () => {
      recorder.clear()
      faults.clear()
      series.clear()
    },
    close: async () => {
      if (closed) return
      closed = true
      for (const wake of [...sleeps]) wake()
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await stopped
    }
  }
}
