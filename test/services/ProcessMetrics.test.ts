// Process metrics sampled per scrape. Telemetry.test.ts checks that some of them reach /metrics
// over HTTP; here the values themselves, against what the process reports: CPU seconds are a
// running total, memory gauges are the process's, the start time is fixed, open files are
// counted, and event-loop lag covers only the time since the previous scrape.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { makeProcessMetrics } from "../../src/services/ProcessMetrics.ts"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-process-metrics-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

/** The current value of each counter and gauge, by name. */
const values = Effect.map(Metric.snapshot, (snapshots) => {
  const out: Record<string, number> = {}
  for (const s of snapshots) {
    if (s.type === "Counter") out[s.id] = Number(s.state.count)
    if (s.type === "Gauge") out[s.id] = Number(s.state.value)
  }
  return out
})

/** Runs `body` with a registry of its own, so other tests' updates don't show. */
const isolated = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.provideService(body, Metric.MetricRegistry, new Map())

/** Blocks the event loop for `ms`, then lets one loop turn pass so the delay monitor records it. */
const blockLoop = (ms: number) =>
  Effect.promise(async () => {
    const until = performance.now() + ms
    while (performance.now() < until) {
      // busy: this is the lag being measured
    }
    // Timers (the monitor's) run before the check phase of the next turn.
    await new Promise((resolve) => setImmediate(resolve))
    await new Promise((resolve) => setImmediate(resolve))
  })

const lagNames = [
  "nodejs_eventloop_lag_mean_seconds",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_eventloop_lag_max_seconds"
] as const

describe("makeProcessMetrics", () => {
  it.live("reports every metric on the first scrape", () =>
    isolated(
      Effect.gen(function* () {
        const sample = yield* makeProcessMetrics
        yield* sample
        const v = yield* values
        for (const name of [
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "nodejs_heap_size_used_bytes",
          "nodejs_heap_size_total_bytes",
          "nodejs_external_memory_bytes",
          ...lagNames,
          "process_start_time_seconds",
          ...(Fs.existsSync("/proc/self/fd") ? ["process_open_fds"] : [])
        ]) {
          expect(Number.isFinite(v[name]), name).toBe(true)
          expect(v[name], name).toBeGreaterThanOrEqual(0)
        }
      })
    )
  )

  it.live("CPU seconds are the process's total user+system time, growing scrape by scrape", () =>
    isolated(
      Effect.gen(function* () {
        const sample = yield* makeProcessMetrics
        const cpuSeconds = () => {
          const c = process.cpuUsage()
          return (c.user + c.system) / 1e6
        }
        let before = cpuSeconds()
        yield* sample
        let after = cpuSeconds()
        let total = (yield* values).process_cpu_seconds_total as number
        expect(total).toBeGreaterThanOrEqual(before)
        expect(total).toBeLessThanOrEqual(after)
        // Burn some CPU; the counter follows the process total, not the time of the last scrape.
        yield* blockLoop(30)
        before = cpuSeconds()
        yield* sample
        after = cpuSeconds()
        const next = (yield* values).process_cpu_seconds_total as number
        expect(next).toBeGreaterThan(total)
        expect(next).toBeGreaterThanOrEqual(before - 1e-6)
        expect(next).toBeLessThanOrEqual(after + 1e-6)
        total = next
      })
    )
  )

  it.live("memory gauges are the process's own", () =>
    isolated(
      Effect.gen(function* () {
        const sample = yield* makeProcessMetrics
        const before = process.memoryUsage()
        yield* sample
        const after = process.memoryUsage()
        const v = yield* values
        const within = (name: string, a: number, b: number) => {
          expect(v[name], name).toBeGreaterThanOrEqual(Math.min(a, b) * 0.5)
          expect(v[name], name).toBeLessThanOrEqual(Math.max(a, b) * 1.5)
        }
        within("process_resident_memory_bytes", before.rss, after.rss)
        within("nodejs_heap_size_used_bytes", before.heapUsed, after.heapUsed)
        within("nodejs_heap_size_total_bytes", before.heapTotal, after.heapTotal)
        expect(v.nodejs_heap_size_used_bytes).toBeLessThanOrEqual(v.nodejs_heap_size_total_bytes as number)
        expect(v.nodejs_heap_size_total_bytes).toBeLessThanOrEqual(v.process_resident_memory_bytes as number)
      })
    )
  )

  it.live("the start time is when the process started, and stays the same", () =>
    isolated(
      Effect.gen(function* () {
        const sample = yield* makeProcessMetrics
        yield* sample
        const first = (yield* values).process_start_time_seconds as number
        expect(Math.abs(first - (Date.now() / 1000 - process.uptime()))).toBeLessThan(1)
        expect(first).toBeLessThanOrEqual(Date.now() / 1000)
        yield* blockLoop(5)
        yield* sample
        expect((yield* values).process_start_time_seconds).toBe(first)
      })
    )
  )

  it.live.runIf(Fs.existsSync("/proc/self/fd"))("open files are counted, and follow files being opened", () =>
    isolated(
      Effect.gen(function* () {
        const sample = yield* makeProcessMetrics
        yield* sample
        const before = (yield* values).process_open_fds as number
        expect(Math.abs(before - Fs.readdirSync("/proc/self/fd").length)).toBeLessThanOrEqual(2)
        const fds = Array.from({ length: 20 }, (_, i) => Fs.openSync(Path.join(dir, `f${i}`), "w"))
        try {
          yield* sample
          expect((yield* values).process_open_fds).toBeGreaterThanOrEqual(before + 15)
        } finally {
          for (const fd of fds) Fs.closeSync(fd)
        }
      })
    )
  )

  it.live("event-loop lag: none before any sample, a blocked loop shows, and each scrape starts afresh", () =>
    isolated(
      Effect.gen(function* () {
        const sample = yield* makeProcessMetrics
        // Right after start the monitor has no sample yet: no delay.
        yield* sample
        for (const name of lagNames) expect((yield* values)[name], name).toBe(0)

        // The monitor measures between two of its ticks: let one tick pass, then block.
        yield* blockLoop(15)
        yield* blockLoop(80)
        yield* sample
        const blocked = yield* values
        const max = blocked.nodejs_eventloop_lag_max_seconds as number
        // 80 ms blocked, less the monitor's own 10 ms period, and some slack.
        expect(max).toBeGreaterThan(0.04)
        expect(max).toBeLessThan(60)
        expect(blocked.nodejs_eventloop_lag_p99_seconds).toBeLessThanOrEqual(max)
        expect(blocked.nodejs_eventloop_lag_mean_seconds).toBeLessThanOrEqual(max)
        expect(blocked.nodejs_eventloop_lag_mean_seconds).toBeGreaterThan(0)

        // The next scrape, at once: the delay was reported already and is not reported again.
        yield* sample
        for (const name of lagNames) expect((yield* values)[name], name).toBe(0)
      })
    )
  )
})
