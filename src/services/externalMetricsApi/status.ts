// Answers of the external metrics API as plain values, and every error as a `metav1.Status`
// (the shape and messages of k8s.io/apimachinery's StatusError), because the aggregator passes
// it through unchanged and the HPA shows its message in the FailedGetExternalMetric condition.

export interface ApiResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export type StatusReason =
  | "BadRequest"
  | "Unauthorized"
  | "Forbidden"
  | "NotFound"
  | "MethodNotAllowed"
  | "NotAcceptable"
  | "InternalError"
  | "ServiceUnavailable"

const jsonHeaders = { "content-type": "application/json", "cache-control": "no-cache, private" } as const

export const json = (value: unknown, status = 200): ApiResponse => ({
  status,
  headers: jsonHeaders,
  body: JSON.stringify(value)
})

export const text = (body: string, status = 200): ApiResponse => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  body
})

export const statusError = (code: number, reason: StatusReason, message: string): ApiResponse =>
  json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }, code)

// The apiserver's own messages for these cases.
export const notFound = statusError(404, "NotFound", "the server could not find the requested resource")
export const methodNotAllowed = statusError(
  405,
  "MethodNotAllowed",
  "the server does not allow this method on the requested resource"
)
export const unauthorized = statusError(401, "Unauthorized", "Unauthorized")
export const notAcceptable = statusError(
  406,
  "NotAcceptable",
  "only the following media types are accepted: application/json"
)
