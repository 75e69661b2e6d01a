/** The named retry schedule: backoff bounds, the cap, 429 reset waits, and when it stops. */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Schedule } from "effect"
import { DatadogApiError } from "../../../src/layers/datadog/errors.ts"
import { datadogRetry, defaultRetryPolicy, retryDelay } from "../../../src/layers/datadog/retry.ts"

const error = (reason: DatadogApiError["reason"], reset?: number) =>
  new DatadogApiError({
    reason,
    method: "GET",
    endpoint: "/api/v1/query",
    detail: "d",
    ...(reset === undefined ? {} : { rateLimit: { reset } })
  })

/** The delays the schedule gives for `errors`, until it stops. */
const delays = (errors: ReadonlyArray<DatadogApiError>, policy = defaultRetryPolicy) =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(datadogRetry(policy))
    const out: Array<number> = []
    for (const e of errors) {
      const exit = yield* Effect.exit(step(0, e))
      if (Exit.isFailure(exit)) break
      out.push(Duration.toMillis(exit.value[1]))
    }
    return out
  })

describe("datadogRetry", () => {
  it("retryDelay: the reset of a 429 (1 s to 60 s), else the backoff capped at 30 s", () => {
    const p = defaultRetryPolicy
    const backoff = Duration.seconds(4)
    expect(Duration.toMillis(retryDelay(error("RateLimited", 7), backoff, p))).toBe(7_000)
    expect(Duration.toMillis(retryDelay(error("RateLimited", 0), backoff, p))).toBe(1_000)
    expect(Duration.toMillis(retryDelay(error("RateLimited", 3_600), backoff, p))).toBe(60_000)
    expect(Duration.toMillis(retryDelay(error("RateLimited"), backoff, p))).toBe(4_000)
    expect(Duration.toMillis(retryDelay(error("ServerError", 7), backoff, p))).toBe(4_000)
    expect(Duration.toMillis(retryDelay(error("Timeout"), Duration.seconds(45), p))).toBe(30_000)
  })

  it.effect("5xx, timeouts and transport errors: 1 s doubling ±20 %, three retries", () =>
    Effect.gen(function* () {
      const got = yield* delays([error("ServerError"), error("Timeout"), error("Transport"), error("ServerError")])
      expect(got).toHaveLength(3)
      got.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i)
        expect(d).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i)
      })
    })
  )

  it.effect("the cap holds for long runs; 429s wait their reset", () =>
    Effect.gen(function* () {
      const policy = { ...defaultRetryPolicy, retries: 10 }
      const got = yield* delays(
        Array.from({ length: 10 }, () => error("ServerError")),
        policy
      )
      expect(got).toHaveLength(10)
      for (const d of got) expect(d).toBeLessThanOrEqual(30_000)
      expect(got.slice(-3)).toEqual([30_000, 30_000, 30_000])
      expect(yield* delays([error("RateLimited", 5), error("RateLimited", 9)])).toEqual([5_000, 9_000])
    })
  )

  it.effect("stops at once on errors that are not retryable", () =>
    Effect.gen(function* () {
      for (const reason of ["Forbidden", "Unauthorized", "BadRequest", "Decode"] as const) {
        expect(yield* delays([error(reason)])).toEqual([])
      }
      expect(yield* delays([error("ServerError"), error("Decode"), error("ServerError")])).toHaveLength(1)
    })
  )
})
