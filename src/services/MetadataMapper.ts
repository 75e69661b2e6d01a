// The metadata mapper: what node agents poll (pod → services per node, node labels and host-alias
// annotations, namespace labels and metadata), answered from memory. Runs on every replica. The
// per-node answer is cached as JSON text and dropped when anything it depends on changes, so the
// hot path (one request per node agent per minute) is a map lookup.
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "../layers/Config.ts"
import type { Reflected } from "../streams/reflector.ts"
import type { StoreChange } from "../streams/store.ts"
import { Watches, type WatchesShape } from "../streams/Watches.ts"
import { Health } from "./Health.ts"
import { MetadataIndex } from "./metadata/MetadataIndex.ts"
import {
  endpointSlices,
  type Labels,
  metadataWatches,
  namespaces,
  nodes,
  pods,
  type SlimEndpointSlice,
  type SlimNamespace,
  type SlimNode,
  type SlimPod,
  type SlimService,
  services
} from "./metadata/objects.ts"
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
  /** What the mapper holds, for the status page (undefined when disabled). */
  readonly stats: () => MetadataMapperStats | undefined
}

export interface MetadataMapperStats {
  /** True once the index has taken in a complete list of every kind (the `metadata` readiness). */
  readonly synced: boolean
  readonly nodes: number
  readonly pods: number
  readonly services: number
  readonly endpointSlices: number
  readonly namespaces: number
  /** Pods backed by at least one service: the entries node agents get. */
  readonly podsWithServices: number
}

const emptyStore = {
  get: () => undefined,
  has: () => false,
  size: () => 0,
  values: () => [][Symbol.iterator](),
  synced: () => false,
  snapshot: () => new Map(),
  version: () => 0
}

const emptyStores: Stores = { pods: emptyStore, nodes: emptyStore, services: emptyStore, namespaces: emptyStore }

/** The watched kinds the mapper reads. */
export interface MetadataSources {
  readonly pods: Reflected<SlimPod>
  readonly nodes: Reflected<SlimNode>
  readonly namespaces: Reflected<SlimNamespace>
  readonly services: Reflected<SlimService>
  readonly endpointSlices: Reflected<SlimEndpointSlice>
}

/** The mapper's five kinds from the shared watch layer, for the life of the scope. */
export const reflectMetadataSources = (watches: WatchesShape): Effect.Effect<MetadataSources, never, Scope.Scope> =>
  Effect.all({
    pods: watches.reflect(pods),
    nodes: watches.reflect(nodes),
    namespaces: watches.reflect(namespaces),
    services: watches.reflect(services),
    endpointSlices: watches.reflect(endpointSlices)
  })

/** The nodes whose answers a change may alter; undefined: all of them. */
const nodesOfPod = (change: StoreChange<SlimPod>): ReadonlyArray<string> | undefined =>
  change._tag === "Applied"
    ? [change.previous?.nodeName ?? "", change.current.nodeName]
    : change._tag === "Deleted"
      ? [change.previous.nodeName]
      : undefined
const nodesOfNode = (change: StoreChange<SlimNode>): ReadonlyArray<string> | undefined =>
  change._tag === "Replaced" ? undefined : [change.key]

/**
 * Builds the mapper over the sources and follows their changes on fibers of the scope. The
 * returned effect `caughtUp` completes once the index and cache have taken in a complete list
 * of every kind.
 */
export const makeMetadataMapper = (sources: MetadataSources) =>
  Effect.gen(function* () {
    const index = new MetadataIndex()
    const cache = new Map<string, Buffer>()
    const forget = (nodes: Iterable<string> | undefined) => {
      if (nodes === undefined) cache.clear()
      else for (const n of nodes) cache.delete(n)
    }
    const stores: Stores = {
      pods: sources.pods.store,
      nodes: sources.nodes.store,
      services: sources.services.store,
      namespaces: sources.namespaces.store
    }

    /** Follows one kind's changes; completes `caughtUp` at its first complete state. */
    const follow = <T>(reflected: Reflected<T>, onChange: (change: StoreChange<T>) => void) =>
      Effect.gen(function* () {
        const caughtUp = yield* Deferred.make<void>()
        yield* reflected.changes.pipe(
          Stream.runForEach((change) =>
            Effect.suspend(() => {
              onChange(change)
              return change._tag === "Replaced" ? Deferred.succeed(caughtUp, undefined) : Effect.void
            })
          ),
          Effect.forkScoped
        )
        return Deferred.await(caughtUp)
      })

    let synced = false
    const caughtUp = [
      yield* follow(sources.endpointSlices, (change) => forget(index.follow(change))),
      yield* follow(sources.pods, (change) => forget(nodesOfPod(change))),
      yield* follow(sources.nodes, (change) => forget(nodesOfNode(change))),
      // Services change rarely and a service spans nodes: drop every cached answer.
      yield* follow(sources.services, () => forget(undefined)),
      sources.namespaces.synced
    ]

    const mapper: MetadataMapperShape = {
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
      namespace: (name) => stores.namespaces.get(name),
      stats: () => {
        let podsWithServices = 0
        for (const node of index.nodeNames()) {
          for (const pods of index.entries(node)?.values() ?? []) podsWithServices += pods.size
        }
        return {
          synced,
          nodes: stores.nodes.size(),
          pods: stores.pods.size(),
          services: stores.services.size(),
          endpointSlices: sources.endpointSlices.store.size(),
          namespaces: stores.namespaces.size(),
          podsWithServices
        }
      }
    }
    const allCaughtUp = Effect.all(caughtUp, { discard: true }).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          synced = true
        })
      )
    )
    return { mapper, caughtUp: allCaughtUp }
  })

/** The mapper when metadata collection is off: every node and namespace is unknown. */
export const disabledMetadataMapper: MetadataMapperShape = {
  enabled: false,
  nodePodsJson: (node) => Buffer.from(JSON.stringify(nodeResponse(new MetadataIndex(), emptyStores, node))),
  allNodesJson: () => "{}",
  podTagsJson: () => "null",
  nodeLabels: () => undefined,
  nodeAnnotations: () => undefined,
  namespace: () => undefined,
  stats: () => undefined
}

const enabled = (config: ClusterAgentConfigShape) => config.collectMetadataTags && config.useMetadataMapper

export class MetadataMapper extends Context.Service<MetadataMapper, MetadataMapperShape>()("dca/MetadataMapper") {
  /** The watches the mapper needs under this configuration (none when it is off). */
  static readonly watches = (config: ClusterAgentConfigShape) => (enabled(config) ? metadataWatches : [])

  /**
   * Follows the cluster through the shared watch layer when enabled, and registers the
   * `metadata` readiness component, healthy once the index holds a complete list of every kind.
   */
  static readonly layer = Layer.unwrap(
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      if (!enabled(config)) {
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
          const sources = yield* reflectMetadataSources(yield* Watches)
          const health = yield* (yield* Health).register("metadata", ["ready"])
          const { mapper, caughtUp } = yield* makeMetadataMapper(sources)
          yield* Effect.forkScoped(
            Effect.gen(function* () {
              yield* caughtUp
              yield* health.set(true)
              yield* Effect.logInfo("cluster metadata synced").pipe(
                Effect.annotateLogs({
                  nodes: sources.nodes.store.size(),
                  pods: sources.pods.store.size(),
                  services: sources.services.store.size(),
                  endpointSlices: sources.endpointSlices.store.size(),
                  namespaces: sources.namespaces.store.size()
                })
              )
            })
          )
          return mapper
        })
      )
    })
  )
}
