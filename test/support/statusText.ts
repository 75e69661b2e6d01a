/** Helpers for tests that read the status page of a live agent. */

/** The page with what changes from run to run (times, ages, version, pid, host) replaced. */
export const normalised = (text: string): string =>
  text
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g, "<time>")
    .replace(/\b\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d UTC\b/g, "<time>")
    .replace(/\(v[^)]+\)/, "(v<version>)")
    .replace(/\b(\d+d )?(\d+h )?(\d+m )?\d+s ago\b/g, "<age> ago")
    .replace(/^(\s+Pid|\s+Node\.js Version|\s+Hostname): .*$/gm, "$1: <value>")

/** The section titles of a page, in order (a line between two rules of `=`). */
export const banners = (text: string): ReadonlyArray<string> => {
  const lines = text.split("\n")
  return lines.filter((_, i) => /^=+$/.test(lines[i - 1] ?? "") && /^=+$/.test(lines[i + 1] ?? ""))
}
