// Statistics the benchmarks report: medians over rounds (a failed round's NaN is left out).

/** The median; the mean of the two middle values for an even count; NaN when nothing is left. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  if (s.length === 0) return Number.NaN
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}
