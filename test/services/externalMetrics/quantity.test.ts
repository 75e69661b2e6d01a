/** Metric values as Kubernetes DecimalSI quantity strings, as resource.NewMilliQuantity(...).String(). */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { MAX_MILLI, milliToQuantity, toMilli, toQuantity } from "../../../src/services/externalMetrics/quantity.ts"

/** The milli amount a DecimalSI quantity string stands for (what the HPA controller reads back). */
const parseMilli = (quantity: string): bigint => {
  const match = /^(-?)(\d+)([numkMGTPE]?)$/.exec(quantity)
  if (match === null) throw new Error(`not a canonical DecimalSI quantity: ${quantity}`)
  const [, sign = "", digits = "", suffix = ""] = match
  const exponent = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 }[suffix] ?? 0
  const shift = exponent + 3
  const magnitude = shift >= 0 ? BigInt(digits) * 10n ** BigInt(shift) : BigInt(digits) / 10n ** BigInt(-shift)
  return sign === "-" ? -magnitude : magnitude
}

describe("toQuantity", () => {
  it.each([
    [2.5, "2500m"],
    [2, "2"],
    [1500, "1500"],
    [2000, "2k"],
    [0.0004, "0"],
    [0.0005, "1m"],
    [-0.0005, "-1m"],
    [-1.5, "-1500m"],
    [3e6, "3M"],
    [0, "0"],
    [-0, "0"],
    [0.001, "1m"],
    [0.1, "100m"],
    [0.25, "250m"],
    [1, "1"],
    [10, "10"],
    [100, "100"],
    [1000, "1k"],
    [1234, "1234"],
    [12_000, "12k"],
    [120_000, "120k"],
    [1_200_000, "1200k"],
    [123456.789, "123456789m"],
    [1e9, "1G"],
    [5e12, "5T"],
    [1e15, "1P"],
    [-2000, "-2k"],
    // Rounded, where Go's int64() would truncate to 1004m.
    [1.005, "1005m"],
    // Beyond int64 milli: clamped; NaN: 0.
    [1e300, "9223372036854775807m"],
    [Number.POSITIVE_INFINITY, "9223372036854775807m"],
    [Number.NEGATIVE_INFINITY, "-9223372036854775807m"],
    [Number.NaN, "0"]
  ])("%d → %s", (value, expected) => {
    expect(toQuantity(value)).toBe(expected)
  })

  it.each([
    [1n, "1m"],
    [10n, "10m"],
    [100n, "100m"],
    [1000n, "1"],
    [10_000n, "10"],
    [MAX_MILLI, "9223372036854775807m"],
    [10n ** 18n, "1P"],
    [9n * 10n ** 18n, "9P"],
    [-(10n ** 6n), "-1k"]
  ])("%s milli → %s", (milli, expected) => {
    expect(milliToQuantity(milli)).toBe(expected)
  })

  it("parses back to round(v × 1000) milli for every finite value within int64", () => {
    const value = fc.oneof(
      fc.double({ min: -9e15, max: 9e15, noNaN: true }),
      fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 1000),
      fc.integer().map((n) => n * 1000)
    )
    fc.assert(
      fc.property(value, (v) => {
        const scaled = v * 1000
        const expected = BigInt(Math.sign(scaled) * Math.round(Math.abs(scaled)))
        expect(parseMilli(toQuantity(v))).toBe(expected)
        expect(toMilli(v)).toBe(expected)
      }),
      { numRuns: 1000 }
    )
  })

  it("is canonical: no trailing zeros a larger suffix could take, exponent a multiple of three", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -MAX_MILLI, max: MAX_MILLI }), (milli) => {
        const q = milliToQuantity(milli)
        expect(parseMilli(q)).toBe(milli)
        const [, digits = "", suffix = ""] = /^-?(\d+)(\D?)$/.exec(q) ?? []
        // A number with 000 at the end would be written with the next suffix, except at the top (P) one.
        if (milli !== 0n && suffix !== "P") expect(digits.endsWith("000")).toBe(false)
      }),
      { numRuns: 1000 }
    )
  })
})
