// The event token ConfigMap (contract §3.2): get-or-create, recovery of what other writers left
// (garbled values, RFC 822/1123 times, the doubled key of dda#4342), optimistic concurrency
// that never moves the token backwards, and errors that name the ConfigMap. The pure parts in
// tables, the store on an in-memory API server, then on the real one.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { KubeClient, type KubeClientShape, KubeError, type KubeErrorReason } from "../../src/layers/KubeClient.ts"
import type { ConfigMap } from "../../src/layers/kube/types.ts"
import {
  decodeToken,
  formatTokenTimestamp,
  maxWriteAttempts,
  parseTokenTimestamp,
  TokenStore,
  type TokenStoreShape,
  withToken
} from "../../src/layers/TokenStore.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { captureLogs } from "../support/effectTest.ts"

const at = (iso: string) => new Date(iso)
const now = at("2026-03-01T10:00:00Z")

describe("token timestamps", () => {
  it.each([
    ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.000Z", "RFC 3339"],
    ["2024-05-01T12:00:00.123456789Z", "2024-05-01T12:00:00.123Z", "RFC 3339"],
    ["2024-05-01T14:30:00+02:30", "2024-05-01T12:00:00.000Z", "RFC 3339"],
    ["2024-05-01t12:00:00z", "2024-05-01T12:00:00.000Z", "RFC 3339"],
    ["  2024-05-01T12:00:00Z\n", "2024-05-01T12:00:00.000Z", "RFC 3339"],
    ["Mon, 02 Jan 2006 15:04:05 MST", "2006-01-02T22:04:05.000Z", "RFC 1123"],
    ["Mon, 02 Jan 2006 15:04:05 -0700", "2006-01-02T22:04:05.000Z", "RFC 1123"],
    ["Wed, 01 May 2024 12:00:00 UTC", "2024-05-01T12:00:00.000Z", "RFC 1123"],
    ["02 Jan 06 15:04 MST", "2006-01-02T22:04:00.000Z", "RFC 822"],
    ["02 Jan 06 15:04 -0700", "2006-01-02T22:04:00.000Z", "RFC 822"],
    ["01 May 24 12:00 UTC", "2024-05-01T12:00:00.000Z", "RFC 822"],
    // Go's two-digit years, and a zone it does not know (taken as UTC).
    ["01 Jan 69 00:00 GMT", "1969-01-01T00:00:00.000Z", "RFC 822"],
    ["01 Jan 68 00:00 CEST", "2068-01-01T00:00:00.000Z", "RFC 822"]
  ])("%j is %s (%s)", (text, iso, format) => {
    const parsed = parseTokenTimestamp(text)
    expect(parsed?.date.toISOString()).toBe(iso)
    expect(parsed?.format).toBe(format)
  })

  it.each([
    "",
    "yesterday",
    "1714564800",
    "2024-05-01",
    "2024-05-01 12:00:00Z",
    "2024-13-01T12:00:00Z",
    "2024-02-30T12:00:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T12:00:60Z",
    "2024-05-01T12:00:00+25:00",
    "2024-05-01T12:00:00",
    "32 Jan 06 15:04 MST",
    "02 Foo 06 15:04 MST"
  ])("%j is not a time", (text) => {
    expect(parseTokenTimestamp(text)).toBeUndefined()
  })

  it("writes RFC 3339 at second precision in UTC, like Go's time.RFC3339", () => {
    expect(formatTokenTimestamp(at("2024-05-01T12:00:00.987Z"))).toBe("2024-05-01T12:00:00Z")
    const back = parseTokenTimestamp(formatTokenTimestamp(now))
    expect(back).toEqual({ date: now, format: "RFC 3339" })
  })
})

describe("withToken", () => {
  it("writes the accepted occurrences above the cursor, and drops the key once there are none", () => {
    const cm = { metadata: { name: "datadogtoken" }, data: { other: "kept" } }
    const at = new Date("2024-05-01T12:00:00Z")
    const during = withToken(cm, { resourceVersion: "10", timestamp: at, shipped: ["a/1/5"] })
    expect(during.data).toEqual({
      other: "kept",
      "event.tokenKey": "10",
      "event.tokenTimestamp": "2024-05-01T12:00:00Z",
      "event.tokenShipped": '["a/1/5"]'
    })
    expect(withToken(during, { resourceVersion: "12", timestamp: at, shipped: [] }).data).toEqual({
      other: "kept",
      "event.tokenKey": "12",
      "event.tokenTimestamp": "2024-05-01T12:00:00Z"
    })
  })
})

describe("decodeToken", () => {
  const ok = (resourceVersion: string, timestamp: Date) => ({ resourceVersion, timestamp, shipped: [] })

  it("occurrences shipped above the cursor, and a garbled list (read as none, with a warning)", () => {
    const data = { "event.tokenKey": "10", "event.tokenTimestamp": "2024-05-01T12:00:00Z" }
    expect(decodeToken({ ...data, "event.tokenShipped": '["a/1/5","b/2/6"]' }, now).token.shipped).toEqual([
      "a/1/5",
      "b/2/6"
    ])
    const garbled = decodeToken({ ...data, "event.tokenShipped": "{not json" }, now)
    expect(garbled.token.shipped).toEqual([])
    expect(garbled.problems.map((p) => p.key)).toEqual(["event.tokenShipped"])
  })

  it("a token as this agent writes it", () => {
    expect(decodeToken({ "event.tokenKey": "8812345", "event.tokenTimestamp": "2024-05-01T12:00:00Z" }, now)).toEqual({
      token: ok("8812345", at("2024-05-01T12:00:00Z")),
      missing: false,
      problems: []
    })
  })

  it('no data or no tokenKey: missing, "" and now (the caller writes it)', () => {
    for (const data of [undefined, {}, { "event.tokenTimestamp": "2024-05-01T12:00:00Z", other: "x" }]) {
      expect(decodeToken(data, now)).toEqual({ token: ok("", now), missing: true, problems: [] })
    }
  })

  it('"" with a time: the state right after creation, no problem', () => {
    expect(decodeToken({ "event.tokenKey": "", "event.tokenTimestamp": "2024-05-01T12:00:00Z" }, now)).toEqual({
      token: ok("", at("2024-05-01T12:00:00Z")),
      missing: false,
      problems: []
    })
  })

  it.each([
    [
      "a garbled tokenKey is read as from scratch",
      { "event.tokenKey": "rv-12", "event.tokenTimestamp": "2024-05-01T12:00:00Z" },
      ok("", at("2024-05-01T12:00:00Z")),
      [
        {
          key: "event.tokenKey",
          problem: 'not a resourceVersion (decimal digits), got "rv-12": events are collected from scratch'
        }
      ]
    ],
    [
      "a missing timestamp is now",
      { "event.tokenKey": "5" },
      ok("5", now),
      [{ key: "event.tokenTimestamp", problem: "missing: the last list time is taken as now" }]
    ],
    [
      "an unparsable timestamp is now",
      { "event.tokenKey": "5", "event.tokenTimestamp": "last tuesday" },
      ok("5", now),
      [
        {
          key: "event.tokenTimestamp",
          problem: 'not an RFC 3339 time, got "last tuesday": the last list time is taken as now'
        }
      ]
    ],
    [
      "an RFC 822 time of an old original is recovered",
      { "event.tokenKey": "0", "event.tokenTimestamp": "02 Jan 06 15:04 UTC" },
      ok("0", at("2006-01-02T15:04:00Z")),
      [
        {
          key: "event.tokenTimestamp",
          problem:
            "an RFC 822 time left by an older agent, read as 2006-01-02T15:04:00Z; the next write stores RFC 3339"
        }
      ]
    ],
    [
      "the doubled key of dda#4342, with its own timestamp",
      { "event.tokenKey.tokenKey": "304536335", "event.tokenKey.tokenTimestamp": "2019-10-21T09:13:09Z" },
      ok("304536335", at("2019-10-21T09:13:09Z")),
      [
        {
          key: "event.tokenKey.tokenKey",
          problem:
            "the cursor is under the doubled key an old agent wrote (dda#4342); using it, the next write stores it as event.tokenKey"
        }
      ]
    ]
  ])("%s", (_, data, token, problems) => {
    expect(decodeToken(data, now)).toEqual({ token, missing: false, problems })
  })

  it("the doubled key is only read when event.tokenKey is absent", () => {
    const data = {
      "event.tokenKey": "304536335",
      "event.tokenKey.tokenKey": "",
      "event.tokenKey.tokenTimestamp": "2019-10-21T09:13:09Z",
      "event.tokenTimestamp": "2019-10-21T09:13:09Z"
    }
    expect(decodeToken(data, now)).toEqual({
      token: ok("304536335", at("2019-10-21T09:13:09Z")),
      missing: false,
      problems: []
    })
  })

  it("a long garbled value is cut in the message (a ConfigMap value is not for logs)", () => {
    const decoded = decodeToken(
      { "event.tokenKey": "x".repeat(500), "event.tokenTimestamp": "2024-05-01T12:00:00Z" },
      now
    )
    expect(decoded.problems[0]?.problem).toContain(`"${"x".repeat(40)}…"`)
    expect(decoded.problems[0]?.problem.length).toBeLessThan(140)
  })
})

// --- on an in-memory API server ----------------------------------------------------------------

const kubeError = (reason: KubeErrorReason, verb: string, name: string, detail = `${reason} (test)`) =>
  new KubeError({
    reason,
    verb,
    path: `/api/v1/namespaces/ns/configmaps/${name}`,
    status: { NotFound: 404, Conflict: 409, Forbidden: 403 }[reason as string] ?? 500,
    detail
  })

/** One namespace's ConfigMaps with resourceVersions; `before` hooks run ahead of a call's effect. */
const memoryCluster = () => {
  const configMaps = new Map<string, ConfigMap>()
  const calls: Array<string> = []
  let version = 100
  const hooks: {
    get?: () => Effect.Effect<void, KubeError>
    create?: () => Effect.Effect<void, KubeError>
    replace?: (cm: ConfigMap) => Effect.Effect<void, KubeError>
  } = {}
  const stamp = (cm: ConfigMap): ConfigMap => ({
    ...cm,
    metadata: { ...cm.metadata, resourceVersion: String(++version) }
  })
  const seed = (name: string, cm: Partial<ConfigMap>) =>
    configMaps.set(name, stamp({ metadata: { name, namespace: "ns", ...cm.metadata }, ...cm }))
  const kube: KubeClientShape = fakeKubeClient({
    getConfigMap: (_, name) =>
      Effect.gen(function* () {
        calls.push(`GET ${name}`)
        yield* hooks.get?.() ?? Effect.void
        const cm = configMaps.get(name)
        return cm === undefined ? yield* kubeError("NotFound", "GET", name) : structuredClone(cm)
      }),
    createConfigMap: (_, cm) =>
      Effect.gen(function* () {
        const name = cm.metadata?.name ?? ""
        calls.push(`POST ${name}`)
        yield* hooks.create?.() ?? Effect.void
        if (configMaps.has(name)) return yield* kubeError("Conflict", "POST", name)
        const stored = stamp(cm)
        configMaps.set(name, stored)
        return structuredClone(stored)
      }),
    replaceConfigMap: (_, cm) =>
      Effect.gen(function* () {
        const name = cm.metadata?.name ?? ""
        calls.push(`PUT ${name}`)
        yield* hooks.replace?.(cm) ?? Effect.void
        const current = configMaps.get(name)
        if (current === undefined) return yield* kubeError("NotFound", "PUT", name)
        if (current.metadata?.resourceVersion !== cm.metadata?.resourceVersion) {
          return yield* kubeError("Conflict", "PUT", name, "the object has been modified")
        }
        const stored = stamp(cm)
        configMaps.set(name, stored)
        return structuredClone(stored)
      })
  })
  return { kube, configMaps, calls, hooks, seed, data: (name: string) => configMaps.get(name)?.data }
}

const withLogs = <A, E>(f: (logs: ReturnType<typeof captureLogs>) => Effect.Effect<A, E>) => {
  const logs = captureLogs()
  return f(logs).pipe(Effect.provide(logs.layer))
}

describe("TokenStore (in-memory API server)", () => {
  const setup = () => {
    const cluster = memoryCluster()
    return { ...cluster, store: TokenStore.make(cluster.kube, "ns", "datadogtoken") }
  }

  it.effect('creates the ConfigMap when missing, stores "" with the time now, returns it', () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(now.getTime())
      const { store, calls, configMaps } = setup()
      expect(yield* store.read).toEqual({ resourceVersion: "", timestamp: now, shipped: [] })
      expect(calls).toEqual(["GET datadogtoken", "POST datadogtoken", "PUT datadogtoken"])
      expect(configMaps.get("datadogtoken")).toMatchObject({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "datadogtoken", namespace: "ns" },
        data: { "event.tokenKey": "", "event.tokenTimestamp": "2026-03-01T10:00:00Z" }
      })
    })
  )

  it.effect("a 409 on create means another replica created it: read theirs", () =>
    Effect.gen(function* () {
      const { store, calls, hooks, seed } = setup()
      hooks.create = () =>
        Effect.sync(() =>
          seed("datadogtoken", { data: { "event.tokenKey": "77", "event.tokenTimestamp": "2024-05-01T12:00:00Z" } })
        )
      expect(yield* store.read).toEqual({ resourceVersion: "77", timestamp: at("2024-05-01T12:00:00Z"), shipped: [] })
      expect(calls).toEqual(["GET datadogtoken", "POST datadogtoken", "GET datadogtoken"])
    })
  )

  it.effect("garbled data: a warning naming the ConfigMap and the key, and a token to start over", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { store, seed, calls } = setup()
        seed("datadogtoken", { data: { "event.tokenKey": "banana", "event.tokenTimestamp": "soon" } })
        yield* TestClock.setTime(now.getTime())
        expect(yield* store.read).toEqual({ resourceVersion: "", timestamp: now, shipped: [] })
        expect(calls).toEqual(["GET datadogtoken"])
        const warnings = logs.lines.filter((l) => l.level === "Warn")
        expect(warnings.map((l) => l.message)).toEqual([
          'event token ConfigMap ns/datadogtoken, key event.tokenKey: not a resourceVersion (decimal digits), got "banana": events are collected from scratch',
          'event token ConfigMap ns/datadogtoken, key event.tokenTimestamp: not an RFC 3339 time, got "soon": the last list time is taken as now'
        ])
        expect(warnings[0]?.annotations).toMatchObject({ configMap: "ns/datadogtoken", key: "event.tokenKey" })
      })
    )
  )

  it.effect("an RFC 1123 time is recovered, and the next write stores RFC 3339", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { store, seed, data } = setup()
        seed("datadogtoken", {
          data: { "event.tokenKey": "12", "event.tokenTimestamp": "Mon, 02 Jan 2006 15:04:05 UTC" }
        })
        const token = yield* store.read
        expect(token).toEqual({ resourceVersion: "12", timestamp: at("2006-01-02T15:04:05Z"), shipped: [] })
        expect(
          logs.lines.some((l) => l.level === "Warn" && l.message.includes("an RFC 1123 time left by an older agent"))
        ).toBe(true)
        yield* store.write({ ...token, resourceVersion: "13" })
        expect(data("datadogtoken")).toEqual({ "event.tokenKey": "13", "event.tokenTimestamp": "2006-01-02T15:04:05Z" })
      })
    )
  )

  it.effect("a write keeps the other keys, labels and annotations", () =>
    Effect.gen(function* () {
      const { store, seed, configMaps } = setup()
      seed("datadogtoken", {
        metadata: { name: "datadogtoken", labels: { team: "core" }, annotations: { note: "keep" } },
        data: { "event.tokenKey": "1", "event.tokenTimestamp": "2024-05-01T12:00:00Z", "other.key": "x" },
        binaryData: { blob: "AAE=" }
      })
      yield* store.write({ resourceVersion: "2", timestamp: now, shipped: [] })
      expect(configMaps.get("datadogtoken")).toMatchObject({
        metadata: { name: "datadogtoken", labels: { team: "core" }, annotations: { note: "keep" } },
        data: { "event.tokenKey": "2", "event.tokenTimestamp": "2026-03-01T10:00:00Z", "other.key": "x" },
        binaryData: { blob: "AAE=" }
      })
    })
  )

  it.effect("on 409 it reads again and writes over the fresh object", () =>
    Effect.gen(function* () {
      const { store, seed, hooks, calls, data } = setup()
      seed("datadogtoken", { data: { "event.tokenKey": "1", "event.tokenTimestamp": "2024-05-01T12:00:00Z" } })
      let raced = false
      hooks.replace = () =>
        Effect.sync(() => {
          if (raced) return
          raced = true
          // Another replica writes between our GET and PUT.
          seed("datadogtoken", {
            data: { "event.tokenKey": "5", "event.tokenTimestamp": "2024-05-01T12:00:05Z", extra: "theirs" }
          })
        })
      yield* store.write({ resourceVersion: "9", timestamp: now, shipped: [] })
      expect(calls).toEqual(["GET datadogtoken", "PUT datadogtoken", "GET datadogtoken", "PUT datadogtoken"])
      expect(data("datadogtoken")).toEqual({
        "event.tokenKey": "9",
        "event.tokenTimestamp": "2026-03-01T10:00:00Z",
        extra: "theirs"
      })
    })
  )

  it.effect("never backwards: a stored resourceVersion ahead of ours is kept, with an info line", () =>
    withLogs((logs) =>
      Effect.gen(function* () {
        const { store, seed, calls, data } = setup()
        seed("datadogtoken", {
          data: { "event.tokenKey": "20000000000000000001", "event.tokenTimestamp": "2024-05-01T12:00:00Z" }
        })
        yield* store.write({ resourceVersion: "20000000000000000000", timestamp: now, shipped: [] })
        yield* store.write({ resourceVersion: "", timestamp: now, shipped: [] })
        expect(calls).toEqual(["GET datadogtoken", "GET datadogtoken"])
        expect(data("datadogtoken")).toEqual({
          "event.tokenKey": "20000000000000000001",
          "event.tokenTimestamp": "2024-05-01T12:00:00Z"
        })
        const kept = logs.lines.filter((l) => l.message.includes("keeping it"))
        expect(kept).toHaveLength(2)
        expect(kept[0]).toMatchObject({
          level: "Info",
          annotations: { stored: "20000000000000000001", ours: "20000000000000000000" }
        })
      })
    )
  )

  it.effect("the same or a garbled stored value is overwritten", () =>
    Effect.gen(function* () {
      const { store, seed, data } = setup()
      seed("datadogtoken", { data: { "event.tokenKey": "garbled" } })
      yield* store.write({ resourceVersion: "3", timestamp: now, shipped: [] })
      yield* store.write({ resourceVersion: "3", timestamp: at("2026-03-01T10:05:00Z"), shipped: [] })
      expect(data("datadogtoken")).toEqual({ "event.tokenKey": "3", "event.tokenTimestamp": "2026-03-01T10:05:00Z" })
    })
  )

  it.effect(`gives up after ${maxWriteAttempts} lost races with the last 409, naming the ConfigMap`, () =>
    Effect.gen(function* () {
      const { store, seed, hooks, calls } = setup()
      seed("datadogtoken", { data: { "event.tokenKey": "1" } })
      hooks.replace = () => Effect.sync(() => seed("datadogtoken", { data: { "event.tokenKey": "1" } }))
      const e = yield* Effect.flip(store.write({ resourceVersion: "2", timestamp: now, shipped: [] }))
      expect(calls.filter((c) => c.startsWith("PUT"))).toHaveLength(maxWriteAttempts)
      expect(e).toMatchObject({ _tag: "KubeError", reason: "Conflict", verb: "PUT" })
      expect(e.detail).toBe(
        `event token ConfigMap ns/datadogtoken (DD_CLUSTER_AGENT_TOKEN_NAME): the object has been modified (gave up after ${maxWriteAttempts} writes that lost a race)`
      )
    })
  )

  it.effect("deleted between read and write: recreated on the next round", () =>
    Effect.gen(function* () {
      const { store, seed, hooks, configMaps, calls, data } = setup()
      seed("datadogtoken", { data: { "event.tokenKey": "1" } })
      let deleted = false
      hooks.replace = () =>
        Effect.sync(() => {
          if (!deleted) configMaps.delete("datadogtoken")
          deleted = true
        })
      yield* store.write({ resourceVersion: "2", timestamp: now, shipped: [] })
      expect(calls).toEqual([
        "GET datadogtoken",
        "PUT datadogtoken",
        "GET datadogtoken",
        "POST datadogtoken",
        "PUT datadogtoken"
      ])
      expect(data("datadogtoken")).toEqual({ "event.tokenKey": "2", "event.tokenTimestamp": "2026-03-01T10:00:00Z" })
    })
  )

  it.effect("a 403 names the ConfigMap, its namespace and the rights it takes; other errors name it too", () =>
    Effect.gen(function* () {
      const { store, hooks } = setup()
      hooks.get = () =>
        Effect.fail(kubeError("Forbidden", "GET", "datadogtoken", 'configmaps "datadogtoken" is forbidden'))
      const denied = yield* Effect.flip(store.read)
      expect(denied).toMatchObject({ reason: "Forbidden", status: 403, verb: "GET" })
      expect(denied.detail).toBe(
        `event token ConfigMap ns/datadogtoken (DD_CLUSTER_AGENT_TOKEN_NAME): the agent's service account needs get, create and update on configmaps in namespace ns: configmaps "datadogtoken" is forbidden`
      )
      expect(denied.message).toContain("GET /api/v1/namespaces/ns/configmaps/datadogtoken: 403 Forbidden")

      hooks.get = () => Effect.fail(kubeError("ServerError", "GET", "datadogtoken", "etcdserver: request timed out"))
      const failed = yield* Effect.flip(store.write({ resourceVersion: "1", timestamp: now, shipped: [] }))
      expect(failed.detail).toBe(
        "event token ConfigMap ns/datadogtoken (DD_CLUSTER_AGENT_TOKEN_NAME): etcdserver: request timed out"
      )
    })
  )

  it.effect("TokenStore.layer: DD_CLUSTER_AGENT_TOKEN_NAME in the resources namespace", () =>
    Effect.gen(function* () {
      const names = yield* Ref.make<Array<string>>([])
      const kube = fakeKubeClient({
        getConfigMap: (namespace, name) =>
          Effect.andThen(
            Ref.update(names, (n) => [...n, `${namespace}/${name}`]),
            Effect.succeed({
              metadata: { name },
              data: { "event.tokenKey": "4", "event.tokenTimestamp": "2024-05-01T12:00:00Z" }
            })
          )
      })
      const layer = TokenStore.layer.pipe(
        Layer.provide(Layer.succeed(KubeClient, KubeClient.of(kube))),
        Layer.provide(
          ClusterAgentConfig.fromEnv({ DD_KUBE_RESOURCES_NAMESPACE: "datadog", DD_CLUSTER_AGENT_TOKEN_NAME: "mytoken" })
        )
      )
      const token = yield* TokenStore.use((store) => store.read).pipe(Effect.provide(layer))
      expect(token.resourceVersion).toBe("4")
      expect(yield* Ref.get(names)).toEqual(["datadog/mytoken"])
    })
  )
})

// --- on the real API server ----------------------------------------------------------------------

describe.runIf(clusterAvailable)("TokenStore (real API server)", () => {
  const cluster = useCluster()

  const kubeLayer = (kubeconfigPath: string) =>
    KubeClient.layer.pipe(Layer.provide(ClusterAgentConfig.fromEnv({ DD_KUBERNETES_KUBECONFIG_PATH: kubeconfigPath })))

  /** The agent's own wiring: TokenStore.layer over KubeClient.layer for this namespace. */
  const storeLayer = (namespace: string, kubeconfigPath = cluster.kubeconfigPath) =>
    TokenStore.layer.pipe(
      Layer.provideMerge(kubeLayer(kubeconfigPath)),
      Layer.provide(
        ClusterAgentConfig.fromEnv({
          DD_KUBE_RESOURCES_NAMESPACE: namespace,
          DD_KUBERNETES_KUBECONFIG_PATH: kubeconfigPath
        })
      )
    )

  const namespace = (prefix: string) => Effect.promise(() => cluster.newNamespace(prefix))

  it.live("creates the ConfigMap when missing and stores the original's keys", () =>
    Effect.gen(function* () {
      const ns = yield* namespace("token-create")
      yield* Effect.gen(function* () {
        const store = yield* TokenStore
        const kube = yield* KubeClient
        const before = Date.now()
        const token = yield* store.read
        expect(token.resourceVersion).toBe("")
        const stored = yield* kube.getConfigMap(ns, "datadogtoken")
        expect(Object.keys(stored.data ?? {}).sort()).toEqual(["event.tokenKey", "event.tokenTimestamp"])
        expect(stored.data?.["event.tokenKey"]).toBe("")
        const time = parseTokenTimestamp(stored.data?.["event.tokenTimestamp"] ?? "")
        expect(time?.format).toBe("RFC 3339")
        expect(time?.date.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000)

        yield* store.write({ resourceVersion: "12345", timestamp: at("2026-03-01T10:00:00Z"), shipped: [] })
        expect(yield* store.read).toEqual({
          resourceVersion: "12345",
          timestamp: at("2026-03-01T10:00:00Z"),
          shipped: []
        })
      }).pipe(Effect.provide(storeLayer(ns)))
    })
  )

  it.live("recovers garbled and RFC 822 data left in the ConfigMap, keeping labels and other keys", () =>
    Effect.gen(function* () {
      const ns = yield* namespace("token-recover")
      yield* Effect.gen(function* () {
        const store = yield* TokenStore
        const kube = yield* KubeClient
        yield* kube.createConfigMap(ns, {
          metadata: { name: "datadogtoken", labels: { "app.kubernetes.io/managed-by": "helm" } },
          data: { "event.tokenKey": "not-a-number", "event.tokenTimestamp": "02 Jan 06 15:04 UTC", keep: "me" }
        })
        expect(yield* store.read).toEqual({ resourceVersion: "", timestamp: at("2006-01-02T15:04:00Z"), shipped: [] })
        yield* store.write({ resourceVersion: "7", timestamp: at("2026-03-01T10:00:00Z"), shipped: [] })
        const stored = yield* kube.getConfigMap(ns, "datadogtoken")
        expect(stored.data).toEqual({
          "event.tokenKey": "7",
          "event.tokenTimestamp": "2026-03-01T10:00:00Z",
          keep: "me"
        })
        expect(stored.metadata?.labels).toEqual({ "app.kubernetes.io/managed-by": "helm" })
      }).pipe(Effect.provide(storeLayer(ns)))
    })
  )

  it.live("two writers racing: the loser gets a real 409, re-reads, and the higher token wins, never backwards", () =>
    Effect.gen(function* () {
      const ns = yield* namespace("token-race")
      yield* Effect.gen(function* () {
        const kube = yield* KubeClient
        const other: TokenStoreShape = TokenStore.make(kube, ns, "datadogtoken")
        yield* other.write({ resourceVersion: "100", timestamp: at("2026-03-01T10:00:00Z"), shipped: [] })

        // Our writer: between its GET and its PUT, the other replica writes (once).
        const puts: Array<string> = []
        let raced = false
        const racing: KubeClientShape = {
          ...kube,
          replaceConfigMap: (namespace, cm) =>
            Effect.gen(function* () {
              if (!raced) {
                raced = true
                yield* other.write({ resourceVersion: "300", timestamp: at("2026-03-01T10:03:00Z"), shipped: [] })
              }
              return yield* kube.replaceConfigMap(namespace, cm).pipe(
                Effect.tapError((e) => Effect.sync(() => puts.push(e.reason))),
                Effect.tap(() => Effect.sync(() => puts.push("ok")))
              )
            })
        }
        const ours = TokenStore.make(racing, ns, "datadogtoken")
        yield* ours.write({ resourceVersion: "200", timestamp: at("2026-03-01T10:02:00Z"), shipped: [] })
        // Our PUT lost (the server's 409), we read again, saw 300 > 200 and kept it.
        expect(puts).toEqual(["Conflict"])
        expect(yield* ours.read).toEqual({ resourceVersion: "300", timestamp: at("2026-03-01T10:03:00Z"), shipped: [] })

        // A token ahead of the stored one is written over it.
        yield* ours.write({ resourceVersion: "400", timestamp: at("2026-03-01T10:04:00Z"), shipped: [] })
        expect(puts).toEqual(["Conflict", "ok"])
        expect((yield* kube.getConfigMap(ns, "datadogtoken")).data?.["event.tokenKey"]).toBe("400")

        // Concurrent writers: whatever the interleaving, the highest stays.
        const writers = ["401", "405", "403", "402", "404"].map((rv) =>
          TokenStore.make(kube, ns, "datadogtoken").write({
            resourceVersion: rv,
            timestamp: at("2026-03-01T10:05:00Z"),
            shipped: []
          })
        )
        yield* Effect.all(writers, { concurrency: "unbounded" })
        expect((yield* kube.getConfigMap(ns, "datadogtoken")).data?.["event.tokenKey"]).toBe("405")
      }).pipe(Effect.provide(storeLayer(ns)))
    })
  )

  it.live("a user without rights: Forbidden naming the ConfigMap, its namespace and the rights it takes", () =>
    Effect.gen(function* () {
      const ns = yield* namespace("token-forbidden")
      const nobody = yield* Effect.promise(() => cluster.userKubeconfig("dca-token-nobody"))
      const failed = yield* Effect.flip(
        TokenStore.use((store) => store.read).pipe(Effect.provide(storeLayer(ns, nobody)))
      )
      expect(failed).toBeInstanceOf(KubeError)
      const e = failed as KubeError
      expect(e).toMatchObject({ _tag: "KubeError", reason: "Forbidden", status: 403, verb: "GET" })
      expect(e.path).toBe(`/api/v1/namespaces/${ns}/configmaps/datadogtoken`)
      expect(e.detail).toContain(
        `event token ConfigMap ${ns}/datadogtoken (DD_CLUSTER_AGENT_TOKEN_NAME): the agent's service account needs get, create and update on configmaps in namespace ${ns}: `
      )
      expect(e.detail).toContain('User "dca-token-nobody" cannot get resource "configmaps"')
    })
  )
})
