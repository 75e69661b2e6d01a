/** A fixed status object: every section filled in, for the golden text and the JSON schema tests. */
import type { AgentStatus } from "../../src/services/status/model.ts"

export const sampleStatus: AgentStatus = {
  version: "7.60.0",
  collectedAt: "2024-05-01T12:05:30.000Z",
  startedAt: "2024-05-01T11:00:00.000Z",
  pid: 4242,
  hostname: "dca-7c9d-abcde",
  node: "v24.0.0",
  logLevel: "info",
  apiServer: {
    server: "https://10.96.0.1:443",
    connected: true,
    gitVersion: "v1.31.2",
    since: "2024-05-01T11:00:02.000Z"
  },
  watches: [
    { kind: "pods", objects: 120, synced: true, relists: 1, events: 532, lastEvent: "2024-05-01T12:05:27.000Z" },
    { kind: "nodes", objects: 3, synced: true, relists: 2, events: 41, lastEvent: "2024-05-01T12:04:30.000Z" },
    { kind: "events", relists: 0, events: 17, lastEvent: "2024-05-01T12:05:00.000Z" }
  ],
  leaderelection: {
    status: "Running",
    leaderName: "dca-7c9d-abcde",
    acquiredTime: "Wed, 01 May 2024 11:00:05 UTC",
    renewedTime: "Wed, 01 May 2024 12:05:20 UTC",
    transitions: "3 transitions",
    identity: "dca-7c9d-abcde",
    isLeader: true
  },
  metadataMapper: {
    enabled: true,
    synced: true,
    nodes: 3,
    pods: 120,
    podsWithServices: 80,
    services: 25,
    endpointSlices: 27,
    namespaces: 6
  },
  eventCollection: {
    state: "missingRights",
    tokenConfigMap: "datadog/datadogtoken",
    token: { resourceVersion: "81234", listedAt: "2024-05-01T11:00:06.000Z" },
    lastSent: "2024-05-01T11:30:00.000Z",
    tokenWritten: "2024-05-01T11:30:00.000Z",
    collected: 17,
    sent: 9,
    dropped: 1,
    queued: 0
  },
  controlPlaneCheck: {
    state: "running",
    mode: "componentstatuses",
    lastRun: {
      at: "2024-05-01T12:05:15.000Z",
      checks: [
        { component: "etcd-0", status: "OK" },
        { component: "scheduler", status: "CRITICAL" }
      ]
    }
  },
  customMetrics: {
    state: "running",
    configMap: "datadog/datadog-custom-metrics",
    leader: true,
    copy: { source: "leader", ageSeconds: 12 },
    total: 2,
    valid: 1,
    metrics: [
      {
        metricName: "nginx.net.request_per_s",
        labels: { kube_deployment: "web" },
        hpa: "shop/web",
        value: 12.5,
        timestamp: "2024-05-01T12:05:00.000Z",
        valid: true
      },
      {
        metricName: "queue.depth",
        labels: {},
        hpa: "shop/worker",
        value: 0,
        timestamp: "2024-05-01T12:03:00.000Z",
        valid: false,
        reason: "no data for queue.depth in the last 300 s"
      }
    ],
    problems: [{ hpa: "shop/api", metricName: "Bad Name", reason: "the metric name is not a Datadog metric name" }],
    lastRefresh: { at: "2024-05-01T12:05:10.000Z", queries: 2, calls: 1, failedCalls: 0, durationMs: 84 }
  },
  datadogApi: {
    apiUrl: "https://api.datadoghq.com",
    queryUrl: "https://api.datadoghq.com",
    apiKey: { state: "valid", masked: "***************************abcde", checkedAt: "2024-05-01T11:00:03.000Z" },
    endpoints: [
      { endpoint: "/api/v1/validate", lastSuccess: "2024-05-01T11:00:03.000Z" },
      {
        endpoint: "/api/v1/query",
        lastSuccess: "2024-05-01T12:05:10.000Z",
        lastError: "GET /api/v1/query: 429 RateLimited: rate limited",
        lastErrorAt: "2024-05-01T12:00:10.000Z",
        rateLimit: { limit: 1600, remaining: 1589, period: 3600, reset: 1490 }
      }
    ]
  },
  rbac: {
    checkedAt: "2024-05-01T12:04:00.000Z",
    intervalSeconds: 300,
    features: [
      {
        feature: "metadataMapper",
        title: "metadata mapper",
        state: "granted",
        ifMissing: "notReady",
        consequence: "node agents get no pod tags from this replica, which is kept out of the Service (not ready)",
        missing: [],
        errors: []
      },
      {
        feature: "eventCollection",
        title: "event collection",
        state: "missing",
        ifMissing: "stopped",
        consequence: "no Kubernetes event reaches Datadog",
        missing: [
          {
            role: "ClusterRole datadog-cluster-agent",
            rule: '{apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}',
            refused: "list, watch events",
            fix: 'add to the ClusterRole datadog-cluster-agent the rule {apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}'
          }
        ],
        errors: []
      }
    ]
  },
  warnings: ["event collection runs with leader election off: this replica acts as the leader"]
}
