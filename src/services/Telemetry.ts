// The two plain-HTTP listeners of the original: Prometheus `/metrics` on DD_METRICS_PORT, and the
// health probes `/live`, `/ready`, `/startup` on DD_HEALTH_PORT (off when 0). Nothing else is
// served on either port: no expvar, no pprof (the original's metrics port exposed pprof).
//
// Both are bare `http.Server`s: each answers from memory with one small body, so a router and
// effect's HTTP server stack (and the memory they take for the life of the process) buy nothing.
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { nodeHttp } from "../lib/builtins.ts"
import { formatPrometheus, prometheusContentType } from "../lib/prometheus.ts"
import { Health, isHealthy, type Probe } from "./Health.ts"
import { makeProcessMetrics } from "./ProcessMetrics.ts"

export class TelemetryError extends Schema.TaggedError<TelemetryError>()("TelemetryError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void

const send = (res: ServerResponse, status: number, contentType: string | undefined, body: string) => {
  res.writeHead(status, {
    ...(contentType === undefined ? {} : { "content-type": contentType }),
    "content-length": String(Buffer.byteLength(body))
  })
  res.end(body)
}

const notFound = (res: ServerResponse) => send(res, 404, undefined, "")

/** A plain HTTP listener on all interfaces for the life of the scope; `variable` names the port in errors. */
export const plainHttpServer = (
  port: number,
  variable: string,
  handler: Handler
): Effect.Effect<Server, TelemetryError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<Server, TelemetryError>((resume) => {
      const server = nodeHttp().createServer(handler)
      server.once("error", (e) =>
        resume(Effect.fail(new TelemetryError({ detail: `${variable}=${port}: cannot listen: ${e.message}` })))
      )
      server.listen({ port, host: "0.0.0.0" }, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.callback<void>((resume) => {
        server.close(() => resume(Effect.void))
        // Answers are instant: a keep-alive connection has nothing in flight worth waiting for.
        server.closeAllConnections()
      })
  )

/** `/metrics` on DD_METRICS_PORT: process metrics sampled per scrape, then every metric. */
export const MetricsServerLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* ClusterAgentConfig
    const sample = yield* makeProcessMetrics
    const context = yield* Effect.context<never>()
    const scrape = Effect.map(sample, () => formatPrometheus(Metric.snapshotUnsafe(context)))
    yield* plainHttpServer(config.metricsPort, "DD_METRICS_PORT", (req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0]
      if (req.method !== "GET" || path !== "/metrics") return notFound(res)
      Effect.runPromiseWith(context)(scrape).then(
        (body) => send(res, 200, prometheusContentType, body),
        () => send(res, 500, "text/plain", "internal error")
      )
    })
  })
)

const probeOf = (path: string): Probe => (path === "/ready" ? "ready" : path === "/startup" ? "startup" : "live")

/** Health probes on DD_HEALTH_PORT, or nothing when it is 0. The original answers any other path like /live. */
export const HealthServerLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* ClusterAgentConfig
    if (config.healthPort === 0) return
    const health = yield* Health
    const context = yield* Effect.context<never>()
    yield* plainHttpServer(config.healthPort, "DD_HEALTH_PORT", (req, res) => {
      if (req.method !== "GET") return notFound(res)
      Effect.runPromiseWith(context)(health.report(probeOf((req.url ?? "/").split("?", 1)[0] ?? "/"))).then(
        (report) => send(res, isHealthy(report) ? 200 : 500, "application/json", JSON.stringify(report)),
        () => send(res, 500, "text/plain", "internal error")
      )
    })
  })
)

export const TelemetryLive = Layer.mergeAll(MetricsServerLive, HealthServerLive)
