/**
 * Scripted answers of `GET /api/v1/query`, in the shape of the library's MetricsQueryResponse.
 * A test scripts, per query string (exact match), the points of its series, or a function of
 * (query, from, to); a fallback function may answer any other query. Unscripted queries get no
 * series, as Datadog answers a query without data.
 */
import { describeQuery, splitQueries } from "./queries.ts"

/** `[timestamp in ms, value]`; Datadog leaves gaps as `null` values. */
export type Point = readonly [timestampMs: number, value: number | null]

/** One series of an answer; the omitted fields are derived from the query. */
export interface SeriesSpec {
  readonly points: ReadonlyArray<Point>
  readonly metric?: string
  readonly scope?: string
  readonly tagSet?: ReadonlyArray<string>
  readonly expression?: string
  /** Seconds between points; default the query's rollup, else 20. */
  readonly interval?: number
}

/** The points of a single series, several series, or none (`undefined`, `null` or `[]`). */
export type SeriesAnswer = ReadonlyArray<Point> | ReadonlyArray<SeriesSpec> | null | undefined

/** `from` and `to` are the request's parameters, in seconds. */
export type SeriesFunction = (query: string, from: number, to: number) => SeriesAnswer

export type SeriesScript = SeriesAnswer | SeriesFunction

export interface MetricsQuerySeries {
  readonly metric: string
  readonly display_name: string
  readonly expression: string
  readonly scope: string
  readonly tag_set: string[]
  readonly aggr: string | null
  readonly pointlist: Array<[number, number | null]>
  readonly query_index: number
  readonly interval: number
  readonly length: number
  readonly start: number
  readonly end: number
  readonly unit: null
  readonly attributes: Record<string, never>
}

export interface MetricsQueryResponse {
  readonly status: "ok"
  readonly res_type: "time_series"
  readonly resp_version: 1
  readonly query: string
  readonly from_date: number
  readonly to_date: number
  readonly series: MetricsQuerySeries[]
  readonly group_by: string[]
  readonly message: string
  readonly values: never[]
  readonly times: never[]
}

const isPointList = (answer: ReadonlyArray<Point> | ReadonlyArray<SeriesSpec>): answer is ReadonlyArray<Point> =>
  Array.isArray(answer[0])

const toSpecs = (answer: SeriesAnswer): ReadonlyArray<SeriesSpec> => {
  if (answer === null || answer === undefined || answer.length === 0) return []
  return isPointList(answer) ? [{ points: answer }] : answer
}

export class SeriesScripts {
  readonly #scripts = new Map<string, SeriesScript>()
  #fallback: SeriesFunction | undefined

  /** Scripts the answer to exactly this query string. */
  set(query: string, script: SeriesScript): void {
    this.#scripts.set(query, script)
  }

  /** Answers every query that has no exact script (`undefined` removes it). */
  setFallback(fallback: SeriesFunction | undefined): void {
    this.#fallback = fallback
  }

  delete(query: string): void {
    this.#scripts.delete(query)
  }

  clear(): void {
    this.#scripts.clear()
    this.#fallback = undefined
  }

  #answer(query: string, from: number, to: number): ReadonlyArray<SeriesSpec> {
    const script = this.#scripts.has(query) ? this.#scripts.get(query) : this.#fallback
    return toSpecs(typeof script === "function" ? script(query, from, to) : script)
  }

  /** The response to `query=<queries>&from=<from>&to=<to>` (from and to in seconds). */
  respond(queries: string, from: number, to: number): MetricsQueryResponse {
    const series = splitQueries(queries).flatMap((query, queryIndex) => {
      const parts = describeQuery(query)
      return this.#answer(query, from, to).map((spec): MetricsQuerySeries => {
        const pointlist = spec.points.map(([ts, value]): [number, number | null] => [ts, value])
        const metric = spec.metric ?? parts.metric
        return {
          metric,
          display_name: metric,
          expression: spec.expression ?? query,
          scope: spec.scope ?? parts.scope,
          tag_set: [...(spec.tagSet ?? [])],
          aggr: parts.aggr ?? null,
          pointlist,
          query_index: queryIndex,
          interval: spec.interval ?? parts.interval ?? 20,
          length: pointlist.length,
          start: pointlist[0]?.[0] ?? from * 1000,
          end: pointlist[pointlist.length - 1]?.[0] ?? to * 1000,
          unit: null,
          attributes: {}
        }
      })
    })
    return {
      status: "ok",
      res_type: "time_series",
      resp_version: 1,
      query: queries,
      from_date: from * 1000,
      to_date: to * 1000,
      series,
      group_by: [],
      message: "",
      values: [],
      times: []
    }
  }
}
