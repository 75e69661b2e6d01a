// The RBAC self-check on the test clock, over a fake API server whose refusals the test sets:
// what it logs, the `rbac` readiness, and how it stops and starts a feature.
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Metric, Ref } from "effect"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import { KubeError } from "../../src/layers/KubeClient.ts"
import type { SelfSubjectAccessReview } from "../../src/layers/kube/types.ts"
import { formatPrometheus } from "../../src/lib/prometheus.ts"
import { Health } from "../../src/services/Health.ts"
import { defaultInstance } from "../../src/services/kubernetesApiserver/instance.ts"
import { makeRbacCheck } from "../../src/services/RbacCheck.ts"
import { featureRights } from "../../src/services/rbac/rights.ts"
import { advance, captureLogs } from "../support/effectTest.ts"
import { podConfig } from "../support/podConfig.ts"
import { parsePrometheus } from "../support/prometheus.ts"

const table = featureRights(podConfig({ DD_COLLECT_KUBERNETES_EVENTS: "true" }), defaultInstance(true))

/** An API server that refuses `verb resource` pairs in `refused` (all when `down`, it cannot be reached). */
const fakeApiServer = () => {
  const refused = new Set<string>()
  const state = { reviews: 0, down: false }
  const kube = fakeKubeClient({
    createSelfSubjectAccessReview: (review: SelfSubjectAccessReview) =>
      Effect.suspend(() => {
        state.reviews++
        if (state.down) {
          return Effect.fail(
            new KubeError({
              reason: "Transport",
              verb: "POST",
              path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
              detail: "connect ECONNREFUSED"
            })
          )
        }
        const r = review.spec.resourceAttributes
        const key = r === undefined ? `get ${review.spec.nonResourceAttributes?.path}` : `${r.verb} ${r.resource}`
        return Effect.succeed({ ...review, status: { allowed: !refused.has(key) } })
      })
  })
  return { kube, refused, state }
}

const start = (kube: ReturnType<typeof fakeApiServer>["kube"]) =>
  Effect.gen(function* () {
    const health = yield* Health.make
    const registry: Metric.MetricRegistry = new Map()
    const rbac = yield* makeRbacCheck({ kube, table, health, interval: "5 minutes" }).pipe(
      Effect.provideService(Metric.MetricRegistry, registry)
    )
    const ready = Effect.map(health.report("ready"), (r) =>
      r.Healthy.includes("rbac") ? "healthy" : r.Unhealthy.includes("rbac") ? "unhealthy" : "absent"
    )
    /** `rbac_self_check_missing_rights` by feature, as /metrics shows it. */
    const missing = () =>
      Object.fromEntries(
        parsePrometheus(formatPrometheus(Metric.snapshotUnsafe(Context.make(Metric.MetricRegistry, registry))))
          .samples.filter((x) => x.name === "rbac_self_check_missing_rights")
          .map((x) => [x.labels.feature, x.value])
      )
    return { rbac, ready, missing }
  })

/** A feature's work that counts its starts and its stops. */
const countingWork = Effect.gen(function* () {
  const counts = yield* Ref.make({ started: 0, stopped: 0 })
  const work = Effect.gen(function* () {
    yield* Ref.update(counts, (c) => ({ ...c, started: c.started + 1 }))
    yield* Effect.addFinalizer(() => Ref.update(counts, (c) => ({ ...c, stopped: c.stopped + 1 })))
    return yield* Effect.never
  })
  return { counts: Ref.get(counts), work }
})

describe("RbacCheck (fake API server, test clock)", () => {
  it.effect("asks one review per verb at start and every 5 minutes; all granted: ready, features run", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const api = fakeApiServer()
      const { rbac, ready } = yield* start(api.kube)
      expect(yield* ready).toBe("unhealthy")
      const { counts, work } = yield* countingWork
      yield* Effect.forkChild(rbac.whilePermitted("eventCollection", work))
      yield* advance("1 second")
      const perCheck = table.reduce((n, f) => n + f.rights.reduce((m, r) => m + r.rule.verbs.length, 0), 0)
      expect(api.state.reviews).toBe(perCheck)
      expect(yield* ready).toBe("healthy")
      expect(yield* counts).toEqual({ started: 1, stopped: 0 })
      expect(yield* rbac.permittedAtStart("eventCollection")).toBe(true)
      const report = yield* rbac.report
      expect(report?.verdicts.every((v) => v.state === "granted")).toBe(true)
      yield* advance("5 minutes", "1 second")
      expect(api.state.reviews).toBe(2 * perCheck)
      expect(logs.lines.filter((l) => l.level === "Error" || l.level === "Warn")).toEqual([])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a refused right stops only its feature, loudly, and a later check that finds it starts it again", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const api = fakeApiServer()
      api.refused.add("list events").add("watch events")
      const { rbac, ready, missing } = yield* start(api.kube)
      const events = yield* countingWork
      const controlPlane = yield* countingWork
      yield* Effect.forkChild(rbac.whilePermitted("eventCollection", events.work))
      yield* Effect.forkChild(rbac.whilePermitted("controlPlaneCheck", controlPlane.work))
      yield* advance("1 second")
      expect(yield* events.counts).toEqual({ started: 0, stopped: 0 })
      expect(yield* controlPlane.counts).toEqual({ started: 1, stopped: 0 })
      expect(yield* rbac.permittedAtStart("eventCollection")).toBe(false)
      // An optional feature's right: the replica stays ready, and the metric tells.
      expect(yield* ready).toBe("healthy")
      expect(missing()).toMatchObject({ eventCollection: 1, controlPlaneCheck: 0, metadataMapper: 0 })
      const errors = logs.lines.filter((l) => l.level === "Error")
      expect(errors).toEqual([
        {
          level: "Error",
          message:
            "RBAC: the agent's ServiceAccount may not list, watch events; event collection: stopped until it is granted (checked again every few minutes). " +
            'To fix it, add to the ClusterRole datadog-cluster-agent the rule {apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}',
          annotations: {
            feature: "eventCollection",
            role: "ClusterRole datadog-cluster-agent",
            rule: '{apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}'
          }
        }
      ])

      // Granted: the next check starts the feature.
      api.refused.clear()
      yield* advance("5 minutes", "1 second")
      expect(yield* events.counts).toEqual({ started: 1, stopped: 0 })
      expect(logs.lines.map((l) => l.message)).toContain("RBAC: event collection has the rights it needs now")
      expect(missing()).toMatchObject({ eventCollection: 0 })

      // Revoked again: the next check stops it (its scope closes), and only it.
      api.refused.add("watch events")
      yield* advance("5 minutes", "1 second")
      expect(yield* events.counts).toEqual({ started: 1, stopped: 1 })
      expect(yield* controlPlane.counts).toEqual({ started: 1, stopped: 0 })
      expect(logs.lines.map((l) => l.message)).toContain("event collection stopped: a right it needs was revoked")
      // Still refused: said again at every check, so that the latest logs always show it.
      const before = logs.lines.filter((l) => l.level === "Error").length
      yield* advance("5 minutes", "1 second")
      expect(logs.lines.filter((l) => l.level === "Error").length).toBe(before + 1)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("the metadata mapper's rights refused: the replica is not ready (`rbac`) until they are granted", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const api = fakeApiServer()
      api.refused.add("watch pods")
      const { ready } = yield* start(api.kube)
      yield* advance("1 second")
      expect(yield* ready).toBe("unhealthy")
      expect(logs.lines.find((l) => l.level === "Error")?.message).toContain(
        "may not watch pods; metadata mapper: this replica is not ready until it is granted"
      )
      api.refused.clear()
      yield* advance("5 minutes", "1 second")
      expect(yield* ready).toBe("healthy")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a fallback right refused is a warning, and its feature runs", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const api = fakeApiServer()
      api.refused.add("list componentstatuses")
      const { rbac } = yield* start(api.kube)
      yield* advance("1 second")
      expect(yield* rbac.permittedAtStart("controlPlaneCheck")).toBe(true)
      expect(logs.lines.filter((l) => l.level === "Error")).toEqual([])
      expect(logs.lines.find((l) => l.level === "Warn")?.message).toBe(
        "RBAC: the agent's ServiceAccount may not list componentstatuses; control-plane check: the check reports /readyz instead of each component. " +
          'To fix it, add to the ClusterRole datadog-cluster-agent the rule {apiGroups: [""], resources: ["componentstatuses"], verbs: ["list"]}'
      )
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("reviews that cannot be made count as granted: nothing is stopped on a guess", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const api = fakeApiServer()
      api.state.down = true
      const { rbac, ready } = yield* start(api.kube)
      const { counts, work } = yield* countingWork
      yield* Effect.forkChild(rbac.whilePermitted("eventCollection", work))
      yield* advance("1 second")
      expect(yield* counts).toEqual({ started: 1, stopped: 0 })
      expect(yield* ready).toBe("healthy")
      expect((yield* rbac.report)?.verdicts.every((v) => v.state === "unknown")).toBe(true)
      expect(logs.lines.filter((l) => l.level === "Warn").map((l) => l.message)).toEqual([
        "RBAC self-check: some reviews could not be made; those rights count as granted"
      ])
    }).pipe(Effect.provide(logs.layer))
  })
})
