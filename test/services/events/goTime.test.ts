// Go's time.Time.String() as bundled texts print it (contract §3.4: `2006-01-02 15:04:05 -0700
// MST`, in UTC): the original's test timestamps, Go's zero time, and a property against an
// independent rendering through toISOString.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { formatGoTime, goZeroUnixSeconds, unixSeconds } from "../../../src/services/events/goTime.ts"

describe("formatGoTime", () => {
  it("prints the original's examples", () => {
    // kubernetes_eventbundle_test.go's timestamp, and the contract's example.
    expect(formatGoTime(709662600)).toBe("1992-06-27 16:30:00 +0000 UTC")
    // unbundled_events_test.go's 2024-05-29 06:00:51 and the same minus three hours.
    expect(formatGoTime(1716962451)).toBe("2024-05-29 06:00:51 +0000 UTC")
    expect(formatGoTime(1716962451 - 3 * 3600)).toBe("2024-05-29 03:00:51 +0000 UTC")
    expect(formatGoTime(0)).toBe("1970-01-01 00:00:00 +0000 UTC")
  })

  it("prints Go's zero time with a four-digit year, as an event without timestamps shows it", () => {
    expect(formatGoTime(goZeroUnixSeconds)).toBe("0001-01-01 00:00:00 +0000 UTC")
  })

  it("drops fractions toward the past, as Go's Unix() does", () => {
    expect(formatGoTime(59.9)).toBe("1970-01-01 00:00:59 +0000 UTC")
    expect(formatGoTime(-0.5)).toBe("1969-12-31 23:59:59 +0000 UTC")
  })

  it("refuses times a Date cannot hold", () => {
    expect(() => formatGoTime(Number.NaN)).toThrow(RangeError)
    expect(() => formatGoTime(9e15)).toThrow(RangeError)
  })

  it("agrees with toISOString for every second of years 1000-9999", () => {
    const min = Date.UTC(1000, 0, 1) / 1000
    const max = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000
    fc.assert(
      fc.property(fc.integer({ min, max }), (s) => {
        const iso = new Date(s * 1000).toISOString()
        expect(formatGoTime(s)).toBe(`${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`)
      }),
      { numRuns: 500 }
    )
  })
})

describe("unixSeconds", () => {
  it("is whole seconds of a time, and Go's zero time when there is none", () => {
    expect(unixSeconds(709662600_999)).toBe(709662600)
    expect(unixSeconds(-1)).toBe(-1)
    expect(unixSeconds(undefined)).toBe(goZeroUnixSeconds)
  })
})
