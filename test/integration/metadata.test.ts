/**
 * The agent as node agents meet it: the real `datadog-cluster-agent start` process against a
 * real control plane of its own (so this file may restart the API server and compact etcd),
 * queried with requests shaped like the node agent's (contract §1.6).
 */
import { mkdtempSync } from "node:fs"
import * as Https from "node:https"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CoreV1Api, DiscoveryV1Api, KubeConfig, type V1EndpointSlice } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type ControlPlane, startControlPlane } from "../../dev/controlPlane/controlPlane.ts"
import { httpsRequest } from "../../dev/controlPlane/http.ts"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import { type Running, runCli, startCli } from "../support/agentProcess.ts"
import { waitFor } from "../support/waitFor.ts"

const token = "NodeAgentsShareThisClusterToken0123456789"
let plane: ControlPlane
let agent: Running
let port = 0
let cliEnv: Record<string, string> = {}
let core: CoreV1Api
let discovery: DiscoveryV1Api
const agentHttp = new Https.Agent({ keepAlive: true, maxSockets: 1 })

/** GET as the node agent does: Bearer token, X-Real-Ip, HTTP/1.1, certificate not verified. */
const nodeAgentGet = (path: string) =>
  httpsRequest(`https://127.0.0.1:${port}${path}`, "insecure", {
    agent: agentHttp,
    timeoutMs: 10_000,
    headers: { authorization: `Bearer ${token}`, "x-real-ip": "", "user-agent": "Go-http-client/1.1" }
  })

const json = async (path: string): Promise<unknown> => {
  const r = await nodeAgentGet(path)
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body}`)
  return JSON.parse(r.body)
}

/** Polls a route until it answers `expected`, within the 2 s issue 4 allows for a change to show. */
const eventually = (path: string, expected: unknown, timeoutMs = 2_000) =>
  waitFor(
    async () => {
      const got = await json(path)
      expect(got).toEqual(expected)
      return true
    },
    { timeoutMs, intervalMs: 50, what: `${path} to answer ${JSON.stringify(expected).slice(0, 200)}` }
  )

const node = (name: string, labels: Record<string, string> = {}) =>
  core.createNode({
    body: {
      metadata: {
        name,
        labels: { "kubernetes.io/hostname": name, ...labels },
        annotations: { "cluster.k8s.io/machine": `m-${name}` }
      }
    }
  })
const pod = (namespace: string, name: string, nodeName: string) =>
  core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: { nodeName, containers: [{ name: "c", image: "registry.invalid/c" }] }
    }
  })
const service = (namespace: string, name: string) =>
  core.createNamespacedService({ namespace, body: { metadata: { name }, spec: { ports: [{ port: 80 }] } } })
const slice = (
  namespace: string,
  name: string,
  serviceName: string,
  endpoints: ReadonlyArray<{ pod: string; node: string; ready?: boolean }>
): V1EndpointSlice => ({
  metadata: {
    name,
    namespace,
    labels: { "kubernetes.io/service-name": serviceName, "endpointslice.kubernetes.io/managed-by": "dca-test" }
  },
  addressType: "IPv4",
  ports: [{ port: 80, protocol: "TCP" }],
  endpoints: endpoints.map((e, i) => ({
    addresses: [`10.${Math.floor(i / 250) % 250}.${i % 250}.${1 + (i % 200)}`],
    nodeName: e.node,
    conditions: { ready: e.ready ?? true },
    targetRef: { kind: "Pod", name: e.pod, namespace }
  }))
})

const inBatches = async <A>(items: ReadonlyArray<A>, size: number, f: (a: A) => Promise<unknown>) => {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(f))
}

beforeAll(async () => {
  plane = await startControlPlane({ watchCache: false })
  const kc = new KubeConfig()
  kc.loadFromFile(plane.kubeconfigPath)
  core = kc.makeApiClient(CoreV1Api)
  discovery = kc.makeApiClient(DiscoveryV1Api)
  const [cmd, metrics] = await freePorts(2)
  port = cmd ?? 0
  cliEnv = {
    DD_CLUSTER_AGENT_CMD_PORT: String(port),
    DD_AUTH_TOKEN_FILE_PATH: join(mkdtempSync(join(tmpdir(), "dca-it-")), "auth_token")
  }
  agent = startCli(["start"], {
    ...cliEnv,
    DD_API_KEY: "0123456789abcdef0123456789abcdef",
    DD_CLUSTER_AGENT_AUTH_TOKEN: token,
    DD_METRICS_PORT: String(metrics),
    DD_KUBERNETES_KUBECONFIG_PATH: plane.kubeconfigPath,
    // Short server-side watch timeouts exercise resuming.
    DD_KUBERNETES_INFORMERS_RESTCLIENT_TIMEOUT: "5"
  })
  await waitFor(() => nodeAgentGet("/version").then((r) => r.status === 200), {
    timeoutMs: 30_000,
    what: "the agent's command port"
  })
}, 180_000)

afterAll(async () => {
  agentHttp.destroy()
  agent?.child.kill("SIGTERM")
  const done = await agent?.exited
  await plane?.stop()
  if (done !== undefined && done.code !== 0) throw new Error(`agent exited ${done.code}: ${done.stdout.slice(-2000)}`)
}, 60_000)

describe("node-agent routes against a real cluster", () => {
  it("serves the contract's JSON for nodes, pods, services and namespaces, and follows changes", async () => {
    await core.createNamespace({
      body: { metadata: { name: "shop", labels: { env: "prod" }, annotations: { team: "payments" } } }
    })
    await node("node-a", { "topology.kubernetes.io/zone": "eu-west-1a" })
    await node("node-b")
    await pod("shop", "web-1", "node-a")
    await pod("shop", "web-2", "node-b")
    await service("shop", "web")
    await service("shop", "web-internal")
    await discovery.createNamespacedEndpointSlice({
      namespace: "shop",
      body: slice("shop", "web-x", "web", [
        { pod: "web-1", node: "node-a" },
        { pod: "web-2", node: "node-b" }
      ])
    })
    await discovery.createNamespacedEndpointSlice({
      namespace: "shop",
      body: slice("shop", "web-internal-x", "web-internal", [{ pod: "web-1", node: "node-a" }])
    })

    await eventually("/api/v1/tags/pod/node-a", {
      Nodes: { "node-a": { services: { shop: { "web-1": { web: {}, "web-internal": {} } } } } }
    })
    expect(await json("/api/v1/tags/pod/node-a/shop/web-1")).toEqual(["kube_service:web", "kube_service:web-internal"])
    expect(await json("/api/v1/tags/node/node-a")).toEqual({
      "kubernetes.io/hostname": "node-a",
      "topology.kubernetes.io/zone": "eu-west-1a"
    })
    expect(await json("/api/v1/annotations/node/node-a")).toEqual({ "cluster.k8s.io/machine": "m-node-a" })
    expect(await json("/api/v1/tags/namespace/shop")).toEqual({ env: "prod", "kubernetes.io/metadata.name": "shop" })
    expect(await json("/api/v1/metadata/namespace/shop")).toEqual({
      Name: "shop",
      Namespace: "",
      Annotations: { team: "payments" },
      Labels: { env: "prod", "kubernetes.io/metadata.name": "shop" }
    })
    const uid = (await core.readNamespace({ name: "kube-system" })).metadata?.uid
    expect(await json("/api/v1/cluster/id")).toBe(uid)
    expect((await core.readNamespacedConfigMap({ name: "datadog-cluster-id", namespace: "default" })).data).toEqual({
      id: uid
    })
    expect(await json("/api/v1/tags/pod/node-c")).toEqual({
      Warnings: [
        "Node node-c could not be added to the metadata map bundle: the key agent/KubernetesMetadataMapping/node-c was not found in the cache"
      ]
    })

    // The CLI shows the same map, through the local token.
    const metamap = await runCli(["metamap", "node-a"], cliEnv)
    expect(metamap.code).toBe(0)
    expect(metamap.stdout).toBe(
      [
        "===============",
        "Metadata Mapper",
        "===============",
        "",
        "Node detected: node-a",
        "",
        "  - Namespace: shop",
        "      - Pod: web-1",
        "        Services: [web web-internal]",
        ""
      ].join("\n")
    )
    const raw = await runCli(["metamap", "--json"], cliEnv)
    expect(JSON.parse(raw.stdout)).toMatchObject({ Nodes: { "node-a": {}, "node-b": {} } })

    // An endpoint turning unready drops the service from that pod; deleting a service drops it
    // everywhere, a pod deletion drops the pod, a node deletion drops the node.
    await discovery.replaceNamespacedEndpointSlice({
      name: "web-x",
      namespace: "shop",
      body: slice("shop", "web-x", "web", [
        { pod: "web-1", node: "node-a", ready: false },
        { pod: "web-2", node: "node-b" }
      ])
    })
    await eventually("/api/v1/tags/pod/node-a", {
      Nodes: { "node-a": { services: { shop: { "web-1": { "web-internal": {} } } } } }
    })
    await core.deleteNamespacedService({ name: "web-internal", namespace: "shop" })
    await eventually("/api/v1/tags/pod/node-a", { Nodes: { "node-a": {} } })
    await core.deleteNamespacedPod({ name: "web-2", namespace: "shop", gracePeriodSeconds: 0 })
    await eventually("/api/v1/tags/pod/node-b", { Nodes: { "node-b": {} } })
    await core.deleteNode({ name: "node-b" })
    await eventually("/api/v1/tags/pod/node-b", {
      Warnings: [
        "Node node-b could not be added to the metadata map bundle: the key agent/KubernetesMetadataMapping/node-b was not found in the cache"
      ]
    })
  })

  it("maps a service with 1500 endpoints spread over 15 EndpointSlices", async () => {
    await core.createNamespace({ body: { metadata: { name: "big" } } })
    const nodes = ["big-0", "big-1", "big-2"]
    await Promise.all(nodes.map((n) => node(n)))
    const pods = Array.from({ length: 1500 }, (_, i) => ({ pod: `p-${i}`, node: nodes[i % 3] as string }))
    await inBatches(pods, 50, (p) => pod("big", p.pod, p.node))
    await service("big", "wide")
    await inBatches(
      Array.from({ length: 15 }, (_, i) => i),
      5,
      (i) =>
        discovery.createNamespacedEndpointSlice({
          namespace: "big",
          body: slice("big", `wide-${i}`, "wide", pods.slice(i * 100, (i + 1) * 100))
        })
    )
    await waitFor(
      async () => {
        const r = (await json("/api/v1/tags/pod/big-1")) as {
          Nodes: Record<string, { services?: Record<string, Record<string, unknown>> }>
        }
        return Object.keys(r.Nodes["big-1"]?.services?.big ?? {}).length === 500
      },
      { timeoutMs: 15_000, what: "500 pods of the wide service on node big-1" }
    )
    expect(await json("/api/v1/tags/pod/big-2/big/p-1499")).toEqual(["kube_service:wide"])
  })

  it("a forced 410 and an API server restart neither lose nor corrupt the index", async () => {
    await core.createNamespace({ body: { metadata: { name: "churn" } } })
    await node("churn-node")
    await service("churn", "api")
    await pod("churn", "api-0", "churn-node")
    await discovery.createNamespacedEndpointSlice({
      namespace: "churn",
      body: slice("churn", "api-x", "api", [{ pod: "api-0", node: "churn-node" }])
    })
    const before = { Nodes: { "churn-node": { services: { churn: { "api-0": { api: {} } } } } } }
    await eventually("/api/v1/tags/pod/churn-node", before)

    // Compaction makes the agent's next resume (watches end every 5-10 s here) a 410.
    await plane.compactEtcd()
    await pod("churn", "api-1", "churn-node")
    await discovery.replaceNamespacedEndpointSlice({
      name: "api-x",
      namespace: "churn",
      body: slice("churn", "api-x", "api", [
        { pod: "api-0", node: "churn-node" },
        { pod: "api-1", node: "churn-node" }
      ])
    })
    const after = { Nodes: { "churn-node": { services: { churn: { "api-0": { api: {} }, "api-1": { api: {} } } } } } }
    await eventually("/api/v1/tags/pod/churn-node", after, 20_000)
    // Watches resume every 5-10 s here. Kinds with no event since the compaction resume from a
    // compacted version, get 410 Gone and relist; pods and slices moved past it and resume.
    const relisted = () =>
      new Set(
        agent
          .stdout()
          .split("\n")
          .filter((l) => l.includes("watch resourceVersion expired"))
          .map((l) => (JSON.parse(l) as { annotations: { kind: string } }).annotations.kind)
      )
    await waitFor(() => ["namespaces", "nodes", "services"].every((k) => relisted().has(k)), {
      timeoutMs: 30_000,
      what: "the quiet kinds to relist after the 410"
    })
    expect(await json("/api/v1/tags/pod/churn-node")).toEqual(after)

    // While the API server is down the agent keeps serving what it knows.
    await plane.restartApiServer()
    expect(await json("/api/v1/tags/pod/churn-node")).toEqual(after)
    await core.deleteNamespacedPod({ name: "api-0", namespace: "churn", gracePeriodSeconds: 0 })
    await eventually(
      "/api/v1/tags/pod/churn-node",
      { Nodes: { "churn-node": { services: { churn: { "api-1": { api: {} } } } } } },
      30_000
    )
    // Earlier data survived every relist.
    expect(await json("/api/v1/tags/pod/big-2/big/p-1499")).toEqual(["kube_service:wide"])
    expect(await json("/api/v1/tags/pod/node-a")).toEqual({ Nodes: { "node-a": {} } })
  })
})
