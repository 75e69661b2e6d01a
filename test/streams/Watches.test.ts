import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Schedule, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { KubeObject } from "../../src/layers/kube/types.ts"
import type { WatchRequest } from "../../src/streams/request.ts"
import { text } from "../../src/streams/strip.ts"
import { makeWatches } from "../../src/streams/Watches.ts"
import type { WatcherOptions } from "../../src/streams/watcher.ts"
import { fakeCluster } from "../support/fakeCluster.ts"

const options: WatcherOptions = {
  pageSize: 500,
  watchTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(150),
  backoff: Schedule.spaced("1 second")
}

const configMaps = { group: "", version: "v1", resource: "configmaps" }
/** Two features that keep different fields of the same kind. */
const names: WatchRequest<{ readonly name: string }> = {
  name: "configmaps",
  resource: configMaps,
  strip: (o: KubeObject) => ({ name: text(o.metadata?.name) })
}
const owners: WatchRequest<{ readonly owner: string }> = {
  name: "configmaps",
  resource: configMaps,
  strip: (o: KubeObject) => ({ owner: text(o.metadata?.labels?.owner) })
}
const labelled: WatchRequest<{ readonly name: string }> = { ...names, labelSelector: "app=dca" }

const settle = Effect.yieldNow.pipe(Effect.repeat({ times: 20 }))

describe("Watches", () => {
  it.effect("two features asking for the same kind share one list/watch and one store with both their fields", () =>
    Effect.gen(function* () {
      const cluster = yield* fakeCluster
      cluster.seed("configmaps", { metadata: { name: "a", namespace: "ns", labels: { owner: "team-a" } } })
      const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [names, owners])
      const byName = yield* watches.reflect(names)
      const byOwner = yield* watches.reflect(owners)
      yield* byName.synced
      yield* byOwner.synced
      yield* settle
      expect(cluster.lists).toHaveLength(1)
      expect(cluster.openWatches("configmaps")).toBe(1)
      expect(byName.store).toBe(byOwner.store)
      expect(byName.store.get("ns/a")).toEqual({ name: "a", owner: "team-a" })
      yield* cluster.emit("configmaps", "ADDED", { metadata: { name: "b", namespace: "ns", labels: { owner: "x" } } })
      yield* settle
      expect(byOwner.store.get("ns/b")).toEqual({ name: "b", owner: "x" })
    })
  )

  it.effect("a different selector is a different list/watch, and the selector reaches the API server", () =>
    Effect.gen(function* () {
      const cluster = yield* fakeCluster
      const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [names, labelled])
      yield* (yield* watches.reflect(names)).synced
      const filtered = yield* watches.reflect(labelled)
      yield* filtered.synced
      yield* settle
      expect(cluster.lists.map((l) => l.options?.labelSelector)).toEqual([undefined, "app=dca"])
      expect(cluster.watches.map((w) => w.options?.labelSelector)).toEqual([undefined, "app=dca"])
    })
  )

  it.effect("a store runs while someone uses it: the last user's scope closing stops its watch", () =>
    Effect.gen(function* () {
      const cluster = yield* fakeCluster
      const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [names])
      const scope = yield* Scope.make()
      yield* (yield* watches.reflect(names).pipe(Scope.provide(scope))).synced
      yield* settle
      expect(cluster.openWatches("configmaps")).toBe(1)
      yield* Scope.close(scope, Exit.void)
      yield* settle
      expect(cluster.openWatches("configmaps")).toBe(0)
      // A later user starts it again, from a new LIST.
      yield* (yield* watches.reflect(names)).synced
      expect(cluster.lists).toHaveLength(2)
    })
  )

  it.effect("a request the wiring did not declare is a defect that names it", () =>
    Effect.gen(function* () {
      const cluster = yield* fakeCluster
      const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [names])
      const exit = yield* Effect.exit(watches.reflect(labelled))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(
        "watch not declared in the agent's wiring: /v1/configmaps ns=* labels=app=dca"
      )
      expect(cluster.lists).toHaveLength(0)
    })
  )

  it.effect("watch() follows a kind from a cursor, without a store and without listing", () =>
    Effect.gen(function* () {
      const cluster = yield* fakeCluster
      const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [])
      const seen: Array<string> = []
      yield* watches.watch(names, { resumeFrom: "42" }).pipe(
        Stream.runForEach((e) =>
          Effect.sync(() => {
            if (e._tag === "Apply") seen.push(e.object.name)
          })
        ),
        Effect.forkScoped
      )
      yield* settle
      expect(cluster.lists).toHaveLength(0)
      expect(cluster.watches.map((w) => w.options?.resourceVersion)).toEqual(["42"])
      yield* cluster.emit("configmaps", "ADDED", { metadata: { name: "c", namespace: "ns" } })
      yield* settle
      expect(seen).toEqual(["c"])
    })
  )

  it.effect("stats: each running list/watch with its objects, sync, relists, events and last event time", () =>
    Effect.gen(function* () {
      const cluster = yield* fakeCluster
      cluster.seed("configmaps", { metadata: { name: "a", namespace: "ns" } })
      const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [names, labelled])
      expect(yield* watches.stats).toEqual([])
      yield* TestClock.adjust("10 seconds")
      const scope = yield* Scope.make()
      yield* (yield* watches.reflect(names).pipe(Scope.provide(scope))).synced
      yield* settle
      expect(yield* watches.stats).toEqual([
        { kind: "configmaps", objects: 1, synced: true, relists: 1, events: 0, lastEventAt: 10_000 }
      ])
      yield* TestClock.adjust("5 seconds")
      yield* cluster.emit("configmaps", "ADDED", { metadata: { name: "b", namespace: "ns" } })
      yield* settle
      // A watch without a store (a cursor of its own) shows too, without objects or sync.
      const raw = yield* watches.watch(names, { resumeFrom: "42" }).pipe(Stream.runDrain, Effect.forkScoped)
      yield* settle
      expect(yield* watches.stats).toEqual([
        { kind: "configmaps", objects: 2, synced: true, relists: 1, events: 1, lastEventAt: 15_000 },
        { kind: "configmaps", relists: 0, events: 0, lastEventAt: undefined }
      ])
      // Stopped watches leave the list.
      yield* Fiber.interrupt(raw)
      yield* Scope.close(scope, Exit.void)
      yield* settle
      expect(yield* watches.stats).toEqual([])
    })
  )
})
