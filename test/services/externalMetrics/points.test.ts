/** From one chunk's answer, the outcome of each of its queries. */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { MetricsQueryResponse, MetricsQuerySeries, Point } from "../../../src/layers/DatadogClient.ts"
import { chunkOutcomes, pickPoint } from "../../../src/services/externalMetrics/points.ts"

const series = (pointlist: ReadonlyArray<Point>, queryIndex?: number): MetricsQuerySeries => ({
  metric: "m",
  pointlist,
  ...(queryIndex === undefined ? {} : { queryIndex })
})
const answer = (...s: ReadonlyArray<MetricsQuerySeries>): MetricsQueryResponse => ({ status: "ok", series: s })

const T = 1_700_000_000_000

describe("pickPoint", () => {
  it.each<[string, ReadonlyArray<Point>, { value: number; ts: number } | RegExp]>([
    ["a single point is used", [[T, 5]], { value: 5, ts: 1_700_000_000 }],
    [
      "the newest point is skipped, the one before it used",
      [
        [T, 1],
        [T + 30_000, 2],
        [T + 60_000, 3]
      ],
      { value: 2, ts: 1_700_000_030 }
    ],
    [
      "nulls are passed over, before and after the skip",
      [
        [T, 1],
        [T + 30_000, null],
        [T + 60_000, 3],
        [T + 90_000, null]
      ],
      { value: 1, ts: 1_700_000_000 }
    ],
    [
      "a lone non-null point among nulls is the skipped newest one: no data",
      [
        [T, 7],
        [T + 30_000, null]
      ],
      /one non-null point .* its newest/
    ],
    [
      "only nulls",
      [
        [T, null],
        [T + 30_000, null]
      ],
      /only null points in the last 300 seconds/
    ],
    ["no points", [], /no points in the last 300 seconds/],
    ["milliseconds truncate to seconds", [[T + 999, 4]], { value: 4, ts: 1_700_000_000 }],
    ["zero and negative values are values", [[T, -0.5]], { value: -0.5, ts: 1_700_000_000 }]
  ])("%s", (_, points, expected) => {
    const outcome = pickPoint("q", points, 300)
    if (expected instanceof RegExp) {
      expect(outcome._tag).toBe("NoData")
      expect(outcome._tag === "NoData" && outcome.reason).toMatch(expected)
      expect(outcome._tag === "NoData" && outcome.reason).toContain("q")
    } else {
      expect(outcome).toEqual({ _tag: "Point", ...expected })
    }
  })

  it("the point used is the second newest non-null one (the newest when it is the only point)", () => {
    const points = fc.array(fc.tuple(fc.integer({ min: 0, max: 2e12 }), fc.option(fc.double({ noNaN: true }))), {
      maxLength: 20
    })
    fc.assert(
      fc.property(points, (list) => {
        const outcome = pickPoint("q", list, 300)
        const nonNull = list.filter(([, v]) => v !== null)
        const expected = list.length === 1 ? nonNull[0] : nonNull[nonNull.length - 2]
        if (expected === undefined) expect(outcome._tag).toBe("NoData")
        else expect(outcome).toEqual({ _tag: "Point", value: expected[1], ts: Math.trunc(expected[0] / 1000) })
      })
    )
  })
})

describe("chunkOutcomes", () => {
  const one: ReadonlyArray<Point> = [[T, 1]]

  it("matches series to queries by queryIndex, whatever their order", () => {
    const outcomes = chunkOutcomes(
      ["q0", "q1", "q2"],
      answer(series([[T, 12]], 2), series([[T, 10]], 0), series([[T, 11]], 1)),
      300
    )
    expect(outcomes).toEqual([
      { _tag: "Point", value: 10, ts: 1_700_000_000 },
      { _tag: "Point", value: 11, ts: 1_700_000_000 },
      { _tag: "Point", value: 12, ts: 1_700_000_000 }
    ])
  })

  it("one query: its series needs no queryIndex (and any index is that query's)", () => {
    expect(chunkOutcomes(["q"], answer(series(one)), 300)).toEqual([{ _tag: "Point", value: 1, ts: 1_700_000_000 }])
    expect(chunkOutcomes(["q"], answer(series(one, 4)), 300)).toEqual([{ _tag: "Point", value: 1, ts: 1_700_000_000 }])
  })

  it("a query without a series: no data, naming the query and the window", () => {
    const [q0, q1] = chunkOutcomes(["avg:a{*}.rollup(30)", "avg:b{*}.rollup(30)"], answer(series(one, 0)), 300)
    expect(q0?._tag).toBe("Point")
    expect(q1).toEqual({ _tag: "NoData", reason: "no series returned for avg:b{*}.rollup(30) in the last 300 seconds" })
  })

  it("no series at all: every query has no data", () => {
    const outcomes = chunkOutcomes(["a", "b"], answer(), 120)
    expect(outcomes.map((o) => o._tag)).toEqual(["NoData", "NoData"])
  })

  it("a second series for a query makes it no data; the other queries keep their points", () => {
    const outcomes = chunkOutcomes(
      ["avg:a{*} by {host}.rollup(30)", "b"],
      answer(series(one, 0), series(one, 1), series([[T, 2]], 0)),
      300
    )
    expect(outcomes[0]?._tag).toBe("NoData")
    expect(outcomes[0]?._tag === "NoData" && outcomes[0].reason).toBe(
      "multiple series found for avg:a{*} by {host}.rollup(30) (2); the query must return exactly one series"
    )
    expect(outcomes[1]).toEqual({ _tag: "Point", value: 1, ts: 1_700_000_000 })
  })

  it("several queries: a series without queryIndex, or with one out of range, answers none of them", () => {
    const outcomes = chunkOutcomes(
      ["a", "b"],
      answer(series(one), series(one, 2), series(one, -1), series(one, 1)),
      300
    )
    expect(outcomes.map((o) => o._tag)).toEqual(["NoData", "Point"])
  })

  it("always one outcome per query, in order, whatever the answer", () => {
    const anySeries = fc.record({
      pointlist: fc.array(fc.tuple(fc.nat(), fc.option(fc.integer())), { maxLength: 4 }),
      queryIndex: fc.option(fc.integer({ min: -2, max: 8 }), { nil: undefined })
    })
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 6 }),
        fc.array(anySeries, { maxLength: 10 }),
        (chunk, s) => {
          const outcomes = chunkOutcomes(chunk, answer(...s.map((x) => series(x.pointlist, x.queryIndex))), 300)
          expect(outcomes).toHaveLength(chunk.length)
          for (const o of outcomes) expect(o._tag === "Point" || o._tag === "NoData").toBe(true)
        }
      )
    )
  })
})
