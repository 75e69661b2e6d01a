// The leader's Datadog queries (contract §6.3): one query string per distinct metric and label
// set, and the chunks they travel in, one `GET /api/v1/query` per chunk. Plain code.
//
// Chunking follows the original's rule (processor.go `makeChunks`): every query costs its
// URL-escaped length (Go's `url.QueryEscape`) plus 16 characters; a new chunk starts when the
// current one already holds `chunkSize` queries, or when adding the query would bring the
// running cost to `maxLength` (7,000) or more, so every chunk's cost stays below it. One
// departure: a query whose own cost is already ≥ maxLength is always dropped and reported. The
// original drops it only when it comes first (and then, as its running length is not reset,
// drops every query after it too), and sends it alone in a chunk anywhere else, to a 414.

/** The original's budget of characters for one chunk's queries, against 414 URI Too Long. */
export const MAX_CHUNK_LENGTH = 7000

/** Characters budgeted per query for the separator and what the URL adds around it. */
export const EXTRA_QUERY_CHARACTERS = 16

/** `<aggregator>:<metric>{<k:v,...>}.rollup(<rollup>)`; `{*}` without labels. */
export const metricQuery = (
  aggregator: string,
  metricName: string,
  labels: Readonly<Record<string, string>>,
  rollupSeconds: number
): string => {
  const tags = Object.entries(labels)
    .map(([key, value]) => `${key}:${value}`)
    .sort(byBytes)
  const scope = tags.length === 0 ? "*" : tags.join(",")
  return `${aggregator}:${metricName}{${scope}}.rollup(${Math.trunc(rollupSeconds)})`
}

/** Go's `sort.Strings` order: by UTF-8 bytes (UTF-16 order differs above U+FFFF). */
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

const isUnreserved = (byte: number): boolean =>
  (byte >= 0x30 && byte <= 0x39) || // 0-9
  (byte >= 0x41 && byte <= 0x5a) || // A-Z
  (byte >= 0x61 && byte <= 0x7a) || // a-z
  byte === 0x2d || // -
  byte === 0x2e || // .
  byte === 0x5f || // _
  byte === 0x7e // ~

/**
 * The length of `url.QueryEscape(query)` in Go: unreserved bytes and the space (`+`) stay one
 * character, every other UTF-8 byte becomes `%XX`. Slightly more than what our client sends
 * (URLSearchParams leaves `*` alone), so the budget errs on the safe side.
 */
export const escapedLength = (query: string): number => {
  let length = 0
  for (const byte of Buffer.from(query)) length += isUnreserved(byte) || byte === 0x20 ? 1 : 3
  return length
}

/** What a query costs in a chunk's budget. */
export const queryCost = (query: string): number => escapedLength(query) + EXTRA_QUERY_CHARACTERS

export interface DroppedQuery {
  readonly query: string
  readonly reason: string
}

export interface Chunks {
  /** Non-empty chunks, each sent as one call with its queries joined by commas. */
  readonly chunks: ReadonlyArray<ReadonlyArray<string>>
  /** Queries never sent: too long on their own. */
  readonly dropped: ReadonlyArray<DroppedQuery>
}

/**
 * The distinct queries (first-seen order) cut into chunks of at most `chunkSize` queries
 * (≤ 0 counts as 1, like the original's configuration) whose total cost stays below `maxLength`.
 */
export const chunkQueries = (
  queries: ReadonlyArray<string>,
  chunkSize: number,
  maxLength: number = MAX_CHUNK_LENGTH
): Chunks => {
  const perChunk = chunkSize >= 1 ? Math.floor(chunkSize) : 1
  const chunks: Array<ReadonlyArray<string>> = []
  const dropped: Array<DroppedQuery> = []
  const seen = new Set<string>()
  let current: Array<string> = []
  let running = 0
  for (const query of queries) {
    if (seen.has(query)) continue
    seen.add(query)
    const cost = queryCost(query)
    if (cost >= maxLength) {
      dropped.push({
        query,
        reason: `the query is too long to send (${cost} characters escaped, with ${EXTRA_QUERY_CHARACTERS} for the separator; at most ${maxLength - 1}): Datadog would refuse the URL`
      })
      continue
    }
    if (current.length > 0 && (current.length >= perChunk || running + cost >= maxLength)) {
      chunks.push(current)
      current = []
      running = 0
    }
    current.push(query)
    running += cost
  }
  if (current.length > 0) chunks.push(current)
  return { chunks, dropped }
}

/** How old a point may be and still be served: max(max_age, 3 × rollup), in seconds. */
export const effectiveMaxAge = (maxAgeSeconds: number, rollupSeconds: number): number =>
  Math.max(maxAgeSeconds, 3 * rollupSeconds)
