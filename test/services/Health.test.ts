import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import fc from "fast-check"
import { Health, isHealthy, type Probe, reportFor } from "../../src/services/Health.ts"

const probes: ReadonlyArray<Probe> = ["live", "ready", "startup"]
const component = fc.record({
  probes: fc.subarray([...probes]).map((ps) => new Set(ps)),
  healthy: fc.boolean()
})

describe("reportFor", () => {
  it("splits exactly the components of a probe into sorted healthy and unhealthy names", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z-]{1,8}$/), component),
        fc.constantFrom(...probes),
        (dict, probe) => {
          const components = new Map(Object.entries(dict))
          const report = reportFor(probe, components)
          const expected = [...components].filter(([, c]) => c.probes.has(probe))
          expect([...report.Healthy, ...report.Unhealthy].sort()).toEqual(expected.map(([n]) => n).sort())
          expect(report.Healthy).toEqual(
            expected
              .filter(([, c]) => c.healthy)
              .map(([n]) => n)
              .sort()
          )
          expect(isHealthy(report)).toBe(expected.every(([, c]) => c.healthy))
        }
      )
    )
  })
})

describe("Health", () => {
  it.effect("components start unhealthy, report, and leave with their scope", () =>
    Effect.gen(function* () {
      const health = yield* Health
      const scope = yield* Scope.make()
      const api = yield* health.register("apiserver", ["ready"]).pipe(Scope.provide(scope))
      const agent = yield* health.register("cluster-agent", ["live", "ready"])
      expect(yield* health.report("ready")).toEqual({ Healthy: [], Unhealthy: ["apiserver", "cluster-agent"] })
      yield* agent.set(true)
      expect(yield* health.report("live")).toEqual({ Healthy: ["cluster-agent"], Unhealthy: [] })
      expect(yield* health.report("ready")).toEqual({ Healthy: ["cluster-agent"], Unhealthy: ["apiserver"] })
      yield* api.set(true)
      expect(isHealthy(yield* health.report("ready"))).toBe(true)
      yield* Scope.close(scope, Exit.void)
      expect(yield* health.report("ready")).toEqual({ Healthy: ["cluster-agent"], Unhealthy: [] })
      expect(yield* health.report("startup")).toEqual({ Healthy: [], Unhealthy: [] })
    }).pipe(Effect.provide(Health.layer))
  )
})
