import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import type { KubeObject } from "../../src/layers/kube/types.ts"
import { makeMetadataMapper, reflectMetadataSources } from "../../src/services/MetadataMapper.ts"
import { metadataWatches } from "../../src/services/metadata/objects.ts"
import { makeWatches } from "../../src/streams/Watches.ts"
import { fakeCluster } from "../support/fakeCluster.ts"

const options = {
  pageSize: 500,
  watchTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(150),
  backoff: Schedule.spaced("1 second")
}

const node = (name: string): KubeObject => ({ metadata: { name } })
const pod = (name: string, nodeName: string): KubeObject => ({
  metadata: { name, namespace: "shop" },
  spec: { nodeName }
})
const service = (name: string): KubeObject => ({ metadata: { name, namespace: "shop" } })
const slice = (service: string, endpoints: ReadonlyArray<readonly [pod: string, node: string]>): KubeObject => ({
  metadata: { name: `${service}-x`, namespace: "shop", labels: { "kubernetes.io/service-name": service } },
  endpoints: endpoints.map(([p, n]) => ({ nodeName: n, targetRef: { kind: "Pod", name: p, namespace: "shop" } }))
})

const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 30 }))

/** The mapper over the shared watch layer of a fake cluster. */
const mapperOf = Effect.gen(function* () {
  const cluster = yield* fakeCluster
  cluster.seed("nodes", node("node-a"))
  cluster.seed("nodes", node("node-b"))
  cluster.seed("namespaces", { metadata: { name: "shop", labels: { env: "prod" } } })
  cluster.seed("pods", pod("web-1", "node-a"))
  cluster.seed("pods", pod("web-2", "node-b"))
  cluster.seed("services", service("web"))
  cluster.seed("endpointslices", slice("web", [["web-1", "node-a"]]))
  const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), metadataWatches)
  const sources = yield* reflectMetadataSources(watches)
  const { mapper, caughtUp } = yield* makeMetadataMapper(sources)
  yield* caughtUp
  return { cluster, mapper }
})

const json = (b: Buffer) => JSON.parse(b.toString("utf8"))

describe("MetadataMapper over the shared watch layer", () => {
  it.effect("answers from memory once every kind is caught up", () =>
    Effect.gen(function* () {
      const { cluster, mapper } = yield* mapperOf
      expect(cluster.lists.map((l) => l.resource.resource).sort()).toEqual(
        ["endpointslices", "namespaces", "nodes", "pods", "services"].sort()
      )
      expect(json(mapper.nodePodsJson("node-a"))).toEqual({
        Nodes: { "node-a": { services: { shop: { "web-1": { web: {} } } } } }
      })
      expect(json(mapper.nodePodsJson("node-b"))).toEqual({ Nodes: { "node-b": {} } })
      expect(mapper.namespace("shop")?.labels).toEqual({ env: "prod" })
    })
  )

  it.effect("a cached answer follows slice, pod, service and node changes", () =>
    Effect.gen(function* () {
      const { cluster, mapper } = yield* mapperOf
      // Cache both nodes' answers, then change what they depend on.
      mapper.nodePodsJson("node-a")
      mapper.nodePodsJson("node-b")
      yield* cluster.emit(
        "endpointslices",
        "MODIFIED",
        slice("web", [
          ["web-1", "node-a"],
          ["web-2", "node-b"]
        ])
      )
      yield* settle
      expect(json(mapper.nodePodsJson("node-b"))).toEqual({
        Nodes: { "node-b": { services: { shop: { "web-2": { web: {} } } } } }
      })

      yield* cluster.emit("pods", "DELETED", pod("web-2", "node-b"))
      yield* settle
      expect(json(mapper.nodePodsJson("node-b"))).toEqual({ Nodes: { "node-b": {} } })

      yield* cluster.emit("services", "DELETED", service("web"))
      yield* settle
      expect(json(mapper.nodePodsJson("node-a"))).toEqual({ Nodes: { "node-a": {} } })

      yield* cluster.emit("nodes", "DELETED", node("node-a"))
      yield* settle
      expect(json(mapper.nodePodsJson("node-a")).Warnings).toHaveLength(1)
    })
  )
})
