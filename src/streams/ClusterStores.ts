// The cluster as the agent sees it: one store per watched kind, each fed by its own list+watch
// loop through the reflector, shared by every feature of this replica. Features read stores
// directly and subscribe to changes to keep derived indexes; a periodic resync re-delivers
// every store to subscribers (client-go's resync: level-based handlers re-derive their state).
import { Context, Deferred, type Duration, Effect, Layer, Metric, Schedule, type Scope, Stream } from "effect"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { KubeClient, type KubeClientShape } from "../layers/KubeClient.ts"
import {
  endpointSlices,
  type Kind,
  namespaces,
  nodes,
  pods,
  type SlimEndpointSlice,
  type SlimNamespace,
  type SlimNode,
  type SlimPod,
  type SlimService,
  services
} from "./objects.ts"
import { Store, type StoreChange, type StoreReader } from "./store.ts"
import { defaultWatcherOptions, type WatcherOptions, watcher } from "./watcher.ts"

export interface KindsShape {
  readonly pods: SlimPod
  readonly nodes: SlimNode
  readonly namespaces: SlimNamespace
  readonly services: SlimService
  readonly endpointSlices: SlimEndpointSlice
}
export type KindName = keyof KindsShape

const kinds: { readonly [K in KindName]: Kind<KindsShape[K]> } = { pods, nodes, namespaces, services, endpointSlices }

export type Listener<T> = (change: StoreChange<T>) => void

export interface ClusterStoresShape {
  readonly pods: StoreReader<SlimPod>
  readonly nodes: StoreReader<SlimNode>
  readonly namespaces: StoreReader<SlimNamespace>
  readonly services: StoreReader<SlimService>
  readonly endpointSlices: StoreReader<SlimEndpointSlice>
  /**
   * Calls `listener` synchronously after every change of a kind's store, for the life of the
   * scope. Read the store when subscribing: nothing that happened before is replayed.
   */
  readonly subscribe: <K extends KindName>(
    kind: K,
    listener: Listener<KindsShape[K]>
  ) => Effect.Effect<void, never, Scope.Scope>
  /** Completes once every store has swapped in its first complete list. */
  readonly awaitSynced: Effect.Effect<void>
}

const storeObjects = Metric.gauge("kube_store_objects", { description: "Objects held in a store" })

/** Builds the stores and runs their loops in the current scope. */
export const makeClusterStores = (
  kube: KubeClientShape,
  options: WatcherOptions,
  resyncPeriod: Duration.Duration
): Effect.Effect<ClusterStoresShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const names = Object.keys(kinds) as ReadonlyArray<KindName>
    const stores = new Map<KindName, Store<unknown>>()
    const listeners = new Map<KindName, Set<Listener<unknown>>>()
    for (const name of names) {
      stores.set(name, new Store(kinds[name].key as (o: unknown) => string))
      listeners.set(name, new Set())
    }
    const storeOf = <K extends KindName>(k: K) => stores.get(k) as Store<KindsShape[K]>
    const notify = (k: KindName, change: StoreChange<unknown>) => {
      for (const l of listeners.get(k) ?? []) l(change)
    }

    const synced = yield* Deferred.make<void>()
    const checkSynced = Effect.suspend(() =>
      names.every((n) => stores.get(n)?.synced() === true) ? Deferred.succeed(synced, undefined) : Effect.void
    )

    for (const name of names) {
      const store = stores.get(name) as Store<unknown>
      const gauge = Metric.withAttributes(storeObjects, { kind: kinds[name].name })
      yield* watcher(kube, kinds[name] as Kind<unknown>, options).pipe(
        Stream.runForEach((event) =>
          Effect.gen(function* () {
            const change = store.apply(event)
            if (change === undefined) return
            notify(name, change)
            yield* Metric.update(gauge, store.size())
            if (change._tag === "Replaced") yield* checkSynced
          })
        ),
        Effect.forkScoped
      )
    }

    yield* Effect.forkScoped(
      Effect.sync(() => {
        for (const name of names) {
          const store = stores.get(name) as Store<unknown>
          if (!store.synced()) continue
          const all = store.snapshot()
          notify(name, { _tag: "Replaced", previous: all, current: all })
        }
      }).pipe(Effect.delay(resyncPeriod), Effect.repeat(Schedule.spaced(resyncPeriod)))
    )

    return {
      pods: storeOf("pods"),
      nodes: storeOf("nodes"),
      namespaces: storeOf("namespaces"),
      services: storeOf("services"),
      endpointSlices: storeOf("endpointSlices"),
      subscribe: (kind, listener) =>
        Effect.acquireRelease(
          Effect.sync(() => listeners.get(kind)?.add(listener as Listener<unknown>)),
          () => Effect.sync(() => listeners.get(kind)?.delete(listener as Listener<unknown>))
        ).pipe(Effect.asVoid),
      awaitSynced: Deferred.await(synced)
    } satisfies ClusterStoresShape
  })

export class ClusterStores extends Context.Service<ClusterStores, ClusterStoresShape>()("dca/ClusterStores") {
  static readonly layer = Layer.effect(
    ClusterStores,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const kube = yield* KubeClient
      return yield* makeClusterStores(
        kube,
        defaultWatcherOptions(config.informersRestclientTimeout),
        config.informersResyncPeriod
      )
    })
  )
}
