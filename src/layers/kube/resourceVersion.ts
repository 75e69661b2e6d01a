// resourceVersions as etcd-backed API servers make them: decimal integers of any length. The
// event token, the event pipeline and the dedupe window order them; Kubernetes calls them opaque,
// so only a value of digits is read as a version.

const digits = /^[0-9]+$/

/** A resourceVersion as the API server writes them: decimal digits. */
export const isResourceVersion = (value: string): boolean => digits.test(value)

/**
 * Orders resourceVersions as the decimal integers etcd-backed API servers make them, at any
 * length (no float or int64 limits): -1, 0 or 1. "" (no cursor yet) is below every number. So is
 * anything not made of digits: Kubernetes calls resourceVersions opaque, and a value we cannot
 * read must never look newer than a cursor (it would be re-sent) nor make a cursor look newer
 * than real versions; all such values compare equal to "" and to each other.
 */
export const compareResourceVersions = (a: string, b: string): number => {
  const x = digits.test(a) ? a.replace(/^0+(?=.)/, "") : ""
  const y = digits.test(b) ? b.replace(/^0+(?=.)/, "") : ""
  if (x === y) return 0
  if (x === "") return -1
  if (y === "") return 1
  if (x.length !== y.length) return x.length < y.length ? -1 : 1
  return x < y ? -1 : 1
}
