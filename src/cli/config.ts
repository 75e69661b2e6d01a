// `datadog-cluster-agent config`: the effective configuration, secrets masked, each value marked
// `default` or `env`. Fails, naming every bad variable, when the configuration is invalid.
import * as Console from "effect/Console"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { CliExit } from "./CliExit.ts"
import { configJson, renderConfig } from "./configText.ts"

// The rendering is pure and free of effect/cli, so that the agent's flare can use it too.
export { configJson, renderConfig }

/** Loads the configuration; on problems prints one line each to stderr and exits 1. */
export const loadConfigOrExit = ClusterAgentConfig.load.pipe(
  Effect.catchTag("ConfigError", (e) =>
    Effect.andThen(
      Effect.forEach(e.problems, (p) => Console.error(`configuration error: ${p}`), { discard: true }),
      Effect.fail(new CliExit({ code: 1 }))
    )
  )
)

export const configCommand = Command.make(
  "config",
  { json: Flag.Boolean("json").pipe(Flag.withDescription("Print JSON instead of a table"), Flag.withDefault(false)) },
  Effect.fn(function* ({ json }) {
    const config = yield* loadConfigOrExit
    yield* Console.log(json ? JSON.stringify(configJson(config), null, 2) : renderConfig(config))
  })
).pipe(
  Command.withDescription(
    "Print the effective configuration read from DD_* variables, secrets masked, each value marked default or env"
  )
)
