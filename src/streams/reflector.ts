// The reflector: the one writer of a store. It applies the watcher's events to the store and
// publishes each change, so features follow a kind as a Stream on their own fibers (kube-rs's
// reflector + store + subscriber), never as callbacks on the writer's fiber.
//
// A subscriber's stream starts with the state at the moment it subscribes (when the store has
// synced), then every later change, in order, with nothing missed and nothing twice: changes
// carry the store's version, and those already in the starting state are dropped.
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Store, type StoreChange, type StoreReader, type WatcherEvent } from "./store.ts"

/** A watched kind as a feature sees it. */
export interface Reflected<T> {
  readonly store: StoreReader<T>
  /** The state (once synced), then every change. Each run subscribes anew. */
  readonly changes: Stream.Stream<StoreChange<T>>
  /** Completes once the store holds a first complete list. */
  readonly synced: Effect.Effect<void>
}

/** Changes a slow subscriber may lag behind before the writer waits for it. */
const subscriberBuffer = 1024

const resync = Symbol("resync")

const storeObjects = Metric.gauge("kube_store_objects", { description: "Objects held in a store" })

/**
 * Runs `events` into a new store for the life of the scope; re-delivers the whole store every
 * `resyncPeriod` (client-go's resync: level-based features re-derive their state).
 */
export const reflect = <T>(
  name: string,
  events: Stream.Stream<WatcherEvent<T>>,
  resyncPeriod: Duration.Input
): Effect.Effect<Reflected<T>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const store = new Store<T>()
    const pubsub = yield* PubSub.bounded<StoreChange<T>>(subscriberBuffer)
    const synced = yield* Deferred.make<void>()
    const gauge = Metric.withAttributes(storeObjects, { kind: name })

    // Apply first, publish second: a subscriber that reads the store in between sees the change
    // in its starting state and drops the published copy by its version.
    const publish = (change: StoreChange<T> | undefined) =>
      change === undefined
        ? Effect.void
        : Effect.gen(function* () {
            yield* PubSub.publish(pubsub, change)
            yield* Metric.update(gauge, store.size())
            if (change._tag === "Replaced") yield* Deferred.succeed(synced, undefined)
          })

    // One writer: resync ticks go through the same fiber as the events, so changes are
    // published in the order of their versions.
    const resyncs = Stream.tick(resyncPeriod).pipe(
      Stream.drop(1),
      Stream.map((): typeof resync => resync)
    )
    yield* Stream.merge(events as Stream.Stream<WatcherEvent<T> | typeof resync>, resyncs).pipe(
      Stream.runForEach((event) =>
        publish(event === resync ? (store.synced() ? store.resync() : undefined) : store.apply(event))
      ),
      Effect.forkScoped
    )

    const changes = Stream.unwrap(
      Effect.gen(function* () {
        const subscription = yield* PubSub.subscribe(pubsub)
        const start = store.synced() ? [store.frozen()] : []
        const from = store.version()
        return Stream.concat(
          Stream.fromIterable(start),
          Stream.fromSubscription(subscription).pipe(Stream.filter((change) => change.version > from))
        )
      })
    )
    return { store, changes, synced: Deferred.await(synced) } satisfies Reflected<T>
  })
