/**
 * The leader's Datadog round against the real fake Datadog API (dev/fakeDatadog) through the real
 * client: chunks and calls, and what 429s, 5xx, timeouts, malformed answers, empty and multiple
 * series do to each query; then, with applyOutcome, which metrics stay valid and for how long.
 * The client does not retry here (its retries are DatadogClient.test.ts's), so a fault is one
 * failed chunk. Sockets are real; the client's timeout runs on the test clock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { DatadogClient, type DatadogClientOptions } from "../../../src/layers/DatadogClient.ts"
import type { QueryOutcome } from "../../../src/services/externalMetrics/points.ts"
import { metricQuery } from "../../../src/services/externalMetrics/query.ts"
import { queryOutcomes, type RefreshResult } from "../../../src/services/externalMetrics/refresh.ts"
import type { ExternalMetricEntry } from "../../../src/services/externalMetrics/types.ts"
import { applyOutcome } from "../../../src/services/externalMetrics/validity.ts"
import { captureLogs, clientOptions, until, useFakeDatadog } from "../../layers/datadog/support.ts"

const QUERY = "/api/v1/query"
const NOW = 1_700_000_000
const BUCKET = 300
const MAX_AGE = 120

const fake = useFakeDatadog()

const noRetry: DatadogClientOptions["retry"] = {
  retries: 0,
  base: Duration.seconds(1),
  cap: Duration.seconds(1),
  rateLimitCap: Duration.seconds(1)
}

const client = (overrides: Partial<DatadogClientOptions> = {}) =>
  DatadogClient.make(clientOptions(fake.url, { retry: noRetry, ...overrides }))

/** `avg:app.load{id:<i>}.rollup(30)`: the fake answers it with value i. */
const q = (i: number) => metricQuery("avg", "app.load", { id: String(i) }, 30)
const idOf = (query: string) => Number(/id:(\d+)/.exec(query)?.[1] ?? Number.NaN)

/** Three points per query ending at `to`: the newest is skipped, so the value is at to − 30 s. */
const answerEveryQuery = () =>
  fake.setSeriesFallback((query, _from, to) => [
    [(to - 60) * 1000, -1],
    [(to - 30) * 1000, idOf(query)],
    [to * 1000, -2]
  ])

/** One round; typed as never failing: a failed chunk is an outcome, not an error. */
const round = (
  c: DatadogClient["Service"],
  queries: ReadonlyArray<string>,
  now: number,
  extra: { chunkSize?: number; concurrency?: number } = {}
): Effect.Effect<RefreshResult> =>
  queryOutcomes(c.queryMetrics, queries, { chunkSize: extra.chunkSize ?? 35, bucketSeconds: BUCKET, now, ...extra })

/** The queries of the requests a fault answered (the fake records which one did). */
const faulted = () =>
  fake
    .requests({ path: QUERY })
    .filter((r) => r.fault !== undefined && r.fault !== "latency")
    .flatMap((r) => splitChunk(r.query.query ?? ""))
/** Our queries have one comma-free tag, so a chunk splits on "),". */
const splitChunk = (joined: string) => joined.split(/(?<=\)),/)

const tags = (outcomes: ReadonlyMap<string, QueryOutcome>, queries: ReadonlyArray<string>) =>
  queries.map((query) => outcomes.get(query)?._tag)

describe("queryOutcomes", () => {
  it.effect("one call per chunk over [now − bucket, now]; a point for every query", () =>
    Effect.gen(function* () {
      answerEveryQuery()
      const c = yield* client()
      const queries = Array.from({ length: 70 }, (_, i) => q(i))
      const result = yield* round(c, [...queries, ...queries.slice(0, 10)], NOW)
      expect(result.calls).toBe(2)
      expect(result.failedCalls).toBe(0)
      expect(result.dropped).toEqual([])
      const calls = fake.metricQueries()
      expect(calls.map((m) => [m.from, m.to])).toEqual([
        [NOW - BUCKET, NOW],
        [NOW - BUCKET, NOW]
      ])
      expect(calls.flatMap((m) => splitChunk(m.query)).sort()).toEqual([...queries].sort())
      expect(result.outcomes.size).toBe(70)
      for (const [i, query] of queries.entries()) {
        expect(result.outcomes.get(query)).toEqual({ _tag: "Point", value: i, ts: NOW - 30 })
      }
    })
  )

  it.effect("1,000 distinct queries: exactly ⌈1000/35⌉ = 29 calls", () =>
    Effect.gen(function* () {
      answerEveryQuery()
      const c = yield* client()
      const queries = Array.from({ length: 1000 }, (_, i) => q(i))
      const result = yield* round(c, queries, NOW)
      expect(result.calls).toBe(29)
      expect(fake.metricQueries()).toHaveLength(29)
      expect(
        fake
          .metricQueries()
          .map((m) => splitChunk(m.query).length)
          .sort((a, b) => b - a)[0]
      ).toBe(35)
      expect([...result.outcomes.values()].every((o) => o._tag === "Point")).toBe(true)
    })
  )

  it.effect(
    "429 on two chunks: exactly their queries fail, naming the status and the reset; the rest get points",
    () => {
      const logs = captureLogs()
      return Effect.gen(function* () {
        answerEveryQuery()
        fake.inject({ kind: "rateLimit", reset: 12 }, { path: QUERY, times: 2 })
        const c = yield* client()
        const queries = Array.from({ length: 175 }, (_, i) => q(i))
        const result = yield* round(c, queries, NOW)
        expect(result.calls).toBe(5)
        expect(result.failedCalls).toBe(2)
        const failedQueries = new Set(faulted())
        expect(failedQueries.size).toBe(70)
        for (const query of queries) {
          const outcome = result.outcomes.get(query)
          if (failedQueries.has(query)) {
            expect(outcome).toEqual({
              _tag: "Failed",
              reason: "Datadog answered 429 (rate limited; X-RateLimit-Reset 12 s)"
            })
          } else {
            expect(outcome).toEqual({ _tag: "Point", value: idOf(query), ts: NOW - 30 })
          }
        }
        const warnings = logs.lines.filter((l) => l.level === "Warn")
        expect(warnings).toHaveLength(2)
        expect(warnings[0]?.annotations).toMatchObject({ queries: 35, reason: "RateLimited", status: 429 })
      }).pipe(Effect.provide(logs.layer))
    }
  )

  it.effect("a 5xx on the first chunk (one at a time): that chunk's queries fail, the next chunk's do not", () =>
    Effect.gen(function* () {
      answerEveryQuery()
      fake.inject({ kind: "status", status: 503 }, { path: QUERY, times: 1 })
      const c = yield* client()
      const queries = Array.from({ length: 40 }, (_, i) => q(i))
      const result = yield* round(c, queries, NOW, { concurrency: 1 })
      expect(tags(result.outcomes, queries)).toEqual([...Array(35).fill("Failed"), ...Array(5).fill("Point")])
      const first = result.outcomes.get(q(0))
      expect(first?._tag === "Failed" && first.reason).toMatch(/^Datadog answered 503 \(server error\): /)
    })
  )

  it.effect("a malformed answer fails only its chunk", () =>
    Effect.gen(function* () {
      answerEveryQuery()
      fake.inject({ kind: "malformed", body: '{"status":"ok","series":[' }, { path: QUERY, times: 1 })
      const c = yield* client()
      const queries = Array.from({ length: 70 }, (_, i) => q(i))
      const result = yield* round(c, queries, NOW)
      expect(result.failedCalls).toBe(1)
      const failedQueries = new Set(faulted())
      expect(failedQueries.size).toBe(35)
      for (const query of queries) {
        const outcome = result.outcomes.get(query)
        expect(outcome?._tag).toBe(failedQueries.has(query) ? "Failed" : "Point")
        if (outcome?._tag === "Failed") expect(outcome.reason).toMatch(/^Datadog's answer was malformed: /)
      }
    })
  )

  it.effect("a chunk with no answer within the client timeout fails as timed out; the others do not wait for it", () =>
    Effect.gen(function* () {
      answerEveryQuery()
      fake.inject({ kind: "latency", ms: 60_000 }, { path: QUERY, times: 1 })
      const c = yield* client({ timeout: Duration.seconds(10) })
      const queries = Array.from({ length: 105 }, (_, i) => q(i))
      // Count the calls the client has finished with, so the clock moves only once the two
      // answered chunks are decoded (moving it earlier could time them out too).
      let finished = 0
      const counted: typeof c.queryMetrics = (query) =>
        c.queryMetrics(query).pipe(Effect.ensuring(Effect.sync(() => (finished += 1))))
      const fiber = yield* Effect.forkChild(
        queryOutcomes(counted, queries, { chunkSize: 35, bucketSeconds: BUCKET, now: NOW })
      )
      yield* until("the two answered chunks decoded and the third held", () => {
        const held = fake.requests({ path: QUERY }).filter((r) => r.fault === "latency" && !r.done)
        return finished === 2 && held.length === 1
      })
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      const held = fake.requests({ path: QUERY }).find((r) => r.fault === "latency")
      const heldQueries = new Set(splitChunk(held?.query.query ?? ""))
      expect(heldQueries.size).toBe(35)
      for (const query of queries) {
        const outcome = result.outcomes.get(query)
        if (heldQueries.has(query))
          expect(outcome).toEqual({
            _tag: "Failed",
            reason: expect.stringMatching(/^the query to Datadog timed out: /)
          })
        else expect(outcome?._tag).toBe("Point")
      }
      expect(result.failedCalls).toBe(1)
    })
  )

  it.effect("empty and multiple series: NoData with the reason, without failing the chunk", () =>
    Effect.gen(function* () {
      answerEveryQuery()
      const empty = q(1)
      const several = q(2)
      fake.setSeries(empty, null)
      fake.setSeries(several, [{ points: [[NOW * 1000, 1]] }, { points: [[NOW * 1000, 2]] }])
      const c = yield* client()
      const result = yield* round(c, [q(0), empty, several, q(3)], NOW)
      expect(result.failedCalls).toBe(0)
      expect(result.outcomes.get(q(0))).toEqual({ _tag: "Point", value: 0, ts: NOW - 30 })
      expect(result.outcomes.get(empty)).toEqual({
        _tag: "NoData",
        reason: `no series returned for ${empty} in the last ${BUCKET} seconds`
      })
      expect(result.outcomes.get(several)).toEqual({
        _tag: "NoData",
        reason: `multiple series found for ${several} (2); the query must return exactly one series`
      })
      expect(result.outcomes.get(q(3))).toEqual({ _tag: "Point", value: 3, ts: NOW - 30 })
    })
  )

  it.effect("an over-long query is not sent: NoData with why, an error log, the others sent", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      answerEveryQuery()
      const long = metricQuery("avg", "app.load", { id: "9", note: "x".repeat(7000) }, 30)
      const c = yield* client()
      const result = yield* round(c, [q(0), long, q(1)], NOW)
      expect(result.calls).toBe(1)
      expect(result.dropped.map((d) => d.query)).toEqual([long])
      expect(fake.metricQueries().map((m) => m.query)).toEqual([`${q(0)},${q(1)}`])
      expect(result.outcomes.get(long)?._tag).toBe("NoData")
      expect(logs.atLeast("Error").map((l) => l.message)).toEqual(["external metric query dropped: too long to send"])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("no queries: no calls", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const result = yield* round(c, [], NOW)
      expect(result).toEqual({ outcomes: new Map(), calls: 0, failedCalls: 0, dropped: [] })
      expect(fake.requests({ path: QUERY })).toEqual([])
    })
  )
})

describe("a refresh with applyOutcome", () => {
  const entryFor = (i: number): ExternalMetricEntry => ({
    metricName: "app.load",
    labels: { id: String(i) },
    reference: { type: "horizontal", name: `hpa-${i}`, namespace: "shop", uid: `u-${i}` },
    value: 0,
    ts: NOW,
    valid: false
  })

  /** One refresh of every entry at `now`. */
  const refresh = (c: DatadogClient["Service"], entries: ReadonlyArray<ExternalMetricEntry>, now: number) =>
    Effect.map(
      round(
        c,
        entries.map((e) => metricQuery("avg", e.metricName, e.labels, 30)),
        now,
        { concurrency: 1 }
      ),
      (result) =>
        entries.map((e) =>
          applyOutcome(e, result.outcomes.get(metricQuery("avg", e.metricName, e.labels, 30)), now, MAX_AGE)
        )
    )

  it.effect(
    "a rate-limited chunk keeps its metrics valid until their last value is older than max age; the rest stay valid",
    () =>
      Effect.gen(function* () {
        answerEveryQuery()
        const c = yield* client()
        let entries = Array.from({ length: 50 }, (_, i) => entryFor(i))

        // Round 1: everything answered; points at now − 30.
        entries = (yield* refresh(c, entries, NOW)).map((a) => a.entry)
        expect(entries.every((e) => e.valid && e.ts === NOW - 30)).toBe(true)

        // Round 2, 60 s later: the first chunk (35 metrics) is rate limited. Its last values are 90 s old: still served.
        fake.inject({ kind: "rateLimit", reset: 30 }, { path: QUERY, times: 1 })
        const second = yield* refresh(c, entries, NOW + 60)
        entries = second.map((a) => a.entry)
        expect(entries.every((e) => e.valid)).toBe(true)
        expect(entries.slice(0, 35).every((e) => e.ts === NOW - 30)).toBe(true)
        expect(entries.slice(35).every((e) => e.ts === NOW + 30)).toBe(true)
        expect(second[0]?.problem).toMatch(/^Datadog answered 429 .*serving the last value, from 90 s ago/)
        expect(second[49]?.problem).toBeUndefined()

        // Round 3, 100 s after the first: the same chunk is limited again; its values are now 130 s old.
        fake.inject({ kind: "rateLimit", reset: 30 }, { path: QUERY, times: 1 })
        const third = yield* refresh(c, entries, NOW + 100)
        entries = third.map((a) => a.entry)
        expect(entries.slice(0, 35).map((e) => e.valid)).toEqual(Array(35).fill(false))
        expect(entries.slice(0, 35).every((e) => e.ts === NOW + 100 && e.value === idOf(`id:${e.labels.id}`))).toBe(
          true
        )
        expect(third[0]?.problem).toMatch(/older than max age 120 s$/)
        expect(entries.slice(35).every((e) => e.valid && e.ts === NOW + 70)).toBe(true)

        // Round 4: Datadog answers again; everything is valid again.
        entries = (yield* refresh(c, entries, NOW + 130)).map((a) => a.entry)
        expect(entries.every((e) => e.valid)).toBe(true)
      })
  )
})
