/** DatadogApiError: reasons by status, rate-limit headers, details from answers, messages. */
import { describe, expect, it } from "@effect/vitest"
import {
  DatadogApiError,
  detailFromBody,
  isKeyRejected,
  isRetryable,
  parseRateLimit,
  reasonForStatus
} from "../../../src/layers/datadog/errors.ts"

describe("DatadogApiError", () => {
  it.each([
    [400, "BadRequest"],
    [401, "Unauthorized"],
    [403, "Forbidden"],
    [404, "BadRequest"],
    [413, "BadRequest"],
    [414, "BadRequest"],
    [429, "RateLimited"],
    [500, "ServerError"],
    [502, "ServerError"],
    [503, "ServerError"],
    [504, "ServerError"]
  ] as const)("status %i is %s", (status, reason) => {
    expect(reasonForStatus(status)).toBe(reason)
  })

  it("retries transport, timeout, 429 and 5xx; rejected keys are their own kind", () => {
    const of = (reason: DatadogApiError["reason"]) =>
      new DatadogApiError({ reason, method: "GET", endpoint: "/api/v1/query", detail: "d" })
    expect((["Transport", "Timeout", "RateLimited", "ServerError"] as const).map((r) => isRetryable(of(r)))).toEqual([
      true,
      true,
      true,
      true
    ])
    expect((["Unauthorized", "Forbidden", "BadRequest", "Decode"] as const).map((r) => isRetryable(of(r)))).toEqual([
      false,
      false,
      false,
      false
    ])
    expect((["Unauthorized", "Forbidden", "BadRequest"] as const).map((r) => isKeyRejected(of(r)))).toEqual([
      true,
      true,
      false
    ])
  })

  it("reads X-RateLimit-* headers, numeric ones only", () => {
    expect(
      parseRateLimit({
        "x-ratelimit-limit": "1600",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-period": "3600",
        "x-ratelimit-reset": " 42 ",
        "x-ratelimit-name": "query"
      })
    ).toEqual({ limit: 1600, remaining: 0, period: 3600, reset: 42, name: "query" })
    expect(parseRateLimit({ "x-ratelimit-reset": "soon", "x-ratelimit-limit": ["10", "20"] })).toEqual({ limit: 10 })
    expect(parseRateLimit({ "content-type": "application/json" })).toBeUndefined()
  })

  it("details: Datadog's errors, an error string, else the text (512 characters at most)", () => {
    expect(detailFromBody(400, '{"errors":["Invalid query","second"]}')).toBe("Invalid query; second")
    expect(detailFromBody(400, '{"status":"error","error":"bad"}')).toBe("bad")
    expect(detailFromBody(502, "<html>Bad Gateway</html>\n")).toBe("<html>Bad Gateway</html>")
    expect(detailFromBody(503, "")).toBe("HTTP 503")
    expect(detailFromBody(500, '{"errors":[]}')).toBe('{"errors":[]}')
    expect(detailFromBody(500, "x".repeat(2000))).toHaveLength(512)
  })

  it("message: method, endpoint, status, reason, detail", () => {
    const e = new DatadogApiError({
      reason: "RateLimited",
      method: "GET",
      endpoint: "/api/v1/query",
      status: 429,
      detail: "Too many requests",
      rateLimit: { limit: 100, remaining: 0, period: 60, reset: 7 }
    })
    expect(e.message).toBe("GET /api/v1/query: 429 RateLimited: Too many requests")
    expect(e._tag).toBe("DatadogApiError")
    expect(
      new DatadogApiError({ reason: "Timeout", method: "POST", endpoint: "/api/v1/events", detail: "no answer" })
        .message
    ).toBe("POST /api/v1/events: Timeout: no answer")
  })
})
