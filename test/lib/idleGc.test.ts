import { setTimeout as sleep } from "node:timers/promises"
import { describe, expect, it, vi } from "vitest"
import { defaultIdleGcOptions, type IdleGcOptions, shouldCollect, startIdleGc } from "../../src/lib/idleGc.ts"

const mb = 1024 * 1024
const options: IdleGcOptions = { everyMs: 20, idleBelow: 0.1, growthBytes: 16 * mb, maxHeapBytes: 1024 * mb }

describe("shouldCollect", () => {
  it.each([
    { utilization: 0.01, heap: 50 * mb, last: undefined, expected: true, why: "idle, never collected" },
    { utilization: 0.5, heap: 50 * mb, last: undefined, expected: false, why: "busy" },
    { utilization: 0.1, heap: 50 * mb, last: undefined, expected: false, why: "at the threshold is busy" },
    { utilization: 0.01, heap: 50 * mb, last: 40 * mb, expected: false, why: "idle, heap grew 10 MB only" },
    { utilization: 0.01, heap: 56 * mb, last: 40 * mb, expected: true, why: "idle, heap grew 16 MB" },
    { utilization: 0.01, heap: 30 * mb, last: 40 * mb, expected: false, why: "idle, heap shrank" },
    { utilization: 0.01, heap: 1025 * mb, last: undefined, expected: false, why: "idle, heap too big to pause for" }
  ])("$why: $expected", ({ utilization, heap, last, expected }) => {
    expect(shouldCollect(utilization, heap, last, options)).toBe(expected)
  })

  it("defaults: a 10 s window, idle below 10% of the loop, heaps up to 128 MB", () => {
    expect(defaultIdleGcOptions).toEqual({
      everyMs: 10_000,
      idleBelow: 0.1,
      growthBytes: 16 * mb,
      maxHeapBytes: 128 * mb
    })
  })
})

// These two measure the real event loop's idleness (performance.eventLoopUtilization), which a
// fake clock cannot stand in for: they run a few real 20 ms windows.
describe("startIdleGc", () => {
  it("collects once, memory-reducing, when the loop is idle, and not again while the heap does not grow", async () => {
    const calls: Array<unknown> = []
    const stop = startIdleGc(options, ((o: unknown) => void calls.push(o)) as unknown as NodeJS.GCFunction)
    await sleep(150)
    stop()
    expect(calls).toEqual([{ type: "major", execution: "sync", flavor: "last-resort" }])
  })

  it("does not collect while the loop is busy", async () => {
    const calls: Array<unknown> = []
    const stop = startIdleGc(options, ((o: unknown) => void calls.push(o)) as unknown as NodeJS.GCFunction)
    const until = performance.now() + 100
    // Keep the loop busy, yielding only briefly so the timer can fire.
    while (performance.now() < until) {
      const spin = performance.now() + 15
      while (performance.now() < spin) {}
      await new Promise((ok) => setImmediate(ok))
    }
    stop()
    expect(calls).toEqual([])
  })

  it("does nothing without the gc function (no --expose-gc): not even a timer", () => {
    vi.useFakeTimers()
    try {
      const stop = startIdleGc(options, undefined)
      expect(vi.getTimerCount()).toBe(0)
      stop()
    } finally {
      vi.useRealTimers()
    }
  })
})
