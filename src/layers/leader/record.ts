// Pure: the leader election record and its two wire forms. The Lease lock keeps it in
// `spec` (times are MicroTime, six fractional digits); the ConfigMap lock of the original
// agent keeps it as JSON in one annotation (times are metav1.Time, whole seconds), so a
// replica of the original running next to us reads and writes the same record.
//
// Reading never throws: a record another writer garbled (bad JSON, a time that is not a time,
// a count that is not a whole number) comes back with the fields that could be read and one
// problem per field that could not, and the elector treats it as held by an unknown replica.

import { formatMicroTime, parseMicroTime } from "../kube/microTime.ts"
import type { LeaseSpec } from "../kube/types.ts"

/** client-go's LeaderElectionRecord. */
export interface LeaderRecord {
  /** "" when nobody holds the lock (never acquired, or released). */
  readonly holderIdentity: string
  readonly leaseDurationSeconds: number
  readonly acquireTime: Date | undefined
  readonly renewTime: Date | undefined
  /** How many times the holder changed (`leaseTransitions` / `leaderTransitions` on the wire). */
  readonly transitions: number
}

/** A field of the stored object that could not be read, e.g. `spec.renewTime`. */
export interface RecordProblem {
  readonly field: string
  readonly problem: string
}

export interface ReadRecord {
  readonly record: LeaderRecord
  /** Empty when the record was read whole. */
  readonly problems: ReadonlyArray<RecordProblem>
}

export const emptyRecord: LeaderRecord = {
  holderIdentity: "",
  leaseDurationSeconds: 0,
  acquireTime: undefined,
  renewTime: undefined,
  transitions: 0
}

/** The annotation of the ConfigMap lock (client-go's LeaderElectionRecordAnnotationKey). */
export const leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"

/** Whole milliseconds a lock can store: the ConfigMap record has whole seconds, the Lease milliseconds (of micros). */
export const precisionMillis = { Lease: 1, ConfigMap: 1000 } as const

export const sameTime = (a: Date | undefined, b: Date | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.getTime() === b.getTime()

/** Whether two records say the same thing (what a reader comparing them would see). */
export const sameRecord = (a: LeaderRecord, b: LeaderRecord): boolean =>
  a.holderIdentity === b.holderIdentity &&
  a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.transitions === b.transitions &&
  sameTime(a.acquireTime, b.acquireTime) &&
  sameTime(a.renewTime, b.renewTime)

// --- field readers: each returns the value, or a problem text -----------------------------

type Read<A> = { readonly ok: A } | { readonly problem: string }

const describe = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (Array.isArray(value)) return "an array"
  return value === null ? "null" : typeof value === "object" ? "an object" : String(value)
}

// Go's json into `string`: null and absent leave "", anything but a string fails.
const readString = (value: unknown): Read<string> =>
  value === undefined || value === null
    ? { ok: "" }
    : typeof value === "string"
      ? { ok: value }
      : { problem: `expected a string, got ${describe(value)}` }

// Go's json into `int`: a whole number in range; null and absent leave 0.
const readInt = (value: unknown): Read<number> =>
  value === undefined || value === null
    ? { ok: 0 }
    : typeof value === "number" && Number.isSafeInteger(value)
      ? { ok: value }
      : { problem: `expected a whole number, got ${describe(value)}` }

// metav1.Time / MicroTime: RFC 3339; null (the zero time) and absent are "no time".
const readTime = (value: unknown): Read<Date | undefined> => {
  if (value === undefined || value === null) return { ok: undefined }
  const date = typeof value === "string" ? parseMicroTime(value) : undefined
  return date === undefined ? { problem: `expected an RFC 3339 time, got ${describe(value)}` } : { ok: date }
}

/** Reads the five fields of `source` named by `keys`, recording a problem per unreadable field under `prefix`. */
const readFields = (
  source: Readonly<Record<string, unknown>>,
  keys: { readonly transitions: string },
  prefix: string
): ReadRecord => {
  const problems: Array<RecordProblem> = []
  const take = <A>(key: string, read: Read<A>, fallback: A): A => {
    if ("ok" in read) return read.ok
    problems.push({ field: `${prefix}${key}`, problem: read.problem })
    return fallback
  }
  const record: LeaderRecord = {
    holderIdentity: take("holderIdentity", readString(source.holderIdentity), ""),
    leaseDurationSeconds: take("leaseDurationSeconds", readInt(source.leaseDurationSeconds), 0),
    acquireTime: take("acquireTime", readTime(source.acquireTime), undefined),
    renewTime: take("renewTime", readTime(source.renewTime), undefined),
    transitions: take(keys.transitions, readInt(source[keys.transitions]), 0)
  }
  return { record, problems }
}

// --- Lease lock ---------------------------------------------------------------------------

/** The record in a Lease's spec; a Lease without spec (created empty, as the original does) is free. */
export const recordFromLeaseSpec = (spec: LeaseSpec | undefined): ReadRecord =>
  readFields(spec ?? {}, { transitions: "leaseTransitions" }, "spec.")

/** The spec carrying `record`, keeping every other field of `spec` (strategy, fields we don't model). */
export const leaseSpecWith = (spec: LeaseSpec | undefined, record: LeaderRecord): LeaseSpec => {
  const { acquireTime: _a, renewTime: _r, ...rest } = spec ?? {}
  return {
    ...rest,
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime === undefined ? {} : { acquireTime: formatMicroTime(record.acquireTime) }),
    ...(record.renewTime === undefined ? {} : { renewTime: formatMicroTime(record.renewTime) }),
    leaseTransitions: record.transitions
  }
}

/** What a reader compares to tell whether a Lease's record changed. */
export const leaseRecordText = (spec: LeaseSpec | undefined): string =>
  JSON.stringify([
    spec?.holderIdentity ?? null,
    spec?.leaseDurationSeconds ?? null,
    spec?.acquireTime ?? null,
    spec?.renewTime ?? null,
    spec?.leaseTransitions ?? null
  ])

// --- ConfigMap lock -----------------------------------------------------------------------

const annotationField = `metadata.annotations["${leaderAnnotation}"]`

/** Pure: metav1.Time's JSON, `2024-05-01T12:00:00Z` (UTC, whole seconds; the milliseconds are dropped). */
export const formatSeconds = (date: Date): string => `${date.toISOString().slice(0, 19)}Z`

/**
 * The annotation's JSON, byte for byte what the original (Go's json.Marshal of client-go's
 * LeaderElectionRecord) writes: `{"holderIdentity":"a","leaseDurationSeconds":60,
 * "acquireTime":"2024-05-01T12:00:00Z","renewTime":"2024-05-01T12:05:00Z","leaderTransitions":3}`,
 * `null` for a missing time.
 */
export const encodeAnnotation = (record: LeaderRecord): string =>
  JSON.stringify({
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime === undefined ? null : formatSeconds(record.acquireTime),
    renewTime: record.renewTime === undefined ? null : formatSeconds(record.renewTime),
    leaderTransitions: record.transitions
  })

/**
 * The record of the annotation's text; no annotation is a free lock (the original creates the
 * ConfigMap without it). Keys we don't know (`endOfTerm`, `strategy` of other client-go
 * versions) are ignored, as Go's json does.
 */
export const decodeAnnotation = (text: string | undefined): ReadRecord => {
  if (text === undefined) return { record: emptyRecord, problems: [] }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { record: emptyRecord, problems: [{ field: annotationField, problem: `not JSON: ${(e as Error).message}` }] }
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      record: emptyRecord,
      problems: [{ field: annotationField, problem: `expected a JSON object, got ${describe(value)}` }]
    }
  }
  return readFields(value as Record<string, unknown>, { transitions: "leaderTransitions" }, `${annotationField}.`)
}
