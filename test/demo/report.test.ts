/** The demo's pure parts: what it prints, the agents' environment, the APIService it registers. */
import { describe, expect, it } from "vitest"
import { agentEnv } from "../../dev/demo/agents.ts"
import { apiServiceForPort, shippedApiService } from "../../dev/demo/apiService.ts"
import { runningStatus } from "../../dev/demo/fakeKubelet.ts"
import { datadogReport } from "../../dev/demo/report.ts"
import { hpaLabelSelector, hpaQuery } from "../../dev/demo/workload.ts"

describe("demo report", () => {
  it("counts what the fake Datadog API received, per path, and shows a few of each", () => {
    const report = datadogReport(
      {
        url: "http://127.0.0.1:1",
        requests: [
          { method: "POST", path: "/api/v1/events" },
          { method: "POST", path: "/api/v1/events" },
          { method: "POST", path: "/api/v1/check_run" }
        ],
        events: [
          {
            title: "Events from the Pod shop/a",
            text: "%%% \n1 **Started**: ok\n %%%",
            host: "agent-0",
            tags: ["a:b"]
          },
          { title: "Events from the Pod shop/b", text: "x", alert_type: "warning" }
        ],
        serviceChecks: [{ check: "kube_apiserver_controlplane.up", host_name: "agent-0", status: 0, message: "ok" }],
        metricQueries: [
          { query: "q1", from: 0, to: 1, time: 1 },
          { query: "q1", from: 1, to: 2, time: 2 }
        ]
      },
      1
    )
    expect(report).toContain("3 requests to http://127.0.0.1:1:")
    expect(report).toMatch(/ {3}2 {2}POST \/api\/v1\/events/)
    expect(report).toContain("Events: 2, the first 1:")
    expect(report).toContain("[info] Events from the Pod shop/a  (host agent-0)")
    expect(report).not.toContain("shop/b")
    expect(report).toContain('kube_apiserver_controlplane.up OK "ok"')
    expect(report).toContain("Metric queries: 2, 1 distinct query:\n  q1")
  })
})

describe("demo pieces", () => {
  it("turns every feature on, against the fake, with nothing from the parent's DD_* variables", () => {
    process.env.DD_SITE = "datadoghq.eu"
    try {
      const env = agentEnv({
        name: "agent-0",
        ports: { cmd: 1, metrics: 2, health: 3, externalMetrics: 4 },
        kubeconfigPath: "/k",
        datadogUrl: "http://127.0.0.1:9",
        clusterToken: "t".repeat(40),
        authTokenFile: "/a",
        confdPath: "/c"
      })
      expect(env).toMatchObject({
        DD_LEADER_ELECTION: "true",
        DD_COLLECT_KUBERNETES_EVENTS: "true",
        DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
        DD_DD_URL: "http://127.0.0.1:9",
        DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: "http://127.0.0.1:9",
        DD_EXTERNAL_METRICS_PROVIDER_PORT: "4"
      })
      expect(env.DD_SITE).toBeUndefined()
    } finally {
      delete process.env.DD_SITE
    }
  })

  it("registers the shipped APIService with only its port changed", () => {
    const shipped = shippedApiService()
    const local = apiServiceForPort(shipped, 12345)
    expect(local.metadata?.name).toBe("v1beta1.external.metrics.k8s.io")
    expect(local.spec?.service).toEqual({ ...shipped.spec?.service, port: 12345 })
    expect({ ...local.spec, service: undefined }).toEqual({ ...shipped.spec, service: undefined })
  })

  it("reports a started pod as a kubelet does: Running, Ready, with its IP", () => {
    const now = new Date(0)
    const pod = runningStatus({ metadata: { name: "p" }, status: { phase: "Pending" } }, "10.244.0.2", now)
    expect(pod.status).toMatchObject({ phase: "Running", podIP: "10.244.0.2", podIPs: [{ ip: "10.244.0.2" }] })
    expect(pod.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True")
  })

  it("queries the HPA's metric as the agent builds it from the HPA's matchLabels", () => {
    expect(hpaQuery).toBe("avg:demo.queue.depth{app:queue-worker}.rollup(30)")
    expect(hpaLabelSelector).toBe("app=queue-worker")
  })
})
