// Process metrics for /metrics: CPU, memory, heap, event-loop lag and open files. Sampled when
// Prometheus scrapes, so nothing runs between scrapes except Node's event-loop delay monitor.
import * as Fs from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

const cpuSeconds = Metric.counter("process_cpu_seconds_total", {
  description: "User and system CPU time spent, in seconds"
})
const residentMemory = Metric.gauge("process_resident_memory_bytes", { description: "Resident set size, in bytes" })
const heapUsed = Metric.gauge("nodejs_heap_size_used_bytes", { description: "V8 heap in use, in bytes" })
const heapTotal = Metric.gauge("nodejs_heap_size_total_bytes", { description: "V8 heap reserved, in bytes" })
const externalMemory = Metric.gauge("nodejs_external_memory_bytes", {
  description: "Memory of C++ objects bound to JavaScript objects, in bytes"
})
const loopLagMean = Metric.gauge("nodejs_eventloop_lag_mean_seconds", {
  description: "Mean event-loop delay since the previous scrape, in seconds"
})
const loopLagP99 = Metric.gauge("nodejs_eventloop_lag_p99_seconds", {
  description: "99th percentile of the event-loop delay since the previous scrape, in seconds"
})
const loopLagMax = Metric.gauge("nodejs_eventloop_lag_max_seconds", {
  description: "Largest event-loop delay since the previous scrape, in seconds"
})
const openFds = Metric.gauge("process_open_fds", { description: "Open file descriptors" })
const startTime = Metric.gauge("process_start_time_seconds", {
  description: "Start time of the process since the Unix epoch, in seconds"
})

// The monitor's samples include its own timer period; report only the delay beyond it.
const resolutionMs = 10
const lagSeconds = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns - resolutionMs * 1e6) / 1e9 : 0)

/** Starts the event-loop monitor for the life of the scope; returns the sampler to call per scrape. */
export const makeProcessMetrics = Effect.gen(function* () {
  const loop = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const h = monitorEventLoopDelay({ resolution: resolutionMs })
      h.enable()
      return h
    }),
    (h) => Effect.sync(() => h.disable())
  )
  let lastCpuMicros = 0
  const startedAt = Date.now() / 1000 - process.uptime()
  return Effect.gen(function* () {
    const cpu = process.cpuUsage()
    const cpuMicros = cpu.user + cpu.system
    yield* Metric.update(cpuSeconds, (cpuMicros - lastCpuMicros) / 1e6)
    lastCpuMicros = cpuMicros
    const mem = process.memoryUsage()
    yield* Metric.update(residentMemory, mem.rss)
    yield* Metric.update(heapUsed, mem.heapUsed)
    yield* Metric.update(heapTotal, mem.heapTotal)
    yield* Metric.update(externalMemory, mem.external)
    // No sample yet (the first scrape right after start) reads as no delay.
    const sampled = loop.count > 0
    yield* Metric.update(loopLagMean, sampled ? lagSeconds(loop.mean) : 0)
    yield* Metric.update(loopLagP99, sampled ? lagSeconds(loop.percentile(99)) : 0)
    yield* Metric.update(loopLagMax, sampled ? lagSeconds(loop.max) : 0)
    loop.reset()
    const fds = yield* Effect.sync(() => {
      try {
        return Fs.readdirSync("/proc/self/fd").length
      } catch {
        return undefined
      }
    })
    if (fds !== undefined) yield* Metric.update(openFds, fds)
    yield* Metric.update(startTime, startedAt)
  })
})
