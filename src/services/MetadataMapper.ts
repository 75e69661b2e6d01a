// The metadata mapper: what node agents poll (pod → services per node, node labels and host-alias
// annotations, namespace labels and metadata), answered from memory. Runs on every replica. The
// per-node answer is cached as JSON text and dropped when anything it depends on changes, so the
// hot path (one request per node agent per minute) is a map lookup.
import { Context, Effect, Layer } from "effect"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { ClusterStores, type ClusterStoresShape } from "../streams/ClusterStores.ts"
import { endpointSlices, type Labels, type SlimNamespace, type SlimPod } from "../streams/objects.ts"
import type { StoreChange } from "../streams/store.ts"
import { Health } from "./Health.ts"
import { MetadataIndex } from "./metadata/MetadataIndex.ts"
import { allNodesResponse, nodeResponse, podTags, type Stores } from "./metadata/views.ts"

export interface MetadataMapperShape {
  /** False when DD_KUBERNETES_COLLECT_METADATA_TAGS or DD_USE_METADATA_MAPPER is off. */
  readonly enabled: boolean
  /** `GET /api/v1/tags/pod/{node}` as JSON bytes (cached per node: the hot path). */
  readonly nodePodsJson: (node: string) => Buffer
  /** `GET /api/v1/tags/pod` (every node) as JSON text. */
  readonly allNodesJson: () => string
  /** `GET /api/v1/tags/pod/{node}/{ns}/{pod}` as JSON text. */
  readonly podTagsJson: (node: string, namespace: string, pod: string) => string
  readonly nodeLabels: (node: string) => Labels | undefined
  readonly nodeAnnotations: (node: string) => Labels | undefined
  readonly namespace: (name: string) => SlimNamespace | undefined
}

const emptyStore = {
  get: () => undefined,
  has: () => false,
  size: () => 0,
  values: () => [][Symbol.iterator](),
  synced: () => false,
  snapshot: () => new Map()
}

const emptyStores: Stores = { pods: emptyStore, nodes: emptyStore, services: emptyStore, namespaces: emptyStore }

/** Builds the mapper over the stores, subscribed for the life of the scope. */
export const makeMetadataMapper = (stores: ClusterStoresShape) =>
  Effect.gen(function* () {
    const index = new MetadataIndex()
    const cache = new Map<string, Buffer>()
    const forget = (nodes: Iterable<string> | undefined) => {
      if (nodes === undefined) cache.clear()
      else for (const n of nodes) cache.delete(n)
    }
    const podNodes = (change: StoreChange<SlimPod>) =>
      change._tag === "Applied"
        ? [change.previous?.nodeName ?? "", change.current.nodeName]
        : change._tag === "Deleted"
          ? [change.previous.nodeName]
          : undefined

    yield* stores.subscribe("endpointSlices", (change) => forget(index.follow(change, endpointSlices.key)))
    yield* stores.subscribe("pods", (change) => forget(podNodes(change)))
    yield* stores.subscribe("nodes", (change) =>
      forget(
        change._tag === "Replaced"
          ? undefined
          : [change._tag === "Applied" ? change.current.name : change.previous.name]
      )
    )
    // Services change rarely and a service spans nodes: drop every cached answer.
    yield* stores.subscribe("services", () => forget(undefined))
    // Subscribed first, then built from what the store holds: nothing can slip between.
    index.follow(
      { _tag: "Replaced", previous: new Map(), current: stores.endpointSlices.snapshot() },
      endpointSlices.key
    )
    cache.clear()

    return {
      enabled: true,
      nodePodsJson: (node) => {
        const cached = cache.get(node)
        if (cached !== undefined) return cached
        const json = Buffer.from(JSON.stringify(nodeResponse(index, stores, node)), "utf8")
        // Unknown nodes are not cached: a node that appears is answered at once.
        if (stores.nodes.has(node)) cache.set(node, json)
        return json
      },
      allNodesJson: () => JSON.stringify(allNodesResponse(index, stores)),
      podTagsJson: (node, namespace, pod) => JSON.stringify(podTags(index, stores, node, namespace, pod)),
      nodeLabels: (node) => stores.nodes.get(node)?.labels,
      nodeAnnotations: (node) => stores.nodes.get(node)?.annotations,
      namespace: (name) => stores.namespaces.get(name)
    } satisfies MetadataMapperShape
  })

/** The mapper when metadata collection is off: every node and namespace is unknown. */
export const disabledMetadataMapper: MetadataMapperShape = {
  enabled: false,
  nodePodsJson: (node) => Buffer.from(JSON.stringify(nodeResponse(new MetadataIndex(), emptyStores, node))),
  allNodesJson: () => "{}",
  podTagsJson: () => "null",
  nodeLabels: () => undefined,
  nodeAnnotations: () => undefined,
  namespace: () => undefined
}

export class MetadataMapper extends Context.Service<MetadataMapper, MetadataMapperShape>()("dca/MetadataMapper") {
  /**
   * Watches the cluster (through ClusterStores) when enabled, and registers the `metadata`
   * readiness component, healthy once every store has synced.
   */
  static readonly layer = Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      if (!config.collectMetadataTags || !config.useMetadataMapper) {
        yield* Effect.logInfo("metadata mapper disabled").pipe(
          Effect.annotateLogs({
            DD_KUBERNETES_COLLECT_METADATA_TAGS: config.collectMetadataTags,
            DD_USE_METADATA_MAPPER: config.useMetadataMapper
          })
        )
        return Layer.succeed(MetadataMapper, disabledMetadataMapper)
      }
      return Layer.effect(
        MetadataMapper,
        Effect.gen(function* () {
          const stores = yield* ClusterStores
          const health = yield* (yield* Health).register("metadata", ["ready"])
          yield* Effect.forkScoped(
            Effect.gen(function* () {
              yield* stores.awaitSynced
              yield* health.set(true)
              yield* Effect.logInfo("cluster metadata synced").pipe(
                Effect.annotateLogs({
                  nodes: stores.nodes.size(),
                  pods: stores.pods.size(),
                  services: stores.services.size(),
                  endpointSlices: stores.endpointSlices.size(),
                  namespaces: stores.namespaces.size()
                })
              )
            })
          )
          return yield* makeMetadataMapper(stores)
        })
      ).pipe(Layer.provide(ClusterStores.layer))
    })
  )
}
