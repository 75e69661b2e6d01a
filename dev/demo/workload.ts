/**
 * The demo's sample workload: two namespaces, two Node objects (no kubelet behind them), pods
 * bound to those nodes, Services selecting them (the EndpointSlice controller lists the pods once
 * the fake kubelet has made them Running and Ready with an IP), a few Kubernetes events, and a
 * Deployment scaled by an HPA on an External metric the fake Datadog API answers.
 */
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1Pod,
  type V2HorizontalPodAutoscaler
} from "@kubernetes/client-node"

/** The agent's own namespace, as deploy/ ships it. */
export const AGENT_NAMESPACE = "datadog"
export const NAMESPACES = ["shop", "payments"] as const
export const NODES = ["demo-node-a", "demo-node-b"] as const

/** The HPA's External metric: its Datadog name and tags, as the leader queries them. */
export const HPA = {
  namespace: "shop",
  name: "queue-worker",
  metric: "demo.queue.depth",
  tags: { app: "queue-worker" },
  /** AverageValue target: replicas = ceil(value / 10). */
  averageValue: 10,
  minReplicas: 1,
  maxReplicas: 6
} as const

/** `avg:demo.queue.depth{app:queue-worker}.rollup(30)`: the query the agent sends (default aggregator and rollup). */
export const hpaQuery = `avg:${HPA.metric}{${Object.entries(HPA.tags)
  .map(([k, v]) => `${k}:${v}`)
  .join(",")}}.rollup(30)`

/** The `labelSelector` the HPA controller sends for the metric. */
export const hpaLabelSelector = Object.entries(HPA.tags)
  .map(([k, v]) => `${k}=${v}`)
  .join(",")

interface PodSpec {
  readonly namespace: string
  readonly name: string
  readonly node: string
  readonly labels: Readonly<Record<string, string>>
}

const PODS: ReadonlyArray<PodSpec> = [
  { namespace: "shop", name: "frontend-0", node: "demo-node-a", labels: { app: "frontend", tier: "web" } },
  { namespace: "shop", name: "frontend-1", node: "demo-node-b", labels: { app: "frontend", tier: "web" } },
  { namespace: "shop", name: "cart-0", node: "demo-node-a", labels: { app: "cart", tier: "web" } },
  { namespace: "payments", name: "api-0", node: "demo-node-b", labels: { app: "payments-api" } },
  { namespace: "payments", name: "ledger-0", node: "demo-node-a", labels: { app: "ledger" } }
]

const SERVICES: ReadonlyArray<{ namespace: string; name: string; selector: Record<string, string> }> = [
  { namespace: "shop", name: "frontend", selector: { app: "frontend" } },
  { namespace: "shop", name: "cart", selector: { app: "cart" } },
  { namespace: "shop", name: "web", selector: { tier: "web" } },
  { namespace: "shop", name: "queue-worker", selector: { app: "queue-worker" } },
  { namespace: "payments", name: "payments-api", selector: { app: "payments-api" } }
]

/** Events as a scheduler and kubelets would have recorded them, one Warning among them. */
const EVENTS: ReadonlyArray<{
  pod: string
  namespace: string
  reason: string
  message: string
  type: "Normal" | "Warning"
  component: string
}> = [
  ...PODS.map((p) => ({
    pod: p.name,
    namespace: p.namespace,
    reason: "Scheduled",
    message: `Successfully assigned ${p.namespace}/${p.name} to ${p.node}`,
    type: "Normal" as const,
    component: "default-scheduler"
  })),
  ...PODS.map((p) => ({
    pod: p.name,
    namespace: p.namespace,
    reason: "Started",
    message: "Started container app",
    type: "Normal" as const,
    component: "kubelet"
  })),
  {
    pod: "ledger-0",
    namespace: "payments",
    reason: "BackOff",
    message: "Back-off restarting failed container app in pod ledger-0_payments",
    type: "Warning",
    component: "kubelet"
  }
]

export interface Workload {
  readonly pods: number
  readonly services: number
  readonly events: number
}

const labelsOf = (p: PodSpec) => ({ ...p.labels, "app.kubernetes.io/part-of": "datadog-demo" })

const pod = (p: PodSpec): V1Pod => ({
  metadata: { name: p.name, namespace: p.namespace, labels: labelsOf(p) },
  spec: { nodeName: p.node, containers: [{ name: "app", image: `registry.invalid/demo/${p.labels.app}:1.0` }] }
})

export const hpaObject = (): V2HorizontalPodAutoscaler => ({
  metadata: { name: HPA.name, namespace: HPA.namespace },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: HPA.name },
    minReplicas: HPA.minReplicas,
    maxReplicas: HPA.maxReplicas,
    metrics: [
      {
        type: "External",
        external: {
          metric: { name: HPA.metric, selector: { matchLabels: { ...HPA.tags } } },
          target: { type: "AverageValue", averageValue: String(HPA.averageValue) }
        }
      }
    ],
    // No stabilization, so each step of the metric shows at the next HPA sync (2 s here).
    behavior: {
      scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 1000, periodSeconds: 1 }] },
      scaleDown: { stabilizationWindowSeconds: 0, policies: [{ type: "Percent", value: 100, periodSeconds: 1 }] }
    }
  }
})

/** Namespaces (the agent's too), nodes, pods, services, events and the Deployment (its HPA: createHpa). */
export const createWorkload = async (kc: KubeConfig): Promise<Workload> => {
  const core = kc.makeApiClient(CoreV1Api)
  const apps = kc.makeApiClient(AppsV1Api)

  await core.createNamespace({ body: { metadata: { name: AGENT_NAMESPACE } } })
  for (const name of NAMESPACES) {
    await core.createNamespace({ body: { metadata: { name, labels: { team: name, env: "demo" } } } })
  }
  // Pods are refused until their namespace's "default" ServiceAccount exists.
  for (const namespace of NAMESPACES) {
    const deadline = Date.now() + 30_000
    while (!(await core.readNamespacedServiceAccount({ name: "default", namespace }).catch(() => undefined))) {
      if (Date.now() > deadline) throw new Error(`no ServiceAccount ${namespace}/default after 30 s`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  for (const [i, name] of NODES.entries()) {
    const node = await core.createNode({
      body: {
        metadata: {
          name,
          labels: {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "topology.kubernetes.io/zone": `demo-zone-${"ab"[i]}`,
            "node.kubernetes.io/instance-type": "demo.small"
          },
          annotations: { "demo.datadoghq.com/rack": `rack-${i + 1}` }
        }
      }
    })
    const now = new Date()
    await core.replaceNodeStatus({
      name,
      body: {
        ...node,
        status: {
          conditions: [
            {
              type: "Ready",
              status: "True",
              reason: "KubeletReady",
              message: "fake kubelet of the demo",
              lastHeartbeatTime: now,
              lastTransitionTime: now
            }
          ],
          addresses: [
            { type: "InternalIP", address: `192.168.50.${i + 10}` },
            { type: "Hostname", address: name }
          ]
        }
      }
    })
  }

  for (const p of PODS) await core.createNamespacedPod({ namespace: p.namespace, body: pod(p) })
  for (const s of SERVICES) {
    await core.createNamespacedService({
      namespace: s.namespace,
      body: {
        metadata: { name: s.name, labels: { "app.kubernetes.io/part-of": "datadog-demo" } },
        spec: { selector: s.selector, ports: [{ name: "http", port: 80, targetPort: 8080 }] }
      }
    })
  }

  const now = new Date()
  for (const [i, e] of EVENTS.entries()) {
    const uid = (await core.readNamespacedPod({ name: e.pod, namespace: e.namespace })).metadata?.uid ?? ""
    await core.createNamespacedEvent({
      namespace: e.namespace,
      body: {
        metadata: { name: `${e.pod}.demo-${i}` },
        involvedObject: { kind: "Pod", apiVersion: "v1", name: e.pod, namespace: e.namespace, uid },
        reason: e.reason,
        message: e.message,
        type: e.type,
        source: { component: e.component, ...(e.component === "kubelet" ? { host: nodeOf(e.pod) } : {}) },
        firstTimestamp: now,
        lastTimestamp: now,
        count: e.type === "Warning" ? 3 : 1
      }
    })
  }

  await apps.createNamespacedDeployment({
    namespace: HPA.namespace,
    body: {
      metadata: { name: HPA.name },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: HPA.name } },
        template: {
          metadata: { labels: { app: HPA.name, "app.kubernetes.io/part-of": "datadog-demo" } },
          spec: { containers: [{ name: "app", image: `registry.invalid/demo/${HPA.name}:1.0` }] }
        }
      }
    }
  })
  return { pods: PODS.length, services: SERVICES.length, events: EVENTS.length }
}

/** The HPA on the Deployment (created once the external metrics API is served, so it never misses it). */
export const createHpa = async (kc: KubeConfig): Promise<void> => {
  await kc
    .makeApiClient(AutoscalingV2Api)
    .createNamespacedHorizontalPodAutoscaler({ namespace: HPA.namespace, body: hpaObject() })
}

const nodeOf = (podName: string) => PODS.find((p) => p.name === podName)?.node ?? ""

/** EndpointSlices of the demo's namespaces with their ready endpoints: `[namespace/service, endpoints]`. */
export const endpointSlices = async (kc: KubeConfig): Promise<ReadonlyArray<readonly [string, number]>> => {
  const discovery = kc.makeApiClient(DiscoveryV1Api)
  const out: Array<readonly [string, number]> = []
  for (const namespace of NAMESPACES) {
    const slices = await discovery.listNamespacedEndpointSlice({ namespace })
    for (const s of slices.items) {
      const service = s.metadata?.labels?.["kubernetes.io/service-name"] ?? s.metadata?.name ?? ""
      const ready = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length
      out.push([`${namespace}/${service}`, ready])
    }
  }
  return out.sort(([a], [b]) => a.localeCompare(b))
}

/** The Deployment's current replicas (spec) and ready pods. */
export const deploymentReplicas = async (kc: KubeConfig): Promise<{ replicas: number; ready: number }> => {
  const d = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: HPA.name, namespace: HPA.namespace })
  return { replicas: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0 }
}
