// `datadog-cluster-agent start`: validate the configuration, log it (secrets masked), prepare the
// tokens, run every feature until SIGTERM/SIGINT, then stop cleanly.
//
// Both ways in run this one effect: the image's command line (exactly `start`), which src/main.ts
// runs without the CLI parser, and the CLI's `start` command (src/cli/start.ts). So it imports
// nothing from effect/cli: `start` in a pod never loads the parser (docs/BENCHMARKS.md, idle floor).
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { AgentLive } from "./Agent.ts"
import { CliExit } from "./cli/CliExit.ts"
import { ClusterAgentConfig, type ClusterAgentConfigShape, configRows, derivedRows } from "./layers/Config.ts"
import { loggingLayer } from "./layers/Logging.ts"
import { Health } from "./services/Health.ts"
import { versionString } from "./version.ts"

/** The effective configuration as log annotations: variable → shown value (secrets masked). */
const configAnnotations = (config: ClusterAgentConfigShape) => ({
  config: Object.fromEntries(configRows(config).map((r) => [r.variable, r.value])),
  effective: Object.fromEntries(derivedRows(config))
})

/** Runs the agent with a loaded configuration until interrupted. */
export const runAgent = (config: ClusterAgentConfigShape) =>
  Effect.scoped(
    Effect.gen(function* () {
      if (Option.isNone(config.apiKey)) {
        yield* Effect.logError("no API key configured, exiting")
        return yield* new CliExit({ code: 1 })
      }
      yield* Effect.logInfo(`starting Datadog Cluster Agent v${versionString()}`).pipe(
        Effect.annotateLogs(configAnnotations(config))
      )
      const services = yield* Layer.build(AgentLive).pipe(
        Effect.tapError((e) => Effect.logError(`cannot start: ${e.message}`)),
        Effect.catch(() => Effect.fail(new CliExit({ code: 1 })))
      )
      const started = yield* Context.get(services, Health).register("cluster-agent", ["live", "ready", "startup"])
      yield* started.set(true)
      yield* Effect.logInfo("cluster agent started").pipe(
        Effect.annotateLogs({ cmdPort: config.cmdPort, metricsPort: config.metricsPort, healthPort: config.healthPort })
      )
      yield* Effect.addFinalizer(() => Effect.logInfo("stopping cluster agent"))
      return yield* Effect.never
    })
  ).pipe(Effect.provide([Layer.succeed(ClusterAgentConfig, config), loggingLayer(config.logLevel)]))

/** Loads the configuration (a bad value: one error line per problem, exit 1), then runs the agent. */
export const startAgent = ClusterAgentConfig.load.pipe(
  Effect.catchTag("ConfigError", (e) =>
    Effect.andThen(
      Effect.forEach(e.problems, (p) => Effect.logError(`configuration error: ${p}`), { discard: true }),
      Effect.fail(new CliExit({ code: 1 }))
    ).pipe(Effect.provide(loggingLayer("info")))
  ),
  Effect.flatMap(runAgent)
)
