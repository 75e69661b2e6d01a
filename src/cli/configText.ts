// The text and JSON of `datadog-cluster-agent config`, pure and without effect/cli, so that the
// agent can write them into a flare without loading the CLI.
import { type ClusterAgentConfigShape, configRows, derivedRows } from "../layers/Config.ts"

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
