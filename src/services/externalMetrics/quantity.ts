// A metric value as the external metrics API serves it: the Kubernetes quantity string the
// original builds with `resource.NewMilliQuantity(int64(value*1000), resource.DecimalSI).String()`
// (k8s.io/apimachinery pkg/api/resource, `CanonicalizeBytes` and `int64Amount.AsCanonicalBytes`):
// the milli amount with its factors of ten moved into the exponent, the exponent lowered to a
// multiple of three, and the SI suffix of that exponent ("2500m", "2", "1500", "2k", "3M").
// Plain code, on bigint so amounts beyond 2^53 stay exact.
//
// Two choices differ from Go's conversion, on purpose:
// - v × 1000 is rounded half away from zero, where Go's int64() truncates: 1.005 × 1000 is
//   1004.999… in binary, which Go serves as "1004m" and we as "1005m".
// - Amounts beyond int64 are clamped to ±(2^63 − 1) milli, and NaN is 0, where Go's conversion is
//   undefined (it yields -2^63 on amd64). JSON carries neither NaN nor ±Infinity, so these only
//   guard against garbage.

/** The largest milli amount an int64 holds. */
export const MAX_MILLI = 2n ** 63n - 1n

const INT64_LIMIT = 2 ** 63

/** round(value × 1000), half away from zero, clamped to ±MAX_MILLI; NaN → 0. */
export const toMilli = (value: number): bigint => {
  const scaled = value * 1000
  if (Number.isNaN(scaled)) return 0n
  const magnitude = Math.abs(scaled)
  // The float just below 2^63 is 2^63 − 1024, so this is exactly "does not fit in an int64".
  const amount = magnitude >= INT64_LIMIT ? MAX_MILLI : BigInt(Math.round(magnitude))
  return scaled < 0 ? -amount : amount
}

/** SI suffixes of the base-10 exponents a milli amount can reach (-3 to 15 for an int64). */
const SUFFIXES: ReadonlyMap<number, string> = new Map([
  [-9, "n"],
  [-6, "u"],
  [-3, "m"],
  [0, ""],
  [3, "k"],
  [6, "M"],
  [9, "G"],
  [12, "T"],
  [15, "P"],
  [18, "E"]
])

/** The canonical DecimalSI string of `milli` thousandths. */
export const milliToQuantity = (milli: bigint): string => {
  if (milli === 0n) return "0"
  const negative = milli < 0n
  let amount = negative ? -milli : milli
  let exponent = -3
  while (amount >= 10n && amount % 10n === 0n) {
    amount /= 10n
    exponent += 1
  }
  // Lower the exponent to a multiple of three, moving the difference back into the amount.
  const excess = ((exponent % 3) + 3) % 3
  amount *= 10n ** BigInt(excess)
  exponent -= excess
  return `${negative ? "-" : ""}${amount}${SUFFIXES.get(exponent) ?? `e${exponent}`}`
}

/** The quantity string served for `value`. */
export const toQuantity = (value: number): string => milliToQuantity(toMilli(value))
