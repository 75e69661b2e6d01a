// Go's default rendering of a `time.Time` (`t.String()`), which the original prints into every
// bundled event text ("seen at <last> since <first>"): `2006-01-02 15:04:05 -0700 MST`. The
// original formats `time.Unix(seconds, 0)`, so there are never fractional seconds, and the DCA
// container runs in UTC, so the zone is always `+0000 UTC`. We format in UTC whatever the host's
// zone: the text is what Datadog users read and search, and must not depend on where we run.

/**
 * `time.Time{}.Unix()`: the Unix seconds of Go's zero time (0001-01-01 00:00:00 UTC). The
 * original reads an unset metav1.Time this way, so an event without any timestamp says
 * "since 0001-01-01 00:00:00 +0000 UTC"; we keep that rather than invent a time.
 */
export const goZeroUnixSeconds = -62_135_596_800

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/**
 * Pure: e.g. `formatGoTime(709662600)` is `1992-06-27 16:30:00 +0000 UTC`. Fractions are
 * dropped toward the past, as Go's `Unix()` does. Defined for years 0 to 275760 (what a JS Date
 * holds); anything else is a RangeError, a bug in the caller (parsed RFC 3339 times are 0-9999).
 */
export const formatGoTime = (unixSeconds: number): string => {
  const date = new Date(Math.floor(unixSeconds) * 1000)
  const year = date.getUTCFullYear()
  if (Number.isNaN(year) || year < 0) throw new RangeError(`Go time out of range: ${unixSeconds}`)
  const day = `${pad(year, 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`
  const time = `${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`
  return `${day} ${time} +0000 UTC`
}

/** Go's `t.Unix()` of an optional epoch-millisecond time: whole seconds, the zero time when unset. */
export const unixSeconds = (millis: number | undefined): number =>
  millis === undefined ? goZeroUnixSeconds : Math.floor(millis / 1000)
