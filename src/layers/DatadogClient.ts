// The agent's edge to the Datadog API: validate the API key, create events, submit service
// checks, query metrics (v1 endpoints). A thin client on node:http(s) (datadog/transport.ts)
// with the request and response shapes of `@datadog/datadog-api-client` declared as schemas
// (datadog/schemas.ts), rather than the library itself: its three v1 API modules add 12-15 MB
// of idle RSS over the agent's own modules (this edge about 0.5 MB), its errors carry no
// response headers (no X-RateLimit-*), it sends a fixed user agent, it resolves a malformed
// 2xx as a success with undefined fields, and it logs transport errors to the console (see
// the commit that chose this, and bench/datadog-client-weight.ts).
//
// Every failure is a `DatadogApiError` with a reason, status and rate-limit headers. 5xx,
// timeouts, broken connections and 429s are retried (datadog/retry.ts), then surface. Every
// attempt counts in `datadog_requests{status}`; `X-RateLimit-*` headers set
// `rate_limit_queries_{limit,remaining,period,reset}{endpoint}`.
//
// Base URLs (contract §6.3, the original's datadogclient.go): events, service checks and key
// validation use `DD_DD_URL` (legacy `DD_URL`), else `https://api.<DD_SITE>`; metric queries
// use `DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT`, else `DATADOG_HOST`, else `https://api.<DD_SITE>`,
// with `DD_EXTERNAL_METRICS_PROVIDER_API_KEY`/`_APP_KEY`, else `DD_API_KEY`/`DD_APP_KEY`.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { versionString } from "../version.ts"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "./Config.ts"
import {
  DatadogApiError,
  detailFromBody,
  isKeyRejected,
  parseRateLimit,
  type RateLimit,
  reasonForStatus
} from "./datadog/errors.ts"
import { keyEnding, maskKey, scrubKeys } from "./datadog/keys.ts"
import type { ProxySettings } from "./datadog/proxy.ts"
import { datadogRetry, defaultRetryPolicy, type RetryPolicy } from "./datadog/retry.ts"
import {
  AuthenticationValidationResponse,
  EventCreateRequest,
  EventCreateResponse,
  IntakePayloadAccepted,
  type MetricsQuery,
  MetricsQueryResponse,
  type ServiceCheck,
  ServiceCheckRequest
} from "./datadog/schemas.ts"
import { type HttpAnswer, makeTransport, type RequestSpec, type Transport } from "./datadog/transport.ts"
import { describeIssue } from "./kube/errors.ts"

export {
  DatadogApiError,
  type DatadogApiErrorReason,
  isKeyRejected,
  isRetryable,
  type RateLimit
} from "./datadog/errors.ts"
export { datadogRetry, defaultRetryPolicy, type RetryPolicy, retryDelay } from "./datadog/retry.ts"
export type {
  EventAlertType,
  EventCreateRequest,
  EventPriority,
  MetricsQuery,
  MetricsQueryResponse,
  MetricsQuerySeries,
  Point,
  ServiceCheck,
  ServiceCheckStatus
} from "./datadog/schemas.ts"

// --- telemetry ---------------------------------------------------------------------------------

const datadogRequests = Metric.counter("datadog_requests", {
  description: "Requests sent to the Datadog API, by outcome: success, or error (any failure, retried or not)"
})
const requestSucceeded = Metric.withAttributes(datadogRequests, { status: "success" })
const requestFailed = Metric.withAttributes(datadogRequests, { status: "error" })

const rateLimitGauges = {
  limit: Metric.gauge("rate_limit_queries_limit", {
    description: "X-RateLimit-Limit of the last Datadog answer: requests allowed per period, by endpoint"
  }),
  remaining: Metric.gauge("rate_limit_queries_remaining", {
    description: "X-RateLimit-Remaining of the last Datadog answer: requests left in the period, by endpoint"
  }),
  period: Metric.gauge("rate_limit_queries_period", {
    description: "X-RateLimit-Period of the last Datadog answer: the period in seconds, by endpoint"
  }),
  reset: Metric.gauge("rate_limit_queries_reset", {
    description: "X-RateLimit-Reset of the last Datadog answer: seconds until the period resets, by endpoint"
  })
} as const

const recordRateLimit = (endpoint: string, rateLimit: RateLimit): Effect.Effect<void> =>
  Effect.forEach(
    ["limit", "remaining", "period", "reset"] as const,
    (key) => {
      const value = rateLimit[key]
      return value === undefined
        ? Effect.void
        : Metric.update(Metric.withAttributes(rateLimitGauges[key], { endpoint }), value)
    },
    { discard: true }
  )

// --- the service -------------------------------------------------------------------------------

/** What is known about `DD_API_KEY`, for the status page and health facts. */
export interface KeyStatus {
  /** unknown: not checked yet, or Datadog could not be reached; invalid: Datadog rejected it. */
  readonly state: "unknown" | "valid" | "invalid"
  /** The key as the original shows it: `***************************abcde`. */
  readonly apiKey: string
  /** Why the key is invalid or unknown (no key in it). */
  readonly lastError?: string
  /** When Datadog last answered about the key (ms since the epoch). */
  readonly checkedAt?: number
}

/** What the last requests to one endpoint did, for the status page. */
export interface EndpointStatus {
  /** `/api/v1/events`, `/api/v1/query`, ... */
  readonly endpoint: string
  /** When an attempt last succeeded (ms since the epoch). */
  readonly lastSuccessAt?: number | undefined
  /** When an attempt last failed, and why (no key in it). */
  readonly lastErrorAt?: number | undefined
  readonly lastError?: string | undefined
  /** The `X-RateLimit-*` headers of the last answer that had them. */
  readonly rateLimit?: RateLimit | undefined
}

export interface DatadogClientShape {
  /** GET /api/v1/validate; a rejected key fails with reason Forbidden. Updates `keyStatus`. */
  readonly validateApiKey: () => Effect.Effect<void, DatadogApiError>
  /** POST /api/v1/events: one event; its id (`id_str`, exact for 64-bit ids). */
  readonly submitEvent: (event: EventCreateRequest) => Effect.Effect<string, DatadogApiError>
  /**
   * POST /api/v1/events once per event (the v1 API takes one at a time), in order; the ids.
   * On a failure, the error's `acceptedIds` lists the events already created.
   */
  readonly submitEvents: (
    events: ReadonlyArray<EventCreateRequest>
  ) => Effect.Effect<ReadonlyArray<string>, DatadogApiError>
  /** POST /api/v1/check_run with every check in one request. */
  readonly submitServiceChecks: (checks: ReadonlyArray<ServiceCheck>) => Effect.Effect<void, DatadogApiError>
  /** GET /api/v1/query (with the application key). */
  readonly queryMetrics: (query: MetricsQuery) => Effect.Effect<MetricsQueryResponse, DatadogApiError>
  /** The last known state of `DD_API_KEY`. */
  readonly keyStatus: Effect.Effect<KeyStatus>
  /** The current state, then every change. */
  readonly keyStatusChanges: Stream.Stream<KeyStatus>
  /**
   * Validates `DD_API_KEY` until Datadog gives an answer: a warning while it cannot be reached
   * (retrying with backoff), an error line naming the masked key when it is rejected. Never
   * fails; returns once the key's state is known. Run it forked (`DatadogKeyCheckLive`).
   */
  readonly validateAtStart: Effect.Effect<void>
  /** The base URLs in use (no secrets). */
  readonly endpoints: { readonly api: string; readonly query: string }
  /** Each endpoint called so far, in first-call order. */
  readonly endpointStatus: Effect.Effect<ReadonlyArray<EndpointStatus>>
}

export interface DatadogClientOptions {
  /** Base URL of events, service checks and key validation. */
  readonly apiUrl: string
  /** Base URL of metric queries. */
  readonly queryUrl: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** API and application keys of metric queries. */
  readonly queryApiKey: Option.Option<Redacted.Redacted<string>>
  readonly queryAppKey: Option.Option<Redacted.Redacted<string>>
  readonly timeout: Duration.Duration
  readonly proxy: ProxySettings
  /** Default `datadog-cluster-agent/<version>`. */
  readonly userAgent?: string | undefined
  readonly retry?: RetryPolicy | undefined
  /** Extra CA certificates trusted for https:// (tests, TLS-intercepting relays). */
  readonly ca?: string | ReadonlyArray<string> | undefined
  /** Backoff of `validateAtStart` while Datadog cannot be reached; default `keyCheckBackoff`. */
  readonly keyCheckSchedule?: Schedule.Schedule<unknown, DatadogApiError> | undefined
}

const keyCheckCap = Duration.minutes(5)

/** While Datadog cannot be reached at start: 1 s doubling, jittered, at most 5 minutes apart, forever. */
export const keyCheckBackoff: Schedule.Schedule<Duration.Duration, DatadogApiError> = Schedule.exponential(
  "1 second",
  2
).pipe(
  Schedule.jittered,
  Schedule.setInputType<DatadogApiError>(),
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, keyCheckCap)))
)

/** Pure: the client's options from the configuration. */
export const clientOptionsFromConfig = (config: ClusterAgentConfigShape): DatadogClientOptions => ({
  apiUrl: config.apiBaseUrl,
  queryUrl: Option.getOrElse(config.externalMetricsEndpoint, () => `https://api.${config.site}`).replace(/\/+$/, ""),
  apiKey: config.apiKey,
  queryApiKey: Option.orElse(config.externalMetricsApiKey, () => config.apiKey),
  queryAppKey: Option.orElse(config.externalMetricsAppKey, () => config.appKey),
  timeout: config.forwarderTimeout,
  proxy: {
    http: Option.getOrUndefined(config.proxyHttp),
    https: Option.getOrUndefined(config.proxyHttps),
    noProxy: config.proxyNoProxy,
    nonExactMatch: config.noProxyNonexactMatch
  }
})

// --- answers -----------------------------------------------------------------------------------

const isOk = (status: number) => status >= 200 && status < 300

/**
 * Pure: what an answer means: the decoded value, or the error (with the status and the
 * rate-limit headers). A 2xx whose body is not JSON, or not the expected JSON, is a Decode
 * error; a 2xx reporting an error in its body (`{"status": "error", "error": "..."}`, as the
 * query endpoint may) is a BadRequest. `secrets` are masked out of every detail.
 */
export const classifyAnswer = <T>(
  spec: Pick<RequestSpec, "method" | "endpoint">,
  answer: HttpAnswer,
  schema: Schema.Decoder<T>,
  secrets: ReadonlyArray<string> = []
): Result.Result<T, DatadogApiError> => {
  const rateLimit = parseRateLimit(answer.headers)
  const fail = (reason: DatadogApiError["reason"], detail: string) =>
    Result.fail(
      new DatadogApiError({
        reason,
        method: spec.method,
        endpoint: spec.endpoint,
        status: answer.status,
        detail: scrubKeys(detail, secrets),
        ...(rateLimit === undefined ? {} : { rateLimit })
      })
    )
  if (!isOk(answer.status)) return fail(reasonForStatus(answer.status), detailFromBody(answer.status, answer.body))
  let json: unknown
  try {
    json = JSON.parse(answer.body)
  } catch (e) {
    return fail("Decode", `the answer is not JSON (${answer.body.length} bytes): ${(e as Error).message.slice(0, 200)}`)
  }
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const { status, error } = json as { status?: unknown; error?: unknown }
    if ((typeof error === "string" && error !== "") || status === "error") {
      return fail("BadRequest", typeof error === "string" && error !== "" ? error : "the answer reports an error")
    }
  }
  const decoded = Schema.decodeUnknownResult(schema)(json)
  return Result.isSuccess(decoded)
    ? Result.succeed(decoded.success)
    : fail("Decode", `unexpected answer: ${describeIssue(decoded.failure.issue, json)}`)
}

// --- the client --------------------------------------------------------------------------------

const EVENTS = "/api/v1/events"
const CHECK_RUN = "/api/v1/check_run"
const VALIDATE = "/api/v1/validate"
const QUERY = "/api/v1/query"

const makeClient = (options: DatadogClientOptions): Effect.Effect<DatadogClientShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const transport: Transport = yield* makeTransport({
      timeout: options.timeout,
      userAgent: options.userAgent ?? `datadog-cluster-agent/${versionString()}`,
      proxy: options.proxy,
      ca: options.ca
    })
    const policy = options.retry ?? defaultRetryPolicy
    const apiKey = Option.map(options.apiKey, Redacted.value)
    const queryApiKey = Option.map(options.queryApiKey, Redacted.value)
    const queryAppKey = Option.map(options.queryAppKey, Redacted.value)
    const secrets = [apiKey, queryApiKey, queryAppKey].flatMap(Option.toArray)
    const maskedApiKey = Option.match(apiKey, { onNone: () => "(not set)", onSome: maskKey })
    const ending = Option.flatMapNullishOr(apiKey, keyEnding)
    const keyState = yield* SubscriptionRef.make<KeyStatus>({ state: "unknown", apiKey: maskedApiKey })

    const retrySchedule = datadogRetry(policy).pipe(
      Schedule.tap(({ input, duration }) =>
        Effect.logDebug("Datadog request failed, retrying").pipe(
          Effect.annotateLogs({
            endpoint: input.endpoint,
            reason: input.reason,
            error: input.message,
            retryInMillis: Math.round(Duration.toMillis(duration))
          })
        )
      )
    )

    const byEndpoint = new Map<string, EndpointStatus>()
    const noteEndpoint = (endpoint: string, change: Partial<EndpointStatus>) =>
      Effect.sync(() => {
        byEndpoint.set(endpoint, { ...byEndpoint.get(endpoint), ...change, endpoint })
      })

    /** One request and its answer, counted and with its rate-limit headers recorded. */
    const attempt = <T>(spec: RequestSpec, schema: Schema.Decoder<T>): Effect.Effect<T, DatadogApiError> =>
      Effect.logDebug("Datadog request").pipe(
        Effect.annotateLogs({ method: spec.method, endpoint: spec.endpoint }),
        Effect.andThen(transport.send(spec)),
        Effect.flatMap((answer) => {
          const rateLimit = parseRateLimit(answer.headers)
          return (
            rateLimit === undefined
              ? Effect.void
              : Effect.andThen(recordRateLimit(spec.endpoint, rateLimit), noteEndpoint(spec.endpoint, { rateLimit }))
          ).pipe(Effect.andThen(Effect.fromResult(classifyAnswer(spec, answer, schema, secrets))))
        }),
        Effect.tap(() =>
          Effect.andThen(
            Metric.update(requestSucceeded, 1),
            Effect.flatMap(Clock.currentTimeMillis, (now) => noteEndpoint(spec.endpoint, { lastSuccessAt: now }))
          )
        ),
        Effect.tapError((e) =>
          Effect.andThen(
            Metric.update(requestFailed, 1),
            Effect.flatMap(Clock.currentTimeMillis, (now) =>
              noteEndpoint(spec.endpoint, { lastErrorAt: now, lastError: e.message })
            )
          )
        )
      )

    /** A request, retried on retryable failures. */
    const call = <T>(spec: RequestSpec, schema: Schema.Decoder<T>): Effect.Effect<T, DatadogApiError> =>
      Effect.retry(attempt(spec, schema), retrySchedule)

    const requireKey = (key: Option.Option<string>, method: RequestSpec["method"], endpoint: string, what: string) =>
      Option.match(key, {
        onNone: () =>
          Effect.fail(
            new DatadogApiError({ reason: "Unauthorized", method, endpoint, detail: `no ${what} configured` })
          ),
        onSome: Effect.succeed
      })

    const encode = <T, E>(schema: Schema.Codec<T, E>, value: T, method: RequestSpec["method"], endpoint: string) => {
      const encoded = Schema.encodeUnknownResult(schema)(value)
      return Result.isSuccess(encoded)
        ? Effect.succeed(JSON.stringify(encoded.success))
        : Effect.fail(
            new DatadogApiError({
              reason: "BadRequest",
              method,
              endpoint,
              detail: `invalid payload, not sent: ${describeIssue(encoded.failure.issue, value)}`
            })
          )
    }

    const setKeyStatus = (state: KeyStatus["state"], lastError?: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        SubscriptionRef.set(keyState, {
          state,
          apiKey: maskedApiKey,
          checkedAt: now,
          ...(lastError === undefined ? {} : { lastError })
        })
      )

    /** What an answer to a request signed with DD_API_KEY says about the key. */
    const trackKey = <A>(effect: Effect.Effect<A, DatadogApiError>, transientIsUnknown: boolean) =>
      effect.pipe(
        Effect.tap(() => setKeyStatus("valid")),
        Effect.tapError((e) =>
          isKeyRejected(e)
            ? setKeyStatus("invalid", e.message)
            : transientIsUnknown
              ? SubscriptionRef.update(keyState, (s) => (s.state === "unknown" ? { ...s, lastError: e.message } : s))
              : Effect.void
        )
      )

    const apiHeaders = (key: string) => ({ "DD-API-KEY": key })

    const validateOnce = Effect.gen(function* () {
      const key = yield* requireKey(apiKey, "GET", VALIDATE, "API key (DD_API_KEY)")
      const spec: RequestSpec = { method: "GET", baseUrl: options.apiUrl, endpoint: VALIDATE, headers: apiHeaders(key) }
      const { valid } = yield* attempt(spec, AuthenticationValidationResponse)
      if (!valid) {
        return yield* new DatadogApiError({
          reason: "Forbidden",
          method: "GET",
          endpoint: VALIDATE,
          status: 200,
          detail: "Datadog answered that the API key is not valid"
        })
      }
    })

    const validateApiKey = Effect.fn("DatadogClient.validateApiKey")(function* () {
      yield* trackKey(Effect.retry(validateOnce, retrySchedule), true)
    })

    const submitEvent = Effect.fn("DatadogClient.submitEvent")(function* (event: EventCreateRequest) {
      const key = yield* requireKey(apiKey, "POST", EVENTS, "API key (DD_API_KEY)")
      const body = yield* encode(EventCreateRequest, event, "POST", EVENTS)
      const spec: RequestSpec = {
        method: "POST",
        baseUrl: options.apiUrl,
        endpoint: EVENTS,
        headers: apiHeaders(key),
        body
      }
      const answer = yield* trackKey(call(spec, EventCreateResponse), false)
      return answer.event.idStr ?? String(answer.event.id)
    })

    const submitEvents = Effect.fn("DatadogClient.submitEvents")(function* (events: ReadonlyArray<EventCreateRequest>) {
      const ids: Array<string> = []
      for (const event of events) {
        const id = yield* submitEvent(event).pipe(
          Effect.mapError((e) => (ids.length === 0 ? e : new DatadogApiError({ ...e, acceptedIds: [...ids] })))
        )
        ids.push(id)
      }
      return ids as ReadonlyArray<string>
    })

    const submitServiceChecks = Effect.fn("DatadogClient.submitServiceChecks")(function* (
      checks: ReadonlyArray<ServiceCheck>
    ) {
      if (checks.length === 0) return
      const key = yield* requireKey(apiKey, "POST", CHECK_RUN, "API key (DD_API_KEY)")
      const body = yield* encode(ServiceCheckRequest, checks, "POST", CHECK_RUN)
      const spec: RequestSpec = {
        method: "POST",
        baseUrl: options.apiUrl,
        endpoint: CHECK_RUN,
        headers: apiHeaders(key),
        body
      }
      yield* trackKey(call(spec, IntakePayloadAccepted), false)
    })

    const queryMetrics = Effect.fn("DatadogClient.queryMetrics")(function* (query: MetricsQuery) {
      const key = yield* requireKey(
        queryApiKey,
        "GET",
        QUERY,
        "API key for metric queries (DD_EXTERNAL_METRICS_PROVIDER_API_KEY or DD_API_KEY)"
      )
      const appKey = yield* requireKey(
        queryAppKey,
        "GET",
        QUERY,
        "application key for metric queries (DD_EXTERNAL_METRICS_PROVIDER_APP_KEY or DD_APP_KEY)"
      )
      const spec: RequestSpec = {
        method: "GET",
        baseUrl: options.queryUrl,
        endpoint: QUERY,
        query: { from: String(Math.floor(query.from)), to: String(Math.floor(query.to)), query: query.query },
        headers: { "DD-API-KEY": key, "DD-APPLICATION-KEY": appKey }
      }
      return yield* call(spec, MetricsQueryResponse)
    })

    const keyDescription = Option.match(ending, {
      onNone: () => maskedApiKey,
      onSome: (last5) => `API key ending with ${last5}`
    })
    const warnEvery = Duration.toMillis(Duration.minutes(5))

    const validateAtStart: Effect.Effect<void> = Effect.gen(function* () {
      let lastWarning: number | undefined
      let failures = 0
      // One warning per 5 minutes at most, counting the failed attempts since the last one.
      const onFailure = (e: DatadogApiError) =>
        Effect.gen(function* () {
          if (isKeyRejected(e)) return
          failures += 1
          const now = yield* Clock.currentTimeMillis
          const warn = lastWarning === undefined || now - lastWarning >= warnEvery
          const annotations = { url: options.apiUrl, reason: e.reason, error: e.message, failedAttempts: failures }
          if (warn) {
            lastWarning = now
            failures = 0
            yield* Effect.logWarning(
              "cannot reach Datadog to validate DD_API_KEY; retrying, the agent keeps running"
            ).pipe(Effect.annotateLogs(annotations))
          } else {
            yield* Effect.logDebug("cannot reach Datadog to validate DD_API_KEY; retrying").pipe(
              Effect.annotateLogs(annotations)
            )
          }
        })
      const outcome = yield* trackKey(validateOnce, true).pipe(
        Effect.tapError(onFailure),
        Effect.retry({
          schedule: (options.keyCheckSchedule ?? keyCheckBackoff).pipe(
            Schedule.tap(({ duration }) =>
              Effect.logDebug("validating DD_API_KEY again later").pipe(
                Effect.annotateLogs({ retryInMillis: Math.round(Duration.toMillis(duration)) })
              )
            )
          ),
          while: (e) => !isKeyRejected(e)
        }),
        Effect.result
      )
      if (Result.isSuccess(outcome)) {
        yield* Effect.logInfo("Datadog accepted DD_API_KEY").pipe(
          Effect.annotateLogs({ url: options.apiUrl, apiKey: maskedApiKey })
        )
        return
      }
      const e = outcome.failure
      const message = Option.isNone(apiKey)
        ? "DD_API_KEY is not set: Datadog will refuse everything the agent sends"
        : `DD_API_KEY (${keyDescription}) is invalid: Datadog rejected it; events, service checks and metric queries with it will fail until it is replaced`
      yield* Effect.logError(message).pipe(
        Effect.annotateLogs({
          url: options.apiUrl,
          apiKey: maskedApiKey,
          error: e.message,
          ...(e.status === undefined ? {} : { status: e.status })
        })
      )
    }).pipe(Effect.withSpan("DatadogClient.validateAtStart"))

    return {
      validateApiKey,
      submitEvent,
      submitEvents,
      submitServiceChecks,
      queryMetrics,
      keyStatus: SubscriptionRef.get(keyState),
      keyStatusChanges: SubscriptionRef.changes(keyState),
      validateAtStart,
      endpoints: { api: options.apiUrl, query: options.queryUrl },
      endpointStatus: Effect.sync(() => [...byEndpoint.values()])
    } satisfies DatadogClientShape
  })

export class DatadogClient extends Context.Service<DatadogClient, DatadogClientShape>()("dca/DatadogClient") {
  /** A client over explicit options; its connections close with the scope. */
  static readonly make = (options: DatadogClientOptions): Effect.Effect<DatadogClientShape, never, Scope.Scope> =>
    makeClient(options)

  static readonly layerWith = (options: DatadogClientOptions): Layer.Layer<DatadogClient> =>
    Layer.effect(DatadogClient, makeClient(options))

  /** From the configuration (DD_DD_URL / DD_SITE, keys, proxies, DD_FORWARDER_TIMEOUT). */
  static readonly layer: Layer.Layer<DatadogClient, never, ClusterAgentConfig> = Layer.effect(
    DatadogClient,
    Effect.flatMap(ClusterAgentConfig, (config) => makeClient(clientOptionsFromConfig(config)))
  )
}

/** Validates DD_API_KEY in the background at start (never fails, never exits the agent). */
export const DatadogKeyCheckLive: Layer.Layer<never, never, DatadogClient> = Layer.effectDiscard(
  Effect.gen(function* () {
    const client = yield* DatadogClient
    yield* Effect.forkScoped(client.validateAtStart)
  })
)
