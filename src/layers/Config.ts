// Every `DD_*` variable the agent reads, declared once, with the original's current default
// and its meaning. `parseEnv` is pure and reports every problem at once; the `ClusterAgentConfig`
// service reads the process environment at start and resolves what depends on the machine.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  bool,
  dns1123Label,
  dns1123Subdomain,
  oneOf,
  port,
  portOrOff,
  positiveInt,
  type Setting,
  seconds,
  secret,
  text,
  url,
  wordList
} from "./settings.ts"

const clusterToken = {
  test: (v: string) => v.length >= 32 && /^[A-Za-z0-9]+$/.test(v),
  allowed: "at least 32 characters, letters A-Z a-z and digits 0-9 only"
}

const hostnameRule = {
  pattern: /^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/,
  maxLength: 255,
  allowed: "a host name: letters, digits, '-', '_' or '.', at most 255 characters"
}

// The original's cluster-name rule (dot-separated lower-case labels, at most 80 characters).
const clusterNameRule = {
  pattern: /^([a-z]([a-z0-9-]*[a-z0-9])?\.)*([a-z]([a-z0-9-]*[a-z0-9])?)$/,
  maxLength: 80,
  allowed:
    "lower-case dot-separated words of letters, digits and '-', each starting with a letter, at most 80 characters"
}

const siteRule = {
  pattern: /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/,
  maxLength: 253,
  allowed: "a Datadog site domain such as datadoghq.com or datadoghq.eu"
}

const logLevels = ["trace", "debug", "info", "warn", "error", "critical", "off"] as const
const aggregators = ["avg", "sum", "max", "min"] as const
// Empty: discover (a Lease when the API server serves coordination.k8s.io/v1 leases).
const lockResources = ["configmap", "configmaps", "lease", "leases", ""] as const

/** The table. Field names are what the code uses; `env` is what users set. */
export const settings = {
  // Credentials and Datadog endpoints
  apiKey: secret("DD_API_KEY", "Datadog API key; required by `start`"),
  appKey: secret("DD_APP_KEY", "Datadog application key; needed to query metrics for the external metrics provider"),
  site: text("DD_SITE", "datadoghq.com", "Datadog site; the API is `https://api.<site>`", siteRule),
  ddUrl: url("DD_DD_URL", "Datadog API base URL; overrides DD_SITE (legacy name DD_URL)", { aliases: ["DD_URL"] }),
  hostname: text("DD_HOSTNAME", "", "Host name reported to Datadog; empty = the machine's host name", hostnameRule),
  clusterName: text("DD_CLUSTER_NAME", "", "Kubernetes cluster name, appended to event hosts", clusterNameRule),
  logLevel: oneOf("DD_LOG_LEVEL", logLevels, "info", "Log level: trace, debug, info, warn, error, critical or off"),
  forwarderTimeout: seconds("DD_FORWARDER_TIMEOUT", 20, "Timeout of one request to the Datadog API, in seconds"),

  // Node-agent API and its tokens
  cmdPort: port("DD_CLUSTER_AGENT_CMD_PORT", 5005, "HTTPS port of the node-agent and CLI API"),
  authToken: secret(
    "DD_CLUSTER_AGENT_AUTH_TOKEN",
    "Token node agents present; empty = read or create the file cluster_agent.auth_token beside the local token file",
    clusterToken
  ),
  authTokenFilePath: text(
    "DD_AUTH_TOKEN_FILE_PATH",
    "/etc/datadog-agent/auth_token",
    "Local token file the CLI uses to call the running agent (created by `start`, mode 0600)"
  ),
  clusterTrustChainCaCert: text(
    "DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH",
    "",
    "CA certificate (PEM) that issues the command port's certificate; empty = self-signed"
  ),
  clusterTrustChainCaKey: text(
    "DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH",
    "",
    "Private key (PEM) of that CA; set both or neither"
  ),
  serviceName: text(
    "DD_CLUSTER_AGENT_KUBERNETES_SERVICE_NAME",
    "datadog-cluster-agent",
    "Name of the Kubernetes Service in front of the agent",
    dns1123Label
  ),
  tokenName: text(
    "DD_CLUSTER_AGENT_TOKEN_NAME",
    "datadogtoken",
    "ConfigMap that stores the event collection cursor",
    dns1123Subdomain
  ),

  // Cluster metadata
  useMetadataMapper: bool(
    "DD_USE_METADATA_MAPPER",
    true,
    "Serve the pod-to-service mapping to node agents (legacy gate)"
  ),
  collectMetadataTags: bool(
    "DD_KUBERNETES_COLLECT_METADATA_TAGS",
    true,
    "Collect pod, node and namespace metadata for node agents"
  ),
  metadataTagUpdateFreq: seconds(
    "DD_KUBERNETES_METADATA_TAG_UPDATE_FREQ",
    60,
    "How often node agents poll the metadata endpoints, in seconds"
  ),
  collectEvents: bool("DD_COLLECT_KUBERNETES_EVENTS", false, "Send Kubernetes events to Datadog (leader only)"),
  confdPath: text(
    "DD_CONFD_PATH",
    "/etc/datadog-agent/conf.d",
    "Folder of check configurations; kubernetes_apiserver.d/conf.yaml there sets event and control-plane options"
  ),

  // Leader election
  leaderElection: bool("DD_LEADER_ELECTION", false, "Elect one leader among replicas for leader-only work"),
  leaderLeaseDuration: seconds("DD_LEADER_LEASE_DURATION", 60, "Leader lease duration, in seconds"),
  leaderLeaseName: text(
    "DD_LEADER_LEASE_NAME",
    "datadog-leader-election",
    "Name of the leader election lock",
    dns1123Subdomain
  ),
  leaderElectionResource: oneOf(
    "DD_LEADER_ELECTION_DEFAULT_RESOURCE",
    lockResources,
    "configmap",
    "Leader election lock kind: configmap or lease; set empty to use a Lease when the API server has them",
    { emptyIsValue: true }
  ),
  leaderElectionReleaseOnShutdown: bool(
    "DD_LEADER_ELECTION_RELEASE_ON_SHUTDOWN",
    true,
    "Release the leader lock on a graceful stop, once leader work has stopped, so another replica takes over at once"
  ),
  podName: text("DD_POD_NAME", "", "This pod's name, the leader identity; empty = host name", dns1123Subdomain),

  // Kubernetes access
  resourcesNamespace: text(
    "DD_KUBE_RESOURCES_NAMESPACE",
    "",
    "Namespace of the agent's ConfigMaps and lock; empty = the service account's namespace, else default",
    dns1123Label
  ),
  kubeconfigPath: text(
    "DD_KUBERNETES_KUBECONFIG_PATH",
    "",
    "Kubeconfig file; empty = in-cluster service account, else KUBECONFIG or ~/.kube/config"
  ),
  apiserverClientTimeout: seconds(
    "DD_KUBERNETES_APISERVER_CLIENT_TIMEOUT",
    10,
    "Timeout of ordinary API server requests, in seconds"
  ),
  informersResyncPeriod: seconds(
    "DD_KUBERNETES_INFORMERS_RESYNC_PERIOD",
    300,
    "Period of the full resync of every watched resource, in seconds"
  ),
  informersRestclientTimeout: seconds(
    "DD_KUBERNETES_INFORMERS_RESTCLIENT_TIMEOUT",
    60,
    "Server-side timeout of one watch request, in seconds"
  ),

  // Telemetry and health
  metricsPort: port("DD_METRICS_PORT", 5000, "Plain HTTP port of the Prometheus /metrics endpoint"),
  healthPort: portOrOff("DD_HEALTH_PORT", 0, "Plain HTTP port of /live, /ready and /startup; 0 = off"),

  // External metrics provider
  externalMetricsEnabled: bool(
    "DD_EXTERNAL_METRICS_PROVIDER_ENABLED",
    false,
    "Serve external.metrics.k8s.io for HPAs from Datadog queries"
  ),
  externalMetricsPort: port("DD_EXTERNAL_METRICS_PROVIDER_PORT", 8443, "HTTPS port of the external metrics API"),
  externalMetricsEndpoint: url(
    "DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT",
    "Datadog API base URL for metric queries; empty = DATADOG_HOST, else the site's API",
    { aliases: ["DATADOG_HOST"] }
  ),
  externalMetricsApiKey: secret(
    "DD_EXTERNAL_METRICS_PROVIDER_API_KEY",
    "API key for metric queries; empty = DD_API_KEY"
  ),
  externalMetricsAppKey: secret(
    "DD_EXTERNAL_METRICS_PROVIDER_APP_KEY",
    "Application key for metric queries; empty = DD_APP_KEY"
  ),
  externalMetricsRefreshPeriod: seconds(
    "DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD",
    30,
    "How often the leader queries Datadog, in seconds"
  ),
  externalMetricsBatchWindow: seconds(
    "DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW",
    10,
    "Window that batches autoscaler changes before they are written, in seconds"
  ),
  externalMetricsMaxAge: seconds(
    "DD_EXTERNAL_METRICS_PROVIDER_MAX_AGE",
    120,
    "Age after which a metric value is no longer served as valid, in seconds"
  ),
  externalMetricsBucketSize: seconds(
    "DD_EXTERNAL_METRICS_PROVIDER_BUCKET_SIZE",
    300,
    "Time range of each metrics query, in seconds"
  ),
  externalMetricsLocalCopyRefreshRate: seconds(
    "DD_EXTERNAL_METRICS_PROVIDER_LOCAL_COPY_REFRESH_RATE",
    30,
    "How often every replica re-reads the metrics ConfigMap, in seconds"
  ),
  externalMetricsRollup: seconds("DD_EXTERNAL_METRICS_PROVIDER_ROLLUP", 30, "Rollup of each metrics query, in seconds"),
  externalMetricsChunkSize: positiveInt(
    "DD_EXTERNAL_METRICS_PROVIDER_CHUNK_SIZE",
    35,
    "Most queries sent in one Datadog request"
  ),
  externalMetricsAggregator: oneOf(
    "DD_EXTERNAL_METRICS_AGGREGATOR",
    aggregators,
    "avg",
    "Time aggregator of metric queries: avg, sum, max or min"
  ),
  hpaConfigMapName: text(
    "DD_HPA_CONFIGMAP_NAME",
    "datadog-custom-metrics",
    "ConfigMap that stores external metric values",
    dns1123Subdomain
  ),

  // Proxies (the standard variables are read when the DD_ ones are unset)
  proxyHttp: url("DD_PROXY_HTTP", "Proxy for http:// requests (fallback HTTP_PROXY, http_proxy)", {
    aliases: ["HTTP_PROXY", "http_proxy"]
  }),
  proxyHttps: url("DD_PROXY_HTTPS", "Proxy for https:// requests (fallback HTTPS_PROXY, https_proxy)", {
    aliases: ["HTTPS_PROXY", "https_proxy"]
  }),
  proxyNoProxy: wordList(
    "DD_PROXY_NO_PROXY",
    "Space-separated hosts that bypass the proxy (fallback NO_PROXY, no_proxy: comma-separated)",
    { aliases: ["NO_PROXY", "no_proxy"] }
  ),
  noProxyNonexactMatch: bool(
    "DD_NO_PROXY_NONEXACT_MATCH",
    false,
    "Match DD_PROXY_NO_PROXY entries as domain suffixes, IPs and CIDR ranges instead of exact hosts"
  )
} as const satisfies Record<string, Setting<unknown>>

export type SettingKey = keyof typeof settings
type ValueOf<S> = S extends Setting<infer A> ? A : never
/** The typed values of the table. */
export type Settings = { readonly [K in SettingKey]: ValueOf<(typeof settings)[K]> }

/** Where a value came from: the default, or the named environment variable. */
export type Source = { readonly kind: "default" } | { readonly kind: "env"; readonly variable: string }

export interface Parsed {
  readonly values: Settings
  readonly sources: { readonly [K in SettingKey]: Source }
}

export type Env = Readonly<Record<string, string | undefined>>

const settingEntries = Object.entries(settings) as ReadonlyArray<[SettingKey, Setting<unknown>]>

/** Reads the table from an environment; returns every problem, one line each, naming the variable. */
export const parseEnv = (
  env: Env
):
  | { readonly ok: true; readonly parsed: Parsed }
  | { readonly ok: false; readonly problems: ReadonlyArray<string> } => {
  const problems: Array<string> = []
  const invalid = new Set<SettingKey>()
  const values: Record<string, unknown> = {}
  const sources: Record<string, Source> = {}
  for (const [key, s] of settingEntries) {
    const variable = [s.env, ...s.aliases].find(
      (name) => env[name] !== undefined && (env[name] !== "" || s.emptyIsValue)
    )
    const result = variable === undefined ? undefined : s.parse(env[variable] ?? "")
    if (variable === undefined || result === undefined) {
      values[key] = s.default
      sources[key] = { kind: "default" }
    } else if (result.ok) {
      values[key] = result.value
      sources[key] = { kind: "env", variable }
    } else {
      const raw = env[variable] ?? ""
      const shown = s.secret ? `(hidden, ${raw.trim().length} characters)` : JSON.stringify(raw)
      problems.push(`${variable}: invalid value ${shown}: must be ${result.allowed}`)
      invalid.add(key)
      values[key] = s.default
    }
  }
  const parsed = { values: values as Settings, sources: sources as Parsed["sources"] }
  problems.push(...portConflicts(parsed.values, invalid))
  if ((parsed.values.clusterTrustChainCaCert === "") !== (parsed.values.clusterTrustChainCaKey === "")) {
    const missing =
      parsed.values.clusterTrustChainCaCert === "" ? settings.clusterTrustChainCaCert : settings.clusterTrustChainCaKey
    const other =
      missing === settings.clusterTrustChainCaCert ? settings.clusterTrustChainCaKey : settings.clusterTrustChainCaCert
    problems.push(`${missing.env}: must be set when ${other.env} is set`)
  }
  // Metric queries take an application key besides the API key: without one the provider could
  // only ever serve errors.
  const v = parsed.values
  if (v.externalMetricsEnabled && Option.isNone(v.externalMetricsAppKey) && Option.isNone(v.appKey)) {
    problems.push(
      `${settings.appKey.env}: must be set when ${settings.externalMetricsEnabled.env} is true (or ${settings.externalMetricsAppKey.env}): Datadog metric queries need an application key`
    )
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, parsed }
}

/** Listeners that would open on the same port (variables that failed to parse are left out). */
const portConflicts = (v: Settings, invalid: ReadonlySet<SettingKey>): ReadonlyArray<string> => {
  const listeners: ReadonlyArray<readonly [SettingKey, number, boolean]> = [
    ["cmdPort", v.cmdPort, true],
    ["metricsPort", v.metricsPort, true],
    ["healthPort", v.healthPort, v.healthPort > 0],
    ["externalMetricsPort", v.externalMetricsPort, v.externalMetricsEnabled]
  ]
  const active = listeners.filter(([key, , on]) => on && !invalid.has(key))
  const problems: Array<string> = []
  active.forEach(([key, p], i) => {
    const earlier = active.slice(0, i).find(([, q]) => q === p)
    if (earlier !== undefined) {
      problems.push(`${settings[key].env}: port ${p} is already used by ${settings[earlier[0]].env}; ports must differ`)
    }
  })
  return problems
}

/** The configuration the agent runs with: the table plus what is resolved from the machine. */
export interface ClusterAgentConfigShape extends Settings {
  readonly sources: Parsed["sources"]
  /** `DD_HOSTNAME`, else the OS host name. */
  readonly effectiveHostname: string
  /** `DD_KUBE_RESOURCES_NAMESPACE`, else the service account's namespace, else `default`. */
  readonly effectiveNamespace: string
  /** `DD_DD_URL`, else `https://api.<DD_SITE>`. */
  readonly apiBaseUrl: string
  /** The agent's own namespace: the service account's, else the resources namespace. */
  readonly podNamespace: string
  /** The file holding the cluster token when `DD_CLUSTER_AGENT_AUTH_TOKEN` is empty. */
  readonly clusterTokenFilePath: string
  /** The leader identity: `DD_POD_NAME`, else the host name. */
  readonly identity: string
}

export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.problems.join("\n")
  }
}

export const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

export interface MachineFacts {
  readonly hostname: string
  /** Contents of the service-account namespace file, when it exists. */
  readonly serviceAccountNamespace: Option.Option<string>
}

/** Pure: the effective configuration from the environment and facts about the machine. */
export const resolve = (env: Env, machine: MachineFacts): ClusterAgentConfigShape | ConfigError => {
  const result = parseEnv(env)
  if (!result.ok) return new ConfigError({ problems: result.problems })
  const v = result.parsed.values
  const effectiveHostname = v.hostname !== "" ? v.hostname : machine.hostname
  const serviceAccountNamespace = Option.filter(
    Option.map(machine.serviceAccountNamespace, (ns) => ns.trim()),
    (ns) => ns !== ""
  )
  const effectiveNamespace =
    v.resourcesNamespace !== "" ? v.resourcesNamespace : Option.getOrElse(serviceAccountNamespace, () => "default")
  return {
    ...v,
    sources: result.parsed.sources,
    effectiveHostname,
    effectiveNamespace,
    podNamespace: Option.getOrElse(serviceAccountNamespace, () => effectiveNamespace),
    apiBaseUrl: Option.getOrElse(v.ddUrl, () => `https://api.${v.site}`).replace(/\/+$/, ""),
    clusterTokenFilePath: Path.join(Path.dirname(v.authTokenFilePath), "cluster_agent.auth_token"),
    identity: v.podName !== "" ? v.podName : effectiveHostname
  }
}

const readMachineFacts = Effect.sync(
  (): MachineFacts => ({
    hostname: Os.hostname(),
    serviceAccountNamespace: Option.liftThrowable(() => Fs.readFileSync(serviceAccountNamespaceFile, "utf8"))()
  })
)

/** Reads and validates the configuration from an environment. */
export const loadConfig = (env: Env): Effect.Effect<ClusterAgentConfigShape, ConfigError> =>
  Effect.flatMap(readMachineFacts, (machine) => {
    const config = resolve(env, machine)
    return config instanceof ConfigError ? Effect.fail(config) : Effect.succeed(config)
  })

/** The validated configuration, read once at start. */
export class ClusterAgentConfig extends Context.Service<ClusterAgentConfig, ClusterAgentConfigShape>()(
  "dca/ClusterAgentConfig"
) {
  /** From the process environment. */
  static readonly load: Effect.Effect<ClusterAgentConfigShape, ConfigError> = Effect.suspend(() =>
    loadConfig({ ...process.env })
  )

  /** From an explicit environment (tests). */
  static readonly fromEnv = (env: Env): Layer.Layer<ClusterAgentConfig, ConfigError> =>
    Layer.effect(ClusterAgentConfig, loadConfig(env))

  static readonly layer: Layer.Layer<ClusterAgentConfig, ConfigError> = Layer.effect(
    ClusterAgentConfig,
    ClusterAgentConfig.load
  )
}

/** One row of `datadog-cluster-agent config`: a variable, its shown value and where it came from. */
export interface ConfigRow {
  readonly variable: string
  readonly value: string
  readonly source: "default" | "env"
  /** The variable actually read, when a fallback name supplied the value. */
  readonly from?: string
  readonly secret: boolean
  readonly doc: string
}

/** The effective configuration as rows, secrets masked. */
export const configRows = (config: ClusterAgentConfigShape): ReadonlyArray<ConfigRow> =>
  settingEntries.map(([key, s]) => {
    const source = config.sources[key]
    const row: ConfigRow = {
      variable: s.env,
      value: s.show(config[key]),
      source: source.kind,
      secret: s.secret,
      doc: s.doc
    }
    return source.kind === "env" && source.variable !== s.env ? { ...row, from: source.variable } : row
  })

/** The derived values shown under the table. */
export const derivedRows = (config: ClusterAgentConfigShape): ReadonlyArray<readonly [string, string]> => [
  ["hostname", config.effectiveHostname],
  ["resources namespace", config.effectiveNamespace],
  ["pod namespace", config.podNamespace],
  ["Datadog API", config.apiBaseUrl],
  ["cluster token file", config.clusterTokenFilePath],
  ["leader identity", config.identity]
]
