// The locks over a fake KubeClient: what they send (create bodies, PUTs of the fetched object
// with its resourceVersion and every field we don't own), what they make of the answers, and
// how discovery tells a served resource from an unserved one.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { fakeKubeClient } from "../../../dev/fakeKubeClient.ts"
import { KubeError } from "../../../src/layers/KubeClient.ts"
import * as Paths from "../../../src/layers/kube/paths.ts"
import type { ConfigMap, Lease, ResourceRef } from "../../../src/layers/kube/types.ts"
import {
  configMapLock,
  discoverLockKind,
  isServed,
  leaseLock,
  lockChoiceOf,
  makeLock
} from "../../../src/layers/leader/lock.ts"
import { decodeAnnotation, type LeaderRecord, leaderAnnotation } from "../../../src/layers/leader/record.ts"

const record: LeaderRecord = {
  holderIdentity: "dca-a",
  leaseDurationSeconds: 60,
  acquireTime: new Date("2026-01-02T03:04:05.678Z"),
  renewTime: new Date("2026-01-02T03:05:00.001Z"),
  transitions: 2
}

// The API server's three 404s: a missing object, an unknown resource of a served group, an unknown group.
const notFound = (verb: string, apiReason?: string, detail = 'leases.coordination.k8s.io "lock" not found') =>
  new KubeError({
    reason: "NotFound",
    verb,
    path: "/x",
    status: 404,
    ...(apiReason === undefined ? {} : { apiReason }),
    detail
  })
const unknownResource = () => notFound("GET", "NotFound", "the server could not find the requested resource")
const unknownGroup = () => notFound("GET", undefined, "404 page not found")

describe("Lease lock", () => {
  it("creates a coordination.k8s.io/v1 Lease with the record in its spec", () =>
    Effect.gen(function* () {
      const sent: Array<Lease> = []
      const kube = fakeKubeClient({
        createLease: (ns, lease) => {
          sent.push(lease)
          expect(ns).toBe("datadog")
          return Effect.succeed({ ...lease, metadata: { ...lease.metadata, resourceVersion: "11" } })
        }
      })
      const lock = leaseLock(kube, "datadog", "datadog-leader-election")
      expect(lock.description).toBe("Lease datadog/datadog-leader-election")
      const snapshot = yield* lock.create(record)
      expect(sent).toEqual([
        {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: "datadog-leader-election", namespace: "datadog" },
          spec: {
            holderIdentity: "dca-a",
            leaseDurationSeconds: 60,
            acquireTime: "2026-01-02T03:04:05.678000Z",
            renewTime: "2026-01-02T03:05:00.001000Z",
            leaseTransitions: 2
          }
        }
      ])
      expect(snapshot.record).toEqual(record)
      expect(snapshot.problems).toEqual([])
      expect(snapshot.version).toMatch(/^11\n/)
    }))

  it("replaces the fetched object: same resourceVersion, fields it does not own kept", () =>
    Effect.gen(function* () {
      const stored: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "l", namespace: "ns", resourceVersion: "41", labels: { a: "b" } },
        spec: { holderIdentity: "dca-b", leaseDurationSeconds: 15, strategy: "OldestEmulationVersion", extra: 1 }
      }
      const sent: Array<Lease> = []
      const kube = fakeKubeClient({
        getLease: () => Effect.succeed(stored),
        replaceLease: (_ns, lease) => {
          sent.push(lease)
          return Effect.succeed({ ...lease, metadata: { ...lease.metadata, resourceVersion: "42" } })
        }
      })
      const lock = leaseLock(kube, "ns", "l")
      const held = yield* lock.get
      expect(held?.record).toMatchObject({ holderIdentity: "dca-b", leaseDurationSeconds: 15, transitions: 0 })
      const written = yield* lock.update(held as NonNullable<typeof held>, record)
      expect(sent[0]?.metadata).toEqual(stored.metadata)
      expect(sent[0]?.spec).toEqual({
        holderIdentity: "dca-a",
        leaseDurationSeconds: 60,
        acquireTime: "2026-01-02T03:04:05.678000Z",
        renewTime: "2026-01-02T03:05:00.001000Z",
        leaseTransitions: 2,
        strategy: "OldestEmulationVersion",
        extra: 1
      })
      expect(written.version).not.toBe(held?.version)
    }))

  it("a missing Lease reads as undefined; other failures stay failures", () =>
    Effect.gen(function* () {
      const missing = leaseLock(fakeKubeClient({ getLease: () => Effect.fail(notFound("GET", "NotFound")) }), "ns", "l")
      expect(yield* missing.get).toBeUndefined()
      const denied = new KubeError({ reason: "Forbidden", verb: "GET", path: "/x", status: 403, detail: "no" })
      const forbidden = leaseLock(fakeKubeClient({ getLease: () => Effect.fail(denied) }), "ns", "l")
      expect(yield* Effect.flip(forbidden.get)).toBe(denied)
    }))

  it("a change of resourceVersion alone is a change (any write restarts the followers' wait)", () =>
    Effect.gen(function* () {
      let rv = "1"
      const kube = fakeKubeClient({
        getLease: () => Effect.succeed({ metadata: { name: "l", resourceVersion: rv }, spec: { holderIdentity: "b" } })
      })
      const lock = leaseLock(kube, "ns", "l")
      const first = yield* lock.get
      expect((yield* lock.get)?.version).toBe(first?.version)
      rv = "2"
      expect((yield* lock.get)?.version).not.toBe(first?.version)
    }))
})

describe("ConfigMap lock", () => {
  it("creates the ConfigMap with the original's annotation", () =>
    Effect.gen(function* () {
      const sent: Array<ConfigMap> = []
      const kube = fakeKubeClient({
        createConfigMap: (_ns, cm) => {
          sent.push(cm)
          return Effect.succeed({ ...cm, metadata: { ...cm.metadata, resourceVersion: "5" } })
        }
      })
      const snapshot = yield* configMapLock(kube, "ns", "datadog-leader-election").create(record)
      expect(sent[0]).toEqual({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: "datadog-leader-election",
          namespace: "ns",
          annotations: {
            [leaderAnnotation]:
              '{"holderIdentity":"dca-a","leaseDurationSeconds":60,"acquireTime":"2026-01-02T03:04:05Z",' +
              '"renewTime":"2026-01-02T03:05:00Z","leaderTransitions":2}'
          }
        }
      })
      // Whole seconds: what was stored, not what was asked.
      expect(snapshot.record.acquireTime).toEqual(new Date("2026-01-02T03:04:05Z"))
    }))

  it("updates only the annotation, keeping data, other annotations and the resourceVersion", () =>
    Effect.gen(function* () {
      const stored: ConfigMap = {
        metadata: { name: "c", namespace: "ns", resourceVersion: "9", annotations: { other: "x" } },
        data: { keep: "me" }
      }
      const sent: Array<ConfigMap> = []
      const kube = fakeKubeClient({
        getConfigMap: () => Effect.succeed(stored),
        replaceConfigMap: (_ns, cm) => {
          sent.push(cm)
          return Effect.succeed({ ...cm, metadata: { ...cm.metadata, resourceVersion: "10" } })
        }
      })
      const lock = configMapLock(kube, "ns", "c")
      const held = yield* lock.get
      // A ConfigMap without the annotation (the original creates it so) is a free lock.
      expect(held?.record.holderIdentity).toBe("")
      expect(held?.problems).toEqual([])
      yield* lock.update(held as NonNullable<typeof held>, record)
      expect(sent[0]?.data).toEqual({ keep: "me" })
      expect(sent[0]?.metadata?.resourceVersion).toBe("9")
      expect(sent[0]?.metadata?.annotations?.other).toBe("x")
      expect(decodeAnnotation(sent[0]?.metadata?.annotations?.[leaderAnnotation]).record.holderIdentity).toBe("dca-a")
    }))

  it("a garbled annotation reads with its problems, not as a failure", () =>
    Effect.gen(function* () {
      const kube = fakeKubeClient({
        getConfigMap: () =>
          Effect.succeed({
            metadata: { name: "c", resourceVersion: "3", annotations: { [leaderAnnotation]: "{oops" } }
          })
      })
      const snapshot = yield* configMapLock(kube, "ns", "c").get
      expect(snapshot?.problems[0]?.field).toBe(`metadata.annotations["${leaderAnnotation}"]`)
    }))
})

describe("lock choice and discovery", () => {
  it("maps DD_LEADER_ELECTION_DEFAULT_RESOURCE", () => {
    expect(lockChoiceOf("lease")).toBe("Lease")
    expect(lockChoiceOf("leases")).toBe("Lease")
    expect(lockChoiceOf("configmap")).toBe("ConfigMap")
    expect(lockChoiceOf("configmaps")).toBe("ConfigMap")
    expect(lockChoiceOf("")).toBe("Discover")
    expect(makeLock(fakeKubeClient({}), "ConfigMap", "ns", "n").kind).toBe("ConfigMap")
  })

  const served = (answer: Effect.Effect<never, KubeError> | "ok") => {
    const asked: Array<{ resource: ResourceRef; name: string }> = []
    const kube = fakeKubeClient({
      get: <T>(resource: ResourceRef, name: string) => {
        asked.push({ resource, name })
        return (answer === "ok" ? Effect.succeed({ metadata: { name } }) : answer) as Effect.Effect<T, KubeError>
      }
    })
    return { kube, asked }
  }

  it("a Lease when the lock's Lease answers or is missing (a NotFound Status)", () =>
    Effect.gen(function* () {
      const present = served("ok")
      expect(yield* discoverLockKind(present.kube, "ns", "lock")).toBe("Lease")
      expect(present.asked).toEqual([
        { resource: { group: "coordination.k8s.io", version: "v1", resource: "leases", namespace: "ns" }, name: "lock" }
      ])
      expect(yield* discoverLockKind(served(Effect.fail(notFound("GET", "NotFound"))).kube, "ns", "lock")).toBe("Lease")
    }))

  it("the ConfigMap when the server has no such resource (a 404 for the path, not for the object)", () =>
    Effect.gen(function* () {
      expect(yield* discoverLockKind(served(Effect.fail(unknownResource())).kube, "ns", "lock")).toBe("ConfigMap")
      expect(yield* discoverLockKind(served(Effect.fail(unknownGroup())).kube, "ns", "lock")).toBe("ConfigMap")
      // The missing object must be the one asked for.
      expect(yield* isServed(served(Effect.fail(notFound("GET", "NotFound"))).kube, Paths.leases("ns"), "other")).toBe(
        false
      )
    }))

  it("fails on anything else, for the elector to retry", () =>
    Effect.gen(function* () {
      const down = new KubeError({ reason: "Transport", verb: "GET", path: "/x", detail: "ECONNREFUSED" })
      expect(yield* Effect.flip(discoverLockKind(served(Effect.fail(down)).kube, "ns", "lock"))).toBe(down)
    }))
})
