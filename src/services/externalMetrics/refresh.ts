// The leader's Datadog round (contract §6.3): every distinct query, chunked, one metrics query
// call per chunk, all chunks at once (as the original), and one outcome per query. A failed
// chunk (after the client's own retries) marks only its queries Failed; the round itself never
// fails. Counting calls and rate limits is the client's (`datadog_requests{status}`,
// `rate_limit_queries_*`); this adds a warning per failed chunk and an error per dropped query.
import * as Effect from "effect/Effect"
import type { DatadogApiError } from "../../layers/datadog/errors.ts"
import type { MetricsQuery, MetricsQueryResponse } from "../../layers/datadog/schemas.ts"
import { chunkOutcomes, failed, noData, type QueryOutcome } from "./points.ts"
import { chunkQueries, type DroppedQuery } from "./query.ts"

export interface RefreshOptions {
  /** `external_metrics_provider.chunk_size` (35); ≤ 0 counts as 1. */
  readonly chunkSize: number
  /** `external_metrics_provider.bucket_size` (300): the window queried, ending now. */
  readonly bucketSeconds: number
  /** Seconds since the epoch. */
  readonly now: number
  /** Chunks in flight at once; default (or < 1) all of them. */
  readonly concurrency?: number | undefined
}

export interface RefreshResult {
  /** An outcome for every distinct query, dropped ones included (NoData with why). */
  readonly outcomes: ReadonlyMap<string, QueryOutcome>
  /** Chunks sent (one call each). */
  readonly calls: number
  /** Chunks whose call failed. */
  readonly failedCalls: number
  /** Queries not sent because they were too long. */
  readonly dropped: ReadonlyArray<DroppedQuery>
}

const seconds = (n: number | undefined) => (n === undefined ? "" : `; X-RateLimit-Reset ${n} s`)

/** Why a chunk's call failed, for its metrics' status (pure). */
export const failureReason = (e: DatadogApiError): string => {
  const status = e.status === undefined ? "" : ` ${e.status}`
  switch (e.reason) {
    case "RateLimited":
      return `Datadog answered${status} (rate limited${seconds(e.rateLimit?.reset)})`
    case "ServerError":
      return `Datadog answered${status} (server error): ${e.detail}`
    case "Timeout":
      return `the query to Datadog timed out: ${e.detail}`
    case "Decode":
      return `Datadog's answer was malformed: ${e.detail}`
    case "Transport":
      return `Datadog could not be reached: ${e.detail}`
    case "Forbidden":
    case "Unauthorized":
      return `Datadog refused the API or application key${status}: ${e.detail}`
    case "BadRequest":
      return `Datadog refused the query${status}: ${e.detail}`
  }
}

/** Queries Datadog for `queries` and says, for each distinct one, what came back. */
export const queryOutcomes = Effect.fn("ExternalMetrics.queryOutcomes")(function* (
  queryMetrics: (query: MetricsQuery) => Effect.Effect<MetricsQueryResponse, DatadogApiError>,
  queries: ReadonlyArray<string>,
  options: RefreshOptions
) {
  const { chunks, dropped } = chunkQueries(queries, options.chunkSize)
  const outcomes = new Map<string, QueryOutcome>()
  for (const { query, reason } of dropped) {
    outcomes.set(query, noData(reason))
    yield* Effect.logError("external metric query dropped: too long to send").pipe(
      Effect.annotateLogs({ query, reason })
    )
  }
  const window = { from: options.now - options.bucketSeconds, to: options.now }
  const answers = yield* Effect.forEach(
    chunks,
    (chunk) =>
      queryMetrics({ ...window, query: chunk.join(",") }).pipe(
        Effect.map((response) => ({
          chunk,
          outcomes: chunkOutcomes(chunk, response, options.bucketSeconds),
          failed: false
        })),
        Effect.catch((e: DatadogApiError) => {
          const reason = failureReason(e)
          return Effect.logWarning(
            "a chunk of external metric queries failed; its metrics keep their last value up to max age"
          ).pipe(
            Effect.annotateLogs({ queries: chunk.length, reason: e.reason, status: e.status ?? "none", error: reason }),
            Effect.as({ chunk, outcomes: chunk.map(() => failed(reason)), failed: true })
          )
        })
      ),
    { concurrency: options.concurrency !== undefined && options.concurrency >= 1 ? options.concurrency : "unbounded" }
  )
  let failedCalls = 0
  for (const answer of answers) {
    if (answer.failed) failedCalls += 1
    answer.chunk.forEach((query, i) => {
      const outcome = answer.outcomes[i]
      if (outcome !== undefined) outcomes.set(query, outcome)
    })
  }
  const result: RefreshResult = { outcomes, calls: chunks.length, failedCalls, dropped }
  return result
})
