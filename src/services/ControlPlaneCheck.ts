// The control-plane part of the original's kubernetes_apiserver check (contract §5.1–5.2): one
// `kube_apiserver_controlplane.up` service check per component of `componentstatuses`, or, with
// `use_component_status: false` or when that API is not served (it is deprecated since 1.19 and
// may be forbidden or gone), one from `/readyz`. A run never fails: a problem is a warning, as in
// the original, and the next run tries again. Leader-only: ControlPlaneCheck.layer runs the loop
// under the leader lease, while the RBAC self-check finds its rights granted, and keeps the last
// run for the status page.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Result from "effect/Result"
import * as Schedule from "effect/Schedule"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { DatadogClient, type ServiceCheck, type ServiceCheckStatus } from "../layers/DatadogClient.ts"
import { KubeClient, type KubeClientShape } from "../layers/KubeClient.ts"
import type { ComponentStatus } from "../layers/kube/types.ts"
import type { LeaderLease } from "../layers/LeaderLease.ts"
import { ApiserverCheckConfig } from "./kubernetesApiserver/confd.ts"
import type { ApiserverCheckInstance } from "./kubernetesApiserver/instance.ts"
import { checkRunner } from "./kubernetesApiserver/runner.ts"
import { RbacCheck } from "./RbacCheck.ts"

export const controlPlaneCheckName = "kube_apiserver_controlplane.up"

const OK: ServiceCheckStatus = 0
const CRITICAL: ServiceCheckStatus = 2
const UNKNOWN: ServiceCheckStatus = 3

/** What every check of one run shares. */
export interface CheckContext {
  /** The original leaves it empty and its aggregator puts the agent's host name in. */
  readonly hostName: string
  /** The instance's `tags`, after the check's own. */
  readonly tags: ReadonlyArray<string>
  /** Seconds since the epoch. */
  readonly timestamp: number
}

const serviceCheck = (
  context: CheckContext,
  status: ServiceCheckStatus,
  tags: ReadonlyArray<string>,
  message: string
) =>
  ({
    check: controlPlaneCheckName,
    hostName: context.hostName,
    status,
    tags: [...tags, ...context.tags],
    timestamp: context.timestamp,
    message
  }) satisfies ServiceCheck

/**
 * Pure: the service checks of a componentstatuses list. Items without conditions are skipped
 * and only `Healthy` conditions count; an item without a name means the API changed shape, so
 * the run is abandoned (as the original does) rather than reporting a nameless component.
 */
export const componentStatusChecks = (
  items: ReadonlyArray<ComponentStatus>,
  context: CheckContext
): Result.Result<ReadonlyArray<ServiceCheck>, string> => {
  const checks: Array<ServiceCheck> = []
  for (const [i, item] of items.entries()) {
    const name = item.metadata?.name ?? ""
    if (name === "") return Result.fail(`componentstatuses item ${i} has no metadata.name: the API changed shape`)
    for (const condition of item.conditions ?? []) {
      if (condition.type !== "Healthy") continue
      const tags = [`component:${name}`]
      if (condition.status === "True") checks.push(serviceCheck(context, OK, tags, condition.message ?? ""))
      else if (condition.status === "False") {
        const error = condition.error ?? ""
        checks.push(serviceCheck(context, CRITICAL, tags, error !== "" ? error : (condition.message ?? "")))
      } else checks.push(serviceCheck(context, UNKNOWN, tags, ""))
    }
  }
  return Result.succeed(checks)
}

/** Pure: the one service check of /readyz mode: OK "ok", or CRITICAL with the error text. */
export const readyzCheck = (failure: string | undefined, context: CheckContext): ServiceCheck =>
  failure === undefined
    ? serviceCheck(context, OK, [], "ok")
    : serviceCheck(context, CRITICAL, [], failure.trim() === "" ? "unknown error" : failure)

const viaReadyz = (kube: KubeClientShape, context: CheckContext) =>
  kube.readyz().pipe(
    Effect.as(undefined),
    Effect.catch((e) => Effect.succeed(e.detail)),
    Effect.map((failure) => [readyzCheck(failure, context)])
  )

/** The checks of one run (none when the componentstatuses answer is unusable). */
export const controlPlaneChecks = (
  kube: KubeClientShape,
  instance: ApiserverCheckInstance,
  context: CheckContext
): Effect.Effect<ReadonlyArray<ServiceCheck>> =>
  Effect.gen(function* () {
    if (!instance.useComponentStatus) return yield* viaReadyz(kube, context)
    const listed = yield* Effect.result(kube.listComponentStatuses())
    if (Result.isFailure(listed)) {
      yield* Effect.logWarning(
        "Could not collect control plane status from ComponentStatus, using /readyz instead"
      ).pipe(Effect.annotateLogs({ error: listed.failure.message, reason: listed.failure.reason }))
      return yield* viaReadyz(kube, context)
    }
    const checks = componentStatusChecks(listed.success.items, context)
    if (Result.isFailure(checks)) {
      yield* Effect.logWarning("Could not parse control plane status from ComponentStatus").pipe(
        Effect.annotateLogs({ error: checks.failure })
      )
      return []
    }
    return checks.success
  }).pipe(Effect.withSpan("ControlPlaneCheck.checks"))

/** What one run did, for the status page. */
export interface ControlPlaneRun {
  /** When it ran (ms since the epoch). */
  readonly at: number
  /** One per service check: the component (`/readyz` in readyz mode) and its status. */
  readonly checks: ReadonlyArray<{ readonly component: string; readonly status: ServiceCheckStatus }>
  /** Why Datadog did not take the checks, when it did not. */
  readonly submitError?: string | undefined
}

const componentOf = (check: ServiceCheck): string =>
  check.tags.find((t) => t.startsWith("component:"))?.slice("component:".length) ?? "/readyz"

/** One run: collect, submit; failures only warn. */
export const runControlPlaneCheck: Effect.Effect<
  ControlPlaneRun,
  never,
  KubeClient | DatadogClient | ClusterAgentConfig | ApiserverCheckConfig
> = Effect.gen(function* () {
  const kube = yield* KubeClient
  const datadog = yield* DatadogClient
  const config = yield* ClusterAgentConfig
  const instance = yield* ApiserverCheckConfig
  const context: CheckContext = {
    hostName: config.effectiveHostname,
    tags: instance.tags,
    timestamp: Math.floor((yield* Clock.currentTimeMillis) / 1000)
  }
  const checks = yield* controlPlaneChecks(kube, instance, context)
  const submitError = yield* datadog.submitServiceChecks(checks).pipe(
    Effect.as(undefined),
    Effect.catch((e) =>
      Effect.as(
        Effect.logWarning("Could not submit the control plane service checks").pipe(
          Effect.annotateLogs({ error: e.message, checks: checks.length })
        ),
        e.message
      )
    )
  )
  return {
    at: context.timestamp * 1000,
    checks: checks.map((c) => ({ component: componentOf(c), status: c.status })),
    submitError
  } satisfies ControlPlaneRun
}).pipe(Effect.withSpan("ControlPlaneCheck.run"))

/**
 * Runs every `min_collection_interval` (default 15 s), on a fixed cadence, the first at once;
 * `onRun` sees each run.
 */
export const controlPlaneCheckEvery = (
  onRun: (run: ControlPlaneRun) => Effect.Effect<void>
): Effect.Effect<never, never, KubeClient | DatadogClient | ClusterAgentConfig | ApiserverCheckConfig> =>
  Effect.gen(function* () {
    const { minCollectionInterval } = yield* ApiserverCheckConfig
    yield* Effect.repeat(Effect.flatMap(runControlPlaneCheck, onRun), Schedule.fixed(minCollectionInterval))
    return yield* Effect.never
  })

export const controlPlaneCheckLoop = controlPlaneCheckEvery(() => Effect.void)

export interface ControlPlaneCheckShape {
  /** componentstatuses (falling back to /readyz when refused or gone), or /readyz only. */
  readonly mode: "componentstatuses" | "readyz"
  /** The last run on this replica (leader only); undefined before the first. */
  readonly lastRun: Effect.Effect<ControlPlaneRun | undefined>
}

/** The check as a feature: on the leader (see runner.ts), every `min_collection_interval`. */
export class ControlPlaneCheck extends Context.Service<ControlPlaneCheck, ControlPlaneCheckShape>()(
  "dca/ControlPlaneCheck"
) {
  static readonly layer: Layer.Layer<
    ControlPlaneCheck,
    never,
    KubeClient | DatadogClient | ClusterAgentConfig | ApiserverCheckConfig | LeaderLease | RbacCheck
  > = Layer.effect(
    ControlPlaneCheck,
    Effect.gen(function* () {
      const instance = yield* ApiserverCheckConfig
      const run = yield* checkRunner
      const rbac = yield* RbacCheck
      const last = yield* Ref.make<ControlPlaneRun | undefined>(undefined)
      yield* Effect.forkScoped(
        rbac.whilePermitted(
          "controlPlaneCheck",
          run(
            "control-plane check",
            controlPlaneCheckEvery((r) => Ref.set(last, r))
          )
        )
      )
      return ControlPlaneCheck.of({
        mode: instance.useComponentStatus ? "componentstatuses" : "readyz",
        lastRun: Ref.get(last)
      })
    })
  )
}
