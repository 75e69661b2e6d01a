import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Layer, Ref } from "effect"
import { TestClock } from "effect/testing"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { KubeClient, type KubeClientShape, KubeError } from "../../src/layers/KubeClient.ts"
import {
  ApiServerProbeLive,
  type ApiServerStatus,
  defaultProbeOptions,
  runProbe,
  shouldWarn
} from "../../src/services/ApiServerProbe.ts"
import { Health } from "../../src/services/Health.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { advance, captureLogs } from "../support/effectTest.ts"
import { waitFor } from "../support/waitFor.ts"

/** A KubeClient whose /version and /readyz answer from switches, recording when they were called. */
const fakeKube = () => {
  const state = {
    versionUp: false,
    readyzUp: false,
    versionCalls: [] as Array<number>,
    readyzCalls: [] as Array<number>
  }
  const down = (path: string) =>
    new KubeError({ reason: "Transport", verb: "GET", path, detail: "connect ECONNREFUSED 10.0.0.1:443" })
  const kube: KubeClientShape = fakeKubeClient({
    server: "https://10.0.0.1:443",
    serverVersion: () =>
      Effect.gen(function* () {
        state.versionCalls.push(yield* Clock.currentTimeMillis)
        if (!state.versionUp) return yield* down("/version")
        return { major: "1", minor: "34", gitVersion: "v1.34.4" }
      }),
    readyz: () =>
      Effect.gen(function* () {
        state.readyzCalls.push(yield* Clock.currentTimeMillis)
        if (!state.readyzUp) return yield* down("/readyz")
        return "ok"
      })
  })
  return { kube, state, up: (on: boolean) => Object.assign(state, { versionUp: on, readyzUp: on }) }
}

const startProbe = (kube: KubeClientShape) =>
  Effect.gen(function* () {
    const health = yield* Health.make
    const handle = yield* health.register("apiserver", ["ready"])
    const fiber = yield* Effect.forkChild(runProbe(kube, handle))
    yield* Effect.yieldNow
    const ready = Effect.map(health.report("ready"), (r) => r.Healthy.includes("apiserver"))
    return { fiber, ready }
  })

const deltas = (times: ReadonlyArray<number>) => times.slice(1).map((t, i) => t - (times[i] ?? 0))

describe("ApiServerProbe (fake API server, test clock)", () => {
  it.effect("retries with exponential, jittered backoff capped at 30 s, not ready meanwhile", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const { kube, state } = fakeKube()
      const { fiber, ready } = yield* startProbe(kube)
      yield* advance("300 seconds")
      expect(yield* ready).toBe(false)
      const gaps = deltas(state.versionCalls)
      expect(gaps.length).toBeGreaterThan(10)
      // Attempt i waits 2^i s ±20 % (measured to the 100 ms step), never more than 30 s.
      gaps.slice(0, 5).forEach((gap, i) => {
        expect(gap).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i - 100)
        expect(gap).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i + 100)
      })
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(30_000 + 100)
      for (const gap of gaps.slice(6)) expect(gap).toBeGreaterThanOrEqual(30_000 - 100)
      expect(fiber.pollUnsafe()).toBeUndefined()
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("logs one warning per 30 s window, counting the failed attempts", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const { kube, state } = fakeKube()
      yield* startProbe(kube)
      yield* advance("200 seconds")
      const warnings = logs.lines.filter((l) => l.level === "Warn")
      expect(warnings[0]).toMatchObject({
        message: "cannot reach the API server, retrying",
        annotations: {
          server: "https://10.0.0.1:443",
          reason: "Transport",
          error: "GET /version: Transport: connect ECONNREFUSED 10.0.0.1:443",
          failedAttempts: 1
        }
      })
      expect(warnings.length).toBeLessThan(state.versionCalls.length)
      expect(warnings.length).toBeLessThanOrEqual(Math.ceil(200 / 30) + 1)
      // Every attempt is accounted for by exactly one warning line.
      const counted = warnings.reduce((n, w) => n + Number(w.annotations.failedAttempts), 0)
      expect(counted).toBeLessThanOrEqual(state.versionCalls.length)
      expect(counted).toBeGreaterThanOrEqual(state.versionCalls.length - 3)
      expect(logs.lines.filter((l) => l.level !== "Warn")).toEqual([])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("becomes ready once reachable, checks /readyz every 10 s, and drops and recovers readiness", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const { kube, state, up } = fakeKube()
      const { fiber, ready } = yield* startProbe(kube)
      yield* advance("5 seconds")
      expect(yield* ready).toBe(false)

      up(true)
      yield* advance("5 seconds")
      expect(yield* ready).toBe(true)
      const connected = logs.lines.filter((l) => l.message === "connected to the API server")
      expect(connected).toHaveLength(1)
      expect(connected[0]).toMatchObject({
        level: "Info",
        annotations: { gitVersion: "v1.34.4", server: "https://10.0.0.1:443" }
      })

      // While connected: /readyz every 10 s, /version not again.
      const versionCalls = state.versionCalls.length
      const readyzBefore = state.readyzCalls.length
      yield* advance("60 seconds")
      expect(state.versionCalls.length).toBe(versionCalls)
      expect(state.readyzCalls.length - readyzBefore).toBe(6)
      // (Times carry the fractional milliseconds of the jittered reconnect delay.)
      expect(deltas(state.readyzCalls.slice(readyzBefore)).map(Math.round)).toEqual([
        10_000, 10_000, 10_000, 10_000, 10_000
      ])

      // The API server stops being ready: readiness drops at the next check, with a warning.
      const warnings = logs.lines.filter((l) => l.level === "Warn").length
      state.readyzUp = false
      yield* advance("10 seconds")
      expect(yield* ready).toBe(false)
      expect(logs.lines.filter((l) => l.level === "Warn").length).toBe(warnings + 1)
      expect(logs.lines.at(-1)?.annotations.error).toBe("GET /readyz: Transport: connect ECONNREFUSED 10.0.0.1:443")

      // It comes back: ready again, announced once more.
      state.readyzUp = true
      yield* advance("5 seconds")
      expect(yield* ready).toBe(true)
      expect(logs.lines.filter((l) => l.message === "connected to the API server")).toHaveLength(2)
      expect(fiber.pollUnsafe()).toBeUndefined()
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("keeps the connection's state for the status page: since when, the version, the last error", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const { kube, up, state } = fakeKube()
      const health = yield* Health.make
      const handle = yield* health.register("apiserver", ["ready"])
      const status = yield* Ref.make<ApiServerStatus>({ server: kube.server, connected: false })
      yield* Effect.forkChild(runProbe(kube, handle, defaultProbeOptions, status))
      yield* Effect.yieldNow
      expect(yield* Ref.get(status)).toEqual({
        server: "https://10.0.0.1:443",
        connected: false,
        since: 0,
        gitVersion: undefined,
        lastError: "GET /version: Transport: connect ECONNREFUSED 10.0.0.1:443"
      })
      yield* advance("10 seconds")
      // Still down: the state began at the first failure.
      expect((yield* Ref.get(status)).since).toBe(0)
      up(true)
      yield* advance("30 seconds")
      const connected = yield* Ref.get(status)
      expect(connected).toMatchObject({ connected: true, gitVersion: "v1.34.4" })
      expect(connected.lastError).toBeUndefined()
      const since = connected.since ?? -1
      expect(since).toBeGreaterThan(10_000)
      state.readyzUp = false
      yield* advance("10 seconds")
      expect(yield* Ref.get(status)).toMatchObject({
        connected: false,
        gitVersion: "v1.34.4",
        lastError: "GET /readyz: Transport: connect ECONNREFUSED 10.0.0.1:443"
      })
      expect((yield* Ref.get(status)).since).toBeGreaterThan(since)
    }).pipe(Effect.provide(logs.layer))
  })

  it("shouldWarn: first failure, then once per window", () => {
    const every = Duration.seconds(30)
    expect(shouldWarn(undefined, 5, every)).toBe(true)
    expect(shouldWarn(1_000, 30_999, every)).toBe(false)
    expect(shouldWarn(1_000, 31_000, every)).toBe(true)
  })
})

/**
 * A dead API server: a TCP port that accepts and at once drops every connection (counting
 * them, so the test sees the probe keep trying), and a kubeconfig pointing at it.
 */
const deadApiServer = async () => {
  const connections = { count: 0 }
  const server = Net.createServer((socket) => {
    connections.count++
    socket.destroy()
  })
  const port = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as Net.AddressInfo).port))
  )
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-probe-"))
  const kubeconfigPath = Path.join(dir, "kubeconfig")
  Fs.writeFileSync(
    kubeconfigPath,
    [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{ name: dead, cluster: { server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true } }]`,
      "users: [{ name: u, user: { token: t } }]",
      "contexts: [{ name: c, context: { cluster: dead, user: u } }]",
      "current-context: c",
      ""
    ].join("\n")
  )
  const close = () =>
    new Promise<void>((resolve) => server.close(() => resolve())).then(() =>
      Fs.rmSync(dir, { recursive: true, force: true })
    )
  return { kubeconfigPath, connections, close }
}

describe.runIf(clusterAvailable)("ApiServerProbe (real control plane)", () => {
  const cluster = useCluster()

  const withProbe = (kubeconfigPath: string) => {
    const logs = captureLogs()
    const layer = ApiServerProbeLive.pipe(
      Layer.provideMerge(Health.layer),
      Layer.provideMerge(KubeClient.layer),
      Layer.provide(ClusterAgentConfig.fromEnv({ DD_KUBERNETES_KUBECONFIG_PATH: kubeconfigPath })),
      Layer.provide(logs.layer)
    )
    return { logs, layer }
  }

  it.live("becomes ready against the running API server", () => {
    const { logs, layer } = withProbe(cluster.kubeconfigPath)
    return Effect.gen(function* () {
      const health = yield* Health
      yield* Effect.promise(() =>
        waitFor(async () => (await Effect.runPromise(health.report("ready"))).Healthy.includes("apiserver"), {
          what: "apiserver to be ready"
        })
      )
      const connected = logs.lines.find((l) => l.message === "connected to the API server")
      expect(connected?.annotations.gitVersion).toMatch(/^v1\.\d+\.\d+/)
      expect(connected?.annotations.server).toBe(cluster.server)
    }).pipe(Effect.provide(layer))
  })
})

describe("ApiServerProbe (real KubeClient against a dead address, test clock)", () => {
  /** Moves the test clock in 100 ms steps until `done()` holds, for at most `limit`. */
  const advanceUntil = (done: () => boolean, limit: Duration.Input) =>
    Effect.gen(function* () {
      const steps = Duration.toMillis(Duration.fromInputUnsafe(limit)) / 100
      for (let i = 0; i < steps; i++) {
        if (done()) return
        yield* Effect.yieldNow
        yield* TestClock.adjust("100 millis")
      }
    })

  it.effect("stays alive and not ready, retrying with backoff and warning once", () =>
    Effect.gen(function* () {
      const dead = yield* Effect.acquireRelease(Effect.promise(deadApiServer), (d) => Effect.promise(d.close))
      const logs = captureLogs()
      yield* Effect.gen(function* () {
        const real = yield* KubeClient
        // The real client does the real I/O; the wrapper only records when attempts start and how they fail.
        const started: Array<number> = []
        const failures: Array<KubeError> = []
        const kube: KubeClientShape = {
          ...real,
          serverVersion: () =>
            Effect.gen(function* () {
              started.push(yield* Clock.currentTimeMillis)
              return yield* real.serverVersion()
            }).pipe(Effect.tapError((e) => Effect.sync(() => failures.push(e))))
        }
        const health = yield* Health
        const handle = yield* health.register("apiserver", ["ready"])
        const fiber = yield* Effect.forkScoped(runProbe(kube, handle))
        // The socket I/O is real, so the test waits for each failure (polling, not a fixed sleep);
        // the virtual clock stands still meanwhile and only moves to fire the next attempt.
        const failed = (n: number) =>
          Effect.promise(() => waitFor(() => failures.length >= n, { what: `${n} failed attempts` }))

        yield* failed(1)
        for (const n of [2, 3]) {
          yield* advanceUntil(() => started.length >= n, "30 seconds")
          expect(started).toHaveLength(n)
          yield* failed(n)
        }
        expect(dead.connections.count).toBeGreaterThanOrEqual(3)
        // Attempts about 0 s, 1 s and 3 s in (2^i s ±20 %, measured to the 100 ms step).
        deltas(started).forEach((gap, i) => {
          expect(gap).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i)
          expect(gap).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i + 200)
        })
        for (const e of failures) expect(e.reason).toBe("Transport")

        const report = yield* health.report("ready")
        expect(report.Unhealthy).toContain("apiserver")
        expect(fiber.pollUnsafe()).toBeUndefined()
        // The first failure is logged at once; later ones in the same 30 s window are not.
        const warnings = logs.lines.filter((l) => l.level === "Warn")
        expect(warnings).toHaveLength(1)
        expect(warnings[0]?.annotations).toMatchObject({ reason: "Transport", server: real.server, failedAttempts: 1 })
        expect(String(warnings[0]?.annotations.error)).toMatch(/^GET \/version: Transport: /)
      }).pipe(
        Effect.provide(
          Health.layer.pipe(
            Layer.provideMerge(KubeClient.layer),
            Layer.provide(ClusterAgentConfig.fromEnv({ DD_KUBERNETES_KUBECONFIG_PATH: dead.kubeconfigPath })),
            Layer.provideMerge(logs.layer)
          )
        )
      )
    })
  )
})
