// A deterministic (seeded) synthetic cluster as raw Kubernetes JSON, written as LIST pages of
// JSON TEXT (what the API server sends), plus the ground truth of the metadata mapper.
//
//   node bench/synthetic.ts --scale full|medium|small [--seed 1] [--out DIR]
//
// Shapes follow real objects of an EKS-like cluster (kube-controller-manager and kubelet
// managedFields, projected service-account volumes, probes, images on nodes...). Items of a
// LIST page carry no kind/apiVersion, as on the wire. The cluster:
//   - nodes: 5,000 at full scale, 3 zones, a few instance types;
//   - pods: 150,000 (30 per node on average: 3 DaemonSets on every node, the rest of
//     Deployments/StatefulSets placed at random); ~1% Running but not Ready;
//   - services: 10,000 across ~200 namespaces: one per served workload, ~5% extra headless
//     services over the same pods, ~0.5% selector-less (no slices), node-exporter over every
//     node, kube-dns, and two services with 1,500 endpoints each;
//   - EndpointSlices: one per 100 endpoints of a service (the controller's default);
//   - namespaces.
// The ground truth (truth.jsonl: one line per node, `[node, {ns: {pod: [services]}}]`) is what
// `GET /api/v1/tags/pod/{node}` must list: ready endpoints of existing pods and services.
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Bumped whenever the output changes, so cached data sets are regenerated. */
export const GENERATOR_VERSION = 7

export type Scale = "full" | "medium" | "small"
export const scaleFactor: Readonly<Record<Scale, number>> = { full: 1, medium: 0.1, small: 0.01 }

export interface ClusterSize {
  readonly nodes: number
  readonly pods: number
  readonly services: number
  readonly namespaces: number
}

export const clusterSize = (scale: Scale): ClusterSize => {
  const f = scaleFactor[scale]
  return {
    nodes: Math.round(5000 * f),
    pods: Math.round(150_000 * f),
    services: Math.round(10_000 * f),
    namespaces: Math.max(8, Math.round(200 * f))
  }
}

export type KindFile = "nodes" | "namespaces" | "pods" | "services" | "endpointslices"
export const kindFiles: ReadonlyArray<KindFile> = ["namespaces", "nodes", "services", "endpointslices", "pods"]

export interface KindManifest {
  readonly items: number
  readonly pages: number
  readonly bytes: number
}

export interface Manifest {
  readonly version: number
  readonly scale: Scale
  readonly seed: number
  readonly size: ClusterSize
  readonly kinds: Readonly<Record<KindFile, KindManifest>>
  /** Bytes of one item's JSON (as in the page text), per kind. */
  readonly itemBytes: Readonly<Record<KindFile, { mean: number; p50: number; p95: number; max: number }>>
  readonly endpoints: number
  readonly maxEndpointsPerService: number
  /** Per-container-of-pod statistics, for the report. */
  readonly containersPerPod: number
}

export const pageSize = 500

export const defaultDataDir = (scale: Scale, seed: number): string =>
  join(tmpdir(), "dca-bench-synthetic", `${scale}-seed${seed}-v${GENERATOR_VERSION}`)

export const pageFile = (dir: string, kind: KindFile, page: number): string =>
  join(dir, `${kind}-${String(page).padStart(4, "0")}.json`)

// ---------------------------------------------------------------------------------------------
// Randomness

/** sfc32: small, fast, good enough, and seedable. */
export const rng = (seed: number) => {
  let a = 0x9e3779b9 ^ seed
  let b = 0x243f6a88 ^ (seed * 7)
  let c = 0xb7e15162 ^ (seed * 13)
  let d = 1 ^ seed
  const next = (): number => {
    a |= 0
    b |= 0
    c |= 0
    d |= 0
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 20; i++) next()
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(xs: ReadonlyArray<T>): T => xs[int(xs.length)] as T
  const chars = (alphabet: string, n: number) => {
    let s = ""
    for (let i = 0; i < n; i++) s += alphabet[int(alphabet.length)]
    return s
  }
  const gaussian = () => {
    const u = Math.max(next(), 1e-12)
    const v = next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  return {
    next,
    int,
    pick,
    gaussian,
    chance: (p: number) => next() < p,
    hex: (n: number) => chars("0123456789abcdef", n),
    // The alphabet of generated names (k8s.io/apimachinery rand.String: no vowels, no 0/1/3).
    suffix: (n: number) => chars("bcdfghjklmnpqrstvwxz2456789", n),
    uid: () =>
      `${chars("0123456789abcdef", 8)}-${chars("0123456789abcdef", 4)}-4${chars("0123456789abcdef", 3)}-${pick(["8", "9", "a", "b"])}${chars("0123456789abcdef", 3)}-${chars("0123456789abcdef", 12)}`
  }
}
type Rng = ReturnType<typeof rng>

// ---------------------------------------------------------------------------------------------
// The cluster plan: who exists, where, and which service selects whom (no JSON yet).

interface NodePlan {
  readonly name: string
  readonly ip: string
  readonly zone: string
  readonly instanceType: string
  readonly nodegroup: string
  readonly instanceId: string
}

interface WorkloadPlan {
  readonly namespace: string
  readonly name: string
  readonly kind: "Deployment" | "StatefulSet" | "DaemonSet"
  readonly hash: string
  readonly team: string
  readonly image: string
  readonly version: string
  readonly containers: number
  readonly port: number
  readonly lastApplied: boolean
  readonly pods: Array<number>
}

interface PodPlan {
  readonly name: string
  readonly workload: number
  readonly node: number
  readonly ip: string
  readonly uid: string
  readonly ready: boolean
}

interface ServicePlan {
  readonly namespace: string
  readonly name: string
  /** undefined: selector-less (no EndpointSlices). */
  readonly workload: number | undefined
  readonly headless: boolean
  readonly clusterIP: string
  readonly port: number
  readonly uid: string
}

export interface ClusterPlan {
  readonly nodes: ReadonlyArray<NodePlan>
  readonly namespaces: ReadonlyArray<string>
  readonly workloads: ReadonlyArray<WorkloadPlan>
  readonly pods: ReadonlyArray<PodPlan>
  readonly services: ReadonlyArray<ServicePlan>
}

const zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
const instanceTypes = ["m6i.2xlarge", "m6i.4xlarge", "c6i.4xlarge", "r6i.2xlarge", "m5.4xlarge"]
const words = [
  "checkout",
  "payments",
  "cart",
  "search",
  "catalog",
  "orders",
  "billing",
  "identity",
  "auth",
  "gateway",
  "inventory",
  "shipping",
  "pricing",
  "ledger",
  "notify",
  "email",
  "reviews",
  "recommend",
  "ads",
  "media",
  "profile",
  "session",
  "fraud",
  "risk",
  "report",
  "export",
  "ingest",
  "stream",
  "events",
  "audit",
  "metrics",
  "tracing",
  "feature",
  "config",
  "scheduler",
  "worker",
  "cache",
  "proxy",
  "router",
  "graph"
]
const roles = ["api", "web", "worker", "consumer", "frontend", "backend", "grpc", "svc", "sync", "indexer"]
const envs = ["prod", "staging", "dev", "canary", "qa"]
const teams = ["payments", "core", "platform", "growth", "search", "data", "sre", "mobile", "web", "infra"]
const registries = ["123456789012.dkr.ecr.us-east-1.amazonaws.com", "ghcr.io/acme", "docker.io/acme", "quay.io/acme"]

const ipOfPod = (i: number) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`
const ipOfNode = (i: number) => `10.0.${(i >> 8) & 255}.${i & 255}`
const ipOfService = (i: number) => `172.20.${(i >> 8) & 255}.${i & 255}`

/** Splits `total` into `weights.length` positive integers proportional to the weights. */
const apportion = (total: number, weights: ReadonlyArray<number>): Array<number> => {
  const sum = weights.reduce((a, b) => a + b, 0)
  const raw = weights.map((w) => (total * w) / sum)
  const out = raw.map((r) => Math.max(1, Math.floor(r)))
  let diff = total - out.reduce((a, b) => a + b, 0)
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((x, y) => y[0] - x[0])
  for (let k = 0; diff > 0; k = (k + 1) % order.length, diff--) {
    const idx = (order[k] as readonly [number, number])[1]
    out[idx] = (out[idx] as number) + 1
  }
  while (diff < 0) {
    let big = 0
    for (let i = 1; i < out.length; i++) if ((out[i] as number) > (out[big] as number)) big = i
    out[big] = (out[big] as number) - 1
    diff++
  }
  return out
}

export const planCluster = (scale: Scale, seed: number): ClusterPlan => {
  const size = clusterSize(scale)
  const r = rng(seed)

  const nodes: Array<NodePlan> = []
  for (let i = 0; i < size.nodes; i++) {
    const ip = ipOfNode(i)
    const zone = zones[i % zones.length] as string
    const instanceType = instanceTypes[i % instanceTypes.length] as string
    nodes.push({
      name: `ip-${ip.replaceAll(".", "-")}.ec2.internal`,
      ip,
      zone,
      instanceType,
      nodegroup: `ng-${instanceType.replace(".", "-")}-${zone.slice(-1)}`,
      instanceId: `i-0${r.hex(16)}`
    })
  }

  // Namespaces: the system ones, then application namespaces `<word>-<env>`.
  const system = ["kube-system", "monitoring", "datadog"]
  const namespaces: Array<string> = [...system]
  const taken = new Set(namespaces)
  while (namespaces.length < size.namespaces) {
    const name = `${r.pick(words)}-${r.pick(envs)}`
    const unique = taken.has(name) ? `${name}-${namespaces.length}` : name
    taken.add(unique)
    namespaces.push(unique)
  }
  const appNamespaces = namespaces.slice(system.length)
  // A skewed choice of namespace: a few big ones, a long tail.
  const nsWeights = appNamespaces.map((_, i) => 1 / (i + 1) ** 0.8)
  const nsWeightSum = nsWeights.reduce((a, b) => a + b, 0)
  const pickNamespace = () => {
    let x = r.next() * nsWeightSum
    for (let i = 0; i < appNamespaces.length; i++) {
      x -= nsWeights[i] as number
      if (x <= 0) return appNamespaces[i] as string
    }
    return appNamespaces[appNamespaces.length - 1] as string
  }

  const workloads: Array<WorkloadPlan> = []
  const workloadNames = new Set<string>()
  const addWorkload = (
    namespace: string,
    name: string,
    kind: WorkloadPlan["kind"],
    replicas: number,
    image: string
  ): number => {
    workloadNames.add(`${namespace}/${name}`)
    workloads.push({
      namespace,
      name,
      kind,
      hash: r.suffix(10),
      team: r.pick(teams),
      image,
      version: `${1 + r.int(3)}.${r.int(40)}.${r.int(10)}`,
      containers: kind === "DaemonSet" ? 1 : r.chance(0.7) ? 1 : r.chance(0.8) ? 2 : 3,
      port: r.pick([8080, 8000, 9090, 3000, 5000, 8443]),
      lastApplied: r.chance(0.03),
      pods: new Array<number>(replicas).fill(-1)
    })
    return workloads.length - 1
  }
  const newWorkloadName = (namespace: string) => {
    for (;;) {
      const name = `${r.pick(words)}-${r.pick(roles)}${r.chance(0.3) ? `-${r.pick(words)}` : ""}`
      if (!workloadNames.has(`${namespace}/${name}`) && !workloadNames.has(`${namespace}/${name}-headless`)) return name
    }
  }

  const services: Array<ServicePlan> = []
  const addService = (namespace: string, name: string, workload: number | undefined, headless = false) => {
    const w = workload === undefined ? undefined : workloads[workload]
    services.push({
      namespace,
      name,
      workload,
      headless,
      clusterIP: headless ? "None" : ipOfService(services.length),
      port: w?.port ?? 443,
      uid: r.uid()
    })
  }

  // DaemonSets on every node; node-exporter has a service over all of them.
  const daemonSets = [
    addWorkload("kube-system", "kube-proxy", "DaemonSet", size.nodes, "public.ecr.aws/eks/kube-proxy:v1.31.2"),
    addWorkload("kube-system", "aws-node", "DaemonSet", size.nodes, "public.ecr.aws/eks/amazon-k8s-cni:v1.19.0"),
    addWorkload("monitoring", "node-exporter", "DaemonSet", size.nodes, "quay.io/prometheus/node-exporter:v1.8.2")
  ]
  addService("monitoring", "node-exporter", daemonSets[2])
  const coredns = addWorkload(
    "kube-system",
    "coredns",
    "Deployment",
    Math.max(2, Math.round(size.nodes / 250)),
    "public.ecr.aws/eks/coredns:v1.11.3"
  )
  addService("kube-system", "kube-dns", coredns)
  // Two big services (1,500 endpoints at full scale).
  const bigReplicas = Math.max(150, Math.round(1500 * scaleFactor[scale]))
  for (let i = 0; i < 2; i++) {
    const ns = appNamespaces[i] as string
    const name = newWorkloadName(ns)
    addService(ns, name, addWorkload(ns, name, "Deployment", bigReplicas, `${r.pick(registries)}/${name}`))
  }

  const fixedPods = workloads.reduce((n, w) => n + w.pods.length, 0)
  const remainingPods = size.pods - fixedPods
  const remainingServices = size.services - services.length
  const headless = Math.round(0.05 * remainingServices)
  const selectorless = Math.max(1, Math.round(0.005 * remainingServices))
  const served = remainingServices - headless - selectorless
  const unservedPods = Math.round(0.08 * remainingPods)
  const unserved = Math.max(1, Math.round(0.1 * served))
  if (served < 1 || remainingPods - unservedPods < served) throw new Error(`scale ${scale} too small`)

  // Lognormal replica counts: most workloads have a handful of pods, a few have hundreds.
  const servedReplicas = apportion(
    remainingPods - unservedPods,
    Array.from({ length: served }, () => Math.exp(1.1 * r.gaussian()))
  )
  const unservedReplicas = apportion(
    unservedPods,
    Array.from({ length: unserved }, () => Math.exp(0.9 * r.gaussian()))
  )
  const servedWorkloads: Array<number> = []
  for (const replicas of servedReplicas) {
    const ns = pickNamespace()
    const name = newWorkloadName(ns)
    const kind = r.chance(0.06) && replicas <= 50 ? "StatefulSet" : "Deployment"
    const w = addWorkload(ns, name, kind, replicas, `${r.pick(registries)}/${name}`)
    servedWorkloads.push(w)
    addService(ns, name, w)
  }
  for (const replicas of unservedReplicas) {
    const ns = pickNamespace()
    const name = newWorkloadName(ns)
    addWorkload(ns, name, "Deployment", replicas, `${r.pick(registries)}/${name}`)
  }
  for (let i = 0; i < headless; i++) {
    const w = servedWorkloads[r.int(servedWorkloads.length)] as number
    const wl = workloads[w] as WorkloadPlan
    const name = `${wl.name}-headless`
    if (services.some((s) => s.namespace === wl.namespace && s.name === name)) {
      i--
      continue
    }
    addService(wl.namespace, name, w, true)
  }
  for (let i = 0; i < selectorless; i++) {
    const ns = pickNamespace()
    addService(ns, `external-${r.pick(words)}-${i}`, undefined)
  }

  // Pods: DaemonSet pods one per node, the others on random nodes.
  const pods: Array<PodPlan> = []
  const podKeys = new Set<string>()
  workloads.forEach((w, wi) => {
    for (let k = 0; k < w.pods.length; k++) {
      let name: string
      do {
        name =
          w.kind === "DaemonSet"
            ? `${w.name}-${r.suffix(5)}`
            : w.kind === "StatefulSet"
              ? `${w.name}-${k}`
              : `${w.name}-${w.hash}-${r.suffix(5)}`
      } while (podKeys.has(`${w.namespace}/${name}`))
      podKeys.add(`${w.namespace}/${name}`)
      const index = pods.length
      pods.push({
        name,
        workload: wi,
        node: w.kind === "DaemonSet" ? k : r.int(nodes.length),
        ip: ipOfPod(index),
        uid: r.uid(),
        ready: w.kind === "DaemonSet" ? true : !r.chance(0.01)
      })
      w.pods[k] = index
    }
  })
  return { nodes, namespaces, workloads, pods, services }
}

// ---------------------------------------------------------------------------------------------
// JSON builders

/**
 * FieldsV1 of a value, as a field manager that owns all of it records it: struct fields and
 * lists carry no "." entry, maps and list items do; `atomic` fields (e.g. containerStatuses)
 * are one leaf.
 */
const fieldsV1 = (value: unknown, atomic: ReadonlySet<string> = noAtomic): Record<string, unknown> => {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {}
    for (const item of value) {
      if (typeof item === "object" && item !== null && !Array.isArray(item)) {
        const o = item as Record<string, unknown>
        const keyField =
          "name" in o
            ? { name: o.name }
            : "type" in o
              ? { type: o.type }
              : "containerPort" in o
                ? { containerPort: o.containerPort, protocol: o.protocol }
                : "ip" in o
                  ? { ip: o.ip }
                  : "key" in o
                    ? { key: o.key, operator: o.operator }
                    : undefined
        if (keyField !== undefined) out[`k:${JSON.stringify(keyField)}`] = { ".": {}, ...fieldsV1(item, atomic) }
      } else out[`v:${JSON.stringify(item)}`] = {}
    }
    return out
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue
      if (atomic.has(k) || typeof v !== "object" || v === null) {
        out[`f:${k}`] = {}
        continue
      }
      const inner = fieldsV1(v, atomic)
      const isMap = !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string")
      out[`f:${k}`] = isMap ? { ".": {}, ...inner } : inner
    }
    return out
  }
  return {}
}
const noAtomic: ReadonlySet<string> = new Set()
const statusAtomic: ReadonlySet<string> = new Set(["containerStatuses", "images", "nodeInfo", "daemonEndpoints"])

const managedField = (manager: string, time: string, fields: unknown, subresource?: string, apiVersion = "v1") => ({
  manager,
  operation: "Update",
  apiVersion,
  time,
  fieldsType: "FieldsV1",
  fieldsV1: fieldsV1(fields, subresource === "status" ? statusAtomic : noAtomic),
  ...(subresource === undefined ? {} : { subresource })
})

const baseTime = Date.UTC(2025, 0, 6, 9, 0, 0)
const timeAt = (r: Rng, maxDays: number) =>
  new Date(baseTime + Math.floor(r.next() * maxDays * 86_400_000)).toISOString().replace(/\.\d{3}Z$/, "Z")

let resourceVersion = 4_000_000
const nextRv = () => String(++resourceVersion)

const nodeJson = (r: Rng, n: NodePlan, index: number) => {
  const created = timeAt(r, 30)
  const labels: Record<string, string> = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/instance-type": n.instanceType,
    "beta.kubernetes.io/os": "linux",
    "eks.amazonaws.com/capacityType": index % 7 === 0 ? "SPOT" : "ON_DEMAND",
    "eks.amazonaws.com/nodegroup": n.nodegroup,
    "eks.amazonaws.com/nodegroup-image": "ami-0a1b2c3d4e5f67890",
    "eks.amazonaws.com/sourceLaunchTemplateId": `lt-0${r.hex(16)}`,
    "eks.amazonaws.com/sourceLaunchTemplateVersion": "3",
    "failure-domain.beta.kubernetes.io/region": "us-east-1",
    "failure-domain.beta.kubernetes.io/zone": n.zone,
    "k8s.io/cloud-provider-aws": r.hex(32),
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": n.name,
    "kubernetes.io/os": "linux",
    "node.kubernetes.io/instance-type": n.instanceType,
    "topology.ebs.csi.aws.com/zone": n.zone,
    "topology.k8s.aws/zone-id": `use1-az${1 + (index % 3)}`,
    "topology.kubernetes.io/region": "us-east-1",
    "topology.kubernetes.io/zone": n.zone
  }
  const annotations: Record<string, string> = {
    "alpha.kubernetes.io/provided-node-ip": n.ip,
    "csi.volume.kubernetes.io/nodeid": JSON.stringify({
      "ebs.csi.aws.com": n.instanceId,
      "efs.csi.aws.com": n.instanceId
    }),
    "node.alpha.kubernetes.io/ttl": "0",
    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    // GKE-style record of the labels the node pool manager applied: a long annotation.
    "node.gke.io/last-applied-node-labels": Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",")
  }
  if (index % 10 === 0) annotations["cluster.k8s.io/machine"] = `${n.nodegroup}/${n.instanceId}`
  const cpu = n.instanceType.includes("4x") ? 16 : 8
  const memKi =
    (n.instanceType.startsWith("r") ? 64 : n.instanceType.startsWith("c") ? 32 : 32) * 1024 * 1024 * (cpu / 8)
  const images = Array.from({ length: 10 }, (_, k) => {
    const repo =
      k < 4
        ? `public.ecr.aws/eks/${["kube-proxy", "amazon-k8s-cni", "coredns", "aws-ebs-csi-driver"][k]}`
        : `${r.pick(registries)}/${r.pick(words)}-${r.pick(roles)}`
    return {
      names: [`${repo}@sha256:${r.hex(64)}`, `${repo}:v${1 + r.int(3)}.${r.int(30)}.${r.int(10)}`],
      sizeBytes: 10_000_000 + r.int(900_000_000)
    }
  })
  const heartbeat = "2025-02-10T12:00:00Z"
  const conditions = [
    ["MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
    ["DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
    ["PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
    ["Ready", "True", "KubeletReady", "kubelet is posting ready status"]
  ].map(([type, status, reason, message]) => ({
    type,
    status,
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: created,
    reason,
    message
  }))
  const status = {
    capacity: {
      cpu: String(cpu),
      "ephemeral-storage": "104845292Ki",
      "hugepages-1Gi": "0",
      "hugepages-2Mi": "0",
      memory: `${memKi}Ki`,
      pods: "110"
    },
    allocatable: {
      cpu: `${cpu * 1000 - 90}m`,
      "ephemeral-storage": "95551679124",
      "hugepages-1Gi": "0",
      "hugepages-2Mi": "0",
      memory: `${memKi - 1_500_000}Ki`,
      pods: "110"
    },
    conditions,
    addresses: [
      { type: "InternalIP", address: n.ip },
      { type: "InternalDNS", address: n.name },
      { type: "Hostname", address: n.name }
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: r.hex(32),
      systemUUID: `ec2${r.hex(5)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}`,
      bootID: r.uid(),
      kernelVersion: "5.10.228-219.884.amzn2.x86_64",
      osImage: "Amazon Linux 2",
      containerRuntimeVersion: "containerd://1.7.23",
      kubeletVersion: "v1.31.2-eks-94953ac",
      kubeProxyVersion: "v1.31.2-eks-94953ac",
      operatingSystem: "linux",
      architecture: "amd64"
    },
    images
  }
  const spec = { providerID: `aws:///${n.zone}/${n.instanceId}` }
  return {
    metadata: {
      name: n.name,
      uid: r.uid(),
      resourceVersion: nextRv(),
      creationTimestamp: created,
      labels,
      annotations,
      managedFields: [
        managedField("kubelet", created, {
          metadata: {
            annotations: {
              "alpha.kubernetes.io/provided-node-ip": "",
              "volumes.kubernetes.io/controller-managed-attach-detach": ""
            },
            labels
          },
          spec
        }),
        managedField("kube-controller-manager", created, {
          metadata: { annotations: { "node.alpha.kubernetes.io/ttl": "" } }
        }),
        managedField("aws-cloud-controller-manager", created, {
          metadata: { labels: { "topology.k8s.aws/zone-id": "" } }
        }),
        managedField(
          "kubelet",
          heartbeat,
          { status: { allocatable: status.allocatable, conditions, images, nodeInfo: status.nodeInfo } },
          "status"
        )
      ]
    },
    spec,
    status
  }
}

const namespaceJson = (r: Rng, name: string) => {
  const created = timeAt(r, 10)
  const team = r.pick(teams)
  const labels = { "kubernetes.io/metadata.name": name, team, "app.kubernetes.io/managed-by": "Helm" }
  const annotations: Record<string, string> = {
    "meta.helm.sh/release-name": `ns-${name}`,
    "meta.helm.sh/release-namespace": "default"
  }
  if (r.chance(0.3))
    annotations["kubectl.kubernetes.io/last-applied-configuration"] =
      `${JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { annotations: {}, labels, name } })}\n`
  return {
    metadata: {
      name,
      uid: r.uid(),
      resourceVersion: nextRv(),
      creationTimestamp: created,
      labels,
      annotations,
      managedFields: [managedField("helm", created, { metadata: { annotations, labels } })]
    },
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" }
  }
}

const appLabels = (w: WorkloadPlan) => ({
  app: w.name,
  "app.kubernetes.io/name": w.name,
  "app.kubernetes.io/instance": `${w.name}-${w.namespace.split("-").pop()}`,
  "app.kubernetes.io/part-of": w.namespace.split("-")[0] as string,
  team: w.team,
  "tags.datadoghq.com/env": w.namespace.split("-").pop() as string,
  "tags.datadoghq.com/service": w.name,
  "tags.datadoghq.com/version": w.version
})

const podJson = (r: Rng, p: PodPlan, w: WorkloadPlan, node: NodePlan) => {
  const created = timeAt(r, 30)
  const started = created
  const labels: Record<string, string> =
    w.kind === "DaemonSet"
      ? {
          "app.kubernetes.io/name": w.name,
          "controller-revision-hash": w.hash,
          "k8s-app": w.name,
          "pod-template-generation": "3"
        }
      : w.kind === "StatefulSet"
        ? {
            ...appLabels(w),
            "controller-revision-hash": `${w.name}-${w.hash}`,
            "statefulset.kubernetes.io/pod-name": p.name,
            "apps.kubernetes.io/pod-index": p.name.split("-").pop() as string
          }
        : { ...appLabels(w), "pod-template-hash": w.hash }
  const annotations: Record<string, string> = {}
  if (r.chance(0.5)) annotations["kubectl.kubernetes.io/restartedAt"] = "2025-01-20T10:11:12Z"
  if (w.kind !== "DaemonSet") {
    annotations["prometheus.io/scrape"] = "true"
    annotations["prometheus.io/port"] = String(w.port + 1)
    annotations[`ad.datadoghq.com/${w.name}.logs`] = JSON.stringify([{ source: "java", service: w.name }])
  }
  if (w.lastApplied)
    annotations["kubectl.kubernetes.io/last-applied-configuration"] = `${JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { annotations: {}, labels: appLabels(w), name: p.name, namespace: w.namespace },
      spec: { containers: [{ image: `${w.image}:${w.version}`, name: w.name, ports: [{ containerPort: w.port }] }] }
    })}\n`
  const ownerKind = w.kind === "Deployment" ? "ReplicaSet" : w.kind
  const ownerName = w.kind === "Deployment" ? `${w.name}-${w.hash}` : w.name
  const saVolume = `kube-api-access-${r.suffix(5)}`
  const containers = Array.from({ length: w.containers }, (_, c) => {
    const main = c === 0
    const name = main ? w.name : c === 1 ? "istio-proxy" : "log-shipper"
    const image = main
      ? `${w.image}:${w.version}`
      : c === 1
        ? "docker.io/istio/proxyv2:1.23.2"
        : "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.2"
    const port = main ? w.port : c === 1 ? 15090 : 2020
    return {
      name,
      image,
      ports: [
        { name: main ? "http" : "http-envoy-prom", containerPort: port, protocol: "TCP" },
        ...(main ? [{ name: "metrics", containerPort: w.port + 1, protocol: "TCP" }] : [])
      ],
      env: main
        ? [
            {
              name: "DD_ENV",
              valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.labels['tags.datadoghq.com/env']" } }
            },
            { name: "DD_SERVICE", value: w.name },
            { name: "DD_AGENT_HOST", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "status.hostIP" } } },
            { name: "LOG_LEVEL", value: r.pick(["info", "warn", "debug"]) },
            { name: "JAVA_TOOL_OPTIONS", value: "-XX:MaxRAMPercentage=75 -XX:+UseG1GC -Dfile.encoding=UTF-8" }
          ]
        : [
            { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
            { name: "LOG_LEVEL", value: "warn" }
          ],
      resources: {
        limits: { cpu: main ? "2" : "500m", memory: main ? "2Gi" : "256Mi" },
        requests: {
          cpu: main ? `${100 * (1 + r.int(10))}m` : "50m",
          memory: main ? `${256 * (1 + r.int(4))}Mi` : "64Mi"
        }
      },
      volumeMounts: [
        ...(main && w.kind !== "DaemonSet" ? [{ name: "config", mountPath: "/etc/app", readOnly: true }] : []),
        { name: saVolume, readOnly: true, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }
      ],
      ...(main
        ? {
            livenessProbe: {
              httpGet: { path: "/healthz", port, scheme: "HTTP" },
              initialDelaySeconds: 10,
              timeoutSeconds: 1,
              periodSeconds: 10,
              successThreshold: 1,
              failureThreshold: 3
            }
          }
        : {}),
      readinessProbe: {
        httpGet: { path: "/ready", port, scheme: "HTTP" },
        timeoutSeconds: 1,
        periodSeconds: 5,
        successThreshold: 1,
        failureThreshold: 3
      },
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      imagePullPolicy: "IfNotPresent",
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true
      }
    }
  })
  const spec = {
    volumes: [
      ...(w.kind === "DaemonSet"
        ? []
        : [{ name: "config", configMap: { name: `${w.name}-config`, defaultMode: 420 } }]),
      {
        name: saVolume,
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
            { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
            {
              downwardAPI: {
                items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }]
              }
            }
          ],
          defaultMode: 420
        }
      }
    ],
    containers,
    restartPolicy: "Always",
    terminationGracePeriodSeconds: 30,
    dnsPolicy: "ClusterFirst",
    serviceAccountName: w.kind === "DaemonSet" ? w.name : "default",
    serviceAccount: w.kind === "DaemonSet" ? w.name : "default",
    nodeName: node.name,
    securityContext: { fsGroup: 1000 },
    schedulerName: "default-scheduler",
    tolerations: [
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }
    ],
    priority: 0,
    enableServiceLinks: true,
    preemptionPolicy: "PreemptLowerPriority"
  }
  const ready = p.ready ? "True" : "False"
  const conditions = [
    { type: "PodReadyToStartContainers", status: "True", lastProbeTime: null, lastTransitionTime: started },
    { type: "Initialized", status: "True", lastProbeTime: null, lastTransitionTime: started },
    { type: "Ready", status: ready, lastProbeTime: null, lastTransitionTime: started },
    { type: "ContainersReady", status: ready, lastProbeTime: null, lastTransitionTime: started },
    { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: created }
  ]
  const status = {
    phase: "Running",
    conditions,
    hostIP: node.ip,
    hostIPs: [{ ip: node.ip }],
    podIP: p.ip,
    podIPs: [{ ip: p.ip }],
    startTime: started,
    containerStatuses: containers.map((c) => ({
      name: c.name,
      state: { running: { startedAt: started } },
      lastState: {},
      ready: p.ready,
      restartCount: r.chance(0.1) ? 1 + r.int(5) : 0,
      image: c.image,
      imageID: `${c.image.split(":")[0]}@sha256:${r.hex(64)}`,
      containerID: `containerd://${r.hex(64)}`,
      started: true
    })),
    qosClass: "Burstable"
  }
  const meta = {
    name: p.name,
    ...(w.kind === "Deployment" || w.kind === "DaemonSet" ? { generateName: p.name.slice(0, -5) } : {}),
    namespace: w.namespace,
    uid: p.uid,
    resourceVersion: nextRv(),
    creationTimestamp: created,
    labels,
    annotations,
    ownerReferences: [
      {
        apiVersion: "apps/v1",
        kind: ownerKind,
        name: ownerName,
        uid: r.uid(),
        controller: true,
        blockOwnerDeletion: true
      }
    ]
  }
  const { name: _n, namespace: _ns, uid: _u, resourceVersion: _rv, creationTimestamp: _c, ...ownedMeta } = meta
  return {
    metadata: {
      ...meta,
      managedFields: [
        managedField("kube-controller-manager", created, {
          metadata: ownedMeta,
          spec: { ...spec, nodeName: undefined }
        }),
        managedField("kube-scheduler", created, { status: { conditions: [conditions[4]] } }, "status"),
        managedField("kubelet", started, { status }, "status")
      ]
    },
    spec,
    status
  }
}

const serviceJson = (r: Rng, s: ServicePlan, w: WorkloadPlan | undefined) => {
  const created = timeAt(r, 30)
  const labels: Record<string, string> = {
    app: w?.name ?? s.name,
    "app.kubernetes.io/managed-by": "Helm",
    "helm.sh/chart": `${w?.name ?? s.name}-${w?.version ?? "1.0.0"}`,
    team: w?.team ?? "platform"
  }
  const annotations: Record<string, string> = {
    "meta.helm.sh/release-name": w?.name ?? s.name,
    "meta.helm.sh/release-namespace": s.namespace
  }
  const selector =
    w === undefined ? undefined : w.kind === "DaemonSet" ? { "app.kubernetes.io/name": w.name } : { app: w.name }
  const ports = [
    { name: "http", port: s.headless ? s.port : 80, protocol: "TCP", targetPort: s.port },
    ...(w !== undefined && w.kind !== "DaemonSet"
      ? [{ name: "metrics", port: w.port + 1, protocol: "TCP", targetPort: w.port + 1 }]
      : [])
  ]
  const spec = {
    clusterIP: s.clusterIP,
    clusterIPs: [s.clusterIP],
    internalTrafficPolicy: "Cluster",
    ipFamilies: ["IPv4"],
    ipFamilyPolicy: "SingleStack",
    ports,
    ...(selector === undefined ? {} : { selector }),
    sessionAffinity: "None",
    type: "ClusterIP"
  }
  if (r.chance(0.2))
    annotations["kubectl.kubernetes.io/last-applied-configuration"] =
      `${JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { annotations: {}, labels, name: s.name, namespace: s.namespace }, spec: { ports, selector } })}\n`
  return {
    metadata: {
      name: s.name,
      namespace: s.namespace,
      uid: s.uid,
      resourceVersion: nextRv(),
      creationTimestamp: created,
      labels,
      annotations,
      managedFields: [managedField("helm", created, { metadata: { annotations, labels }, spec })]
    },
    spec,
    status: { loadBalancer: {} }
  }
}

const maxEndpointsPerSlice = 100

const sliceJsons = (r: Rng, s: ServicePlan, plan: ClusterPlan) => {
  const w = s.workload === undefined ? undefined : plan.workloads[s.workload]
  if (w === undefined) return []
  const out = []
  for (let start = 0; start < w.pods.length; start += maxEndpointsPerSlice) {
    const chunk = w.pods.slice(start, start + maxEndpointsPerSlice)
    const created = timeAt(r, 30)
    const endpoints = chunk.map((pi) => {
      const p = plan.pods[pi] as PodPlan
      const node = plan.nodes[p.node] as NodePlan
      return {
        addresses: [p.ip],
        conditions: { ready: p.ready, serving: p.ready, terminating: false },
        nodeName: node.name,
        targetRef: { kind: "Pod", name: p.name, namespace: w.namespace, uid: p.uid },
        zone: node.zone
      }
    })
    const labels: Record<string, string> = {
      app: w.name,
      "app.kubernetes.io/managed-by": "Helm",
      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
      "kubernetes.io/service-name": s.name,
      team: w.team
    }
    const metadata = {
      name: `${s.name}-${r.suffix(5)}`,
      generateName: `${s.name}-`,
      namespace: s.namespace,
      uid: r.uid(),
      resourceVersion: nextRv(),
      generation: 1 + r.int(40),
      creationTimestamp: created,
      labels,
      annotations: { "endpoints.kubernetes.io/last-change-trigger-time": created },
      ownerReferences: [
        { apiVersion: "v1", kind: "Service", name: s.name, uid: s.uid, controller: true, blockOwnerDeletion: true }
      ]
    }
    const ports = [
      { name: "http", port: s.port, protocol: "TCP" },
      ...(w.kind !== "DaemonSet" ? [{ name: "metrics", port: w.port + 1, protocol: "TCP" }] : [])
    ]
    out.push({
      metadata: {
        ...metadata,
        managedFields: [
          managedField(
            "kube-controller-manager",
            created,
            {
              addressType: "",
              endpoints: [],
              metadata: { annotations: metadata.annotations, generateName: "", labels, ownerReferences: [] },
              ports: []
            },
            undefined,
            "discovery.k8s.io/v1"
          )
        ]
      },
      addressType: "IPv4",
      endpoints,
      ports
    })
  }
  return out
}

/** node → namespace → pod → sorted services: what the mapper must answer. */
export const groundTruth = (plan: ClusterPlan): Map<string, Record<string, Record<string, Array<string>>>> => {
  const truth = new Map<string, Record<string, Record<string, Array<string>>>>()
  for (const n of plan.nodes) truth.set(n.name, {})
  for (const s of plan.services) {
    const w = s.workload === undefined ? undefined : plan.workloads[s.workload]
    if (w === undefined) continue
    for (const pi of w.pods) {
      const p = plan.pods[pi] as PodPlan
      if (!p.ready) continue
      const node = truth.get((plan.nodes[p.node] as NodePlan).name) as Record<string, Record<string, Array<string>>>
      node[w.namespace] ??= {}
      const ns = node[w.namespace] as Record<string, Array<string>>
      ns[p.name] ??= []
      ns[p.name]?.push(s.name)
    }
  }
  for (const node of truth.values())
    for (const ns of Object.values(node)) for (const svcs of Object.values(ns)) svcs.sort()
  return truth
}

// ---------------------------------------------------------------------------------------------
// Writing pages

const listKinds: Readonly<Record<KindFile, { kind: string; apiVersion: string }>> = {
  nodes: { kind: "NodeList", apiVersion: "v1" },
  namespaces: { kind: "NamespaceList", apiVersion: "v1" },
  pods: { kind: "PodList", apiVersion: "v1" },
  services: { kind: "ServiceList", apiVersion: "v1" },
  endpointslices: { kind: "EndpointSliceList", apiVersion: "discovery.k8s.io/v1" }
}

const stats = (sizes: ReadonlyArray<number>) => {
  const sorted = [...sizes].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return {
    mean: Math.round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    p50: at(0.5),
    p95: at(0.95),
    max: sorted[sorted.length - 1] ?? 0
  }
}

/** Every object of the cluster as raw JSON, per kind, in LIST order (by namespace, then name). */
export function* clusterObjects(plan: ClusterPlan, seed: number): Generator<readonly [KindFile, object]> {
  const r = rng(seed ^ 0x5eed)
  resourceVersion = 4_000_000
  const byKey = <T>(xs: ReadonlyArray<T>, key: (x: T) => string) =>
    xs
      .map((x) => [key(x), x] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, x]) => x)
  for (const ns of byKey(plan.namespaces, (n) => n)) yield ["namespaces", namespaceJson(r, ns)]
  for (const [i, n] of plan.nodes.entries()) yield ["nodes", nodeJson(r, n, i)]
  for (const s of byKey(plan.services, (s) => `${s.namespace}/${s.name}`)) {
    yield ["services", serviceJson(r, s, s.workload === undefined ? undefined : plan.workloads[s.workload])]
  }
  const slices = []
  for (const s of plan.services) slices.push(...sliceJsons(r, s, plan))
  for (const s of byKey(slices, (s) => `${s.metadata.namespace}/${s.metadata.name}`)) yield ["endpointslices", s]
  const podOrder = byKey(
    plan.pods.map((_, i) => i),
    (i) => {
      const p = plan.pods[i] as PodPlan
      return `${(plan.workloads[p.workload] as WorkloadPlan).namespace}/${p.name}`
    }
  )
  for (const i of podOrder) {
    const p = plan.pods[i] as PodPlan
    yield ["pods", podJson(r, p, plan.workloads[p.workload] as WorkloadPlan, plan.nodes[p.node] as NodePlan)]
  }
}

/** Writes the data set (pages, manifest, truth) to `dir` unless a complete one is there. */
export const ensureDataSet = (scale: Scale, seed: number, dir = defaultDataDir(scale, seed)): Manifest => {
  const manifestPath = join(dir, "manifest.json")
  if (existsSync(manifestPath)) return JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  const plan = planCluster(scale, seed)

  const counts = { nodes: 0, namespaces: 0, pods: 0, services: 0, endpointslices: 0 }
  const pages = { nodes: 0, namespaces: 0, pods: 0, services: 0, endpointslices: 0 }
  const bytes = { nodes: 0, namespaces: 0, pods: 0, services: 0, endpointslices: 0 }
  const sizes: Record<KindFile, Array<number>> = {
    nodes: [],
    namespaces: [],
    pods: [],
    services: [],
    endpointslices: []
  }
  const totals: Record<KindFile, number> = {
    namespaces: plan.namespaces.length,
    nodes: plan.nodes.length,
    services: plan.services.length,
    pods: plan.pods.length,
    endpointslices: 0
  }
  let endpoints = 0
  let maxEndpoints = 0
  for (const s of plan.services) {
    const w = s.workload === undefined ? undefined : plan.workloads[s.workload]
    if (w === undefined) continue
    totals.endpointslices += Math.ceil(w.pods.length / maxEndpointsPerSlice)
    endpoints += w.pods.length
    maxEndpoints = Math.max(maxEndpoints, w.pods.length)
  }
  const listRv = "9999999"
  let current: KindFile | undefined
  let buffer: Array<string> = []
  const flush = () => {
    if (current === undefined || buffer.length === 0) return
    const kind = current
    const page = pages[kind]
    const last = counts[kind] >= totals[kind]
    const token = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 9999999, start: `page-${page + 1}` })).toString(
      "base64"
    )
    const metadata = last
      ? `{"resourceVersion":"${listRv}"}`
      : `{"resourceVersion":"${listRv}","continue":"${token}","remainingItemCount":${totals[kind] - counts[kind]}}`
    const text = `{"kind":"${listKinds[kind].kind}","apiVersion":"${listKinds[kind].apiVersion}","metadata":${metadata},"items":[${buffer.join(",")}]}`
    writeFileSync(pageFile(tmp, kind, page), text)
    bytes[kind] += Buffer.byteLength(text)
    pages[kind]++
    buffer = []
  }
  for (const [kind, object] of clusterObjects(plan, seed)) {
    if (kind !== current) {
      flush()
      current = kind
    }
    const json = JSON.stringify(object)
    sizes[kind].push(Buffer.byteLength(json))
    buffer.push(json)
    counts[kind]++
    if (buffer.length === pageSize) flush()
  }
  flush()

  const truth = groundTruth(plan)
  writeFileSync(join(tmp, "truth.jsonl"), `${[...truth].map((entry) => JSON.stringify(entry)).join("\n")}\n`)
  const size = clusterSize(scale)
  const manifest: Manifest = {
    version: GENERATOR_VERSION,
    scale,
    seed,
    size,
    kinds: Object.fromEntries(
      kindFiles.map((k) => [k, { items: counts[k], pages: pages[k], bytes: bytes[k] }])
    ) as unknown as Record<KindFile, KindManifest>,
    itemBytes: Object.fromEntries(kindFiles.map((k) => [k, stats(sizes[k])])) as unknown as Manifest["itemBytes"],
    endpoints,
    maxEndpointsPerService: maxEndpoints,
    containersPerPod:
      plan.pods.reduce((n, p) => n + (plan.workloads[p.workload] as WorkloadPlan).containers, 0) / plan.pods.length
  }
  writeFileSync(join(tmp, "manifest.json"), JSON.stringify(manifest, null, 2))
  rmSync(dir, { recursive: true, force: true })
  renameSync(tmp, dir)
  return manifest
}

/** The truth lines of some nodes (read after measuring, so it does not weigh on the result). */
export const readTruth = (
  dir: string,
  nodes: ReadonlySet<string>
): Map<string, Record<string, Record<string, Array<string>>>> => {
  const out = new Map<string, Record<string, Record<string, Array<string>>>>()
  for (const line of readFileSync(join(dir, "truth.jsonl"), "utf8").split("\n")) {
    if (line === "") continue
    const name = line.slice(2, line.indexOf('"', 2))
    if (!nodes.has(name)) continue
    const [node, value] = JSON.parse(line) as [string, Record<string, Record<string, Array<string>>>]
    out.set(node, value)
  }
  return out
}

export const digest = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 12)

export const parseArgs = (argv: ReadonlyArray<string>) => {
  const flags = new Map<string, string>()
  const positional: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a.startsWith("--")) {
      const [k, v] = a.slice(2).split("=", 2) as [string, string | undefined]
      if (v !== undefined) flags.set(k, v)
      else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith("--")) flags.set(k, argv[++i] as string)
      else flags.set(k, "true")
    } else positional.push(a)
  }
  return { flags, positional }
}

export const scaleOf = (value: string | undefined): Scale => {
  const s = value ?? "small"
  if (s !== "full" && s !== "medium" && s !== "small")
    throw new Error(`--scale must be full, medium or small, not ${s}`)
  return s
}

if (import.meta.main) {
  const { flags } = parseArgs(process.argv.slice(2))
  const scale = scaleOf(flags.get("scale"))
  const seed = Number(flags.get("seed") ?? "1")
  const dir = flags.get("out") ?? defaultDataDir(scale, seed)
  const started = performance.now()
  const manifest = ensureDataSet(scale, seed, dir)
  console.log(JSON.stringify({ dir, seconds: (performance.now() - started) / 1000, manifest }, null, 2))
}
