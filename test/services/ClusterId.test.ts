// The cluster ID (contract §1.5, `GET /api/v1/cluster/id`, after the original's
// GetOrCreateClusterID): read from the ConfigMap `datadog-cluster-id`, key `id`, in the agent's
// own pod namespace (not DD_KUBE_RESOURCES_NAMESPACE); created with the kube-system namespace
// UID when missing; overwritten when not 36 characters; cached forever after the first success;
// a race between replicas is settled by optimistic concurrency (409 → read again).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import { ClusterAgentConfig, ConfigError, resolve } from "../../src/layers/Config.ts"
import { KubeClient, type KubeClientShape, KubeError, type KubeErrorReason } from "../../src/layers/KubeClient.ts"
import type { ConfigMap } from "../../src/layers/kube/types.ts"
import { ClusterId, clusterIdConfigMapName, resolveClusterId } from "../../src/services/ClusterId.ts"

const kubeSystemUid = "3f1c9e2a-7b4d-4e8f-9a10-2c3d4e5f6a7b"
const otherUid = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

const kubeError = (reason: KubeErrorReason, verb: string, path: string) =>
  new KubeError({ reason, verb, path, detail: `${reason} (test)` })

/** One namespace's ConfigMaps, with resourceVersions, and a record of the calls made. */
const fakeCluster = (options: { readonly uid?: string; readonly configMaps?: Record<string, ConfigMap> } = {}) => {
  const configMaps = new Map<string, ConfigMap>(Object.entries(options.configMaps ?? {}))
  const calls: Array<string> = []
  let version = 100
  const key = (namespace: string, name: string) => `${namespace}/${name}`
  const stamp = (cm: ConfigMap): ConfigMap => ({
    ...cm,
    metadata: { ...cm.metadata, resourceVersion: String(++version) }
  })
  /** Hooks a test uses to inject failures before a call touches the state. */
  type Hook = (() => KubeError | undefined) | undefined
  const before: { get?: Hook; create?: Hook; replace?: Hook; namespace?: Hook } = {}
  const kube: KubeClientShape = fakeKubeClient({
    getConfigMap: (namespace, name) =>
      Effect.suspend(() => {
        calls.push(`get ${key(namespace, name)}`)
        const injected = before.get?.()
        if (injected !== undefined) return Effect.fail(injected)
        const cm = configMaps.get(key(namespace, name))
        return cm === undefined ? Effect.fail(kubeError("NotFound", "GET", name)) : Effect.succeed(cm)
      }),
    createConfigMap: (namespace, cm) =>
      Effect.suspend(() => {
        const name = cm.metadata?.name ?? ""
        calls.push(`create ${key(namespace, name)}`)
        const injected = before.create?.()
        if (injected !== undefined) return Effect.fail(injected)
        if (configMaps.has(key(namespace, name))) return Effect.fail(kubeError("Conflict", "POST", name))
        const stored = stamp(cm)
        configMaps.set(key(namespace, name), stored)
        return Effect.succeed(stored)
      }),
    replaceConfigMap: (namespace, cm) =>
      Effect.suspend(() => {
        const name = cm.metadata?.name ?? ""
        calls.push(`replace ${key(namespace, name)}`)
        const injected = before.replace?.()
        if (injected !== undefined) return Effect.fail(injected)
        const current = configMaps.get(key(namespace, name))
        if (current === undefined) return Effect.fail(kubeError("NotFound", "PUT", name))
        if (current.metadata?.resourceVersion !== cm.metadata?.resourceVersion) {
          return Effect.fail(kubeError("Conflict", "PUT", name))
        }
        const stored = stamp(cm)
        configMaps.set(key(namespace, name), stored)
        return Effect.succeed(stored)
      }),
    getNamespace: (name) =>
      Effect.suspend(() => {
        calls.push(`namespace ${name}`)
        const injected = before.namespace?.()
        if (injected !== undefined) return Effect.fail(injected)
        return name === "kube-system"
          ? Effect.succeed({ metadata: { name, uid: options.uid ?? kubeSystemUid } })
          : Effect.fail(kubeError("NotFound", "GET", name))
      })
  })
  return { kube, calls, configMaps, before, stored: (ns: string) => configMaps.get(key(ns, clusterIdConfigMapName)) }
}

const idConfigMap = (namespace: string, data: Record<string, string>, resourceVersion = "7"): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: clusterIdConfigMapName, namespace, resourceVersion },
  data
})

describe("resolveClusterId", () => {
  it.effect("a stored 36-character ID is used as it is, without reading kube-system or writing", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster({
        configMaps: { [`dd/${clusterIdConfigMapName}`]: idConfigMap("dd", { id: otherUid }) }
      })
      expect(yield* resolveClusterId(cluster.kube, "dd")).toBe(otherUid)
      expect(cluster.calls).toEqual([`get dd/${clusterIdConfigMapName}`])
    })
  )

  it.effect("a missing ConfigMap is created in the given namespace with the kube-system UID", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      expect(yield* resolveClusterId(cluster.kube, "dd")).toBe(kubeSystemUid)
      expect(cluster.calls).toEqual([
        `get dd/${clusterIdConfigMapName}`,
        "namespace kube-system",
        `create dd/${clusterIdConfigMapName}`
      ])
      expect(cluster.stored("dd")).toMatchObject({
        metadata: { name: "datadog-cluster-id", namespace: "dd" },
        data: { id: kubeSystemUid }
      })
    })
  )

  it.effect.each<readonly [string, Record<string, string>]>([
    ["too short", { id: "abc" }],
    ["empty", { id: "" }],
    ["37 characters", { id: `${kubeSystemUid}x` }],
    ["without the key", { other: "kept" }]
  ])("a stored ID that is %s is overwritten with the kube-system UID, keeping other keys", ([, data]) =>
    Effect.gen(function* () {
      const cluster = fakeCluster({
        configMaps: { [`dd/${clusterIdConfigMapName}`]: idConfigMap("dd", { ...data, note: "kept" }) }
      })
      expect(yield* resolveClusterId(cluster.kube, "dd")).toBe(kubeSystemUid)
      expect(cluster.calls.at(-1)).toBe(`replace dd/${clusterIdConfigMapName}`)
      expect(cluster.stored("dd")?.data).toEqual({ ...data, note: "kept", id: kubeSystemUid })
    })
  )

  it.effect("the replace carries the resourceVersion it read (optimistic concurrency)", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster({
        configMaps: { [`dd/${clusterIdConfigMapName}`]: idConfigMap("dd", { id: "short" }, "42") }
      })
      let sent: ConfigMap | undefined
      const kube: KubeClientShape = {
        ...cluster.kube,
        replaceConfigMap: (ns, cm) => {
          sent = cm
          return cluster.kube.replaceConfigMap(ns, cm)
        }
      }
      yield* resolveClusterId(kube, "dd")
      expect(sent?.metadata?.resourceVersion).toBe("42")
    })
  )

  it.effect("losing a create race to another replica: read again, and take its ID", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      // Another replica creates the ConfigMap between our read and our create.
      cluster.before.create = () => {
        cluster.before.create = undefined
        cluster.configMaps.set(`dd/${clusterIdConfigMapName}`, idConfigMap("dd", { id: otherUid }))
        return kubeError("Conflict", "POST", clusterIdConfigMapName)
      }
      expect(yield* resolveClusterId(cluster.kube, "dd")).toBe(otherUid)
      expect(cluster.calls.filter((c) => c.startsWith("get"))).toHaveLength(2)
    })
  )

  it.effect("losing a replace race: read again, and take the ID the other replica wrote", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster({
        configMaps: { [`dd/${clusterIdConfigMapName}`]: idConfigMap("dd", { id: "broken" }) }
      })
      cluster.before.replace = () => {
        cluster.before.replace = undefined
        cluster.configMaps.set(`dd/${clusterIdConfigMapName}`, idConfigMap("dd", { id: otherUid }, "8"))
        return undefined
      }
      expect(yield* resolveClusterId(cluster.kube, "dd")).toBe(otherUid)
      expect(cluster.stored("dd")?.data?.id).toBe(otherUid)
    })
  )

  it.effect("conflicts that never end give up after a few attempts with the Conflict", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      cluster.before.create = () => kubeError("Conflict", "POST", clusterIdConfigMapName)
      const e = yield* Effect.flip(resolveClusterId(cluster.kube, "dd"))
      expect(e.reason).toBe("Conflict")
      const creates = cluster.calls.filter((c) => c.startsWith("create")).length
      expect(creates).toBeGreaterThan(1)
      expect(creates).toBeLessThan(10)
    })
  )

  it.effect.each(["Forbidden", "ServerError", "Transport"] as const)(
    "a %s reading the ConfigMap fails at once, without writing",
    (reason) =>
      Effect.gen(function* () {
        const cluster = fakeCluster()
        cluster.before.get = () => kubeError(reason, "GET", clusterIdConfigMapName)
        const e = yield* Effect.flip(resolveClusterId(cluster.kube, "dd"))
        expect(e.reason).toBe(reason)
        expect(cluster.calls).toEqual([`get dd/${clusterIdConfigMapName}`])
      })
  )

  it.effect("a failure reading kube-system fails without writing", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      cluster.before.namespace = () => kubeError("Forbidden", "GET", "/api/v1/namespaces/kube-system")
      const e = yield* Effect.flip(resolveClusterId(cluster.kube, "dd"))
      expect(e.reason).toBe("Forbidden")
      expect(cluster.calls.some((c) => c.startsWith("create") || c.startsWith("replace"))).toBe(false)
    })
  )
})

const machine = { hostname: "dca-host", serviceAccountNamespace: Option.some("dd-agent") }
const configLayer = (env: Record<string, string> = {}) => {
  const config = resolve(env, machine)
  if (config instanceof ConfigError) throw config
  return Layer.succeed(ClusterAgentConfig, config)
}
const serviceLayer = (kube: KubeClientShape, env: Record<string, string> = {}) =>
  ClusterId.layer.pipe(Layer.provide([Layer.succeed(KubeClient, kube), configLayer(env)]))

describe("ClusterId", () => {
  it.effect("reads the agent's own pod namespace, not DD_KUBE_RESOURCES_NAMESPACE", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      const id = yield* Effect.gen(function* () {
        return yield* (yield* ClusterId).get
      }).pipe(Effect.provide(serviceLayer(cluster.kube, { DD_KUBE_RESOURCES_NAMESPACE: "resources" })))
      expect(id).toBe(kubeSystemUid)
      expect(cluster.stored("dd-agent")?.data?.id).toBe(kubeSystemUid)
      expect(cluster.stored("resources")).toBeUndefined()
    })
  )

  it.effect("is cached for the life of the process after the first success", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      yield* Effect.gen(function* () {
        const clusterId = yield* ClusterId
        expect(yield* clusterId.get).toBe(kubeSystemUid)
        const callsAfterFirst = cluster.calls.length
        // Even if the ConfigMap changes or the API server fails, the known ID stands.
        cluster.before.get = () => kubeError("ServerError", "GET", clusterIdConfigMapName)
        expect(yield* clusterId.get).toBe(kubeSystemUid)
        expect(yield* clusterId.get).toBe(kubeSystemUid)
        expect(cluster.calls.length).toBe(callsAfterFirst)
      }).pipe(Effect.provide(serviceLayer(cluster.kube)))
    })
  )

  it.effect("concurrent first requests resolve it once", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      yield* Effect.gen(function* () {
        const clusterId = yield* ClusterId
        const fibers = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.forkChild(clusterId.get))
        const ids = yield* Effect.forEach(fibers, Fiber.join)
        expect(new Set(ids)).toEqual(new Set([kubeSystemUid]))
        expect(cluster.calls.filter((c) => c.startsWith("create"))).toHaveLength(1)
        expect(cluster.calls.filter((c) => c.startsWith("get"))).toHaveLength(1)
      }).pipe(Effect.provide(serviceLayer(cluster.kube)))
    })
  )

  it.effect("a failure is not cached: the next request tries again", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster()
      cluster.before.get = () => kubeError("Forbidden", "GET", "/api/v1/namespaces/dd-agent/configmaps/x")
      yield* Effect.gen(function* () {
        const clusterId = yield* ClusterId
        const e = yield* Effect.flip(clusterId.get)
        expect(e._tag).toBe("ClusterIdError")
        expect(e.message).toMatch(/^cannot get the cluster ID: GET .*Forbidden/)
        cluster.before.get = undefined
        expect(yield* clusterId.get).toBe(kubeSystemUid)
      }).pipe(Effect.provide(serviceLayer(cluster.kube)))
    })
  )

  it.effect("a kube-system UID that is not a UID is an error, not an ID", () =>
    Effect.gen(function* () {
      const cluster = fakeCluster({ uid: "" })
      yield* Effect.gen(function* () {
        const e = yield* Effect.flip((yield* ClusterId).get)
        expect(e._tag).toBe("ClusterIdError")
        expect(e.message).toContain('kube-system UID "" is not a UID')
      }).pipe(Effect.provide(serviceLayer(cluster.kube)))
    })
  )
})
