// Not sending an occurrence twice (dedupe.ts): the time-windowed, capped set of occurrence keys,
// against a plain model.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  defaultCapacity,
  defaultWindowMillis,
  makeDedupe,
  OccurrenceWindow
} from "../../../src/services/events/dedupe.ts"

const hour = 3_600_000

describe("OccurrenceWindow", () => {
  it("admits a key once, and again once the window has passed since it was first seen", () => {
    const w = new OccurrenceWindow({ windowMillis: 2 * hour })
    expect(w.add("a", 0)).toBe(true)
    expect(w.add("a", 1)).toBe(false)
    // A repeat does not extend the window: it runs from the first sighting.
    expect(w.add("a", 2 * hour - 1)).toBe(false)
    expect(w.add("a", 2 * hour)).toBe(true)
    expect(w.add("a", 2 * hour + 1)).toBe(false)
  })

  it("forgets the oldest key past its capacity", () => {
    const w = new OccurrenceWindow({ capacity: 2 })
    expect([w.add("a", 0), w.add("b", 1), w.add("c", 2)]).toEqual([true, true, true])
    expect(w.size).toBe(2)
    expect(w.has("a", 3)).toBe(false)
    expect(w.add("b", 3)).toBe(false)
    expect(w.add("a", 4)).toBe(true)
    expect(w.has("b", 5)).toBe(false)
  })

  it("takes a clock step backwards as no time passing, never as a reason to repeat", () => {
    const w = new OccurrenceWindow({ windowMillis: 10 })
    expect(w.add("a", 100)).toBe(true)
    expect(w.add("b", 50)).toBe(true)
    expect(w.add("a", 60)).toBe(false)
    // "b" counts from 100, the latest time seen, not from 50.
    expect(w.has("b", 109)).toBe(true)
    expect(w.has("b", 110)).toBe(false)
  })

  it("expires keys on has() as well, and frees their memory", () => {
    const w = new OccurrenceWindow({ windowMillis: 10 })
    for (let i = 0; i < 100; i++) w.add(`k${i}`, i)
    expect(w.has("k99", 100)).toBe(true)
    // Keys first seen at 91..99 are within 10 ms of 100; k90 expired at exactly 100.
    expect(w.has("k90", 100)).toBe(false)
    expect(w.size).toBe(9)
  })

  it("defaults to a two-hour window and 100,000 keys", () => {
    const w = makeDedupe()
    expect([w.windowMillis, w.capacity]).toEqual([defaultWindowMillis, defaultCapacity])
    expect(defaultWindowMillis).toBe(2 * hour)
    expect(makeDedupe({ capacity: 0 }).capacity).toBe(1)
  })

  /** The plain model: a list in insertion order, times clamped to the latest seen. */
  class Model {
    private entries: Array<{ key: string; at: number }> = []
    private latest = Number.NEGATIVE_INFINITY
    private readonly window: number
    private readonly capacity: number
    constructor(window: number, capacity: number) {
      this.window = window
      this.capacity = capacity
    }
    add(key: string, now: number): boolean {
      this.latest = Math.max(this.latest, now)
      this.entries = this.entries.filter((e) => this.latest - e.at < this.window)
      if (this.entries.some((e) => e.key === key)) return false
      this.entries.push({ key, at: this.latest })
      if (this.entries.length > this.capacity) this.entries.shift()
      return true
    }
    keys(): Array<string> {
      return this.entries.map((e) => e.key).sort()
    }
  }

  it("answers as the plain model for any sequence of keys and times, and stays within its cap", () => {
    const op = fc.record({ key: fc.constantFrom("a", "b", "c", "d", "e", "f"), step: fc.integer({ min: -5, max: 20 }) })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(op, { maxLength: 60 }),
        (window, capacity, ops) => {
          const w = new OccurrenceWindow({ windowMillis: window, capacity })
          const model = new Model(window, capacity)
          let now = 1000
          for (const { key, step } of ops) {
            now += step
            expect(w.add(key, now)).toBe(model.add(key, now))
            expect(w.size).toBeLessThanOrEqual(capacity)
          }
          expect(["a", "b", "c", "d", "e", "f"].filter((k) => w.has(k, now)).sort()).toEqual(model.keys())
        }
      ),
      { numRuns: 1000 }
    )
  })

  it("never admits a key twice within the window while under capacity", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.nat(100)), { maxLength: 50 }), (ops) => {
        const w = new OccurrenceWindow({ windowMillis: 1000, capacity: 1000 })
        const admitted = new Set<string>()
        let now = 0
        for (const [key, step] of ops) {
          now += step
          // 50 steps of at most 100 ms stay within one window.
          expect(w.add(key, now)).toBe(!admitted.has(key))
          admitted.add(key)
        }
      })
    )
  })
})
