// Failures of the Datadog API client. Every failed call is one `DatadogApiError` whose `reason`
// callers branch on (retry later, keep the data, report a rejected key), with the HTTP status
// and the `X-RateLimit-*` headers of the answer when there was one. Keys never reach these
// values: they travel in headers, never in paths, and details are scrubbed of them.
import * as Schema from "effect/Schema"

export const DatadogApiErrorReason = Schema.Literals([
  // 401, or no key configured: the request carried no usable credentials.
  "Unauthorized",
  // 403: Datadog rejected the API key (or the application key of a metrics query).
  "Forbidden",
  // 429: over the endpoint's rate limit; `rateLimit.reset` says when the period ends.
  "RateLimited",
  // 5xx.
  "ServerError",
  // Any other 4xx (400, 404, 413, 414...), or a 2xx whose body reports an error: the request
  // itself is wrong, retrying won't help.
  "BadRequest",
  // The connection failed or broke (refused, reset, TLS, DNS, proxy), before a full answer.
  "Transport",
  // No full answer within the request timeout.
  "Timeout",
  // A 2xx whose body is not the JSON we expect (never treated as a success).
  "Decode"
])
export type DatadogApiErrorReason = typeof DatadogApiErrorReason.Type

/** The `X-RateLimit-*` headers of an answer (each only when present and numeric). */
export const RateLimit = Schema.Struct({
  /** `X-RateLimit-Limit`: requests allowed per period. */
  limit: Schema.optionalKey(Schema.Number),
  /** `X-RateLimit-Remaining`: requests left in the current period. */
  remaining: Schema.optionalKey(Schema.Number),
  /** `X-RateLimit-Period`: the period, in seconds. */
  period: Schema.optionalKey(Schema.Number),
  /** `X-RateLimit-Reset`: seconds until the current period ends. */
  reset: Schema.optionalKey(Schema.Number),
  /** `X-RateLimit-Name`: the limit's name. */
  name: Schema.optionalKey(Schema.String)
})
export type RateLimit = typeof RateLimit.Type

export class DatadogApiError extends Schema.TaggedError<DatadogApiError>()("DatadogApiError", {
  reason: DatadogApiErrorReason,
  /** "GET", "POST". */
  method: Schema.String,
  /** The API path, without base URL or query string, e.g. "/api/v1/query". */
  endpoint: Schema.String,
  /** HTTP status of the answer; absent when none arrived. */
  status: Schema.optionalKey(Schema.Number),
  /** Datadog's `errors`, or what went wrong on the wire. */
  detail: Schema.String,
  rateLimit: Schema.optionalKey(RateLimit),
  /**
   * For a call that sends several requests (`submitEvents`): the ids of the items Datadog
   * accepted, in order, before the one that failed. Those must not be sent again.
   */
  acceptedIds: Schema.optionalKey(Schema.Array(Schema.String))
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` ${this.status}`
    return `${this.method} ${this.endpoint}:${status} ${this.reason}: ${this.detail}`
  }
}

/** Pure: the reason for a non-2xx status. */
export const reasonForStatus = (status: number): DatadogApiErrorReason => {
  if (status === 401) return "Unauthorized"
  if (status === 403) return "Forbidden"
  if (status === 429) return "RateLimited"
  return status >= 500 ? "ServerError" : "BadRequest"
}

/** Worth retrying: the connection, a timeout, throttling or a server-side failure. */
export const isRetryable = (e: DatadogApiError): boolean =>
  e.reason === "Transport" || e.reason === "Timeout" || e.reason === "RateLimited" || e.reason === "ServerError"

/** Datadog rejected a key (or none was configured): retrying won't help until the key changes. */
export const isKeyRejected = (e: DatadogApiError): boolean => e.reason === "Forbidden" || e.reason === "Unauthorized"

type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name]
  return typeof value === "string" ? value : value?.[0]
}

const numeric = (text: string | undefined): number | undefined => {
  if (text === undefined || text.trim() === "") return undefined
  const n = Number(text.trim())
  return Number.isFinite(n) ? n : undefined
}

/** Pure: the `X-RateLimit-*` headers (names in lower case, as node:http gives them), if any. */
export const parseRateLimit = (headers: Headers): RateLimit | undefined => {
  const out: { -readonly [K in keyof RateLimit]: RateLimit[K] } = {}
  for (const key of ["limit", "remaining", "period", "reset"] as const) {
    const n = numeric(header(headers, `x-ratelimit-${key}`))
    if (n !== undefined) out[key] = n
  }
  const name = header(headers, "x-ratelimit-name")
  if (name !== undefined && name !== "") out.name = name
  return Object.keys(out).length > 0 ? out : undefined
}

const MAX_DETAIL = 512

/**
 * Pure: the detail of an error answer. Datadog answers `{"errors": ["..."]}`; a proxy or load
 * balancer in front of it may answer anything, of which the first 512 characters are kept.
 */
export const detailFromBody = (status: number, body: string): string => {
  try {
    const parsed = JSON.parse(body) as unknown
    if (typeof parsed === "object" && parsed !== null) {
      const { errors, error } = parsed as { errors?: unknown; error?: unknown }
      if (Array.isArray(errors) && errors.length > 0) return errors.map(String).join("; ").slice(0, MAX_DETAIL)
      if (typeof error === "string" && error !== "") return error.slice(0, MAX_DETAIL)
    }
  } catch {
    // not JSON: keep the text
  }
  const text = body.trim()
  return text === "" ? `HTTP ${status}` : text.slice(0, MAX_DETAIL)
}
