// `datadog-cluster-agent config`: the effective configuration, secrets masked, each value marked
// `default` or `env`. Fails, naming every bad variable, when the configuration is invalid.
import * as Console from "effect/Console"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import { ClusterAgentConfig, type ClusterAgentConfigShape, configRows, derivedRows } from "../layers/Config.ts"
import { CliExit } from "./CliExit.ts"

/** Pure: the text table. */
export const renderConfig = (config: ClusterAgentConfigShape): string => {
  const rows = configRows(config)
  const width = Math.max(...rows.map((r) => r.variable.length))
  const valueWidth = Math.min(48, Math.max(...rows.map((r) => r.value.length)))
  const lines = rows.map((r) => {
    const source = r.from === undefined ? r.source : `env (${r.from})`
    return `${r.variable.padEnd(width)}  ${(r.value === "" ? '""' : r.value).padEnd(valueWidth)}  ${source}`
  })
  const derived = derivedRows(config).map(([name, value]) => `  ${name}: ${value}`)
  return [...lines, "", "Effective values:", ...derived].join("\n")
}

/** Pure: the JSON document of `config --json`. */
export const configJson = (config: ClusterAgentConfigShape) => ({
  settings: configRows(config).map(({ doc: _doc, ...row }) => row),
  effective: Object.fromEntries(derivedRows(config))
})

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
