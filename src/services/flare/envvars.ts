// `envvars.log`: the allow-listed environment variables, as the original writes them
// (`dda: pkg/flare/common/envvars.go`): every variable the agent reads (the configuration table,
// with its fallback names), plus the few outside it that change how it behaves. Any name holding
// `_KEY` or `_AUTH_TOKEN` is skipped whatever the list says. Pure.
import { settings } from "../../layers/Config.ts"

/** Outside the configuration table: proxies, TLS trust, the runtime, the deployment. */
export const extraAllowed: ReadonlyArray<string> = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_OPTIONS",
  "NODE_EXTRA_CA_CERTS",
  "KUBERNETES_SERVICE_HOST",
  "KUBERNETES_SERVICE_PORT",
  "CHART_RELEASE_NAME",
  "AGENT_DAEMONSET",
  "CLUSTER_AGENT_DEPLOYMENT"
]

/** The allowed names, upper-cased (names are compared upper-cased, as the original does). */
export const allowedEnvvarNames: ReadonlySet<string> = new Set(
  [...Object.values(settings).flatMap((s) => [s.env, ...s.aliases]), ...extraAllowed].map((n) => n.toUpperCase())
)

/** Pure: names that are never written, allowed or not. */
export const isSensitiveName = (name: string): boolean => {
  const upper = name.toUpperCase()
  return upper.includes("_KEY") || upper.includes("_AUTH_TOKEN")
}

/** Pure: the file's text for an environment. */
export const renderEnvVars = (env: Readonly<Record<string, string | undefined>>): string => {
  const found = Object.entries(env).filter(
    ([name, value]) => value !== undefined && !isSensitiveName(name) && allowedEnvvarNames.has(name.toUpperCase())
  )
  if (found.length === 0) return "Found no allowed envvar\n"
  return `Found the following envvars:\n${found.map(([name, value]) => ` -  ${name}=${value}\n`).join("")}`
}
