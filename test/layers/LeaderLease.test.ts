// The elector: on the test clock over an in-memory API server (objects with resourceVersions,
// 409 on a stale write, switches that make requests fail or hang), and against the real
// control plane with several electors in one process.
import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Exit, Fiber, Layer, Metric, Option, Ref, Scope, Stream } from "effect"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { KubeClient, type KubeClientShape, KubeError } from "../../src/layers/KubeClient.ts"
import type { ConfigMap, KubeObject, Lease, ResourceRef } from "../../src/layers/kube/types.ts"
import {
  LeaderLease,
  type LeaderLeaseOptions,
  type LeaderLeaseShape,
  makeLeaderLease,
  restartDelay
} from "../../src/layers/LeaderLease.ts"
import { isServed } from "../../src/layers/leader/lock.ts"
import { decodeAnnotation, leaderAnnotation, recordFromLeaseSpec } from "../../src/layers/leader/record.ts"
import { formatPrometheus } from "../../src/lib/prometheus.ts"
import { Health } from "../../src/services/Health.ts"
import { makeWatches, Watches } from "../../src/streams/Watches.ts"
import { defaultWatcherOptions } from "../../src/streams/watcher.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { advance, captureLogs } from "../support/effectTest.ts"
import { parsePrometheus } from "../support/prometheus.ts"

// --- an in-memory API server for Leases and ConfigMaps ---------------------------------------

type Kind = "leases" | "configmaps"

interface Switches {
  /** Every request fails with a Transport error. */
  down: boolean
  /** Writes fail (reads still answer). */
  writesFail: boolean
  /** Requests never answer. */
  hang: boolean
  /** Every request is refused with 403 (an RBAC gap). */
  forbidden: boolean
}

interface Call {
  readonly at: number
  readonly verb: "GET" | "POST" | "PUT"
  readonly kind: Kind
  readonly by: string
  readonly object?: KubeObject
}

const memoryServer = () => {
  let rv = 100
  const objects = new Map<string, KubeObject>()
  const calls: Array<Call> = []
  const key = (kind: Kind, ns: string, name: string) => `${kind}/${ns}/${name}`
  const fail = (reason: KubeError["reason"], verb: string, detail: string, apiReason?: string) =>
    new KubeError({ reason, verb, path: "/memory", detail, ...(apiReason === undefined ? {} : { apiReason }) })

  /** A KubeClient for one replica, with its own failure switches. */
  const client = (by: string) => {
    const switches: Switches = { down: false, writesFail: false, hang: false, forbidden: false }
    const request = <A>(verb: Call["verb"], kind: Kind, serve: () => A | KubeError, object?: KubeObject) =>
      Effect.gen(function* () {
        calls.push({ at: yield* Clock.currentTimeMillis, verb, kind, by, ...(object ? { object } : {}) })
        if (switches.hang) return yield* Effect.never
        if (switches.down) return yield* fail("Transport", verb, "connect ECONNREFUSED")
        if (switches.forbidden) return yield* fail("Forbidden", verb, "leases is forbidden", "Forbidden")
        if (switches.writesFail && verb !== "GET")
          return yield* fail("ServerError", verb, "etcdserver: request timed out")
        const answer = serve()
        return answer instanceof KubeError ? yield* answer : answer
      })
    const ops = <T extends KubeObject>(kind: Kind) => ({
      get: (ns: string, name: string) =>
        request("GET", kind, () => {
          const found = objects.get(key(kind, ns, name))
          // The API server's 404 of a missing object names it.
          return found === undefined
            ? fail("NotFound", "GET", `${kind} ${JSON.stringify(name)} not found`, "NotFound")
            : (structuredClone(found) as T)
        }),
      create: (ns: string, object: T) =>
        request(
          "POST",
          kind,
          () => {
            const k = key(kind, ns, object.metadata?.name ?? "")
            if (objects.has(k)) return fail("Conflict", "POST", "already exists", "AlreadyExists")
            const stored = { ...object, metadata: { ...object.metadata, namespace: ns, resourceVersion: String(++rv) } }
            objects.set(k, stored)
            return structuredClone(stored) as T
          },
          object
        ),
      replace: (ns: string, object: T) =>
        request(
          "PUT",
          kind,
          () => {
            const k = key(kind, ns, object.metadata?.name ?? "")
            const current = objects.get(k)
            if (current === undefined) return fail("NotFound", "PUT", "not found", "NotFound")
            if (current.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
              return fail("Conflict", "PUT", "the object has been modified", "Conflict")
            }
            const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++rv) } }
            objects.set(k, stored)
            return structuredClone(stored) as T
          },
          object
        )
    })
    const leases = ops<Lease>("leases")
    const configMaps = ops<ConfigMap>("configmaps")
    const kube: KubeClientShape = fakeKubeClient({
      getLease: leases.get,
      createLease: leases.create,
      replaceLease: leases.replace,
      getConfigMap: configMaps.get,
      createConfigMap: configMaps.create,
      replaceConfigMap: configMaps.replace,
      // Discovery asks for the lock's Lease: this server serves leases.
      get: <T extends KubeObject>(resource: ResourceRef, name: string) =>
        leases.get(resource.namespace ?? "", name) as unknown as Effect.Effect<T, KubeError>
    })
    return { kube, switches }
  }

  /** Puts an object in place, as another writer would. */
  const put = (kind: Kind, ns: string, object: KubeObject) => {
    objects.set(key(kind, ns, object.metadata?.name ?? ""), {
      ...object,
      metadata: { ...object.metadata, namespace: ns, resourceVersion: String(++rv) }
    })
  }
  const lease = (ns = "ns", name = "lock") => objects.get(key("leases", ns, name)) as Lease | undefined
  const leaseRecord = (ns = "ns", name = "lock") => recordFromLeaseSpec(lease(ns, name)?.spec).record
  const configMap = (ns = "ns", name = "lock") => objects.get(key("configmaps", ns, name)) as ConfigMap | undefined
  return { client, calls, put, lease, leaseRecord, configMap }
}

// --- helpers -----------------------------------------------------------------------------------

const options = (kube: KubeClientShape, extra: Partial<LeaderLeaseOptions> = {}): LeaderLeaseOptions => ({
  kube,
  identity: "dca-a",
  namespace: "ns",
  name: "lock",
  lock: "Lease",
  leaseDuration: "60 seconds",
  releaseOnShutdown: true,
  ...extra
})

/** An elector with its own metric registry (several run in one test). */
const start = (opts: LeaderLeaseOptions) =>
  Effect.gen(function* () {
    const registry: Metric.MetricRegistry = new Map()
    const lease = yield* makeLeaderLease(opts).pipe(Effect.provideService(Metric.MetricRegistry, registry))
    yield* Effect.yieldNow
    const metrics = () =>
      parsePrometheus(formatPrometheus(Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry))))
    return { lease, metrics }
  })

/** Records every change of `leadership`, with its test-clock time. */
const recordLeadership = (lease: LeaderLeaseShape) =>
  Effect.gen(function* () {
    const changes: Array<{ at: number; leading: boolean }> = []
    yield* Effect.forkChild(
      Stream.runForEach(lease.leadership, (leading) =>
        Effect.map(Clock.currentTimeMillis, (at) => {
          changes.push({ at, leading })
        })
      )
    )
    yield* Effect.yieldNow
    return changes
  })

/** Leader work that runs until interrupted, taking `stopMillis` to stop; records when. */
const trackedWork = (stopMillis = 0) => {
  const log: Array<{ event: "started" | "stopping" | "stopped"; at: number }> = []
  const note = (event: "started" | "stopping" | "stopped") =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => Effect.sync(() => log.push({ event, at })))
  const work = Effect.acquireRelease(note("started"), () =>
    note("stopping").pipe(Effect.andThen(Effect.sleep(Duration.millis(stopMillis))), Effect.andThen(note("stopped")))
  ).pipe(Effect.andThen(Effect.never))
  return { work, log }
}

const samples = (metrics: ReturnType<typeof parsePrometheus>, name: string) =>
  metrics.samples.filter((s) => s.name === name)

// --- unit tests on the test clock -------------------------------------------------------------

/** A watch layer that delivers nothing: the elector then only polls, like client-go. */
const quietWatches = Layer.succeed(Watches, {
  reflect: () => Effect.die(new Error("no store in these tests")),
  watch: () => Stream.never,
  stats: Effect.succeed([])
})

describe("LeaderLease (in-memory API server, test clock)", () => {
  it.effect("acquires a free lock at once, then renews every retry period without reading", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const server = memoryServer()
      const { kube } = server.client("dca-a")
      const { lease } = yield* start(options(kube))
      yield* advance("1 second")
      expect(yield* lease.isLeader).toBe(true)
      expect(server.leaseRecord()).toMatchObject({ holderIdentity: "dca-a", leaseDurationSeconds: 60, transitions: 0 })
      const acquired = server.leaseRecord().acquireTime
      expect(server.calls.map((c) => c.verb)).toEqual(["GET", "POST"])

      yield* advance("61 seconds")
      const renewals = server.calls.slice(2)
      expect(renewals.map((c) => c.verb)).toEqual(["PUT", "PUT", "PUT", "PUT"])
      expect(renewals.map((c) => c.at)).toEqual([15_000, 30_000, 45_000, 60_000])
      expect(server.leaseRecord()).toMatchObject({ holderIdentity: "dca-a", transitions: 0, acquireTime: acquired })
      expect(server.leaseRecord().renewTime).toEqual(new Date(60_000))
      expect(server.lease()?.spec?.renewTime).toBe("1970-01-01T00:01:00.000000Z")

      const status = yield* lease.status
      expect(status).toEqual({
        state: "Running",
        leaderName: "dca-a",
        acquiredTime: new Date(0),
        renewedTime: new Date(60_000),
        transitions: 0,
        error: undefined
      })
      const became = logs.lines.filter((l) => l.message === "became leader")
      expect(became).toHaveLength(1)
      expect(became[0]?.annotations).toMatchObject({
        identity: "dca-a",
        lock: "Lease ns/lock",
        lockName: "ns/lock",
        lockChoice: "Lease"
      })
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a follower waits a full lease duration of an unchanged foreign record, then takes over", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const server = memoryServer()
      server.put("leases", "ns", {
        metadata: { name: "lock" },
        spec: { holderIdentity: "old-pod", leaseDurationSeconds: 60, leaseTransitions: 7 }
      })
      const { lease } = yield* start(options(server.client("dca-a").kube))
      const changes = yield* recordLeadership(lease)
      yield* advance("59 seconds")
      expect(yield* lease.isLeader).toBe(false)
      expect(yield* lease.status).toMatchObject({ state: "Running", leaderName: "old-pod", transitions: 7 })
      expect(logs.lines.some((l) => l.message === "new leader observed: old-pod")).toBe(true)
      expect(server.calls.every((c) => c.verb === "GET")).toBe(true)

      // It tries again the moment the lease it observed runs out (60 s of local observation),
      // not up to 2.2 retry periods later, and takes it.
      yield* advance("35 seconds")
      const won = changes.find((c) => c.leading)
      expect(won?.at).toBeGreaterThanOrEqual(60_000)
      expect(won?.at).toBeLessThanOrEqual(60_000 + 100)
      expect(server.leaseRecord()).toMatchObject({ holderIdentity: "dca-a", transitions: 8 })
      // Before that, acquire attempts were jittered retry periods apart (15-33 s); the last one
      // came early, at the expiry.
      const gets = server.calls.filter((c) => c.verb === "GET" && c.at <= (won?.at ?? 0)).map((c) => c.at)
      const gaps = gets.slice(1).map((at, i) => at - (gets[i] ?? 0))
      for (const gap of gaps.slice(0, -1)) {
        expect(gap).toBeGreaterThanOrEqual(15_000)
        expect(gap).toBeLessThanOrEqual(33_000)
      }
      expect(gets.at(-1)).toBeGreaterThanOrEqual(60_000)
      expect(gets.at(-1)).toBeLessThanOrEqual(60_000 + 100)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect(
    "failed renewals end leadership: the work is interrupted and has finished before the renew deadline",
    () => {
      const logs = captureLogs()
      return Effect.gen(function* () {
        const server = memoryServer()
        const a = server.client("dca-a")
        const { lease } = yield* start(options(a.kube))
        const changes = yield* recordLeadership(lease)
        const { work, log } = trackedWork(2000)
        yield* Effect.forkChild(lease.whileLeader("events", work))
        yield* advance("20 seconds")
        expect(log.map((e) => e.event)).toEqual(["started"])
        const lastRenewal = Math.max(...server.calls.filter((c) => c.verb === "PUT").map((c) => c.at))
        expect(lastRenewal).toBe(15_000)

        a.switches.writesFail = true
        yield* advance("30 seconds")
        // Retries came every 3.75 s after the first failure (each a direct PUT, then a read and
        // a PUT), and none succeeded.
        const retries = server.calls.filter((c) => c.at > lastRenewal).map((c) => `${c.at} ${c.verb}`)
        expect(retries.slice(0, 6)).toEqual([
          "30000 PUT",
          "30000 GET",
          "30000 PUT",
          "33750 PUT",
          "33750 GET",
          "33750 PUT"
        ])
        expect(new Set(server.calls.filter((c) => c.at > lastRenewal).map((c) => c.at))).toEqual(
          new Set([30_000, 33_750, 37_500, 41_250])
        )
        const deadline = lastRenewal + 30_000
        const lost = changes.find((c) => !c.leading && c.at > 0)
        expect(lost?.at).toBe(deadline - 3750)
        expect(log).toEqual([
          { event: "started", at: 0 },
          { event: "stopping", at: deadline - 3750 },
          { event: "stopped", at: deadline - 1750 }
        ])
        expect(yield* lease.isLeader).toBe(false)
        const stopped = logs.lines.find((l) => l.message === "stopped leading")
        expect(stopped?.annotations.reason).toBe("no renewal succeeded within the renew deadline")
        expect(yield* lease.status).toMatchObject({
          state: "Failing",
          error: "PUT /memory: ServerError: etcdserver: request timed out"
        })
        expect(logs.lines.some((l) => l.level === "Warn" && l.message.includes("did not stop"))).toBe(false)
      }).pipe(Effect.provide(logs.layer))
    }
  )

  it.effect("work that takes longer than the stop grace to stop is logged", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const server = memoryServer()
      const a = server.client("dca-a")
      const { lease } = yield* start(options(a.kube))
      const { work, log } = trackedWork(5000)
      yield* Effect.forkChild(lease.whileLeader("slow", work))
      yield* advance("1 second")
      a.switches.down = true
      yield* advance("35 seconds")
      const stopping = log.find((e) => e.event === "stopping")?.at
      expect(stopping).toBe(26_250)
      expect(log.find((e) => e.event === "stopped")?.at).toBe(31_250)
      const late = logs.lines.filter((l) => l.annotations.work === "slow" && l.level === "Warn")
      expect(late.map((l) => l.message)).toEqual([
        "leader work did not stop within the stop grace; the renew deadline is at risk",
        "leader work stopped late"
      ])
      expect(late[0]?.annotations).toMatchObject({ identity: "dca-a" })
      expect(late[1]?.annotations.stopMillis).toBe(5000)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a hung request does not delay the stop; the next term restarts the work", () =>
    Effect.gen(function* () {
      const server = memoryServer()
      const a = server.client("dca-a")
      const { lease } = yield* start(options(a.kube))
      const { work, log } = trackedWork()
      yield* Effect.forkChild(lease.whileLeader("events", work))
      yield* advance("1 second")
      a.switches.hang = true
      yield* advance("40 seconds")
      // Last renewal at 0 (the create): work stopped at 30 - 3.75 s.
      expect(log.filter((e) => e.event === "stopping").map((e) => e.at)).toEqual([26_250])
      expect(yield* lease.isLeader).toBe(false)
      expect((yield* lease.status).error).toBe("no answer within 7500 ms")

      // The API server answers again: our own record is still there, so we renew it and lead again.
      a.switches.hang = false
      yield* advance("40 seconds")
      expect(yield* lease.isLeader).toBe(true)
      expect(log.filter((e) => e.event === "started")).toHaveLength(2)
      expect(server.leaseRecord()).toMatchObject({ holderIdentity: "dca-a", transitions: 0 })
      expect((yield* lease.status).state).toBe("Running")
    })
  )

  it.effect(
    "two electors: one leads; when it cannot reach the API server the other takes over after its work stopped",
    () =>
      Effect.gen(function* () {
        const server = memoryServer()
        const a = server.client("dca-a")
        const b = server.client("dca-b")
        const leaderA = yield* start(options(a.kube))
        yield* advance("1 second")
        const leaderB = yield* start(options(b.kube, { identity: "dca-b" }))
        const changesB = yield* recordLeadership(leaderB.lease)
        const workA = trackedWork(1000)
        const workB = trackedWork()
        yield* Effect.forkChild(leaderA.lease.whileLeader("w", workA.work))
        yield* Effect.forkChild(leaderB.lease.whileLeader("w", workB.work))
        yield* advance("100 seconds")
        expect(yield* leaderA.lease.isLeader).toBe(true)
        expect(yield* leaderB.lease.isLeader).toBe(false)
        expect(yield* leaderB.lease.status).toMatchObject({ leaderName: "dca-a", state: "Running" })
        expect(workB.log).toEqual([])

        a.switches.down = true
        const lastWriteA = Math.max(
          ...server.calls.filter((c) => c.by === "dca-a" && c.verb === "PUT").map((c) => c.at)
        )
        yield* advance("120 seconds")
        expect(yield* leaderA.lease.isLeader).toBe(false)
        expect(yield* leaderB.lease.isLeader).toBe(true)
        expect(server.leaseRecord()).toMatchObject({ holderIdentity: "dca-b", transitions: 1 })
        const tookOver = changesB.find((c) => c.leading)?.at ?? Number.NaN
        const stoppedA = workA.log.find((e) => e.event === "stopped")?.at ?? Number.NaN
        // A's work was over before B's began, and B waited a lease duration since A's last write.
        expect(stoppedA).toBeLessThan(lastWriteA + 30_000)
        expect(stoppedA).toBeLessThan(tookOver)
        expect(tookOver).toBeGreaterThanOrEqual(lastWriteA + 60_000)
        expect(workB.log[0]).toEqual({ event: "started", at: tookOver })

        // A comes back as a follower and sees the new leader.
        a.switches.down = false
        yield* advance("40 seconds")
        expect(yield* leaderA.lease.isLeader).toBe(false)
        expect(yield* leaderA.lease.status).toMatchObject({ state: "Running", leaderName: "dca-b", transitions: 1 })
      })
  )

  it.effect("steps down at once when the lock shows another holder, without waiting for the deadline", () =>
    Effect.gen(function* () {
      const server = memoryServer()
      const { lease } = yield* start(options(server.client("dca-a").kube))
      const changes = yield* recordLeadership(lease)
      yield* advance("20 seconds")
      // Someone else writes the lock (a takeover we could not see coming).
      server.put("leases", "ns", {
        metadata: { name: "lock" },
        spec: { holderIdentity: "intruder", leaseDurationSeconds: 60 }
      })
      yield* advance("11 seconds")
      const lost = changes.filter((c) => !c.leading && c.at > 0)
      // The renewal at 30 s hit a 409, read the lock and stopped then.
      expect(lost.map((c) => c.at)).toEqual([30_000])
      expect(yield* lease.status).toMatchObject({ leaderName: "intruder", state: "Running" })
    })
  )

  it.effect("restarts work that fails or ends while leading, after a growing backoff, and logs its name", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const server = memoryServer()
      const { lease } = yield* start(options(server.client("dca-a").kube))
      const runs: Array<number> = []
      let n = 0
      const work = Effect.gen(function* () {
        runs.push(yield* Clock.currentTimeMillis)
        n++
        if (n % 2 === 0) return "ended"
        return yield* Effect.fail("boom")
      })
      yield* Effect.forkChild(lease.whileLeader("token refresh", work))
      yield* advance("20 seconds")
      expect(runs).toEqual([0, 1000, 3000, 7000, 15_000])
      expect([1, 2, 3, 4, 5, 6, 7].map(restartDelay)).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
      const warnings = logs.lines.filter((l) => l.level === "Warn")
      expect(warnings[0]).toMatchObject({ annotations: { work: "token refresh", restartInMillis: 1000 } })
      expect(warnings[0]?.message).toContain("leader work failed; restarting it")
      expect(warnings[1]?.message).toBe("leader work ended while leading; restarting it")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("interrupting whileLeader stops the work and waits for it", () =>
    Effect.gen(function* () {
      const server = memoryServer()
      const { lease } = yield* start(options(server.client("dca-a").kube))
      const { work, log } = trackedWork(500)
      const fiber = yield* Effect.forkChild(lease.whileLeader("w", work))
      yield* advance("1 second")
      expect(log.map((e) => e.event)).toEqual(["started"])
      const interrupting = yield* Effect.forkChild(Fiber.interrupt(fiber))
      yield* advance("400 millis")
      expect(interrupting.pollUnsafe()).toBeUndefined()
      yield* advance("200 millis")
      expect(interrupting.pollUnsafe()).toBeDefined()
      expect(log.map((e) => e.event)).toEqual(["started", "stopping", "stopped"])
      // Still the leader: only the work stopped.
      expect(yield* lease.isLeader).toBe(true)
    })
  )

  it.effect(
    "release on shutdown: leader work ends first, then the released record, and another replica takes over at once",
    () =>
      Effect.gen(function* () {
        const server = memoryServer()
        const a = server.client("dca-a")
        const scope = yield* Scope.make()
        const leaderA = yield* start(options(a.kube)).pipe(Scope.provide(scope))
        yield* advance("1 second")
        const leaderB = yield* start(options(server.client("dca-b").kube, { identity: "dca-b" }))
        const changesB = yield* recordLeadership(leaderB.lease)
        const workA = trackedWork(2000)
        // Forked outside the elector's scope: the elector's own shutdown must stop it.
        yield* Effect.forkChild(leaderA.lease.whileLeader("w", workA.work))
        yield* advance("40 seconds")
        expect(yield* leaderA.lease.isLeader).toBe(true)

        const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
        const closedAt = yield* Clock.currentTimeMillis
        yield* advance("3 seconds")
        expect(closing.pollUnsafe()).toBeDefined()
        const stopped = workA.log.find((e) => e.event === "stopped")?.at
        expect(stopped).toBe(closedAt + 2000)
        const release = server.calls.filter((c) => c.by === "dca-a" && c.verb === "PUT").at(-1)
        expect(release?.at).toBe(stopped)
        expect(recordFromLeaseSpec((release?.object as Lease | undefined)?.spec).record).toEqual({
          holderIdentity: "",
          leaseDurationSeconds: 1,
          acquireTime: new Date(closedAt + 2000),
          renewTime: new Date(closedAt + 2000),
          transitions: 0
        })
        // B takes it at its next attempt, not after a lease duration.
        yield* advance("34 seconds")
        const won = changesB.find((c) => c.leading)?.at ?? Number.NaN
        expect(won - (stopped ?? 0)).toBeLessThanOrEqual(33_000)
        expect(server.leaseRecord()).toMatchObject({ holderIdentity: "dca-b", transitions: 1 })
      })
  )

  it.effect("without release on shutdown the lock is left to expire", () =>
    Effect.gen(function* () {
      const server = memoryServer()
      const scope = yield* Scope.make()
      const { lease } = yield* start(options(server.client("dca-a").kube, { releaseOnShutdown: false })).pipe(
        Scope.provide(scope)
      )
      yield* advance("1 second")
      expect(yield* lease.isLeader).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(server.leaseRecord().holderIdentity).toBe("dca-a")
      expect(server.calls.filter((c) => c.verb === "PUT")).toEqual([])
    })
  )

  it.effect(
    "readiness: unhealthy until the lock answers, healthy for a leader and a follower, unhealthy when stuck",
    () =>
      Effect.gen(function* () {
        const server = memoryServer()
        const health = yield* Health.make
        const ready = Effect.map(health.report("ready"), (r) =>
          r.Healthy.includes("leader-election")
            ? "healthy"
            : r.Unhealthy.includes("leader-election")
              ? "unhealthy"
              : "absent"
        )
        const a = server.client("dca-a")
        a.switches.down = true
        yield* start(options(a.kube, { health }))
        expect(yield* ready).toBe("unhealthy")
        a.switches.down = false
        yield* advance("34 seconds")
        expect(yield* ready).toBe("healthy")

        const b = server.client("dca-b")
        const healthB = yield* Health.make
        const follower = yield* start(options(b.kube, { identity: "dca-b", health: healthB }))
        yield* advance("100 seconds")
        expect(yield* follower.lease.isLeader).toBe(false)
        expect((yield* healthB.report("ready")).Healthy).toEqual(["leader-election"])

        // The follower cannot read the lock: unhealthy once a lease duration plus a retry period
        // passed (readiness is refreshed every second: checked a second on either side).
        b.switches.down = true
        const lastContact = Math.max(...server.calls.filter((c) => c.by === "dca-b").map((c) => c.at))
        yield* advance(Duration.millis(lastContact + 74_000 - (yield* Clock.currentTimeMillis)))
        expect((yield* healthB.report("ready")).Healthy).toEqual(["leader-election"])
        yield* advance("3 seconds")
        expect((yield* healthB.report("ready")).Unhealthy).toEqual(["leader-election"])
        expect((yield* follower.lease.status).state).toBe("Failing")
        b.switches.down = false
        yield* advance("34 seconds")
        expect((yield* healthB.report("ready")).Healthy).toEqual(["leader-election"])
      })
  )

  it.effect("a 403 on the lock is one warning naming the rights it takes and the lock", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const server = memoryServer()
      const a = server.client("dca-a")
      a.switches.forbidden = true
      const { lease } = yield* start(options(a.kube))
      yield* advance("40 seconds")
      expect(yield* lease.isLeader).toBe(false)
      const warnings = logs.lines.filter((l) => l.message === "leader election attempt failed")
      expect(warnings).toHaveLength(1)
      expect(String(warnings[0]?.annotations.error)).toContain(
        "needs create on leases (coordination.k8s.io) and get, list, watch, update on leases (coordination.k8s.io) named lock in namespace ns"
      )
      expect((yield* lease.status).state).toBe("Failing")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("metrics: only the current is_leader series, transitions, and the age of the last renewal", () =>
    Effect.gen(function* () {
      const server = memoryServer()
      const a = server.client("dca-a")
      a.switches.down = true
      const { lease, metrics } = yield* start(options(a.kube))
      yield* advance("1 second")
      const isLeader = () =>
        samples(metrics(), "leader_election_is_leader").map((s) => [s.labels.is_leader, s.labels.join_leader, s.value])
      expect(isLeader()).toEqual([])

      a.switches.down = false
      yield* advance("34 seconds")
      expect(yield* lease.isLeader).toBe(true)
      expect(isLeader()).toEqual([["true", "true", 1]])
      expect(samples(metrics(), "leader_election_transitions_total").map((s) => s.value)).toEqual([1])
      expect(metrics().types.get("leader_election_transitions_total")).toBe("counter")
      const renewedAt = Math.max(...server.calls.filter((c) => c.verb !== "GET").map((c) => c.at))
      const age = samples(metrics(), "leader_election_seconds_since_last_renewal")[0]?.value ?? Number.NaN
      const now = yield* Clock.currentTimeMillis
      expect(age).toBeGreaterThanOrEqual((now - renewedAt) / 1000 - 1)
      expect(age).toBeLessThanOrEqual((now - renewedAt) / 1000)

      // A follower shows is_leader="false" once it has seen the lock.
      const follower = yield* start(options(server.client("dca-b").kube, { identity: "dca-b" }))
      yield* advance("1 second")
      expect(
        samples(follower.metrics(), "leader_election_is_leader").map((s) => [s.labels.is_leader, s.value])
      ).toEqual([["false", 1]])
      expect(samples(follower.metrics(), "leader_election_transitions_total").map((s) => s.value)).toEqual([0])

      a.switches.writesFail = true
      yield* advance("35 seconds")
      expect(yield* lease.isLeader).toBe(false)
      expect(isLeader()).toEqual([["false", "true", 1]])
      expect(samples(metrics(), "leader_election_seconds_since_last_renewal")[0]?.value).toBe(0)

      a.switches.writesFail = false
      yield* advance("40 seconds")
      expect(isLeader()).toEqual([["true", "true", 1]])
      expect(samples(metrics(), "leader_election_transitions_total").map((s) => s.value)).toEqual([2])
    })
  )

  it.effect(
    "a garbled ConfigMap record: a warning naming the object and field, then a takeover after a lease duration",
    () => {
      const logs = captureLogs()
      return Effect.gen(function* () {
        const server = memoryServer()
        server.put("configmaps", "ns", {
          metadata: { name: "lock", annotations: { [leaderAnnotation]: '{"holderIdentity":"x","renewTime":"soon"}' } }
        })
        const { lease } = yield* start(options(server.client("dca-a").kube, { lock: "ConfigMap" }))
        yield* advance("59 seconds")
        expect(yield* lease.isLeader).toBe(false)
        const warnings = logs.lines.filter((l) => l.level === "Warn")
        expect(warnings).toHaveLength(1)
        expect(warnings[0]?.annotations).toMatchObject({
          lock: "ConfigMap ns/lock",
          field: `metadata.annotations["${leaderAnnotation}"].renewTime`,
          problem: 'expected an RFC 3339 time, got "soon"'
        })
        expect((yield* lease.status).leaderName).toBe("")
        yield* advance("35 seconds")
        expect(yield* lease.isLeader).toBe(true)
        const text = server.configMap()?.metadata?.annotations?.[leaderAnnotation]
        expect(decodeAnnotation(text)).toMatchObject({
          record: { holderIdentity: "dca-a", transitions: 1 },
          problems: []
        })
      }).pipe(Effect.provide(logs.layer))
    }
  )

  it.effect("discovery picks the Lease when the server serves leases, the ConfigMap when it does not", () =>
    Effect.gen(function* () {
      const server = memoryServer()
      yield* start(options(server.client("dca-a").kube, { lock: "Discover" }))
      yield* advance("1 second")
      expect(server.lease()?.spec?.holderIdentity).toBe("dca-a")

      const old = memoryServer()
      const noLeases = {
        ...old.client("dca-a").kube,
        get: <T>() =>
          Effect.fail(
            new KubeError({
              reason: "NotFound",
              verb: "GET",
              path: "/apis/coordination.k8s.io/v1",
              detail: "404 page not found"
            })
          ) as Effect.Effect<T, KubeError>
      }
      yield* start(options(noLeases, { lock: "Discover" }))
      yield* advance("1 second")
      expect(old.lease()).toBeUndefined()
      expect(decodeAnnotation(old.configMap()?.metadata?.annotations?.[leaderAnnotation]).record.holderIdentity).toBe(
        "dca-a"
      )
    })
  )

  it.effect("DD_LEADER_ELECTION=false: always leader, status Disabled, work runs, no API calls", () =>
    Effect.gen(function* () {
      const lease = yield* LeaderLease
      expect(yield* lease.isLeader).toBe(true)
      expect(yield* lease.status).toEqual({ state: "Disabled", leaderName: lease.identity, transitions: 0 })
      expect(Option.getOrUndefined(yield* Stream.runHead(lease.leadership))).toBe(true)
      const started = yield* Ref.make(0)
      yield* Effect.forkChild(
        lease.whileLeader(
          "w",
          Effect.andThen(
            Ref.update(started, (n) => n + 1),
            Effect.never
          )
        )
      )
      yield* advance("1 second")
      expect(yield* Ref.get(started)).toBe(1)
    }).pipe(
      Effect.provide(
        LeaderLease.layer.pipe(
          Layer.provide(quietWatches),
          Layer.provide(Health.layer),
          // Any call on this client dies: the test fails if the elector talks to the API server.
          Layer.provide(Layer.succeed(KubeClient, fakeKubeClient({}))),
          Layer.provide(ClusterAgentConfig.fromEnv({ DD_LEADER_ELECTION: "false", DD_POD_NAME: "dca-0" }))
        )
      )
    )
  )

  const layerServer = memoryServer()
  it.effect("the layer reads its settings: lock name, namespace, kind, duration and identity", () =>
    Effect.gen(function* () {
      const server = layerServer
      const lease = yield* LeaderLease
      yield* advance("1 second")
      expect(lease.identity).toBe("dca-7")
      expect(yield* lease.isLeader).toBe(true)
      const cm = server.configMap("datadog", "my-lock")
      expect(decodeAnnotation(cm?.metadata?.annotations?.[leaderAnnotation]).record).toMatchObject({
        holderIdentity: "dca-7",
        leaseDurationSeconds: 20
      })
      const health = yield* Health
      expect((yield* health.report("ready")).Healthy).toEqual(["leader-election"])
    }).pipe(
      Effect.provide(
        LeaderLease.layer.pipe(
          Layer.provide(quietWatches),
          Layer.provideMerge(Health.layer),
          Layer.provide(Layer.succeed(KubeClient, layerServer.client("dca-7").kube)),
          Layer.provide(
            ClusterAgentConfig.fromEnv({
              DD_LEADER_ELECTION: "true",
              DD_POD_NAME: "dca-7",
              DD_KUBE_RESOURCES_NAMESPACE: "datadog",
              DD_LEADER_LEASE_NAME: "my-lock",
              DD_LEADER_LEASE_DURATION: "20",
              DD_LEADER_ELECTION_DEFAULT_RESOURCE: "configmap"
            })
          )
        )
      )
    )
  )
})

// --- against the real control plane ------------------------------------------------------------

describe.runIf(clusterAvailable)("LeaderLease (real API server)", () => {
  const cluster = useCluster()
  // Real time: a short lease (deadline 2 s, retry 1 s, acquire attempts 1-2.2 s apart).
  const leaseSeconds = 4
  const retrySeconds = leaseSeconds / 4
  const lockName = "datadog-leader-election"
  // The longest a takeover can take once the holder stopped: its last record is seen within one
  // jittered retry period, then a lease duration, then the next attempt (plus slack for load).
  const takeoverBound = leaseSeconds + 2 * 2.2 * retrySeconds + 1

  // The electors' logs are checked in the unit tests; here they would only fill the output.
  const quiet = captureLogs().layer
  const clientLayer = () =>
    KubeClient.layer.pipe(
      Layer.provide(ClusterAgentConfig.fromEnv({ DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath }))
    )

  interface Replica {
    readonly identity: string
    readonly lease: LeaderLeaseShape
    /** Closes the replica: stops its work, then releases the lock when made with releaseOnShutdown. */
    readonly stop: Effect.Effect<void>
  }

  /**
   * One replica: its own client (connections) and elector, in a scope of its own; `watched`
   * follows the lock through a watch layer of its own, as the agent does.
   */
  const replica = (namespace: string, identity: string, extra: Partial<LeaderLeaseOptions> = {}, watched = false) =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const context = yield* Layer.build(clientLayer()).pipe(Scope.provide(scope))
      const kube = Context.get(context, KubeClient)
      const watches = watched
        ? yield* makeWatches(kube, defaultWatcherOptions(Duration.seconds(30)), Duration.minutes(5), []).pipe(
            Scope.provide(scope)
          )
        : undefined
      const { lease } = yield* start({
        ...options(kube, { identity, namespace, name: lockName }),
        leaseDuration: Duration.seconds(leaseSeconds),
        watches,
        ...extra
      }).pipe(Scope.provide(scope))
      return { identity, lease, stop: Scope.close(scope, Exit.void) } satisfies Replica
    })

  /** Polls `check` every 20 ms until it gives a value, dying after `seconds`. */
  const eventually = <A, E, R>(what: string, seconds: number, check: Effect.Effect<A | undefined, E, R>) =>
    Effect.gen(function* () {
      const deadline = Date.now() + seconds * 1000
      for (;;) {
        const value = yield* check
        if (value !== undefined) return value
        if (Date.now() > deadline)
          return yield* Effect.die(new Error(`timed out after ${seconds} s waiting for ${what}`))
        yield* Effect.sleep("20 millis")
      }
    })

  const leadersOf = (replicas: ReadonlyArray<Replica>) =>
    Effect.map(
      Effect.forEach(replicas, (r) => Effect.map(r.lease.isLeader, (leading) => (leading ? r.identity : undefined))),
      (ids) => ids.filter((id): id is string => id !== undefined)
    )
  const theLeader = (replicas: ReadonlyArray<Replica>) =>
    Effect.map(leadersOf(replicas), (ids) => (ids.length === 1 ? ids[0] : undefined))

  /** Samples every replica every 10 ms for the rest of the test; collects any instant with two leaders. */
  const watchForTwoLeaders = (replicas: ReadonlyArray<Replica>) =>
    Effect.gen(function* () {
      const overlaps: Array<ReadonlyArray<string>> = []
      const sample = Effect.map(
        Effect.suspend(() => leadersOf(replicas)),
        (ids) => void (ids.length > 1 && overlaps.push(ids))
      )
      yield* Effect.forkChild(Effect.forever(Effect.andThen(sample, Effect.sleep("10 millis"))))
      return overlaps
    })

  const leaseRecord = (ns: string) =>
    Effect.flatMap(KubeClient, (kube) =>
      Effect.map(kube.getLease(ns, lockName), (lease) => recordFromLeaseSpec(lease.spec).record)
    )
  const configMapRecord = (ns: string) =>
    Effect.flatMap(KubeClient, (kube) =>
      Effect.map(kube.getConfigMap(ns, lockName), (cm) => {
        const text = cm.metadata?.annotations?.[leaderAnnotation] ?? ""
        return { text, ...decodeAnnotation(text) }
      })
    )
  const millis = (date: Date | undefined) => date?.getTime() ?? Number.NaN

  /** Removes `r` from the watched replicas, then stops it. */
  const remove = (replicas: Array<Replica>, identity: string) =>
    Effect.suspend(() => {
      const r = replicas.find((x) => x.identity === identity) as Replica
      replicas.splice(replicas.indexOf(r), 1)
      return r.stop
    })

  it.live(
    "three electors on a Lease: one leader; killed (no release), the next takes over only after a lease duration",
    () =>
      Effect.gen(function* () {
        const ns = yield* Effect.promise(() => cluster.newNamespace("leader-kill"))
        const replicas: Array<Replica> = []
        const overlaps = yield* watchForTwoLeaders(replicas)
        for (const id of ["dca-0", "dca-1", "dca-2"])
          replicas.push(yield* replica(ns, id, { releaseOnShutdown: false }))

        const first = yield* eventually("a leader", 10, theLeader(replicas))
        // It stays the leader over several renewals: no flapping.
        yield* eventually(
          "three renewals",
          10,
          Effect.map(leaseRecord(ns), (r) => (millis(r.renewTime) - millis(r.acquireTime) >= 3000 ? true : undefined))
        )
        expect(yield* leadersOf(replicas)).toEqual([first])
        expect(yield* leaseRecord(ns)).toMatchObject({
          holderIdentity: first,
          leaseDurationSeconds: leaseSeconds,
          transitions: 0
        })
        for (const r of replicas) expect(yield* r.lease.status).toMatchObject({ state: "Running", leaderName: first })

        yield* remove(replicas, first)
        const abandoned = yield* leaseRecord(ns)
        expect(abandoned.holderIdentity).toBe(first)
        const second = yield* eventually("a takeover", takeoverBound + 1, theLeader(replicas))
        const taken = yield* leaseRecord(ns)
        expect(taken).toMatchObject({ holderIdentity: second, transitions: 1 })
        // Same machine, same wall clock: the record's times measure the wait.
        const waited = millis(taken.acquireTime) - millis(abandoned.renewTime)
        expect(waited).toBeGreaterThanOrEqual(leaseSeconds * 1000)
        expect(waited).toBeLessThanOrEqual(takeoverBound * 1000)

        yield* remove(replicas, second)
        const third = yield* eventually("the last replica", takeoverBound + 1, theLeader(replicas))
        expect(yield* leaseRecord(ns)).toMatchObject({ holderIdentity: third, transitions: 2 })
        expect(overlaps).toEqual([])
        yield* remove(replicas, third)
      }).pipe(Effect.provide([clientLayer(), quiet])),
    60_000
  )

  it.live("graceful close releases the Lease after the work stopped, and another replica takes over at once", () =>
    Effect.gen(function* () {
      const ns = yield* Effect.promise(() => cluster.newNamespace("leader-release"))
      const replicas: Array<Replica> = []
      const overlaps = yield* watchForTwoLeaders(replicas)
      const stoppedAt = new Map<string, number>()
      for (const id of ["dca-0", "dca-1"]) {
        const r = yield* replica(ns, id)
        replicas.push(r)
        // Leader work that takes 300 ms to stop.
        const work = Effect.acquireRelease(Effect.void, () =>
          Effect.andThen(
            Effect.sleep("300 millis"),
            Effect.sync(() => stoppedAt.set(id, Date.now()))
          )
        ).pipe(Effect.andThen(Effect.never))
        yield* Effect.forkChild(r.lease.whileLeader("work", work))
      }
      const first = yield* eventually("a leader", 10, theLeader(replicas))
      yield* remove(replicas, first)
      const released = yield* leaseRecord(ns)
      expect(released).toMatchObject({ holderIdentity: "", leaseDurationSeconds: 1, transitions: 0 })
      // The release was written after the work had stopped.
      expect(millis(released.renewTime)).toBeGreaterThanOrEqual(stoppedAt.get(first) ?? Number.NaN)

      const second = yield* eventually("the other replica", 10, theLeader(replicas))
      const handed = yield* leaseRecord(ns)
      expect(handed).toMatchObject({ holderIdentity: second, transitions: 1 })
      // Its next acquire attempt, not a lease duration later.
      expect(millis(handed.acquireTime) - millis(released.renewTime)).toBeLessThanOrEqual(
        (2.2 * retrySeconds + 0.5) * 1000
      )
      expect(overlaps).toEqual([])
      yield* remove(replicas, second)
    }).pipe(Effect.provide([clientLayer(), quiet]))
  )

  it.live(
    "with the lock watched: a killed leader is replaced within a lease duration + a retry period",
    () =>
      Effect.gen(function* () {
        const ns = yield* Effect.promise(() => cluster.newNamespace("leader-watched"))
        const replicas: Array<Replica> = []
        const overlaps = yield* watchForTwoLeaders(replicas)
        for (const id of ["dca-0", "dca-1", "dca-2"]) {
          replicas.push(yield* replica(ns, id, { releaseOnShutdown: false }, true))
        }
        const waits: Array<number> = []
        for (let round = 0; round < 2; round++) {
          const leader = yield* eventually("a leader", 10, theLeader(replicas))
          yield* eventually(
            "a renewal",
            10,
            Effect.map(leaseRecord(ns), (r) => (millis(r.renewTime) > millis(r.acquireTime) ? true : undefined))
          )
          yield* remove(replicas, leader)
          const abandoned = yield* leaseRecord(ns)
          yield* eventually("a takeover", leaseSeconds + retrySeconds + 2, theLeader(replicas))
          const taken = yield* leaseRecord(ns)
          const waited = millis(taken.acquireTime) - millis(abandoned.renewTime)
          waits.push(waited)
          expect(waited).toBeGreaterThanOrEqual(leaseSeconds * 1000)
          expect(waited).toBeLessThanOrEqual((leaseSeconds + retrySeconds) * 1000)
        }
        expect(waits).toHaveLength(2)
        expect(overlaps).toEqual([])
        for (const r of [...replicas]) yield* remove(replicas, r.identity)
      }).pipe(Effect.provide([clientLayer(), quiet])),
    60_000
  )

  it.live("two electors on the original's ConfigMap lock: the record in its format, a takeover after a kill", () =>
    Effect.gen(function* () {
      const ns = yield* Effect.promise(() => cluster.newNamespace("leader-configmap"))
      const replicas: Array<Replica> = []
      const overlaps = yield* watchForTwoLeaders(replicas)
      for (const id of ["dca-0", "dca-1"]) {
        replicas.push(yield* replica(ns, id, { lock: "ConfigMap", releaseOnShutdown: false }))
      }
      const first = yield* eventually("a leader", 10, theLeader(replicas))
      const written = yield* configMapRecord(ns)
      expect(Object.keys(JSON.parse(written.text))).toEqual([
        "holderIdentity",
        "leaseDurationSeconds",
        "acquireTime",
        "renewTime",
        "leaderTransitions"
      ])
      expect(written.text).toMatch(
        /"acquireTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","renewTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/
      )
      expect(written.record).toMatchObject({
        holderIdentity: first,
        leaseDurationSeconds: leaseSeconds,
        transitions: 0
      })

      yield* remove(replicas, first)
      const second = yield* eventually("a takeover", takeoverBound + 1, theLeader(replicas))
      expect((yield* configMapRecord(ns)).record).toMatchObject({ holderIdentity: second, transitions: 1 })
      expect(overlaps).toEqual([])
      yield* remove(replicas, second)
    }).pipe(Effect.provide([clientLayer(), quiet]))
  )

  it.live("a live holder recorded by the original agent blocks us; once it stops renewing we take over", () =>
    Effect.gen(function* () {
      const ns = yield* Effect.promise(() => cluster.newNamespace("leader-original"))
      const kube = yield* KubeClient
      // What the original writes (client-go ConfigMapLock): its JSON, whole-second times.
      const original = (renew: Date) =>
        `{"holderIdentity":"datadog-cluster-agent-7c9d-abcde","leaseDurationSeconds":${leaseSeconds},` +
        `"acquireTime":"2024-05-01T12:00:00Z","renewTime":"${renew.toISOString().slice(0, 19)}Z","leaderTransitions":3}`
      yield* kube.createConfigMap(ns, {
        metadata: { name: lockName, annotations: { [leaderAnnotation]: original(new Date()) } }
      })
      let lastWrite = Date.now()
      // The original renews every retry period while it lives.
      const renewing = yield* Effect.forkChild(
        Effect.forever(
          Effect.gen(function* () {
            yield* Effect.sleep(Duration.seconds(retrySeconds))
            const cm = yield* kube.getConfigMap(ns, lockName)
            const annotations = { ...cm.metadata?.annotations, [leaderAnnotation]: original(new Date()) }
            yield* kube.replaceConfigMap(ns, { ...cm, metadata: { ...cm.metadata, annotations } })
            lastWrite = Date.now()
          })
        )
      )
      const ours = yield* replica(ns, "dca-new", { lock: "ConfigMap" })
      const during = Date.now()
      // Three lease durations: never ours while the original renews.
      while (Date.now() - during < 3 * leaseSeconds * 1000) {
        expect(yield* ours.lease.isLeader).toBe(false)
        yield* Effect.sleep("50 millis")
      }
      expect(yield* ours.lease.status).toMatchObject({
        state: "Running",
        leaderName: "datadog-cluster-agent-7c9d-abcde",
        transitions: 3
      })

      yield* Fiber.interrupt(renewing)
      yield* eventually(
        "our takeover",
        takeoverBound + 1,
        Effect.map(ours.lease.isLeader, (l) => (l ? true : undefined))
      )
      expect(Date.now() - lastWrite).toBeGreaterThanOrEqual(leaseSeconds * 1000)
      const taken = yield* configMapRecord(ns)
      expect(taken.record).toMatchObject({
        holderIdentity: "dca-new",
        leaseDurationSeconds: leaseSeconds,
        transitions: 4
      })
      expect(taken.problems).toEqual([])
      yield* ours.stop
    }).pipe(Effect.provide([clientLayer(), quiet]))
  )

  it.live("discovery picks the Lease on a server that serves leases, and the rule holds for unknown resources", () =>
    Effect.gen(function* () {
      const ns = yield* Effect.promise(() => cluster.newNamespace("leader-discovery"))
      const kube = yield* KubeClient
      expect(
        yield* isServed(kube, { group: "coordination.k8s.io", version: "v1", resource: "leases", namespace: ns }, "x")
      ).toBe(true)
      // An unknown resource in a served group, and an unknown group: a bare 404.
      expect(
        yield* isServed(
          kube,
          { group: "coordination.k8s.io", version: "v1", resource: "nosuchthings", namespace: ns },
          "x"
        )
      ).toBe(false)
      expect(
        yield* isServed(kube, { group: "nosuch.example.com", version: "v1", resource: "things", namespace: ns }, "x")
      ).toBe(false)

      const r = yield* replica(ns, "dca-0", { lock: "Discover" })
      yield* eventually(
        "leadership",
        10,
        Effect.map(r.lease.isLeader, (l) => (l ? true : undefined))
      )
      expect((yield* leaseRecord(ns)).holderIdentity).toBe("dca-0")
      const cm = yield* Effect.result(kube.getConfigMap(ns, lockName))
      expect(cm._tag === "Failure" && cm.failure.reason).toBe("NotFound")
      yield* r.stop
    }).pipe(Effect.provide([clientLayer(), quiet]))
  )
})
