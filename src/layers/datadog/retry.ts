// When a failed request to Datadog is sent again. 5xx, timeouts and broken connections back off
// exponentially (doubling from 1 s, each delay jittered ×0.8–1.2, never above 30 s); a 429
// waits for the end of the rate-limit period that `X-RateLimit-Reset` announces (never more
// than 60 s, at least 1 s). After three retries the error surfaces to the caller, who keeps its
// data and decides (the event collector does not advance its cursor). Rejected keys and bad
// requests are never retried.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { type DatadogApiError, isRetryable } from "./errors.ts"

export interface RetryPolicy {
  /** Attempts after the first one. */
  readonly retries: number
  /** First backoff delay; each next one doubles. */
  readonly base: Duration.Duration
  /** Longest backoff delay. */
  readonly cap: Duration.Duration
  /** Longest wait for a rate-limit reset. */
  readonly rateLimitCap: Duration.Duration
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 3,
  base: Duration.seconds(1),
  cap: Duration.seconds(30),
  rateLimitCap: Duration.seconds(60)
}

/** Pure: the wait before retrying after `error`, given the (jittered) backoff delay. */
export const retryDelay = (
  error: DatadogApiError,
  backoff: Duration.Duration,
  policy: RetryPolicy
): Duration.Duration => {
  const reset = error.rateLimit?.reset
  if (error.reason === "RateLimited" && reset !== undefined) {
    return Duration.min(Duration.max(Duration.seconds(reset), Duration.seconds(1)), policy.rateLimitCap)
  }
  return Duration.min(backoff, policy.cap)
}

/** The retry schedule of every Datadog call: stops at once on an error that is not retryable. */
export const datadogRetry = (
  policy: RetryPolicy = defaultRetryPolicy
): Schedule.Schedule<Duration.Duration, DatadogApiError> =>
  Schedule.exponential(policy.base, 2).pipe(
    Schedule.jittered,
    Schedule.setInputType<DatadogApiError>(),
    Schedule.while(({ input }) => isRetryable(input)),
    Schedule.modifyDelay(({ input, duration }) => Effect.succeed(retryDelay(input, duration, policy))),
    Schedule.upTo({ times: policy.retries })
  )
