/**
 * The fake Datadog API for tests, people and the demo. Plain async code calls
 * `startFakeDatadog(options)` and `close()`s it; Effect code uses `FakeDatadog.scoped(options)`
 * (closed when the scope closes) or provides `FakeDatadog.layer(options)` and reads
 * `yield* FakeDatadog.Service`.
 *
 *   const fake = await startFakeDatadog({ acceptedApiKeys: ["k"] })
 *   // agent env: DD_DD_URL=fake.url, DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT=fake.url
 *   fake.setSeries("avg:nginx.net.request_per_s{kube_container_name:nginx}.rollup(30)", [[Date.now(), 12]])
 *   fake.inject({ kind: "status", status: 503 }, { path: "/api/v1/events", times: 2 })
 *   await fake.waitFor(() => fake.events().length >= 3 && fake.events())
 *   await fake.close()
 *
 * One concern per file: server.ts (HTTP, wiring), routes.ts (what each path answers),
 * recorder.ts, faults.ts, metrics.ts (scripted series), queries.ts (splitting `query`),
 * body.ts (decoding), main.ts (the `npm run fake-datadog` process).
 */
import { Context, Effect, Layer, type Scope } from "effect"
import { type FakeDatadogOptions, type FakeDatadog as Shape, startFakeDatadog } from "./server.ts"

export type { FormBody, UploadedFile } from "./body.ts"
export type { Fault, FaultHandle, FaultKind, FaultOptions, RateLimitHeaders } from "./faults.ts"
export type { Point, SeriesAnswer, SeriesFunction, SeriesScript, SeriesSpec } from "./metrics.ts"
export { splitQueries } from "./queries.ts"
export type { RecordedRequest, RequestFilter, WaitOptions } from "./recorder.ts"
export type { EventBody, FlareUpload, KeyPolicy, ServiceCheckBody } from "./routes.ts"
export type { FakeDatadogOptions, MetricQuery, QueryRateLimit } from "./server.ts"
export { startFakeDatadog, summarize } from "./server.ts"

export type FakeDatadog = Shape

export class FakeDatadogService extends Context.Service<FakeDatadogService, Shape>()("dev/FakeDatadog") {}

const scoped = (options?: FakeDatadogOptions): Effect.Effect<Shape, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeDatadog(options)),
    (fake) => Effect.promise(() => fake.close())
  )

export const FakeDatadog = {
  /** Starts a fake Datadog API that closes when the scope closes. */
  scoped,
  /** The service a `layer` provides. */
  Service: FakeDatadogService,
  /** A layer providing `FakeDatadog.Service`, closed when the layer's scope closes. */
  layer: (options?: FakeDatadogOptions): Layer.Layer<FakeDatadogService> =>
    Layer.effect(FakeDatadogService, scoped(options))
} as const
