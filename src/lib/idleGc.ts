// Gives memory back once the process goes idle. V8 sizes its heap for the busiest moment so far:
// the start (loading every module) or the first LISTs of a big cluster grow the young generation
// to its maximum and leave old-space pages half empty, and an agent that then sits idle never
// runs the collections that would shrink them again (V8's own memory reducer waits for a major
// GC that an idle heap never needs). So when the event loop has been nearly idle for a whole
// window and the heap has grown since the last time, one memory-reducing collection (V8's
// "last resort": compacts, shrinks the young generation, releases pooled pages) runs: about
// 40 ms on the empty agent's heap, −20 MB of RSS. Its pause grows with the heap (~0.7 s at
// 300 MB), so it is left out above `maxHeapBytes`: on big clusters the floor is a small part of
// the memory anyway, and a node agent's request should not wait that long.
//
// It needs the `gc` function (`--expose-gc`, set in the image's NODE_OPTIONS); without it this
// does nothing.

export interface IdleGcOptions {
  /** How often the event loop's utilization is checked. */
  readonly everyMs: number
  /** A window counts as idle below this event-loop utilization (0–1). */
  readonly idleBelow: number
  /** A collection runs again only once the committed heap has grown this much since the last one. */
  readonly growthBytes: number
  /** No collection while the committed heap is larger than this (the pause would be too long). */
  readonly maxHeapBytes: number
}

export const defaultIdleGcOptions: IdleGcOptions = {
  everyMs: 10_000,
  idleBelow: 0.1,
  growthBytes: 16 * 1024 * 1024,
  maxHeapBytes: 128 * 1024 * 1024
}

/** Pure: whether to collect now, given the last window's utilization and the heap since the last collection. */
export const shouldCollect = (
  utilization: number,
  heapTotal: number,
  heapAfterLast: number | undefined,
  options: IdleGcOptions
): boolean =>
  utilization < options.idleBelow &&
  heapTotal <= options.maxHeapBytes &&
  (heapAfterLast === undefined || heapTotal - heapAfterLast >= options.growthBytes)

/** Checks every `everyMs` (on an unref'd timer) and collects when idle; returns a stop function. */
export const startIdleGc = (options: IdleGcOptions, gc: NodeJS.GCFunction | undefined): (() => void) => {
  if (gc === undefined) return () => undefined
  let last = performance.eventLoopUtilization()
  let heapAfterLast: number | undefined
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization()
    const utilization = performance.eventLoopUtilization(now, last).utilization
    last = now
    if (!shouldCollect(utilization, process.memoryUsage().heapTotal, heapAfterLast, options)) return
    gc({ type: "major", execution: "sync", flavor: "last-resort" })
    heapAfterLast = process.memoryUsage().heapTotal
    // The collection itself is not load: the next window starts after it.
    last = performance.eventLoopUtilization()
  }, options.everyMs)
  timer.unref()
  return () => clearInterval(timer)
}
