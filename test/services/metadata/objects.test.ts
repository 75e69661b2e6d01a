import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { KubeObject } from "../../../src/layers/kube/types.ts"
import {
  endpointSlices,
  metadataWatches,
  namespaces,
  nodes,
  pods,
  services,
  stripEndpointSlice,
  stripNamespace,
  stripNode,
  stripPod,
  stripService
} from "../../../src/services/metadata/objects.ts"

const managedFields = [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:metadata": {} } }]

describe("strippers", () => {
  it("keep only what a pod is served by", () => {
    const pod: KubeObject = {
      metadata: {
        name: "web-1",
        namespace: "shop",
        uid: "u",
        labels: { app: "web" },
        annotations: { big: "x".repeat(1000) },
        managedFields
      },
      spec: { nodeName: "node-a", containers: [{ name: "c", image: "i" }] },
      status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }], podIP: "10.0.0.1" }
    }
    expect(stripPod(pod)).toEqual({
      namespace: "shop",
      name: "web-1",
      nodeName: "node-a",
      phase: "Running",
      ready: true,
      labels: { app: "web" }
    })
    expect(stripPod({ ...pod, status: { conditions: [{ type: "Ready", status: "False" }] } }).ready).toBe(false)
  })

  it("keep a node's labels and only its host-alias annotations", () => {
    expect(
      stripNode({
        metadata: {
          name: "n",
          labels: { zone: "a" },
          annotations: { "cluster.k8s.io/machine": "m-1", "node.alpha.kubernetes.io/ttl": "0" },
          managedFields
        },
        status: { images: [{ names: ["x"] }] }
      })
    ).toEqual({ name: "n", labels: { zone: "a" }, annotations: { "cluster.k8s.io/machine": "m-1" } })
  })

  it("drop kubectl's last-applied-configuration from namespace annotations", () => {
    expect(
      stripNamespace({
        metadata: {
          name: "shop",
          labels: { env: "prod" },
          annotations: { team: "pay", "kubectl.kubernetes.io/last-applied-configuration": "{...}" }
        }
      })
    ).toEqual({ name: "shop", labels: { env: "prod" }, annotations: { team: "pay" } })
    expect(stripService({ metadata: { name: "web", namespace: "shop" }, spec: { ports: [] } })).toEqual({
      namespace: "shop",
      name: "web"
    })
  })

  it("keep only ready pod endpoints on a node", () => {
    const endpoint = (name: string, extra: Record<string, unknown> = {}) => ({
      addresses: ["10.0.0.1"],
      nodeName: "node-a",
      targetRef: { kind: "Pod", name, namespace: "shop" },
      ...extra
    })
    const slice = stripEndpointSlice({
      metadata: { name: "web-x", namespace: "shop", labels: { "kubernetes.io/service-name": "web" } },
      endpoints: [
        endpoint("ready", { conditions: { ready: true } }),
        endpoint("unknown-readiness"),
        endpoint("unready", { conditions: { ready: false } }),
        endpoint("no-node", { nodeName: undefined }),
        { addresses: ["10.0.0.9"], nodeName: "node-a", targetRef: { kind: "Node", name: "node-a" } },
        { addresses: ["10.0.0.8"], nodeName: "node-a" }
      ]
    })
    expect(slice).toEqual({
      namespace: "shop",
      name: "web-x",
      serviceName: "web",
      endpoints: [
        { podNamespace: "shop", podName: "ready", nodeName: "node-a" },
        { podNamespace: "shop", podName: "unknown-readiness", nodeName: "node-a" }
      ]
    })
  })

  it("never throw, whatever JSON they get", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (metadata, rest) => {
        const o = { metadata, spec: rest, status: rest, endpoints: rest } as unknown as KubeObject
        for (const strip of [stripPod, stripNode, stripNamespace, stripService, stripEndpointSlice]) strip(o)
      })
    )
  })

  it("ask for the five kinds across the cluster, each with its own stripper and no selector", () => {
    expect(metadataWatches.map((w) => [w.name, w.resource])).toEqual([
      ["pods", { group: "", version: "v1", resource: "pods" }],
      ["nodes", { group: "", version: "v1", resource: "nodes" }],
      ["namespaces", { group: "", version: "v1", resource: "namespaces" }],
      ["services", { group: "", version: "v1", resource: "services" }],
      ["endpointslices", { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" }]
    ])
    expect([pods.strip, nodes.strip, namespaces.strip, services.strip, endpointSlices.strip]).toEqual([
      stripPod,
      stripNode,
      stripNamespace,
      stripService,
      stripEndpointSlice
    ])
    expect(metadataWatches.every((w) => w.labelSelector === undefined && w.fieldSelector === undefined)).toBe(true)
  })
})
