// The status page as one plain data object: what `GET /status` answers as JSON (and
// `datadog-cluster-agent status --json` prints), and what the text renderer (render.ts) lays out.
// Instants are ISO 8601 strings in UTC; ages are left to the reader (the renderer computes them
// from `collectedAt`), so a status object is a fixed value that tests can compare.
//
// The `leaderelection` section is the original's JSON (contract §4: status, leaderName, RFC 1123
// times, "<n> transitions", error); the other sections are this agent's own.
import * as Schema from "effect/Schema"

/** An instant, as `Date.prototype.toISOString` writes it. */
const Instant = Schema.String

const opt = Schema.optionalKey

export const ApiServerSection = Schema.Struct({
  server: Schema.String,
  connected: Schema.Boolean,
  gitVersion: opt(Schema.String),
  /** Since when connected (or not). */
  since: opt(Instant),
  lastError: opt(Schema.String)
})

export const WatchSection = Schema.Struct({
  kind: Schema.String,
  /** Objects in the store; absent for a watch that follows a cursor without a store (events). */
  objects: opt(Schema.Number),
  synced: opt(Schema.Boolean),
  relists: Schema.Number,
  events: Schema.Number,
  lastEvent: opt(Instant)
})

export const LeaderElectionSection = Schema.Struct({
  status: Schema.Literals(["Running", "Failing", "Disabled"]),
  leaderName: opt(Schema.String),
  /** RFC 1123, as the original: `Wed, 01 May 2024 12:00:00 UTC`. */
  acquiredTime: opt(Schema.String),
  renewedTime: opt(Schema.String),
  /** `"3 transitions"`. */
  transitions: opt(Schema.String),
  error: opt(Schema.String),
  /** This replica's identity, and whether it leads now. */
  identity: Schema.String,
  isLeader: Schema.Boolean
})

export const MetadataMapperSection = Schema.Struct({
  enabled: Schema.Boolean,
  synced: Schema.Boolean,
  nodes: Schema.Number,
  pods: Schema.Number,
  podsWithServices: Schema.Number,
  services: Schema.Number,
  endpointSlices: Schema.Number,
  namespaces: Schema.Number
})

/** Whether a leader-only feature runs here. */
export const LeaderWorkState = Schema.Literals([
  /** Off in the configuration. */
  "disabled",
  /** A right it needs is refused (see the RBAC section). */
  "missingRights",
  /** Another replica leads. */
  "follower",
  "running"
])

export const EventCollectionSection = Schema.Struct({
  state: LeaderWorkState,
  /** The token ConfigMap, `<namespace>/<name>`. */
  tokenConfigMap: Schema.String,
  /** The stored cursor; absent when there is none yet (or it could not be read: `tokenError`). */
  token: opt(Schema.Struct({ resourceVersion: Schema.String, listedAt: Instant })),
  tokenError: opt(Schema.String),
  collectingSince: opt(Instant),
  lastSent: opt(Instant),
  tokenWritten: opt(Instant),
  collected: Schema.Number,
  sent: Schema.Number,
  dropped: Schema.Number,
  queued: Schema.Number
})

export const ControlPlaneSection = Schema.Struct({
  state: LeaderWorkState,
  mode: Schema.Literals(["componentstatuses", "readyz"]),
  lastRun: opt(
    Schema.Struct({
      at: Instant,
      checks: Schema.Array(
        Schema.Struct({ component: Schema.String, status: Schema.Literals(["OK", "WARNING", "CRITICAL", "UNKNOWN"]) })
      ),
      submitError: opt(Schema.String)
    })
  )
})

export const ExternalMetricSection = Schema.Struct({
  metricName: Schema.String,
  labels: Schema.Record(Schema.String, Schema.String),
  /** `<namespace>/<name>` of the HPA. */
  hpa: Schema.String,
  value: Schema.Number,
  timestamp: Instant,
  valid: Schema.Boolean,
  reason: opt(Schema.String)
})

export const CustomMetricsSection = Schema.Struct({
  state: Schema.Literals(["disabled", "missingRights", "running"]),
  configMap: Schema.String,
  leader: Schema.Boolean,
  /** Where this replica's copy comes from, and how old it is. */
  copy: opt(Schema.Struct({ source: Schema.Literals(["leader", "configmap"]), ageSeconds: Schema.Number })),
  total: Schema.Number,
  valid: Schema.Number,
  metrics: Schema.Array(ExternalMetricSection),
  /** External metrics of HPAs that are not served, with the reason. */
  problems: Schema.Array(Schema.Struct({ hpa: Schema.String, metricName: Schema.String, reason: Schema.String })),
  lastRefresh: opt(
    Schema.Struct({
      at: Instant,
      queries: Schema.Number,
      calls: Schema.Number,
      failedCalls: Schema.Number,
      durationMs: Schema.Number
    })
  ),
  storeError: opt(Schema.String)
})

export const RateLimitSection = Schema.Struct({
  limit: opt(Schema.Number),
  remaining: opt(Schema.Number),
  period: opt(Schema.Number),
  reset: opt(Schema.Number),
  name: opt(Schema.String)
})

export const DatadogApiSection = Schema.Struct({
  apiUrl: Schema.String,
  queryUrl: Schema.String,
  apiKey: Schema.Struct({
    state: Schema.Literals(["unknown", "valid", "invalid"]),
    /** Masked as the original shows it: `***************************abcde`. */
    masked: Schema.String,
    checkedAt: opt(Instant),
    lastError: opt(Schema.String)
  }),
  endpoints: Schema.Array(
    Schema.Struct({
      endpoint: Schema.String,
      lastSuccess: opt(Instant),
      lastError: opt(Schema.String),
      lastErrorAt: opt(Instant),
      rateLimit: opt(RateLimitSection)
    })
  )
})

export const RbacMissingRule = Schema.Struct({
  /** `ClusterRole datadog-cluster-agent`, `Role datadog-cluster-agent (namespace datadog)`. */
  role: Schema.String,
  /** The rule to add, YAML flow style. */
  rule: Schema.String,
  /** What the agent may not do, in words. */
  refused: Schema.String,
  /** The feature works without it, this way. */
  fallback: opt(Schema.String),
  /** The whole fix, as the log line says it. */
  fix: Schema.String
})

export const RbacSection = Schema.Struct({
  checkedAt: opt(Instant),
  intervalSeconds: Schema.Number,
  features: Schema.Array(
    Schema.Struct({
      feature: Schema.String,
      title: Schema.String,
      state: Schema.Literals(["granted", "missing", "unknown"]),
      /** What a missing needed right does to the feature. */
      ifMissing: Schema.Literals(["notReady", "stopped", "notStarted", "reported"]),
      consequence: Schema.String,
      missing: Schema.Array(RbacMissingRule),
      errors: Schema.Array(Schema.String)
    })
  )
})

export const AgentStatus = Schema.Struct({
  /** `7.60.1`. */
  version: Schema.String,
  collectedAt: Instant,
  startedAt: Instant,
  pid: Schema.Number,
  hostname: Schema.String,
  node: Schema.String,
  logLevel: Schema.String,
  apiServer: ApiServerSection,
  watches: Schema.Array(WatchSection),
  leaderelection: LeaderElectionSection,
  metadataMapper: MetadataMapperSection,
  eventCollection: EventCollectionSection,
  controlPlaneCheck: ControlPlaneSection,
  customMetrics: CustomMetricsSection,
  datadogApi: DatadogApiSection,
  rbac: RbacSection,
  /** Configuration the agent runs with but that is probably not what was meant. */
  warnings: Schema.Array(Schema.String)
})
export type AgentStatus = typeof AgentStatus.Type

/** Pure: the JSON text of `GET /status` (and `status --json`). */
export const statusJson = (status: AgentStatus, pretty = false): string =>
  JSON.stringify(Schema.encodeSync(AgentStatus)(status), null, pretty ? 2 : undefined)

/** Pure: a status from its JSON (the CLI reads the agent's answer with it); throws on a wrong shape. */
export const decodeStatusJson = (text: string): AgentStatus => Schema.decodeUnknownSync(AgentStatus)(JSON.parse(text))
