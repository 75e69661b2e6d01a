// The control-plane service checks (contract §5.1–5.2): the mapping of componentstatuses in a
// table, one run against the fake Datadog API with a scripted API server, the loop on the test
// clock, then both modes against the real API server.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { DatadogClient } from "../../src/layers/DatadogClient.ts"
import { KubeClient, type KubeClientShape, KubeError, type KubeErrorReason } from "../../src/layers/KubeClient.ts"
import type { ComponentStatus } from "../../src/layers/kube/types.ts"
import {
  type CheckContext,
  componentStatusChecks,
  controlPlaneCheckLoop,
  readyzCheck,
  runControlPlaneCheck
} from "../../src/services/ControlPlaneCheck.ts"
import { ApiserverCheckConfig } from "../../src/services/kubernetesApiserver/confd.ts"
import { type ApiserverCheckInstance, defaultInstance } from "../../src/services/kubernetesApiserver/instance.ts"
import { clientOptions, until, useFakeDatadog } from "../layers/datadog/support.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { captureLogs } from "../support/effectTest.ts"

const context: CheckContext = { hostName: "dca-host", tags: ["team:core", "env:test"], timestamp: 1_700_000_000 }
const check = "kube_apiserver_controlplane.up"

const component = (name: string, ...conditions: NonNullable<ComponentStatus["conditions"]>): ComponentStatus => ({
  metadata: { name },
  conditions
})

describe("componentStatusChecks", () => {
  const one = (item: ComponentStatus) => {
    const result = componentStatusChecks([item], context)
    return Result.isSuccess(result) ? result.success : result.failure
  }
  const expected = (name: string, status: 0 | 1 | 2 | 3, message: string) => [
    {
      check,
      hostName: "dca-host",
      status,
      tags: [`component:${name}`, "team:core", "env:test"],
      timestamp: 1_700_000_000,
      message
    }
  ]

  it.each([
    [
      "True: OK with the condition's message",
      component("etcd-0", { type: "Healthy", status: "True", message: "ok" }),
      expected("etcd-0", 0, "ok")
    ],
    [
      "False: CRITICAL with the condition's error",
      component("scheduler", { type: "Healthy", status: "False", message: "m", error: "connection refused" }),
      expected("scheduler", 2, "connection refused")
    ],
    [
      "False without an error: CRITICAL with the message",
      component("scheduler", { type: "Healthy", status: "False", message: "down" }),
      expected("scheduler", 2, "down")
    ],
    ["False with neither", component("scheduler", { type: "Healthy", status: "False" }), expected("scheduler", 2, "")],
    [
      "Unknown: UNKNOWN, empty message",
      component("controller-manager", { type: "Healthy", status: "Unknown", message: "hm" }),
      expected("controller-manager", 3, "")
    ],
    ["True without a message", component("etcd-1", { type: "Healthy", status: "True" }), expected("etcd-1", 0, "")],
    ["only Healthy conditions count", component("etcd-0", { type: "Ready", status: "True" }), []],
    ["no conditions: skipped", { metadata: { name: "etcd-0" } }, []]
  ])("%s", (_, item, checks) => {
    expect(one(item)).toEqual(checks)
  })

  it("one check per Healthy condition of every component, in order", () => {
    const result = componentStatusChecks(
      [
        component("scheduler", { type: "Healthy", status: "True", message: "ok" }),
        component(
          "etcd-0",
          { type: "Other", status: "False" },
          { type: "Healthy", status: "True", message: '{"health":"true"}' }
        )
      ],
      { ...context, tags: [] }
    )
    expect(Result.isSuccess(result) && result.success.map((c) => [c.tags, c.status, c.message])).toEqual([
      [["component:scheduler"], 0, "ok"],
      [["component:etcd-0"], 0, '{"health":"true"}']
    ])
  })

  it("an item without a name abandons the run (the API changed shape)", () => {
    const conditions = [{ type: "Healthy", status: "True" }]
    for (const nameless of [{ metadata: {}, conditions }, { metadata: { name: "" }, conditions }, { conditions }]) {
      const result = componentStatusChecks(
        [component("etcd-0", { type: "Healthy", status: "True" }), nameless],
        context
      )
      expect(result).toEqual(Result.fail("componentstatuses item 1 has no metadata.name: the API changed shape"))
    }
  })

  it("an empty list: no checks", () => {
    expect(componentStatusChecks([], context)).toEqual(Result.succeed([]))
  })
})

describe("readyzCheck", () => {
  it.each([
    [undefined, 0, "ok"],
    ["[-]etcd failed: reason withheld\nreadyz check failed", 2, "[-]etcd failed: reason withheld\nreadyz check failed"],
    ["", 2, "unknown error"],
    ["  ", 2, "unknown error"]
  ])("%j", (failure, status, message) => {
    expect(readyzCheck(failure, context)).toEqual({
      check,
      hostName: "dca-host",
      status,
      tags: ["team:core", "env:test"],
      timestamp: 1_700_000_000,
      message
    })
  })
})

// --- one run, against the fake Datadog API ---------------------------------------------------------

const fake = useFakeDatadog()

const kubeError = (reason: KubeErrorReason, path: string, status: number, detail: string) =>
  new KubeError({ reason, verb: "GET", path, status, detail })

const healthy: ReadonlyArray<ComponentStatus> = [
  component("controller-manager", { type: "Healthy", status: "True", message: "ok" }),
  component("scheduler", {
    type: "Healthy",
    status: "False",
    error: 'Get "https://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: connect: connection refused'
  }),
  component("etcd-0", { type: "Healthy", status: "True", message: "ok" })
]

/** The services of a run: this API server, the fake Datadog, these options, DD_HOSTNAME=dca-host. */
const services = (kube: KubeClientShape, instance: Partial<ApiserverCheckInstance> = {}) =>
  Layer.mergeAll(
    Layer.succeed(KubeClient, KubeClient.of(kube)),
    DatadogClient.layerWith(clientOptions(fake.url)),
    ClusterAgentConfig.fromEnv({ DD_HOSTNAME: "dca-host" }),
    ApiserverCheckConfig.layerWith({ ...defaultInstance(false), ...instance })
  )

const run = (kube: KubeClientShape, instance: Partial<ApiserverCheckInstance> = {}) => {
  const logs = captureLogs()
  return runControlPlaneCheck.pipe(
    Effect.provide(services(kube, instance)),
    Effect.provide(logs.layer),
    Effect.map(() => logs.lines.filter((l) => l.level === "Warn"))
  )
}

const sent = () => fake.serviceChecks().map((c) => ({ tags: c.tags, status: c.status, message: c.message }))

describe("runControlPlaneCheck (fake Datadog API)", () => {
  it.effect("componentstatuses: one check per component, host DD_HOSTNAME, instance tags, the run's time", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_123_456)
      const warnings = yield* run(
        fakeKubeClient({ listComponentStatuses: () => Effect.succeed({ metadata: {}, items: healthy }) }),
        { tags: ["team:core"] }
      )
      expect(warnings).toEqual([])
      expect(fake.requests({ path: "/api/v1/check_run" })).toHaveLength(1)
      expect(fake.serviceChecks()).toEqual([
        {
          check,
          host_name: "dca-host",
          status: 0,
          tags: ["component:controller-manager", "team:core"],
          timestamp: 1_700_000_123,
          message: "ok"
        },
        {
          check,
          host_name: "dca-host",
          status: 2,
          tags: ["component:scheduler", "team:core"],
          timestamp: 1_700_000_123,
          message: 'Get "https://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: connect: connection refused'
        },
        {
          check,
          host_name: "dca-host",
          status: 0,
          tags: ["component:etcd-0", "team:core"],
          timestamp: 1_700_000_123,
          message: "ok"
        }
      ])
    })
  )

  it.effect("each run says what it checked and whether Datadog took it, for the status page", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_123_456)
      const kube = fakeKubeClient({ listComponentStatuses: () => Effect.succeed({ metadata: {}, items: healthy }) })
      const summary = yield* runControlPlaneCheck.pipe(
        Effect.provide(services(kube, {})),
        Effect.provide(captureLogs().layer)
      )
      expect(summary).toEqual({
        at: 1_700_000_123_000,
        checks: [
          { component: "controller-manager", status: 0 },
          { component: "scheduler", status: 2 },
          { component: "etcd-0", status: 0 }
        ],
        submitError: undefined
      })
      const readyz = yield* runControlPlaneCheck.pipe(
        Effect.provide(services(fakeKubeClient({ readyz: () => Effect.succeed("ok") }), { useComponentStatus: false })),
        Effect.provide(captureLogs().layer)
      )
      expect(readyz.checks).toEqual([{ component: "/readyz", status: 0 }])
    })
  )

  const unavailable: ReadonlyArray<readonly [string, KubeError]> = [
    [
      "404 (no longer served)",
      kubeError("NotFound", "/api/v1/componentstatuses", 404, "the server could not find the requested resource")
    ],
    [
      "403 (not allowed)",
      kubeError("Forbidden", "/api/v1/componentstatuses", 403, 'componentstatuses is forbidden: User "x" cannot list')
    ],
    [
      "a broken connection",
      new KubeError({ reason: "Transport", verb: "GET", path: "/api/v1/componentstatuses", detail: "socket hang up" })
    ]
  ]
  for (const [why, error] of unavailable) {
    it.effect(`componentstatuses unavailable, ${why}: one check from /readyz instead, with a warning`, () =>
      Effect.gen(function* () {
        const warnings = yield* run(
          fakeKubeClient({ listComponentStatuses: () => Effect.fail(error), readyz: () => Effect.succeed("ok") }),
          { tags: ["team:core"] }
        )
        expect(sent()).toEqual([{ tags: ["team:core"], status: 0, message: "ok" }])
        expect(warnings.map((w) => w.message)).toEqual([
          "Could not collect control plane status from ComponentStatus, using /readyz instead"
        ])
        expect(warnings[0]?.annotations).toMatchObject({ reason: error.reason, error: error.message })
      })
    )
  }

  it.effect('use_component_status: false asks /readyz only: OK "ok", or CRITICAL with what it said', () =>
    Effect.gen(function* () {
      let ready = true
      const kube = fakeKubeClient({
        readyz: () =>
          ready
            ? Effect.succeed("ok")
            : Effect.fail(
                kubeError(
                  "ServerError",
                  "/readyz",
                  500,
                  "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed"
                )
              )
      })
      yield* run(kube, { useComponentStatus: false })
      ready = false
      yield* run(kube, { useComponentStatus: false })
      expect(sent()).toEqual([
        { tags: [], status: 0, message: "ok" },
        { tags: [], status: 2, message: "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed" }
      ])
      expect(fake.serviceChecks().every((c) => c.host_name === "dca-host")).toBe(true)
    })
  )

  it.effect("an unreachable API server in /readyz mode is CRITICAL with the error", () =>
    Effect.gen(function* () {
      yield* run(
        fakeKubeClient({
          readyz: () =>
            Effect.fail(
              new KubeError({
                reason: "Transport",
                verb: "GET",
                path: "/readyz",
                detail: "connect ECONNREFUSED 10.0.0.1:443"
              })
            )
        }),
        { useComponentStatus: false }
      )
      expect(sent()).toEqual([{ tags: [], status: 2, message: "connect ECONNREFUSED 10.0.0.1:443" }])
    })
  )

  it.effect("a nameless component: nothing is sent, a warning says why", () =>
    Effect.gen(function* () {
      const warnings = yield* run(
        fakeKubeClient({
          listComponentStatuses: () =>
            Effect.succeed({ metadata: {}, items: [...healthy, { conditions: [{ type: "Healthy", status: "True" }] }] })
        })
      )
      expect(fake.requests({ path: "/api/v1/check_run" })).toEqual([])
      expect(warnings.map((w) => [w.message, w.annotations.error])).toEqual([
        [
          "Could not parse control plane status from ComponentStatus",
          "componentstatuses item 3 has no metadata.name: the API changed shape"
        ]
      ])
    })
  )

  it.effect("Datadog refusing the checks only warns: the run succeeds", () =>
    Effect.gen(function* () {
      fake.setAcceptedApiKeys(["another-key-another-key-another-k"])
      const warnings = yield* run(fakeKubeClient({ readyz: () => Effect.succeed("ok") }), { useComponentStatus: false })
      expect(fake.requests({ path: "/api/v1/check_run" })).toHaveLength(1)
      expect(fake.serviceChecks()).toEqual([])
      expect(warnings.map((w) => w.message)).toEqual(["Could not submit the control plane service checks"])
      expect(warnings[0]?.annotations).toMatchObject({ checks: 1 })
    })
  )
})

describe("controlPlaneCheckLoop (test clock)", () => {
  it.effect("runs at once, then every min_collection_interval", () =>
    Effect.gen(function* () {
      let listed = 0
      const kube = fakeKubeClient({
        listComponentStatuses: () =>
          Effect.sync(() => {
            listed++
            return { metadata: {}, items: [component("etcd-0", { type: "Healthy", status: "True", message: "ok" })] }
          })
      })
      const fiber = yield* controlPlaneCheckLoop.pipe(
        Effect.provide(services(kube, { minCollectionInterval: defaultInstance(false).minCollectionInterval })),
        Effect.provide(captureLogs().layer),
        Effect.forkChild
      )
      const posted = (n: number) =>
        until(`${n} check runs`, () => fake.requests({ path: "/api/v1/check_run" }).length >= n)
      yield* posted(1)
      yield* TestClock.adjust("14 seconds")
      expect(listed).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* posted(2)
      yield* TestClock.adjust("15 seconds")
      yield* posted(3)
      expect(listed).toBe(3)
      expect(fake.serviceChecks().map((c) => c.timestamp)).toEqual([0, 15, 30])
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect("keeps its cadence when runs fail", () =>
    Effect.gen(function* () {
      let calls = 0
      const kube = fakeKubeClient({
        listComponentStatuses: () => Effect.fail(kubeError("Forbidden", "/api/v1/componentstatuses", 403, "no")),
        readyz: () =>
          Effect.suspend(() => {
            calls++
            return Effect.fail(kubeError("ServerError", "/readyz", 500, "not ready"))
          })
      })
      const fiber = yield* controlPlaneCheckLoop.pipe(
        Effect.provide(services(kube, { minCollectionInterval: defaultInstance(false).minCollectionInterval })),
        Effect.provide(captureLogs().layer),
        Effect.forkChild
      )
      yield* until("first run", () => fake.requests({ path: "/api/v1/check_run" }).length >= 1)
      yield* TestClock.adjust("15 seconds")
      yield* until("second run", () => fake.requests({ path: "/api/v1/check_run" }).length >= 2)
      expect(calls).toBe(2)
      expect(sent().map((c) => c.status)).toEqual([2, 2])
      yield* Fiber.interrupt(fiber)
    })
  )
})

// --- against the real API server ------------------------------------------------------------------

describe.runIf(clusterAvailable)("runControlPlaneCheck (real API server)", () => {
  const cluster = useCluster()

  const realServices = (kubeconfigPath: string, instance: Partial<ApiserverCheckInstance>) => {
    const config = ClusterAgentConfig.fromEnv({
      DD_HOSTNAME: "dca-host",
      DD_KUBERNETES_KUBECONFIG_PATH: kubeconfigPath
    })
    return Layer.mergeAll(
      KubeClient.layer.pipe(Layer.provide(config)),
      DatadogClient.layerWith(clientOptions(fake.url)),
      config,
      ApiserverCheckConfig.layerWith({ ...defaultInstance(false), ...instance })
    )
  }

  const realRun = (instance: Partial<ApiserverCheckInstance>, kubeconfigPath = cluster.kubeconfigPath) => {
    const logs = captureLogs()
    return runControlPlaneCheck.pipe(
      Effect.provide(realServices(kubeconfigPath, instance)),
      Effect.provide(logs.layer),
      Effect.map(() => logs.lines.filter((l) => l.level === "Warn").map((l) => l.message))
    )
  }

  it.live("componentstatuses (deprecated, still served by v1.34): etcd OK, one check per component", () =>
    Effect.gen(function* () {
      const warnings = yield* realRun({ tags: ["cluster:test"] })
      expect(warnings).toEqual([])
      const checks = fake.serviceChecks()
      expect(checks.every((c) => c.check === check && c.host_name === "dca-host")).toBe(true)
      expect(checks.every((c) => c.tags?.length === 2 && c.tags[1] === "cluster:test")).toBe(true)
      const byComponent = Object.fromEntries(checks.map((c) => [c.tags?.[0], c]))
      // What v1.34 answers: the three components it probes itself.
      expect(checks.map((c) => c.tags?.[0]).sort()).toEqual([
        "component:controller-manager",
        "component:etcd-0",
        "component:scheduler"
      ])
      expect(byComponent["component:etcd-0"]).toMatchObject({ status: 0, message: "ok" })
      // The harness runs no scheduler: CRITICAL with the condition's error (the probe's failure).
      expect(byComponent["component:scheduler"]?.status).toBe(2)
      expect(byComponent["component:scheduler"]?.message).toMatch(/127\.0\.0\.1:10259.*connection refused/)
      // The harness's controller-manager does not serve the port the server probes.
      const manager = byComponent["component:controller-manager"]
      expect(manager?.status === 0 || (manager?.status === 2 && manager.message !== "")).toBe(true)
    })
  )

  it.live('use_component_status: false: one check from /readyz, OK "ok"', () =>
    Effect.gen(function* () {
      expect(yield* realRun({ useComponentStatus: false, tags: ["cluster:test"] })).toEqual([])
      expect(fake.serviceChecks()).toEqual([
        {
          check,
          host_name: "dca-host",
          status: 0,
          tags: ["cluster:test"],
          timestamp: expect.any(Number),
          message: "ok"
        }
      ])
    })
  )

  it.live("a user who may not list componentstatuses: the /readyz check, with a warning", () =>
    Effect.gen(function* () {
      const nobody = yield* Effect.promise(() => cluster.userKubeconfig("dca-controlplane-nobody"))
      const warnings = yield* realRun({}, nobody)
      expect(warnings).toEqual(["Could not collect control plane status from ComponentStatus, using /readyz instead"])
      expect(sent()).toEqual([{ tags: [], status: 0, message: "ok" }])
    })
  )
})
