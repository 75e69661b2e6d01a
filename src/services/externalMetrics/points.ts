// What one chunk's answer says about each of its queries (contract §6.3, the original's
// datadogexternal.go): the point to use, no data (with why), or the chunk's failure. Plain code.
//
// Series are matched to queries by `queryIndex` (0-based); with a single query in the chunk every
// series is that query's, as in the original. A second series for one query makes it NoData: the
// autoscaler could not know which value to use. Within a series the newest non-null point is
// skipped when the series has more than one point (nulls included), because the last bucket may
// still receive late points; the next newest non-null one is used. Timestamps are ms → s.
import type { MetricsQueryResponse, MetricsQuerySeries, Point } from "../../layers/datadog/schemas.ts"

export type QueryOutcome =
  /** The value to use and its time (seconds since the epoch). */
  | { readonly _tag: "Point"; readonly value: number; readonly ts: number }
  /** Datadog answered, without a usable point for this query. */
  | { readonly _tag: "NoData"; readonly reason: string }
  /** The chunk's request failed (429, 5xx, timeout, malformed answer...). */
  | { readonly _tag: "Failed"; readonly reason: string }

export const point = (value: number, ts: number): QueryOutcome => ({ _tag: "Point", value, ts })
export const noData = (reason: string): QueryOutcome => ({ _tag: "NoData", reason })
export const failed = (reason: string): QueryOutcome => ({ _tag: "Failed", reason })

/** The point of one series to use, or why there is none. */
export const pickPoint = (query: string, pointlist: ReadonlyArray<Point>, bucketSeconds: number): QueryOutcome => {
  if (pointlist.length === 0) return noData(`the series of ${query} has no points in the last ${bucketSeconds} seconds`)
  let skipped = false
  for (let i = pointlist.length - 1; i >= 0; i--) {
    const entry = pointlist[i]
    if (entry === undefined) continue
    const [timestampMs, value] = entry
    if (value === null) continue
    if (!skipped && pointlist.length > 1) {
      skipped = true
      continue
    }
    return point(value, Math.trunc(timestampMs / 1000))
  }
  return skipped
    ? noData(
        `the series of ${query} has one non-null point in the last ${bucketSeconds} seconds, its newest, which is not used because late data may still change it`
      )
    : noData(`the series of ${query} has only null points in the last ${bucketSeconds} seconds`)
}

/** Which query of the chunk a series answers; undefined when it cannot be told. */
const indexOf = (series: MetricsQuerySeries, chunkLength: number): number | undefined => {
  if (chunkLength === 1) return 0
  const index = series.queryIndex
  return index !== undefined && index >= 0 && index < chunkLength ? index : undefined
}

/** One outcome per query of the chunk, in the chunk's order, from Datadog's answer to it. */
export const chunkOutcomes = (
  chunk: ReadonlyArray<string>,
  response: MetricsQueryResponse,
  bucketSeconds: number
): ReadonlyArray<QueryOutcome> => {
  const seriesOf: Array<Array<MetricsQuerySeries>> = chunk.map(() => [])
  for (const series of response.series) {
    const index = indexOf(series, chunk.length)
    // A series naming no query of the chunk (or one past its end) answers none of them.
    if (index !== undefined) seriesOf[index]?.push(series)
  }
  return chunk.map((query, index) => {
    const found = seriesOf[index] ?? []
    const [first] = found
    if (first === undefined) return noData(`no series returned for ${query} in the last ${bucketSeconds} seconds`)
    if (found.length > 1) {
      return noData(`multiple series found for ${query} (${found.length}); the query must return exactly one series`)
    }
    return pickPoint(query, first.pointlist, bucketSeconds)
  })
}
