// The health registry behind /live, /ready and /startup. Components register for the probes
// they take part in and report healthy or not; a probe is healthy when all its components are.
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"

export type Probe = "live" | "ready" | "startup"

/** The body of a probe answer, as the original's health probe serialises it. */
export interface HealthReport {
  readonly Healthy: ReadonlyArray<string>
  readonly Unhealthy: ReadonlyArray<string>
}

interface Component {
  readonly probes: ReadonlySet<Probe>
  readonly healthy: boolean
}

/** Pure: the report of one probe over the registered components, names sorted. */
export const reportFor = (probe: Probe, components: ReadonlyMap<string, Component>): HealthReport => {
  const healthy: Array<string> = []
  const unhealthy: Array<string> = []
  for (const [name, c] of components) {
    if (c.probes.has(probe)) (c.healthy ? healthy : unhealthy).push(name)
  }
  return { Healthy: healthy.sort(), Unhealthy: unhealthy.sort() }
}

export const isHealthy = (report: HealthReport): boolean => report.Unhealthy.length === 0

/** What a component holds to report its state; it unregisters when its scope closes. */
export interface HealthHandle {
  readonly set: (healthy: boolean) => Effect.Effect<void>
}

export class Health extends Context.Service<
  Health,
  {
    /** Registers a component, unhealthy until it says otherwise. */
    readonly register: (name: string, probes: ReadonlyArray<Probe>) => Effect.Effect<HealthHandle, never, Scope.Scope>
    readonly report: (probe: Probe) => Effect.Effect<HealthReport>
  }
>()("dca/Health") {
  static readonly make = Effect.gen(function* () {
    const components = yield* Ref.make<ReadonlyMap<string, Component>>(new Map())
    const update = (name: string, f: (c: Component | undefined) => Component | undefined) =>
      Ref.update(components, (current) => {
        const next = new Map(current)
        const c = f(current.get(name))
        if (c === undefined) next.delete(name)
        else next.set(name, c)
        return next
      })
    const register = Effect.fn("Health.register")(function* (name: string, probes: ReadonlyArray<Probe>) {
      yield* Effect.acquireRelease(
        update(name, () => ({ probes: new Set(probes), healthy: false })),
        () => update(name, () => undefined)
      )
      return {
        set: (healthy: boolean) => update(name, (c) => (c === undefined ? c : { ...c, healthy }))
      } satisfies HealthHandle
    })
    return Health.of({
      register,
      report: (probe) => Effect.map(Ref.get(components), (all) => reportFor(probe, all))
    })
  })

  static readonly layer = Layer.effect(Health, Health.make)
}
