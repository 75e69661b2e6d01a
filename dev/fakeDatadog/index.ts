/**
 * The fake Datadog API for tests, people and the demo. Plain async code calls
 * `startFakeDatadog(options)` and `close()`s it; Effect code uses `FakeDatadog.scoped(options)`
 * (closed when the scope closes) or provides `FakeDatadog.layer(options)` and reads
 * `yield* FakeDatadog.Service`.
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
