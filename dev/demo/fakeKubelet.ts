/**
 * What the missing kubelet does for pods, on a control plane with no kubelet (and no scheduler):
 * every pod of the given namespaces becomes Running and Ready with a pod IP, so Deployments count
 * it, the HPA controller sees ready pods and the EndpointSlice controller lists it behind its
 * Services. Given node names, it also binds unscheduled pods to them (round robin), as the
 * scheduler would, and finishes the graceful deletion of a bound pod as its kubelet would (a pod
 * on no node is deleted at once by the API server).
 *
 * Used by the demo (dev/demo/) and test/integration/externalMetricsHpa.test.ts. Polls; stop()
 * resolves once no call is in flight, so the control plane can be stopped right after.
 */
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node"

export interface FakeKubeletOptions {
  readonly core: CoreV1Api
  /** Namespaces whose pods it runs. */
  readonly namespaces: ReadonlyArray<string>
  /** Nodes to bind unscheduled pods to; none: pods stay unbound. */
  readonly nodes?: ReadonlyArray<string>
  /** Default 150 ms. */
  readonly intervalMs?: number
}

export interface FakeKubelet {
  /** Stops polling; resolves once the last round has finished. */
  readonly stop: () => Promise<void>
}

const isReady = (pod: V1Pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false

/** Pure: the status a kubelet reports for a started pod. */
export const runningStatus = (pod: V1Pod, podIP: string, now: Date): V1Pod => ({
  ...pod,
  status: {
    ...pod.status,
    phase: "Running",
    startTime: now,
    podIP,
    podIPs: [{ ip: podIP }],
    conditions: [
      { type: "Initialized", status: "True", lastTransitionTime: now },
      { type: "Ready", status: "True", lastTransitionTime: now },
      { type: "ContainersReady", status: "True", lastTransitionTime: now },
      { type: "PodScheduled", status: "True", lastTransitionTime: now }
    ]
  }
})

export const startFakeKubelet = (options: FakeKubeletOptions): FakeKubelet => {
  const { core, namespaces } = options
  const nodes = options.nodes ?? []
  const intervalMs = options.intervalMs ?? 150
  let stopped = false
  let bindings = 0
  let ips = 0
  /** 10.244.0.1, 10.244.0.2, ...: unique per kubelet, like a pod CIDR. */
  const nextIp = () => {
    ips += 1
    return `10.244.${Math.floor(ips / 250)}.${(ips % 250) + 1}`
  }

  const tend = async (pod: V1Pod) => {
    const name = pod.metadata?.name ?? ""
    const namespace = pod.metadata?.namespace ?? ""
    if (pod.metadata?.deletionTimestamp !== undefined) {
      // A kubelet confirms the deletion once the containers are gone; there are none.
      if (pod.spec?.nodeName) await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 })
      return
    }
    if (!pod.spec?.nodeName && nodes.length > 0) {
      const node = nodes[bindings++ % nodes.length] ?? ""
      await core.createNamespacedPodBinding({
        name,
        namespace,
        body: { metadata: { name }, target: { apiVersion: "v1", kind: "Node", name: node } }
      })
      return // bound: the next round starts it
    }
    if (isReady(pod)) return
    const body = runningStatus(pod, pod.status?.podIP ?? nextIp(), new Date())
    await core.replaceNamespacedPodStatus({ name, namespace, body })
  }

  const round = async () => {
    for (const namespace of namespaces) {
      const pods = await core.listNamespacedPod({ namespace }).catch(() => undefined)
      // A failed call (a conflict with the controllers, a pod gone meanwhile) is retried next round.
      for (const pod of pods?.items ?? []) if (!stopped) await tend(pod).catch(() => undefined)
    }
  }

  const loop = (async () => {
    while (!stopped) {
      await round()
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()

  return {
    stop: async () => {
      stopped = true
      await loop
    }
  }
}
