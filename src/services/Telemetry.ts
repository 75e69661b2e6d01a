// The two plain-HTTP listeners of the original: Prometheus `/metrics` on DD_METRICS_PORT, and the
// health probes `/live`, `/ready`, `/startup` on DD_HEALTH_PORT (off when 0). Nothing else is
// served on either port: no expvar, no pprof (the original's metrics port exposed pprof).
import * as Http from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { Health, isHealthy, type Probe } from "./Health.ts"
import { makeProcessMetrics } from "./ProcessMetrics.ts"

const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

/** A plain HTTP listener on all interfaces, closed quickly on shutdown. */
export const plainHttpServer = (port: number) =>
  NodeHttpServer.layer(() => Http.createServer(), { port, host: "0.0.0.0", gracefulShutdownTimeout: "3 seconds" })

const MetricsRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const sample = yield* makeProcessMetrics
    yield* router.add(
      "GET",
      "/metrics",
      Effect.gen(function* () {
        yield* sample
        const body = yield* PrometheusMetrics.format()
        return HttpServerResponse.text(body, { contentType: prometheusContentType })
      })
    )
  })
)

const probeRoute = (probe: Probe) =>
  Effect.gen(function* () {
    const health = yield* Health
    const report = yield* health.report(probe)
    return HttpServerResponse.jsonUnsafe(report, { status: isHealthy(report) ? 200 : 500 })
  })

// The original answers any other path with the liveness probe; we do the same.
const HealthRoutes = Layer.mergeAll(
  HttpRouter.add("GET", "/live", probeRoute("live")),
  HttpRouter.add("GET", "/ready", probeRoute("ready")),
  HttpRouter.add("GET", "/startup", probeRoute("startup")),
  HttpRouter.add("GET", "/*", probeRoute("live"))
)

/** `/metrics` on DD_METRICS_PORT. */
export const MetricsServerLive = Layer.unwrap(
  Effect.map(ClusterAgentConfig, (config) =>
    HttpRouter.serve(MetricsRoutes, { disableLogger: true, disableListenLog: true }).pipe(
      Layer.provide(plainHttpServer(config.metricsPort))
    )
  )
)

/** Health probes on DD_HEALTH_PORT, or nothing when it is 0. */
export const HealthServerLive = Layer.unwrap(
  Effect.map(ClusterAgentConfig, (config) =>
    config.healthPort === 0
      ? Layer.empty
      : HttpRouter.serve(HealthRoutes, { disableLogger: true, disableListenLog: true }).pipe(
          Layer.provide(plainHttpServer(config.healthPort))
        )
  )
)

export const TelemetryLive = Layer.mergeAll(MetricsServerLive, HealthServerLive)
