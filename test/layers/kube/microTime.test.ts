import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { formatMicroTime, parseMicroTime } from "../../../src/layers/kube/microTime.ts"

const rfc3339Micro = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/

// Dates RFC 3339 can express: years 0000-9999.
const expressible = fc.date({
  min: new Date("0000-01-01T00:00:00.000Z"),
  max: new Date("9999-12-31T23:59:59.999Z"),
  noInvalidDate: true
})

describe("formatMicroTime", () => {
  it("pads milliseconds to six fractional digits", () => {
    expect(formatMicroTime(new Date("2026-01-02T03:04:05.123Z"))).toBe("2026-01-02T03:04:05.123000Z")
    expect(formatMicroTime(new Date("2026-01-02T03:04:05Z"))).toBe("2026-01-02T03:04:05.000000Z")
  })

  it("always has exactly six fractional digits and round-trips", () => {
    fc.assert(
      fc.property(expressible, (date) => {
        const text = formatMicroTime(date)
        expect(text).toMatch(rfc3339Micro)
        expect(parseMicroTime(text)?.getTime()).toBe(date.getTime())
      })
    )
  })

  it("refuses dates RFC 3339 cannot express", () => {
    expect(() => formatMicroTime(new Date("+010000-01-01T00:00:00Z"))).toThrow(RangeError)
    expect(() => formatMicroTime(new Date(Number.NaN))).toThrow(RangeError)
  })
})

describe("parseMicroTime", () => {
  it.each([
    ["2026-01-02T03:04:05.123456Z", "2026-01-02T03:04:05.123Z"],
    ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"],
    ["2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.100Z"],
    ["2026-01-02T05:04:05.999999999+02:00", "2026-01-02T03:04:05.999Z"]
  ])("%s is %s", (text, iso) => {
    expect(parseMicroTime(text)?.toISOString()).toBe(iso)
  })

  it.each(["", "yesterday", "2026-01-02 03:04:05Z", "2026-13-02T03:04:05Z", "2026-01-02T03:04:05.Z"])(
    "%j is not a time",
    (text) => {
      expect(parseMicroTime(text)).toBeUndefined()
    }
  )
})
