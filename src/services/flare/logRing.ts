// The agent's recent log lines, kept in memory so that a flare can include them: the agent logs
// JSON lines to stdout only (no log file, unlike the original), and the container runtime's copy
// is out of its reach. Bounded by a line count and by characters, oldest lines dropped first, so
// its memory is capped whatever the log volume (at most about 256 KiB of text by default).

export interface LogRing {
  readonly push: (line: string) => void
  /** The kept lines, oldest first. */
  readonly lines: () => ReadonlyArray<string>
  /** Lines dropped to stay within the bounds, since the start. */
  readonly dropped: () => number
}

export const makeLogRing = (maxLines: number, maxChars: number): LogRing => {
  const slots: Array<string | undefined> = new Array(Math.max(1, maxLines))
  let start = 0
  let count = 0
  let chars = 0
  let dropped = 0
  const dropOldest = () => {
    chars -= slots[start]?.length ?? 0
    slots[start] = undefined
    start = (start + 1) % slots.length
    count--
    dropped++
  }
  return {
    push: (line) => {
      // A single line longer than the whole budget is kept cut, so that the newest line is there.
      const kept = line.length > maxChars ? line.slice(0, maxChars) : line
      while (count > 0 && (count === slots.length || chars + kept.length > maxChars)) dropOldest()
      slots[(start + count) % slots.length] = kept
      count++
      chars += kept.length
    },
    lines: () => {
      const out: Array<string> = []
      for (let i = 0; i < count; i++) out.push(slots[(start + i) % slots.length] as string)
      return out
    },
    dropped: () => dropped
  }
}

/** The process's ring, fed by the JSON logger (src/layers/Logging.ts). */
export const recentLogs: LogRing = makeLogRing(1000, 256 * 1024)
