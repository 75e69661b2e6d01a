// Kubernetes MicroTime (Lease acquire/renew times, events.k8s.io and core Event `eventTime`):
// RFC 3339 in UTC with exactly six fractional digits. The API server rejects the three digits
// of `Date.toISOString()` with 400 (kubernetes-notes.md B3). A JS Date holds milliseconds, so
// the last three digits are always zero.

const microTimePattern = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/

/**
 * Pure: `2026-01-02T03:04:05.123000Z`. Defined for valid dates in years 0000-9999 (what
 * RFC 3339 can express); anything else throws a RangeError, which is a bug in the caller.
 */
export const formatMicroTime = (date: Date): string => {
  const iso = date.toISOString()
  if (iso.length !== 24) throw new RangeError(`MicroTime cannot express ${iso}`)
  return `${iso.slice(0, 23)}000Z`
}

/**
 * Pure: the instant of an RFC 3339 time with any number of fractional digits (MicroTime,
 * metav1.Time), truncated to milliseconds; undefined when the text is not such a time.
 */
export const parseMicroTime = (text: string): Date | undefined => {
  const m = microTimePattern.exec(text)
  if (m === null) return undefined
  const millis = (m[2] ?? "").padEnd(3, "0").slice(0, 3)
  const date = new Date(`${m[1]}.${millis}${m[3]}`)
  return Number.isNaN(date.getTime()) ? undefined : date
}
