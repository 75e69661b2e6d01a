// The agent's one watch layer: every feature that follows a kind gets it here, and features that
// ask for the same kind with the same selectors share one list/watch and one store. The
// requests of the enabled features are declared once, in the agent's wiring (src/Agent.ts), so
// that a shared kind's store keeps the union of the fields its features strip to. A store runs
// from the first feature that uses it until the last one's scope closes (a leader-only feature
// stops its watches when it loses the lease).
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RcMap from "effect/RcMap"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { KubeClient, type KubeClientShape } from "../layers/KubeClient.ts"
import { type Reflected, reflect } from "./reflector.ts"
import { groupRequests, unionStrip, type WatchRequest, watchKey } from "./request.ts"
import type { StoreReader, WatcherEvent } from "./store.ts"
import { defaultWatcherOptions, type WatcherOptions, watcher } from "./watcher.ts"

export interface WatchesShape {
  /** The shared store of a declared request (a defect when the wiring did not declare it). */
  readonly reflect: <T>(request: WatchRequest<T>) => Effect.Effect<Reflected<T>, never, Scope.Scope>
  /**
   * The list+watch loop of a request without a store, for a feature that follows a kind from a
   * cursor of its own (event collection resumes from its stored resourceVersion).
   */
  readonly watch: <T>(
    request: WatchRequest<T>,
    options?: { readonly resumeFrom?: string | undefined }
  ) => Stream.Stream<WatcherEvent<T>>
  /** What each running list/watch has done so far (for the status page), in start order. */
  readonly stats: Effect.Effect<ReadonlyArray<WatchStats>>
}

/** One running list/watch as the status page shows it. */
export interface WatchStats {
  /** The request's name (the `kind` attribute of the watch metrics). */
  readonly kind: string
  /** Objects in the shared store; absent for a watch that follows a cursor without a store. */
  readonly objects?: number | undefined
  /** Whether the store holds a complete list (absent without a store). */
  readonly synced?: boolean | undefined
  /** Complete LISTs taken in (the first one included). */
  readonly relists: number
  /** Watch events received (additions, updates, deletions). */
  readonly events: number
  /** When the last LIST or event arrived, in ms since the epoch. */
  readonly lastEventAt?: number | undefined
}

interface Counters {
  readonly kind: string
  store: StoreReader<unknown> | undefined
  relists: number
  events: number
  lastEventAt: number | undefined
}

/** Counts what flows through a watcher's stream into `counters`. */
const counted = <T>(events: Stream.Stream<WatcherEvent<T>>, counters: Counters): Stream.Stream<WatcherEvent<T>> =>
  Stream.tap(events, (event) =>
    event._tag === "Init" || event._tag === "InitPage"
      ? Effect.void
      : Effect.map(Clock.currentTimeMillis, (now) => {
          if (event._tag === "InitDone") counters.relists++
          else counters.events++
          counters.lastEventAt = now
        })
  )

// biome-ignore lint/suspicious/noExplicitAny: a list of requests of different object types
export type AnyWatchRequest = WatchRequest<any>

/** The watch layer over a client, for the life of the scope. */
export const makeWatches = (
  kube: KubeClientShape,
  options: WatcherOptions,
  resyncPeriod: Duration.Duration,
  declared: ReadonlyArray<AnyWatchRequest>
): Effect.Effect<WatchesShape, never, Scope.Scope> =>
  Effect.gen(function* () {
    const groups = groupRequests(declared)
    // The counters of every running list/watch, for as long as it runs.
    const running = new Set<Counters>()
    const track = (counters: Counters) =>
      Effect.acquireRelease(
        Effect.sync(() => running.add(counters)),
        () => Effect.sync(() => running.delete(counters))
      )
    const stores = yield* RcMap.make({
      lookup: (key: string) => {
        const requests = groups.get(key) ?? []
        const [first] = requests
        if (first === undefined) return Effect.die(new Error(`watch not declared in the agent's wiring: ${key}`))
        const shared: WatchRequest<unknown> = { ...first, strip: unionStrip(requests) }
        return Effect.gen(function* () {
          const counters: Counters = {
            kind: first.name,
            store: undefined,
            relists: 0,
            events: 0,
            lastEventAt: undefined
          }
          const reflected = yield* reflect(first.name, counted(watcher(kube, shared, options), counters), resyncPeriod)
          counters.store = reflected.store
          yield* track(counters)
          return reflected
        })
      }
    })
    return {
      reflect: <T>(request: WatchRequest<T>) =>
        RcMap.get(stores, watchKey(request)) as Effect.Effect<Reflected<T>, never, Scope.Scope>,
      watch: (request, watchOptions) =>
        Stream.unwrap(
          Effect.gen(function* () {
            const counters: Counters = {
              kind: request.name,
              store: undefined,
              relists: 0,
              events: 0,
              lastEventAt: undefined
            }
            yield* track(counters)
            return counted(watcher(kube, request, { ...options, resumeFrom: watchOptions?.resumeFrom }), counters)
          })
        ),
      stats: Effect.sync(() =>
        [...running].map(
          (c): WatchStats => ({
            kind: c.kind,
            ...(c.store === undefined ? {} : { objects: c.store.size(), synced: c.store.synced() }),
            relists: c.relists,
            events: c.events,
            lastEventAt: c.lastEventAt
          })
        )
      )
    } satisfies WatchesShape
  })

export class Watches extends Context.Service<Watches, WatchesShape>()("dca/Watches") {
  /** The watch layer for the given requests (those of the enabled features). */
  static readonly layer = (
    requests: ReadonlyArray<AnyWatchRequest>
  ): Layer.Layer<Watches, never, KubeClient | ClusterAgentConfig> =>
    Layer.effect(
      Watches,
      Effect.gen(function* () {
        const config = yield* ClusterAgentConfig
        return yield* makeWatches(
          yield* KubeClient,
          defaultWatcherOptions(config.informersRestclientTimeout),
          config.informersResyncPeriod,
          requests
        )
      })
    )
}
