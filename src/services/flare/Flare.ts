// The running agent's flare (`POST /flare` on the command port): an archive of what it knows —
// status, metadata map, effective configuration, conf.d, allow-listed environment, its recent log
// lines, telemetry, the external metrics provider's state, the RBAC self-check — every file
// scrubbed, written to the OS temporary directory; the answer is the archive's path, as the
// original's. One flare at a time. The builder (zip library, YAML parser) is loaded on the first
// flare only, so an agent that never makes one never loads it.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Semaphore from "effect/Semaphore"
import { AuthTokens } from "../../layers/AuthTokens.ts"
import { ClusterAgentConfig } from "../../layers/Config.ts"
import { ExternalMetrics } from "../ExternalMetrics.ts"
import { MetadataMapper } from "../MetadataMapper.ts"
import { Status } from "../Status.ts"
import { FlareError } from "./FlareError.ts"
import { recentLogs } from "./logRing.ts"
import { knownSecrets } from "./secrets.ts"

export { FlareError }

export interface FlareShape {
  /** Builds an archive; succeeds with its path. */
  readonly create: Effect.Effect<string, FlareError>
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)))

export class Flare extends Context.Service<Flare, FlareShape>()("dca/Flare") {
  /**
   * Needs the configuration, the tokens and the metadata mapper; uses the status page (and its
   * RBAC self-check) and the external metrics provider when the agent has them.
   */
  static readonly layer = Layer.effect(
    Flare,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const tokens = yield* AuthTokens
      const mapper = yield* MetadataMapper
      const externalMetrics = yield* Effect.serviceOption(ExternalMetrics)
      const statusPage = yield* Effect.serviceOption(Status)
      const lock = yield* Semaphore.make(1)
      const secrets = knownSecrets(config, tokens)

      const create = Effect.gen(function* () {
        yield* Effect.logInfo("Making a flare")
        const [{ buildFlare, fetchTelemetry }, { renderMetadataMap }, { renderCustomMetrics }, { renderRbac }, render] =
          yield* Effect.promise(() =>
            Promise.all([
              import("./build.ts"),
              import("../../cli/metamapText.ts"),
              import("./customMetrics.ts"),
              import("./rbacText.ts"),
              import("../status/render.ts")
            ])
          )
        // One status for the status file and the RBAC part of permissions.log.
        const status = yield* Option.match(statusPage, {
          onNone: () => Effect.succeed(undefined),
          onSome: (page) => page.collect
        })
        const path = yield* buildFlare({
          local: false,
          config,
          env: { ...process.env },
          secrets,
          status: status === undefined ? undefined : Effect.sync(() => render.renderStatusText(status)),
          rbac: status === undefined ? undefined : Effect.sync(() => renderRbac(status.rbac)),
          metamap: Effect.try({
            try: () => `${renderMetadataMap(JSON.parse(mapper.allNodesJson()))}\n`,
            catch: asError
          }),
          logs: Effect.sync(() => recentLogs.lines()),
          telemetry: fetchTelemetry(config.metricsPort),
          customMetrics: Option.match(externalMetrics, {
            onNone: () => undefined,
            onSome: (em) =>
              Effect.flatMap(Clock.currentTimeMillis, (now) =>
                Effect.map(em.status, (s) => (s.enabled ? renderCustomMetrics(s, now) : undefined))
              )
          })
        })
        yield* Effect.logInfo("flare created").pipe(Effect.annotateLogs({ path }))
        return path
      }).pipe(
        Effect.tapError((e) => Effect.logError(`The flare failed to be created: ${e.message}`)),
        Effect.withSpan("Flare.create")
      )

      return Flare.of({ create: lock.withPermits(1)(create) })
    })
  )
}
