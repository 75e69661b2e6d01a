// The `apiserver` readiness component: the agent is not ready until the API server answers
// /version and /readyz, and stops being ready when /readyz fails later. It never fails the
// agent: an unreachable API server is retried with capped, jittered exponential backoff, and
// the logs get one warning per 30 s window (with how many attempts failed in it), not one per try.
// The status page reads the connection's state from the `ApiServerProbe` service.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { KubeClient, type KubeClientShape, type KubeError } from "../layers/KubeClient.ts"
import { reconnectBackoff } from "../lib/backoff.ts"
import { Health, type HealthHandle } from "./Health.ts"

/** Delays between connection attempts: the agent's shared reconnect policy (1 s doubling to 30 s, jittered). */
export const apiServerReconnect = reconnectBackoff

export interface ProbeOptions {
  /** Between connection attempts while the API server is unreachable. */
  readonly reconnect: Schedule.Schedule<unknown, unknown>
  /** Between /readyz checks while connected. */
  readonly checkEvery: Duration.Duration
  /** At most one warning per window. */
  readonly warnEvery: Duration.Duration
}

export const defaultProbeOptions: ProbeOptions = {
  reconnect: apiServerReconnect,
  checkEvery: Duration.seconds(10),
  warnEvery: Duration.seconds(30)
}

/** The connection as the status page shows it. */
export interface ApiServerStatus {
  readonly server: string
  readonly connected: boolean
  /** The API server's version, once it answered /version. */
  readonly gitVersion?: string | undefined
  /** When the current state began (ms since the epoch); absent before the first attempt ended. */
  readonly since?: number | undefined
  /** The last failure, while not connected. */
  readonly lastError?: string | undefined
}

/** Pure: whether a failure at `now` gets a warning line, given when the last one was written. */
export const shouldWarn = (lastWarnAt: number | undefined, now: number, every: Duration.Duration): boolean =>
  lastWarnAt === undefined || now - lastWarnAt >= Duration.toMillis(every)

/**
 * Runs forever: connect (version + readyz), mark ready, check /readyz periodically; on any
 * failure mark not ready and reconnect with backoff.
 */
export const runProbe = (
  kube: KubeClientShape,
  health: HealthHandle,
  options: ProbeOptions = defaultProbeOptions,
  state?: Ref.Ref<ApiServerStatus>
) =>
  Effect.gen(function* () {
    const report = (connected: boolean, detail: { gitVersion?: string; lastError?: string }) =>
      state === undefined
        ? Effect.void
        : Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Ref.update(state, (s) =>
              connected === s.connected && s.since !== undefined
                ? { ...s, ...detail }
                : { server: s.server, gitVersion: s.gitVersion, ...detail, connected, since: now }
            )
          )
    // Warning state, local to this fiber.
    let lastWarnAt: number | undefined
    let failedSinceWarning = 0

    const failed = (e: KubeError) =>
      Effect.gen(function* () {
        yield* health.set(false)
        yield* report(false, { lastError: e.message })
        failedSinceWarning++
        const now = yield* Clock.currentTimeMillis
        if (!shouldWarn(lastWarnAt, now, options.warnEvery)) return
        yield* Effect.logWarning("cannot reach the API server, retrying").pipe(
          Effect.annotateLogs({
            server: kube.server,
            reason: e.reason,
            error: e.message,
            failedAttempts: failedSinceWarning
          })
        )
        lastWarnAt = now
        failedSinceWarning = 0
      })

    const connect = Effect.gen(function* () {
      const version = yield* kube.serverVersion()
      yield* kube.readyz()
      return version
    }).pipe(Effect.tapError(failed), Effect.retry(options.reconnect))

    // Every `checkEvery` (the first check one period after connecting); it ends only with the
    // first failure, which it returns.
    const monitor = Effect.flip(Effect.schedule(kube.readyz(), Schedule.spaced(options.checkEvery)))

    return yield* Effect.forever(
      Effect.gen(function* () {
        const version = yield* connect
        yield* health.set(true)
        yield* report(true, { gitVersion: version.gitVersion })
        yield* Effect.logInfo("connected to the API server").pipe(
          Effect.annotateLogs({ server: kube.server, gitVersion: version.gitVersion })
        )
        lastWarnAt = undefined
        failedSinceWarning = 0
        yield* failed(yield* monitor)
      })
    )
  }).pipe(Effect.withSpan("ApiServerProbe.run"))

/** The probe as a feature: registers the "apiserver" readiness component and keeps it current. */
export class ApiServerProbe extends Context.Service<
  ApiServerProbe,
  { readonly status: Effect.Effect<ApiServerStatus> }
>()("dca/ApiServerProbe") {
  static readonly layer: Layer.Layer<ApiServerProbe, never, KubeClient | Health> = Layer.effect(
    ApiServerProbe,
    Effect.gen(function* () {
      const kube = yield* KubeClient
      const health = yield* Health
      const handle = yield* health.register("apiserver", ["ready"])
      const state = yield* Ref.make<ApiServerStatus>({ server: kube.server, connected: false })
      yield* Effect.forkScoped(runProbe(kube, handle, defaultProbeOptions, state))
      return ApiServerProbe.of({ status: Ref.get(state) })
    })
  )
}

export const ApiServerProbeLive = ApiServerProbe.layer
