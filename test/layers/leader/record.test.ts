// The record's two wire forms: the original's ConfigMap annotation byte for byte, the Lease
// spec with MicroTime, and garbled records read field by field without throwing.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  decodeAnnotation,
  emptyRecord,
  encodeAnnotation,
  formatSeconds,
  type LeaderRecord,
  leaderAnnotation,
  leaseRecordText,
  leaseSpecWith,
  recordFromLeaseSpec,
  sameRecord
} from "../../../src/layers/leader/record.ts"

const field = (key: string) => `metadata.annotations["${leaderAnnotation}"].${key}`

const sample: LeaderRecord = {
  holderIdentity: "datadog-cluster-agent-7c9d-abcde",
  leaseDurationSeconds: 60,
  acquireTime: new Date("2024-05-01T12:00:00Z"),
  renewTime: new Date("2024-05-01T12:05:00Z"),
  transitions: 3
}

describe("ConfigMap annotation record", () => {
  it("is written exactly as the original writes it", () => {
    expect(leaderAnnotation).toBe("control-plane.alpha.kubernetes.io/leader")
    expect(encodeAnnotation(sample)).toBe(
      '{"holderIdentity":"datadog-cluster-agent-7c9d-abcde","leaseDurationSeconds":60,' +
        '"acquireTime":"2024-05-01T12:00:00Z","renewTime":"2024-05-01T12:05:00Z","leaderTransitions":3}'
    )
  })

  it("drops milliseconds (metav1.Time has whole seconds) and writes null for no time", () => {
    expect(formatSeconds(new Date("2024-05-01T12:00:00.999Z"))).toBe("2024-05-01T12:00:00Z")
    expect(encodeAnnotation({ ...emptyRecord, leaseDurationSeconds: 1 })).toBe(
      '{"holderIdentity":"","leaseDurationSeconds":1,"acquireTime":null,"renewTime":null,"leaderTransitions":0}'
    )
  })

  it("reads the original's record, and what other client-go versions add or leave out", () => {
    expect(decodeAnnotation(encodeAnnotation(sample))).toEqual({ record: sample, problems: [] })
    // Older releases wrote zero times as null; newer ones add endOfTerm / strategy keys.
    const other = decodeAnnotation(
      '{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":null,"renewTime":"2024-05-01T12:05:00.5+02:00",' +
        '"leaderTransitions":7,"endOfTerm":false,"strategy":"","preferredHolder":""}'
    )
    expect(other).toEqual({
      record: {
        holderIdentity: "a",
        leaseDurationSeconds: 15,
        acquireTime: undefined,
        renewTime: new Date("2024-05-01T10:05:00.500Z"),
        transitions: 7
      },
      problems: []
    })
    // Go's json leaves missing fields at zero.
    expect(decodeAnnotation("{}")).toEqual({ record: emptyRecord, problems: [] })
  })

  it("no annotation is a free lock", () => {
    expect(decodeAnnotation(undefined)).toEqual({ record: emptyRecord, problems: [] })
  })

  it("names each garbled field and keeps the readable ones", () => {
    const garbled = decodeAnnotation(
      '{"holderIdentity":"a","leaseDurationSeconds":"60","acquireTime":"yesterday","renewTime":12,"leaderTransitions":2.5}'
    )
    expect(garbled.record).toEqual({ ...emptyRecord, holderIdentity: "a" })
    expect(garbled.problems).toEqual([
      { field: field("leaseDurationSeconds"), problem: 'expected a whole number, got "60"' },
      { field: field("acquireTime"), problem: 'expected an RFC 3339 time, got "yesterday"' },
      { field: field("renewTime"), problem: "expected an RFC 3339 time, got 12" },
      { field: field("leaderTransitions"), problem: "expected a whole number, got 2.5" }
    ])
    expect(decodeAnnotation('{"holderIdentity":["a"]}').problems).toEqual([
      { field: field("holderIdentity"), problem: "expected a string, got an array" }
    ])
  })

  it("bad JSON or a JSON that is not an object is one problem on the annotation", () => {
    const whole = `metadata.annotations["${leaderAnnotation}"]`
    const bad = decodeAnnotation('{"holderIdentity":')
    expect(bad.record).toEqual(emptyRecord)
    expect(bad.problems).toHaveLength(1)
    expect(bad.problems[0]?.field).toBe(whole)
    expect(bad.problems[0]?.problem).toMatch(/^not JSON: /)
    expect(decodeAnnotation("[1]").problems).toEqual([
      { field: whole, problem: "expected a JSON object, got an array" }
    ])
    expect(decodeAnnotation("null").problems).toEqual([{ field: whole, problem: "expected a JSON object, got null" }])
  })

  it("never throws, whatever the annotation holds", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const read = decodeAnnotation(text)
        expect(typeof read.record.holderIdentity).toBe("string")
        expect(Number.isSafeInteger(read.record.transitions)).toBe(true)
      })
    )
  })

  it("round-trips any record at whole seconds", () => {
    fc.assert(
      fc.property(arbitraryRecord(1000), (record) => {
        const back = decodeAnnotation(encodeAnnotation(record))
        expect(back.problems).toEqual([])
        expect(sameRecord(back.record, record)).toBe(true)
      })
    )
  })
})

describe("Lease spec record", () => {
  it("writes MicroTime with six fractional digits and client-go's field names", () => {
    expect(leaseSpecWith(undefined, { ...sample, renewTime: new Date("2024-05-01T12:05:00.123Z") })).toEqual({
      holderIdentity: "datadog-cluster-agent-7c9d-abcde",
      leaseDurationSeconds: 60,
      acquireTime: "2024-05-01T12:00:00.000000Z",
      renewTime: "2024-05-01T12:05:00.123000Z",
      leaseTransitions: 3
    })
  })

  it("keeps the fields it does not own", () => {
    const spec = {
      strategy: "OldestEmulationVersion",
      preferredHolder: "b",
      somethingNew: { a: 1 },
      holderIdentity: "x"
    }
    expect(leaseSpecWith(spec, sample)).toMatchObject({
      strategy: "OldestEmulationVersion",
      preferredHolder: "b",
      somethingNew: { a: 1 },
      holderIdentity: sample.holderIdentity
    })
  })

  it("a Lease without spec is a free lock; a bad time names spec.<field>", () => {
    expect(recordFromLeaseSpec(undefined)).toEqual({ record: emptyRecord, problems: [] })
    expect(recordFromLeaseSpec({ holderIdentity: "a", renewTime: "2024-13-01T00:00:00Z" }).problems).toEqual([
      { field: "spec.renewTime", problem: 'expected an RFC 3339 time, got "2024-13-01T00:00:00Z"' }
    ])
  })

  it("round-trips any record at milliseconds", () => {
    fc.assert(
      fc.property(arbitraryRecord(1), (record) => {
        const back = recordFromLeaseSpec(leaseSpecWith(undefined, record))
        expect(back.problems).toEqual([])
        expect(sameRecord(back.record, record)).toBe(true)
      })
    )
  })

  it("the change-detection text changes with every field of the record, and only with them", () => {
    const spec = leaseSpecWith(undefined, sample)
    const text = leaseRecordText(spec)
    expect(leaseRecordText({ ...spec, strategy: "x" })).toBe(text)
    for (const key of ["holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions"]) {
      expect(leaseRecordText({ ...spec, [key]: undefined })).not.toBe(text)
    }
  })
})

/** Records whose times the lock can store exactly (`precision` ms). */
function arbitraryRecord(precision: number): fc.Arbitrary<LeaderRecord> {
  const time = fc.option(
    fc.integer({ min: 0, max: 253_402_300_799 }).map((n) => new Date(Math.floor((n * 1000) / precision) * precision)),
    { nil: undefined }
  )
  const millis = fc.integer({ min: 0, max: 253_402_300_799_999 }).map((n) => new Date(n - (n % precision)))
  return fc.record({
    holderIdentity: fc.string(),
    leaseDurationSeconds: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    acquireTime: precision === 1 ? fc.option(millis, { nil: undefined }) : time,
    renewTime: precision === 1 ? fc.option(millis, { nil: undefined }) : time,
    transitions: fc.integer({ min: 0, max: 2 ** 31 - 1 })
  })
}
