// Failures of the Kubernetes client. Every request failure is one `KubeError` whose `reason`
// is what callers branch on (404 → create, 409 → reread, 410 → relist, retry the rest or not);
// the API's own Status fields are kept for logs. Credentials never reach these values: a
// request path carries no token, and the detail comes from the server or the socket.
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

export const KubeErrorReason = Schema.Literals([
  "NotFound",
  "Conflict",
  "Gone",
  "Forbidden",
  "Unauthorized",
  // 400, 422 and any other 4xx not listed here: the request itself is wrong; retrying won't help.
  "Invalid",
  "TooManyRequests",
  // 5xx, including the API server's own 504 Timeout Status.
  "ServerError",
  // The connection failed or broke (refused, reset, TLS, DNS), or credentials could not be read.
  "Transport",
  // No answer within the client timeout.
  "Timeout",
  // A body that is not the JSON we expect, or a malformed watch line.
  "Decode"
])
export type KubeErrorReason = typeof KubeErrorReason.Type

export class KubeError extends Schema.TaggedError<KubeError>()("KubeError", {
  reason: KubeErrorReason,
  /** The HTTP method, e.g. "GET", or "WATCH" for a watch. */
  verb: Schema.String,
  /** Request path with its query string. */
  path: Schema.String,
  /** HTTP status (or the `code` of a watch ERROR Status); absent when no answer arrived. */
  status: Schema.optionalKey(Schema.Number),
  /** The Status `reason` from the API (e.g. "AlreadyExists", "Expired"), when there was one. */
  apiReason: Schema.optionalKey(Schema.String),
  /** The Status `message`, or what went wrong on the wire. */
  detail: Schema.String
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` ${this.status}`
    const api = this.apiReason === undefined || this.apiReason === this.reason ? "" : `/${this.apiReason}`
    return `${this.verb} ${this.path}:${status} ${this.reason}${api}: ${this.detail}`
  }
}

/** A kubeconfig or in-cluster credentials that cannot be used; says where they came from. */
export class KubeConfigError extends Schema.TaggedError<KubeConfigError>()("KubeConfigError", {
  /** e.g. "DD_KUBERNETES_KUBECONFIG_PATH=/etc/kube/config", "in-cluster service account". */
  source: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return this.source === "" ? this.problem : `${this.source}: ${this.problem}`
  }
}

/** Pure: the reason for an HTTP error status. */
export const reasonForStatus = (status: number): KubeErrorReason => {
  switch (status) {
    case 401:
      return "Unauthorized"
    case 403:
      return "Forbidden"
    case 404:
      return "NotFound"
    case 409:
      return "Conflict"
    case 410:
      return "Gone"
    case 429:
      return "TooManyRequests"
  }
  return status >= 500 ? "ServerError" : "Invalid"
}

/** The part of a `metav1.Status` we read. */
export interface StatusLike {
  readonly kind?: unknown
  readonly message?: unknown
  readonly reason?: unknown
  readonly code?: unknown
}

const isStatus = (v: unknown): v is StatusLike =>
  typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "Status"

/**
 * Pure: the error for a non-2xx answer. The body is usually a Status; when it is not (a proxy
 * in front of the server, /readyz) its first 512 characters become the detail.
 */
export const errorFromResponse = (verb: string, path: string, status: number, body: string): KubeError => {
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    parsed = undefined
  }
  if (isStatus(parsed)) return errorFromStatus(verb, path, parsed, status)
  const text = body.trim()
  return new KubeError({
    reason: reasonForStatus(status),
    verb,
    path,
    status,
    detail: text === "" ? `HTTP ${status}` : text.slice(0, 512)
  })
}

/** Pure: the error for a Status, from a response body or a watch ERROR event. */
export const errorFromStatus = (verb: string, path: string, s: StatusLike, httpStatus?: number): KubeError => {
  const code = typeof s.code === "number" && s.code > 0 ? s.code : httpStatus
  const apiReason = typeof s.reason === "string" && s.reason !== "" ? s.reason : undefined
  return new KubeError({
    reason: code === undefined ? "ServerError" : reasonForStatus(code),
    verb,
    path,
    ...(code === undefined ? {} : { status: code }),
    ...(apiReason === undefined ? {} : { apiReason }),
    detail: typeof s.message === "string" && s.message !== "" ? s.message : (apiReason ?? "no message")
  })
}

/** Worth retrying later: the connection, a timeout, throttling or a server-side failure. */
export const isRetryable = (e: KubeError): boolean =>
  e.reason === "Transport" || e.reason === "Timeout" || e.reason === "TooManyRequests" || e.reason === "ServerError"

/** Pure: `spec.metrics[0].external`, `metadata.labels["app.kubernetes.io/name"]`. */
export const formatFieldPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === "" ? key : `.${key}`
    else out += `[${JSON.stringify(typeof key === "symbol" ? String(key) : key)}]`
  }
  return out
}

/**
 * What came instead, short and without the content of objects: a wrong field is named, not
 * dumped (a ConfigMap's values are not for logs).
 */
const describeValue = (value: unknown): string => {
  if (value === undefined) return "nothing"
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value)
    case "number":
    case "boolean":
      return String(value)
    case "object":
      return "an object"
  }
  return typeof value
}

const valueAt = (root: unknown, path: ReadonlyArray<PropertyKey>): unknown => {
  let value = root
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Pure: the text of a schema issue against the value that was decoded, one field per line
 * joined with "; ": `spec.leaseDurationSeconds: expected number, got "60"`,
 * `spec.maxReplicas: missing`.
 */
export const describeIssue = (issue: SchemaIssue.Issue, input: unknown): string =>
  issueFormatter(issue)
    .issues.map(({ message, path }) => {
      const keys = (path ?? []).map((segment) =>
        typeof segment === "object" && segment !== null ? (segment as { key: PropertyKey }).key : segment
      )
      const field = formatFieldPath(keys)
      const what =
        message === "Missing key"
          ? "missing"
          : `${message.charAt(0).toLowerCase()}${message.slice(1)}, got ${describeValue(valueAt(input, keys))}`
      return field === "" ? what : `${field}: ${what}`
    })
    .join("; ")

/** Pure: the Decode error for an answer whose shape is not the one we read. */
export const errorFromIssue = (
  verb: string,
  path: string,
  issue: SchemaIssue.Issue,
  input: unknown,
  status?: number
): KubeError =>
  new KubeError({
    reason: "Decode",
    verb,
    path,
    ...(status === undefined ? {} : { status }),
    detail: describeIssue(issue, input)
  })
