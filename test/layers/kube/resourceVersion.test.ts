// resourceVersion order at any length, against BigInt; unreadable values lowest.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { compareResourceVersions, isResourceVersion } from "../../../src/layers/kube/resourceVersion.ts"

describe("isResourceVersion", () => {
  it.each([
    ["8812345", true],
    ["0", true],
    ["", false],
    ["12a", false],
    [" 5", false],
    ["-1", false]
  ])("%j: %s", (value, expected) => {
    expect(isResourceVersion(value)).toBe(expected)
  })
})

describe("compareResourceVersions", () => {
  it.each([
    ["9", "10", -1],
    ["10", "9", 1],
    ["8812345", "8812345", 0],
    ["007", "7", 0],
    ["0", "00", 0],
    ["", "0", -1],
    ["0", "", 1],
    ["", "", 0],
    ["18446744073709551616", "18446744073709551615", 1],
    // Beyond 2^53: compared exactly.
    ["9007199254740993", "9007199254740992", 1],
    ["123456789012345678901234567890", "123456789012345678901234567891", -1],
    ["abc", "", 0],
    ["abc", "1", -1],
    ["1", "-1", 1],
    ["1e3", "2", -1],
    [" 5", "4", -1],
    ["12a", "abc", 0]
  ])("%s vs %s is %i", (a, b, expected) => {
    expect(compareResourceVersions(a, b)).toBe(expected)
  })

  const decimal = fc.oneof(fc.bigInt({ min: 0n, max: 10n ** 40n }).map(String), fc.nat(50).map(String))

  it("orders decimal strings of any length as their integers", () => {
    fc.assert(
      fc.property(decimal, decimal, fc.nat(3), (a, b, zeros) => {
        const expected = BigInt(a) === BigInt(b) ? 0 : BigInt(a) < BigInt(b) ? -1 : 1
        expect(compareResourceVersions("0".repeat(zeros) + a, b)).toBe(expected)
      }),
      { numRuns: 1000 }
    )
  })

  it("is a total preorder: antisymmetric and transitive, with '' and unreadable values lowest", () => {
    const rv = fc.oneof(decimal, fc.constant(""), fc.string({ maxLength: 4 }))
    fc.assert(
      fc.property(rv, rv, rv, (a, b, c) => {
        expect(Math.sign(compareResourceVersions(a, b))).toBe(-Math.sign(compareResourceVersions(b, a)) || 0)
        if (compareResourceVersions(a, b) <= 0 && compareResourceVersions(b, c) <= 0) {
          expect(compareResourceVersions(a, c)).toBeLessThanOrEqual(0)
        }
        expect(compareResourceVersions("", a)).toBeLessThanOrEqual(0)
      }),
      { numRuns: 1000 }
    )
  })
})
