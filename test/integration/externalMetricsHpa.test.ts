/**
 * The external metrics provider end to end, as a user runs it: two real `datadog-cluster-agent
 * start` replicas, a real control plane of this file's own (kube-apiserver's aggregator and
 * kube-controller-manager's HPA controller, which polls every 2 s), and the fake Datadog API. An
 * The agents run as the shipped ServiceAccount with exactly the shipped RBAC (deploy/base and
 * deploy/external-metrics), authenticated by a TokenRequest token. The shipped APIService points
 * at one replica (the follower); real HPAs on Deployments scale up and down as the fake metric
 * steps, with replica counts checked against the HPA formula (kubernetes-notes §C8), and keep
 * scaling when the leader is killed.
 *
 * No kubelet runs: pods stay unscheduled, so the test marks them Running and Ready itself (the
 * HPA counts ready pods for `Value` targets) and the API server deletes them at once on scale-down.
 * The tests run in order and build on each other.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  KubeConfig,
  type V2HorizontalPodAutoscaler
} from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ControlPlane, startControlPlane } from "../../dev/controlPlane/controlPlane.ts"
import { type ApiCall, apiCaller } from "../../dev/controlPlane/http.ts"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import { apiServiceAvailability, pointApiServiceAt } from "../../dev/demo/apiService.ts"
import { startFakeKubelet } from "../../dev/demo/fakeKubelet.ts"
import { allManifests, deployDir, readManifests } from "../../dev/deploy/manifests.ts"
import { type FakeDatadog, startFakeDatadog } from "../../dev/fakeDatadog/index.ts"
import { jsonLines, messageOf, type Running, startCli } from "../support/agentProcess.ts"
import { clusterAvailable } from "../support/cluster.ts"
import { awaitShippedBindings, createIdentity, serviceAccountKubeconfig } from "../support/serviceAccount.ts"
import { waitFor } from "../support/waitFor.ts"

/** Where the HPAs and their Deployments are. */
const NAMESPACE = "default"
/** The agent's own namespace, as shipped. */
const AGENT_NAMESPACE = "datadog"
const LOCK = "datadog-leader-election"
const CONFIGMAP = "datadog-custom-metrics"
const METRIC = "shop.queue.depth"

let plane: ControlPlane
let datadog: FakeDatadog
let core: CoreV1Api
let apps: AppsV1Api
let autoscaling: AutoscalingV2Api
/** Raw requests to the API server as its admin. */
let admin: ApiCall
let kc: KubeConfig
const agents: Array<Agent> = []
let agentKubeconfig = ""
let stopMarking = async () => {}
const externalMetricsDir = `${deployDir}external-metrics/`

interface Agent {
  readonly name: string
  readonly running: Running
  readonly metricsApiPort: number
  killed: boolean
}

/** The fake metric's current value per tag set: each query answers three points at it. */
const values = new Map<string, number>()
const queryOf = (tags: string) => `avg:${METRIC}{${tags}}.rollup(30)`
const setValue = (tags: string, value: number) => {
  values.set(tags, value)
  datadog.setSeries(queryOf(tags), (_q, _from, to) => [
    [(to - 60) * 1000, value],
    [(to - 30) * 1000, value],
    [to * 1000, value]
  ])
}

const startAgent = async (name: string): Promise<Agent> => {
  const [cmd, metrics, metricsApi] = await freePorts(3)
  const running = startCli(["start"], {
    DD_API_KEY: "0123456789abcdef0123456789abcdef",
    DD_APP_KEY: "fedcba9876543210fedcba9876543210fedcba98",
    DD_CLUSTER_AGENT_AUTH_TOKEN: "AgentsShareThisClusterToken0123456789abc",
    DD_CLUSTER_AGENT_CMD_PORT: String(cmd),
    DD_METRICS_PORT: String(metrics),
    DD_AUTH_TOKEN_FILE_PATH: join(mkdtempSync(join(tmpdir(), "dca-hpa-")), "auth_token"),
    DD_KUBERNETES_KUBECONFIG_PATH: agentKubeconfig,
    DD_KUBE_RESOURCES_NAMESPACE: AGENT_NAMESPACE,
    DD_DD_URL: datadog.url,
    DD_HOSTNAME: name,
    DD_POD_NAME: name,
    DD_LEADER_ELECTION: "true",
    DD_LEADER_LEASE_DURATION: "4",
    DD_LEADER_ELECTION_DEFAULT_RESOURCE: "lease",
    DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
    DD_EXTERNAL_METRICS_PROVIDER_PORT: String(metricsApi),
    DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: datadog.url,
    DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD: "2",
    DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW: "1",
    DD_EXTERNAL_METRICS_PROVIDER_LOCAL_COPY_REFRESH_RATE: "1",
    DD_KUBERNETES_INFORMERS_RESTCLIENT_TIMEOUT: "5"
  })
  const agent: Agent = { name, running, metricsApiPort: metricsApi ?? 0, killed: false }
  agents.push(agent)
  return agent
}

const logsOf = (agent: Agent) =>
  jsonLines(agent.running.stdout()).map((l) => ({
    message: messageOf(l),
    level: String(l.level),
    annotations: (l.annotations ?? {}) as Record<string, unknown>
  }))

const tails = () =>
  agents.map((a) => `--- ${a.name}\n${a.running.stdout().slice(-2500)}${a.running.stderr().slice(-1500)}`).join("\n")

/** `waiting`, with the agents' output added to a failure. */
const withLogs = <A>(waiting: Promise<A>): Promise<A> =>
  waiting.catch((e: unknown) => {
    throw new Error(`${(e as Error).message}\n${tails()}`)
  })

const holder = async () => {
  const res = await admin("GET", `/apis/coordination.k8s.io/v1/namespaces/${AGENT_NAMESPACE}/leases/${LOCK}`)
  return res.status === 200
    ? ((JSON.parse(res.body) as { spec?: { holderIdentity?: string } }).spec?.holderIdentity ?? "")
    : ""
}

const leader = () =>
  withLogs(
    waitFor(
      async () => {
        const name = await holder()
        return agents.find((a) => a.name === name && !a.killed)
      },
      { timeoutMs: 30_000, what: "a leader" }
    )
  )

/** The ServiceAccount and every RBAC object of deploy/base and deploy/external-metrics, as shipped. */
const createShippedIdentity = () =>
  createIdentity(admin, [...allManifests().map((m) => m.object), ...readManifests("rbac.yaml", externalMetricsDir)])

const externalMetric = async (labelSelector: string) => {
  const res = await admin(
    "GET",
    `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NAMESPACE}/${METRIC}?labelSelector=${encodeURIComponent(labelSelector)}`
  )
  return {
    status: res.status,
    body: JSON.parse(res.body) as { items?: Array<{ value: string; metricName: string }>; message?: string }
  }
}

const deployment = async (name: string) => {
  await apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: {
      metadata: { name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: "app", image: "registry.invalid/app:1" }] }
        }
      }
    }
  })
}

/** An HPA on `name` with one External metric; scaling limits off so each sync's answer shows at once. */
const hpa = (
  name: string,
  target: { type: "Value"; value: string } | { type: "AverageValue"; averageValue: string },
  tags: Record<string, string>,
  maxReplicas: number
): V2HorizontalPodAutoscaler => ({
  metadata: { name },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
    minReplicas: 1,
    maxReplicas,
    metrics: [{ type: "External", external: { metric: { name: METRIC, selector: { matchLabels: tags } }, target } }],
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 1000, periodSeconds: 1 }] },
      scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 1 }] }
    }
  }
})

/** Every distinct `spec.replicas` of a Deployment, in order, sampled every 100 ms. */
const recordReplicas = (name: string) => {
  const seen: Array<number> = []
  let stopped = false
  const loop = async () => {
    while (!stopped) {
      const d = await apps.readNamespacedDeployment({ name, namespace: NAMESPACE }).catch(() => undefined)
      const n = d?.spec?.replicas
      if (n !== undefined && seen.at(-1) !== n) seen.push(n)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  void loop()
  return {
    seen,
    stop: () => {
      stopped = true
    },
    until: (n: number, what: string) =>
      withLogs(
        waitFor(() => seen.at(-1) === n, { timeoutMs: 60_000, what: `${what} (replicas so far: ${seen.join(", ")})` })
      )
  }
}

describe.runIf(clusterAvailable)("external metrics: HPAs scale on Datadog metrics", () => {
  let follower: Agent
  let first: Agent

  beforeAll(async () => {
    plane = await startControlPlane()
    datadog = await startFakeDatadog()
    kc = new KubeConfig()
    kc.loadFromFile(plane.kubeconfigPath)
    core = kc.makeApiClient(CoreV1Api)
    apps = kc.makeApiClient(AppsV1Api)
    autoscaling = kc.makeApiClient(AutoscalingV2Api)
    admin = apiCaller(plane.server, { caPem: plane.caPem, ...plane.admin })
    await core.createNamespace({ body: { metadata: { name: AGENT_NAMESPACE } } })
    await createShippedIdentity()
    await awaitShippedBindings(kc, AGENT_NAMESPACE, {
      clusterRoleBinding: true,
      roleBinding: true,
      externalMetrics: true
    })
    agentKubeconfig = await serviceAccountKubeconfig(core, plane, AGENT_NAMESPACE)
    // No kubelet runs: pods become Running and Ready (on no node, so deletion is immediate).
    stopMarking = startFakeKubelet({ core, namespaces: [NAMESPACE] }).stop
    await startAgent("agent-0")
    await startAgent("agent-1")
    first = await leader()
    follower = agents.find((a) => a !== first) as Agent
    // The shipped APIService, its Service an ExternalName to localhost, at the follower's port.
    await pointApiServiceAt(kc, follower.metricsApiPort)
  }, 240_000)

  afterAll(async () => {
    await stopMarking()
    for (const a of agents) if (a.running.child.exitCode === null) a.running.child.kill("SIGKILL")
    await datadog?.close()
    await plane?.stop()
  })

  it("the APIService pointing at an agent becomes Available", async () => {
    await withLogs(
      waitFor(async () => (await apiServiceAvailability(kc)).available, {
        timeoutMs: 60_000,
        what: "APIService Available=True"
      })
    )
  })

  it("an AverageValue HPA scales up, then down, as the metric steps (replicas = ceil(value / target))", async () => {
    setValue("app:avg", 35)
    await deployment("avg")
    const replicas = recordReplicas("avg")
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: NAMESPACE,
      body: hpa("avg", { type: "AverageValue", averageValue: "10" }, { app: "avg" }, 10)
    })
    // Through the API server, served by the follower from the leader's ConfigMap.
    const served = await withLogs(
      waitFor(
        async () => {
          const r = await externalMetric("app=avg")
          return r.status === 200 && r.body.items?.[0]?.value === "35" ? r : undefined
        },
        { timeoutMs: 60_000, what: "the external metric through the API server" }
      )
    )
    expect(served.body.items?.[0]?.metricName).toBe(METRIC)
    await replicas.until(4, "ceil(35 / 10) = 4 replicas")
    setValue("app:avg", 12)
    // usage ratio 12 / (10 × 4) = 0.3: out of tolerance, ceil(12 / 10) = 2.
    await replicas.until(2, "ceil(12 / 10) = 2 replicas")
    replicas.stop()
    expect(replicas.seen).toEqual([1, 4, 2])
  }, 180_000)

  it("a Value HPA scales up, then down (replicas = ceil(value / target × ready pods))", async () => {
    setValue("app:val", 25)
    await deployment("val")
    const replicas = recordReplicas("val")
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: NAMESPACE,
      body: hpa("val", { type: "Value", value: "10" }, { app: "val" }, 4)
    })
    // 1 ready pod: ceil(2.5 × 1) = 3; then ceil(2.5 × 3) = 8, capped at 4.
    await replicas.until(4, "the max of 4 replicas")
    expect(replicas.seen.slice(0, 2)).toEqual([1, 3])
    setValue("app:val", 5)
    // ceil(0.5 × 4) = 2; then ceil(0.5 × 2) = 1.
    await replicas.until(1, "1 replica")
    replicas.stop()
    expect(replicas.seen.slice(-3)).toEqual([4, 2, 1])
  }, 180_000)

  it("stores the metrics in the original's ConfigMap format and records the original's event on each HPA", async () => {
    const cm = await core.readNamespacedConfigMap({ name: CONFIGMAP, namespace: AGENT_NAMESPACE })
    expect(cm.metadata?.annotations?.["custom-metrics.datadoghq.com/last-updated"]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/
    )
    const avg = JSON.parse(cm.data?.[`external_metric-horizontal-${NAMESPACE}-avg-${METRIC}`] ?? "{}")
    expect(avg).toMatchObject({
      metricName: METRIC,
      labels: { app: "avg" },
      reference: { type: "horizontal", name: "avg", namespace: NAMESPACE },
      value: 12,
      valid: true
    })
    const events = await core.listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: "involvedObject.name=avg" })
    const handled = events.items.filter((e) => e.reason === "Autoscaler is now handled by the Cluster-Agent")
    expect(handled).toHaveLength(1)
    expect(handled[0]?.type).toBe("Normal")
  })

  it("reports an HPA's unservable metric as a Warning event on it", async () => {
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace: NAMESPACE,
      body: {
        metadata: { name: "bad" },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "avg" },
          maxReplicas: 3,
          metrics: [
            {
              type: "External",
              external: {
                metric: { name: "shop.queue", selector: { matchExpressions: [{ key: "env", operator: "Exists" }] } },
                target: { type: "Value", value: "1" }
              }
            }
          ]
        }
      }
    })
    const warning = await withLogs(
      waitFor(
        async () => {
          const events = await core.listNamespacedEvent({
            namespace: NAMESPACE,
            fieldSelector: "involvedObject.name=bad"
          })
          return events.items.find((e) => e.type === "Warning")
        },
        { timeoutMs: 30_000, what: "a Warning event on HPA bad" }
      )
    )
    expect(warning.message).toContain("matchExpressions is not supported")
    await autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: "bad", namespace: NAMESPACE })
  })

  it("killing the leader does not interrupt the HPA: the follower takes over and keeps it scaling", async () => {
    const replicas = recordReplicas("avg")
    await replicas.until(2, "the avg Deployment at 2 replicas")
    // Every answer the HPA controller would get meanwhile, through the API server.
    const answers: Array<string> = []
    let sampling = true
    const sample = async () => {
      while (sampling) {
        const r = await externalMetric("app=avg")
        answers.push(r.status === 200 ? (r.body.items?.[0]?.value ?? "empty") : `${r.status} ${r.body.message}`)
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    }
    const sampled = sample()
    first.running.child.kill("SIGKILL")
    first.killed = true
    const next = await leader()
    expect(next).toBe(follower)
    setValue("app:avg", 58)
    await replicas.until(6, "ceil(58 / 10) = 6 replicas after the takeover")
    replicas.stop()
    sampling = false
    await sampled
    expect(answers.filter((a) => a !== "12" && a !== "58")).toEqual([])
    // The HPA never lost its metric.
    const status = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: "avg", namespace: NAMESPACE })
    const active = status.status?.conditions?.find((c) => c.type === "ScalingActive")
    expect(active?.status, active?.message).toBe("True")
    expect(logsOf(follower).some((l) => l.level === "ERROR")).toBe(false)
  }, 120_000)
})
