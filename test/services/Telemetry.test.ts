import { createServer } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { Health } from "../../src/services/Health.ts"
import { TelemetryLive } from "../../src/services/Telemetry.ts"
import { parsePrometheus, sampleValue } from "../support/prometheus.ts"

const withTelemetry = (ports: { metrics: number; health: number }) =>
  TelemetryLive.pipe(
    Layer.provideMerge(Health.layer),
    Layer.provide(
      ClusterAgentConfig.fromEnv({ DD_METRICS_PORT: String(ports.metrics), DD_HEALTH_PORT: String(ports.health) })
    )
  )

const get = (url: string) =>
  Effect.promise(() => fetch(url).then(async (r) => ({ status: r.status, body: await r.text() })))

describe("Telemetry", () => {
  it.live("probes answer 500 with the unhealthy component until it is healthy", () =>
    Effect.gen(function* () {
      const [metrics, health] = yield* Effect.promise(() => freePorts(2))
      yield* Effect.gen(function* () {
        const registry = yield* Health
        const api = yield* registry.register("apiserver", ["ready"])
        const base = `http://127.0.0.1:${health}`
        const ready = yield* get(`${base}/ready`)
        expect(ready).toEqual({ status: 500, body: '{"Healthy":[],"Unhealthy":["apiserver"]}' })
        // Liveness does not depend on readiness-only components.
        expect(yield* get(`${base}/live`)).toEqual({ status: 200, body: '{"Healthy":[],"Unhealthy":[]}' })
        yield* api.set(true)
        expect(yield* get(`${base}/ready`)).toEqual({ status: 200, body: '{"Healthy":["apiserver"],"Unhealthy":[]}' })
        // Any other path answers like /live, as the original's health server does.
        expect((yield* get(`${base}/healthz`)).status).toBe(200)
      }).pipe(Effect.provide(withTelemetry({ metrics: metrics ?? 0, health: health ?? 0 })))
    })
  )

  it.live("/metrics is Prometheus text with process metrics and feature metrics", () =>
    Effect.gen(function* () {
      const [metrics, health] = yield* Effect.promise(() => freePorts(2))
      yield* Effect.gen(function* () {
        yield* Metric.update(Metric.counter("telemetry_test_total", { description: "a test counter" }), 3)
        const res = yield* get(`http://127.0.0.1:${metrics}/metrics`)
        expect(res.status).toBe(200)
        const exposition = parsePrometheus(res.body)
        expect(sampleValue(exposition, "telemetry_test_total")).toBe(3)
        for (const name of [
          "process_cpu_seconds_total",
          "process_resident_memory_bytes",
          "nodejs_heap_size_used_bytes",
          "nodejs_eventloop_lag_p99_seconds",
          "process_start_time_seconds"
        ]) {
          expect(sampleValue(exposition, name), name).toBeGreaterThanOrEqual(0)
        }
        // A second scrape still parses and CPU time only grows.
        const before = sampleValue(exposition, "process_cpu_seconds_total") ?? 0
        const again = parsePrometheus((yield* get(`http://127.0.0.1:${metrics}/metrics`)).body)
        expect(sampleValue(again, "process_cpu_seconds_total")).toBeGreaterThanOrEqual(before)
      }).pipe(Effect.provide(withTelemetry({ metrics: metrics ?? 0, health: health ?? 0 })))
    })
  )

  it.live("the metrics port serves only GET /metrics", () =>
    Effect.gen(function* () {
      const [metrics] = yield* Effect.promise(() => freePorts(1))
      yield* Effect.gen(function* () {
        const base = `http://127.0.0.1:${metrics}`
        expect((yield* get(`${base}/metrics?x=1`)).status).toBe(200)
        expect((yield* get(`${base}/`)).status).toBe(404)
        expect((yield* get(`${base}/debug/pprof`)).status).toBe(404)
        const post = yield* Effect.promise(() => fetch(`${base}/metrics`, { method: "POST" }).then((r) => r.status))
        expect(post).toBe(404)
      }).pipe(Effect.provide(withTelemetry({ metrics: metrics ?? 0, health: 0 })))
    })
  )

  it.live("a port in use fails the layer, naming the variable", () =>
    Effect.gen(function* () {
      const [metrics, health] = yield* Effect.promise(() => freePorts(2))
      const squatter = createServer()
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((ok) => squatter.listen(metrics, "0.0.0.0", ok))),
        () => Effect.promise(() => new Promise<void>((ok) => squatter.close(() => ok())))
      )
      const error = yield* Layer.build(withTelemetry({ metrics: metrics ?? 0, health: health ?? 0 })).pipe(Effect.flip)
      expect(error.message).toMatch(new RegExp(`^DD_METRICS_PORT=${metrics}: cannot listen: .*EADDRINUSE`))
    }).pipe(Effect.scoped)
  )

  it.live("the health server is off when DD_HEALTH_PORT is 0", () =>
    Effect.gen(function* () {
      const [metrics, unused] = yield* Effect.promise(() => freePorts(2))
      yield* Effect.gen(function* () {
        const refused = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${unused}/live`).then(
            () => false,
            () => true
          )
        )
        expect(refused).toBe(true)
      }).pipe(Effect.provide(withTelemetry({ metrics: metrics ?? 0, health: 0 })))
    })
  )
})
