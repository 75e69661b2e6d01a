/** Query strings, chunking and the effective max age of the leader's Datadog queries. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  chunkQueries,
  EXTRA_QUERY_CHARACTERS,
  effectiveMaxAge,
  escapedLength,
  MAX_CHUNK_LENGTH,
  metricQuery,
  queryCost
} from "../../../src/services/externalMetrics/query.ts"

describe("metricQuery", () => {
  it.each([
    [
      "avg",
      "nginx.net.request_per_s",
      { kube_container_name: "nginx" },
      30,
      "avg:nginx.net.request_per_s{kube_container_name:nginx}.rollup(30)"
    ],
    ["sum", "a.b", {}, 60, "sum:a.b{*}.rollup(60)"],
    ["max", "m", { b: "1", a: "2", c: "0" }, 30, "max:m{a:2,b:1,c:0}.rollup(30)"],
    // Sorted by the whole `key:value` string, as the original: "a.b:x" < "a:y" because '.' < ':'.
    ["avg", "m", { a: "y", "a.b": "x" }, 30, "avg:m{a.b:x,a:y}.rollup(30)"],
    ["min", "m", { Z: "1", a: "1" }, 15, "min:m{Z:1,a:1}.rollup(15)"]
  ])("%s:%s %j rollup %d", (aggregator, metric, labels, rollup, expected) => {
    expect(metricQuery(aggregator, metric, labels, rollup)).toBe(expected)
  })

  it("does not depend on the order of the labels", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z_./]{1,8}$/), fc.stringMatching(/^[a-z0-9-]{0,6}$/)),
        (labels) => {
          const reversed = Object.fromEntries(Object.entries(labels).reverse())
          expect(metricQuery("avg", "m", reversed, 30)).toBe(metricQuery("avg", "m", labels, 30))
        }
      )
    )
  })
})

describe("escapedLength", () => {
  it.each([
    ["abc-_.~AZ09", 11],
    // Go's url.QueryEscape escapes every reserved character, `*`, `(` and `)` included.
    ["avg:m{*}.rollup(30)", "avg%3Am%7B%2A%7D.rollup%2830%29".length],
    ["a b", 3],
    ["é", 6]
  ])("%s", (query, expected) => {
    expect(escapedLength(query)).toBe(expected)
  })
})

describe("effectiveMaxAge", () => {
  it.each([
    [120, 30, 120],
    [60, 30, 90],
    [900, 300, 900],
    [0, 0, 0]
  ])("max age %d, rollup %d → %d", (maxAge, rollup, expected) => {
    expect(effectiveMaxAge(maxAge, rollup)).toBe(expected)
  })
})

/** A query costing exactly `cost` (escaped + 16). */
const costing = (cost: number, tag = "") => {
  const base = `avg:m${tag}{*}`
  const padding = cost - EXTRA_QUERY_CHARACTERS - escapedLength(base)
  return `${base}${"x".repeat(padding)}`
}

describe("chunkQueries", () => {
  it("35 per chunk by default budget: 100 queries → 35, 35, 30", () => {
    const queries = Array.from({ length: 100 }, (_, i) => `avg:m${i}{*}.rollup(30)`)
    const { chunks, dropped } = chunkQueries(queries, 35)
    expect(chunks.map((c) => c.length)).toEqual([35, 35, 30])
    expect(chunks.flat()).toEqual(queries)
    expect(dropped).toEqual([])
  })

  it("sends identical queries once, keeping first-seen order", () => {
    const { chunks } = chunkQueries(["b", "a", "b", "c", "a"], 2)
    expect(chunks).toEqual([["b", "a"], ["c"]])
  })

  it.each([0, -3, 0.5, Number.NaN])("chunk size %d counts as 1", (size) => {
    expect(chunkQueries(["a", "b", "c"], size).chunks).toEqual([["a"], ["b"], ["c"]])
  })

  it("starts a new chunk when the running cost would reach the budget, not before", () => {
    const a = costing(3000, "a")
    const b = costing(3999, "b")
    const c = costing(4000, "c")
    // 3000 + 3999 = 6999 < 7000: together.
    expect(chunkQueries([a, b], 35).chunks).toEqual([[a, b]])
    // 3000 + 4000 = 7000: reaches the budget, so apart.
    expect(chunkQueries([a, c], 35).chunks).toEqual([[a], [c]])
  })

  it("drops a query that alone costs the budget or more, wherever it comes, and sends the rest", () => {
    const long = costing(MAX_CHUNK_LENGTH, "long")
    const almost = costing(MAX_CHUNK_LENGTH - 1, "almost")
    const { chunks, dropped } = chunkQueries([long, "a", "b", almost, long, "c"], 35)
    expect(chunks).toEqual([["a", "b"], [almost], ["c"]])
    expect(dropped.map((d) => d.query)).toEqual([long])
    expect(dropped[0]?.reason).toMatch(/too long/)
    expect(dropped[0]?.reason).toContain(String(MAX_CHUNK_LENGTH))
  })

  it("nothing to send: no chunks", () => {
    expect(chunkQueries([], 35)).toEqual({ chunks: [], dropped: [] })
  })

  const query = fc.oneof(
    { weight: 8, arbitrary: fc.stringMatching(/^[a-z]{1,4}:[a-z.]{1,30}\{[a-z:,*]{1,40}\}\.rollup\(30\)$/) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 80 }) },
    { weight: 1, arbitrary: fc.integer({ min: 500, max: 9000 }).map((n) => `avg:m{*}${"y".repeat(n)}`) }
  )
  const input = fc.record({
    queries: fc.array(query, { maxLength: 200 }).chain((qs) =>
      // Repeat some queries to exercise deduplication.
      fc.shuffledSubarray(qs).map((again) => [...qs, ...again])
    ),
    chunkSize: fc.integer({ min: -2, max: 60 }),
    maxLength: fc.constantFrom(MAX_CHUNK_LENGTH, 1000, 200)
  })

  it("every distinct query is sent once, in order, or dropped for its length; chunks within both limits", () => {
    fc.assert(
      fc.property(input, ({ queries, chunkSize, maxLength }) => {
        const { chunks, dropped } = chunkQueries(queries, chunkSize, maxLength)
        const distinct = [...new Set(queries)]
        const droppedQueries = new Set(dropped.map((d) => d.query))
        // Every distinct query lands in exactly one chunk (or the dropped list), in first-seen order.
        expect(chunks.flat()).toEqual(distinct.filter((q) => !droppedQueries.has(q)))
        expect(dropped.map((d) => d.query)).toEqual(distinct.filter((q) => queryCost(q) >= maxLength))
        for (const chunk of chunks) {
          expect(chunk.length).toBeGreaterThan(0)
          expect(chunk.length).toBeLessThanOrEqual(Math.max(1, chunkSize))
          expect(chunk.reduce((sum, q) => sum + queryCost(q), 0)).toBeLessThan(maxLength)
        }
        // A chunk is cut only when the next query would not fit: fewest chunks for the rule.
        for (let i = 0; i + 1 < chunks.length; i++) {
          const chunk = chunks[i] ?? []
          const next = chunks[i + 1]?.[0] ?? ""
          const cost = chunk.reduce((sum, q) => sum + queryCost(q), 0)
          expect(chunk.length >= Math.max(1, chunkSize) || cost + queryCost(next) >= maxLength).toBe(true)
        }
      }),
      { numRuns: 300 }
    )
  })

  it("1,000 distinct ordinary queries make ⌈1000/35⌉ = 29 chunks", () => {
    const queries = Array.from(
      { length: 1000 },
      (_, i) => `avg:app.requests{kube_deployment:web-${i},env:prod}.rollup(30)`
    )
    expect(chunkQueries(queries, 35).chunks).toHaveLength(29)
  })
})
