/** The agent's configuration as it resolves in a pod of namespace `datadog` (pure, no environment read). */
import { Option } from "effect"
import { type ClusterAgentConfigShape, ConfigError, resolve } from "../../src/layers/Config.ts"

export const podConfig = (env: Record<string, string> = {}): ClusterAgentConfigShape => {
  const config = resolve(
    { DD_API_KEY: "0123456789abcdef0123456789abcdef", ...env },
    { hostname: "dca-0", serviceAccountNamespace: Option.some("datadog") }
  )
  if (config instanceof ConfigError) throw new Error(config.message)
  return config
}
