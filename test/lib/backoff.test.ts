// The reconnect policy (design.md convention 6: jittered exponential backoff as a named
// Schedule): delays from 1 s, doubling, each jittered within ×0.8–1.2, never above 30 s. The
// schedule is stepped by hand (Schedule.toStep), so no time passes; randomness is pinned with a
// Random service returning chosen values, or seeded for many samples.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Random, Schedule } from "effect"
import { reconnectBackoff, reconnectCap } from "../../src/lib/backoff.ts"

/** The first `n` delays of the schedule, in milliseconds. */
const delays = (n: number) =>
  Effect.gen(function* () {
    const step = yield* Schedule.toStep(reconnectBackoff)
    const out: Array<number> = []
    let now = 0
    for (let i = 0; i < n; i++) {
      const [, delay] = yield* step(now, undefined)
      out.push(Duration.toMillis(delay))
      now += Duration.toMillis(delay)
    }
    return out
  })

/** A Random service whose doubles are always `r` (0 ≤ r < 1). */
const fixedRandom = (r: number) =>
  Effect.provideService(Random.Random, {
    nextDoubleUnsafe: () => r,
    nextIntUnsafe: () => Math.floor(r * Number.MAX_SAFE_INTEGER)
  })

/** The un-jittered delay of attempt i (0-based): 1 s doubling. */
const nominal = (i: number) => 1000 * 2 ** i
const capMs = 30_000

describe("reconnectBackoff", () => {
  it("is capped at 30 s", () => {
    expect(Duration.toMillis(reconnectCap)).toBe(capMs)
  })

  it.effect("with no jitter (the middle of the range), the delays are 1, 2, 4, 8, 16 s, then 30 s", () =>
    Effect.gen(function* () {
      const ms = yield* delays(10).pipe(fixedRandom(0.5))
      expect(ms).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000])
    })
  )

  it.effect("at the low end of the jitter each delay is 0.8× the nominal one", () =>
    Effect.gen(function* () {
      const ms = yield* delays(8).pipe(fixedRandom(0))
      const expected = Array.from({ length: 8 }, (_, i) => Math.min(0.8 * nominal(i), capMs))
      ms.forEach((d, i) => {
        expect(d).toBeCloseTo(expected[i] as number, 6)
      })
      // 0.8 × 32 s = 25.6 s is still below the cap.
      expect(ms[5]).toBeCloseTo(25_600, 6)
    })
  )

  it.effect("at the high end of the jitter each delay is 1.2× the nominal one, cut at 30 s", () =>
    Effect.gen(function* () {
      const r = 1 - Number.EPSILON
      const ms = yield* delays(8).pipe(fixedRandom(r))
      for (let i = 0; i < 8; i++) expect(ms[i]).toBeCloseTo(Math.min(1.2 * nominal(i), capMs), 3)
      // 1.2 × 16 s = 19.2 s; 1.2 × 32 s would be 38.4 s: capped.
      expect(ms[4]).toBeCloseTo(19_200, 3)
      expect(ms[5]).toBe(capMs)
    })
  )

  it.effect("over many seeded runs every delay lies in its jitter band and never above 30 s", () =>
    Effect.gen(function* () {
      const attempts = 12
      const lowest = Array.from({ length: attempts }, () => Number.POSITIVE_INFINITY)
      const highest = Array.from({ length: attempts }, () => 0)
      for (let run = 0; run < 300; run++) {
        const ms = yield* delays(attempts).pipe(Random.withSeed(`backoff-${run}`))
        ms.forEach((d, i) => {
          const low = Math.min(0.8 * nominal(i), capMs)
          const high = Math.min(1.2 * nominal(i), capMs)
          expect(d).toBeGreaterThanOrEqual(low - 1e-6)
          expect(d).toBeLessThanOrEqual(high + 1e-6)
          expect(d).toBeLessThanOrEqual(capMs)
          lowest[i] = Math.min(lowest[i] as number, d)
          highest[i] = Math.max(highest[i] as number, d)
        })
      }
      // The jitter really spreads the delays over most of the band, below the cap.
      for (let i = 0; i < 5; i++) {
        const band = 0.4 * nominal(i)
        expect((highest[i] as number) - (lowest[i] as number)).toBeGreaterThan(0.8 * band)
      }
      // From the 7th attempt on (nominal 64 s, jittered ≥ 51.2 s) every delay is the cap.
      for (let i = 6; i < attempts; i++) expect([lowest[i], highest[i]]).toEqual([capMs, capMs])
    })
  )

  it.effect("never stops: it keeps recurring long after the delays reach the cap", () =>
    Effect.gen(function* () {
      const ms = yield* delays(200).pipe(Random.withSeed("long"))
      expect(ms).toHaveLength(200)
      expect(ms.slice(6).every((d) => d === capMs)).toBe(true)
    })
  )

  it.effect("each run starts again from 1 s", () =>
    Effect.gen(function* () {
      const first = yield* delays(5).pipe(fixedRandom(0.5))
      const second = yield* delays(3).pipe(fixedRandom(0.5))
      expect(first.slice(0, 3)).toEqual(second)
      expect(second[0]).toBe(1000)
    })
  )
})
