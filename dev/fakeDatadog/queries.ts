/**
 * The `query` parameter of `GET /api/v1/query`: several metric queries joined by commas. Commas
 * also appear inside tag scopes (`{a:b,c:d}`) and function arguments (`.rollup(avg, 30)`), so the
 * string is split only at commas outside every bracket.
 */

const OPEN: Record<string, string> = { "{": "}", "(": ")", "[": "]" }

/** The queries of a `query` parameter, in order, each trimmed; empty pieces are kept as "". */
export const splitQueries = (queries: string): string[] => {
  const parts: string[] = []
  const closers: string[] = []
  let start = 0
  for (let i = 0; i < queries.length; i++) {
    const ch = queries.charAt(i)
    const closer = OPEN[ch]
    if (closer !== undefined) closers.push(closer)
    else if (ch === closers[closers.length - 1]) closers.pop()
    else if (ch === "," && closers.length === 0) {
      parts.push(queries.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(queries.slice(start).trim())
  return parts
}

/** What a series answering `query` says about itself (`metric`, `scope`, `aggr`, rollup interval). */
export interface QueryParts {
  readonly metric: string
  readonly scope: string
  readonly aggr?: string
  readonly interval?: number
}

// [function(]<aggr>:<metric>{<scope>}[ by {...}][.rollup(<method>, <seconds>) | .rollup(<seconds>)]
const QUERY = /^(?:[a-z_]+\()*(?:(avg|sum|min|max|count):)?([^{}():,\s]+)\{([^}]*)\}(?:.*?\.rollup\(([^)]*)\))?/

/** Best-effort reading of one query; a query in another shape names itself as the metric. */
export const describeQuery = (query: string): QueryParts => {
  const match = QUERY.exec(query)
  if (match === null) return { metric: query, scope: "*" }
  const [, aggr, metric = query, scope = "*", rollup] = match
  const seconds = rollup
    ?.split(",")
    .map((s) => Number(s.trim()))
    .find((n) => Number.isInteger(n) && n > 0)
  return {
    metric,
    scope: scope === "" ? "*" : scope,
    ...(aggr === undefined ? {} : { aggr }),
    ...(seconds === undefined ? {} : { interval: seconds })
  }
}
