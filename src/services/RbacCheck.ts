// The RBAC self-check (field-lessons 1G): at start and every 5 minutes, one
// SelfSubjectAccessReview per verb of every right the enabled features use (rbac/rights.ts). A
// refused right is logged as an ERROR naming the exact rule to add and where, shows in the status
// page, and costs only its feature:
//
//   - event collection and the control-plane check run under `whilePermitted`: stopped while a
//     right they need is refused, started again by the check that finds it granted;
//   - the external metrics provider is built only when `permittedAtStart` (its API server and
//     stores are layers, made once), so it waits for the next agent start;
//   - the metadata mapper keeps retrying its watches and heals once granted, but the readiness
//     component `rbac` is unhealthy meanwhile: without its rights the replica has nothing to
//     serve node agents. It is the only feature that moves readiness, so a missing optional
//     right (events, control plane, metrics, leader lock, cluster ID) never takes a replica out
//     of the Service that node agents use;
//   - the other features (API server probe, leader election, cluster ID) are only reported: they
//     keep trying, and their own errors name the right too.
//
// A review that cannot be made (API server unreachable) counts as granted: the check never stops
// a feature on a guess, and the feature's own errors then tell.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { KubeClient, type KubeClientShape } from "../layers/KubeClient.ts"
import { Health, type HealthHandle } from "./Health.ts"
import { ApiserverCheckConfig } from "./kubernetesApiserver/confd.ts"
import {
  type Answer,
  type FeatureVerdict,
  grantText,
  missingText,
  type Question,
  questions,
  reviewOf,
  ruleText,
  verdicts
} from "./rbac/review.ts"
import { type Feature, type FeatureRights, featureRights } from "./rbac/rights.ts"

export interface RbacReport {
  /** When the check ended (ms since the epoch). */
  readonly checkedAt: number
  readonly verdicts: ReadonlyArray<FeatureVerdict>
}

export interface RbacCheckShape {
  /** The latest check; undefined before the first one ended. */
  readonly report: Effect.Effect<RbacReport | undefined>
  readonly interval: Duration.Duration
  /**
   * Runs `work` (in a scope of its own) while the feature's needed rights are granted: from the
   * first check on, interrupted when a check finds one refused, started again when a later check
   * finds them granted. A feature the table does not list (off in the configuration) always runs.
   * A failure of `work` is logged; it starts again at the next change. Never returns.
   */
  readonly whilePermitted: <E, R>(
    feature: Feature,
    work: Effect.Effect<unknown, E, R>
  ) => Effect.Effect<never, never, Exclude<R, Scope.Scope>>
  /** Whether the feature may start: the first check's verdict (waited for at most `startWait`). */
  readonly permittedAtStart: (feature: Feature) => Effect.Effect<boolean>
}

export interface RbacCheckOptions {
  readonly kube: KubeClientShape
  readonly table: ReadonlyArray<FeatureRights>
  /** Registers the `rbac` readiness component there. */
  readonly health?: Health["Service"] | undefined
  readonly interval?: Duration.Input | undefined
  /** How long `permittedAtStart` waits for the first check before it lets the feature start. */
  readonly startWait?: Duration.Input | undefined
}

export const defaultInterval = Duration.minutes(5)
const defaultStartWait = Duration.seconds(10)
/** Reviews in flight at once. */
const concurrency = 8

/** Pure: whether a report lets a feature run (no report yet, or not a listed feature: yes). */
export const isPermitted = (report: RbacReport | undefined, feature: Feature): boolean =>
  report?.verdicts.find((v) => v.feature === feature)?.state !== "missing"

/** Pure: the readiness of the `rbac` component: false while a right that keeps the replica ready is refused. */
export const isReady = (report: RbacReport): boolean =>
  !report.verdicts.some((v) => v.ifMissing === "notReady" && v.state === "missing")

const ask = (kube: KubeClientShape, table: ReadonlyArray<FeatureRights>, q: Question): Effect.Effect<Answer> => {
  const right = table.find((f) => f.feature === q.feature)?.rights[q.right]
  if (right === undefined) return Effect.die(new Error(`RbacCheck: no right ${q.right} for ${q.feature}`))
  return kube.createSelfSubjectAccessReview(reviewOf(right.rule, q.verb)).pipe(
    Effect.map((review): Answer => ({ ...q, allowed: review.status?.allowed === true })),
    Effect.catch((e) => Effect.succeed<Answer>({ ...q, allowed: undefined, error: e.message }))
  )
}

// One series per enabled feature, so an alert can fire on a right the cluster's RBAC lost.
const missingRights = Metric.gauge("rbac_self_check_missing_rights", {
  description: "Kubernetes rights a feature uses that the API server refuses this agent, by feature (0 = all granted)"
})

const reportMetrics = (report: RbacReport) =>
  Effect.forEach(
    report.verdicts,
    (v) => Metric.update(Metric.withAttributes(missingRights, { feature: v.feature }), v.missing.length),
    { discard: true }
  )

/** One log line per refused right (ERROR when the feature needs it), and one when a feature has them again. */
const logReport = (report: RbacReport, previous: RbacReport | undefined) =>
  Effect.gen(function* () {
    for (const v of report.verdicts) {
      for (const m of v.missing) {
        const line = missingText(v, m)
        yield* (m.right.fallback === undefined ? Effect.logError(line) : Effect.logWarning(line)).pipe(
          Effect.annotateLogs({
            feature: v.feature,
            role: grantText(m.right.grant),
            rule: ruleText(m.right.rule, m.verbs)
          })
        )
      }
      const before = previous?.verdicts.find((p) => p.feature === v.feature)?.state
      if (before === "missing" && v.state === "granted") {
        yield* Effect.logInfo(`RBAC: ${v.title} has the rights it needs now`).pipe(
          Effect.annotateLogs({ feature: v.feature })
        )
      }
    }
    const errors = [...new Set(report.verdicts.flatMap((v) => v.errors))]
    if (errors.length > 0) {
      yield* Effect.logWarning("RBAC self-check: some reviews could not be made; those rights count as granted").pipe(
        Effect.annotateLogs({ errors: errors.join("; ") })
      )
    }
  })

/** The check over explicit options: runs for the life of the scope. */
export const makeRbacCheck = Effect.fn("RbacCheck.make")(function* (options: RbacCheckOptions) {
  const { kube, table } = options
  const interval = Duration.fromInputUnsafe(options.interval ?? defaultInterval)
  const startWait = Duration.fromInputUnsafe(options.startWait ?? defaultStartWait)
  const state = yield* SubscriptionRef.make<RbacReport | undefined>(undefined)
  const health: HealthHandle | undefined =
    options.health === undefined ? undefined : yield* options.health.register("rbac", ["ready"])

  const checkOnce = Effect.gen(function* () {
    const answers = yield* Effect.forEach(questions(table), (q) => ask(kube, table, q), { concurrency })
    const report: RbacReport = { checkedAt: yield* Clock.currentTimeMillis, verdicts: verdicts(table, answers) }
    // State and readiness first: whoever reads a refused right in the log finds it there too.
    const previous = yield* SubscriptionRef.getAndSet(state, report)
    if (health !== undefined) yield* health.set(isReady(report))
    yield* reportMetrics(report)
    yield* logReport(report, previous)
  }).pipe(Effect.withSpan("RbacCheck.check"))

  yield* Effect.forkScoped(Effect.repeat(checkOnce, Schedule.spaced(interval)))

  const reports = Stream.filter(SubscriptionRef.changes(state), (r): r is RbacReport => r !== undefined)
  const titleOf = (feature: Feature) => table.find((f) => f.feature === feature)?.title ?? feature

  const whilePermitted = <E, R>(feature: Feature, work: Effect.Effect<unknown, E, R>) => {
    const title = titleOf(feature)
    const run = Effect.scoped(work).pipe(
      Effect.catchCause((cause) =>
        Effect.logWarning(`${title} failed; it starts again at the next RBAC change`, cause)
      ),
      Effect.andThen(Effect.never)
    )
    let started = false
    return reports.pipe(
      Stream.map((r) => isPermitted(r, feature)),
      Stream.changes,
      Stream.switchMap((permitted) => {
        const was = started
        started = permitted
        if (permitted) return Stream.fromEffect(run)
        return was
          ? Stream.fromEffect(Effect.logWarning(`${title} stopped: a right it needs was revoked`))
          : Stream.empty
      }),
      Stream.runDrain,
      Effect.andThen(Effect.never)
    ) as Effect.Effect<never, never, Exclude<R, Scope.Scope>>
  }

  const permittedAtStart = (feature: Feature) =>
    Stream.runHead(reports).pipe(
      Effect.timeoutOption(startWait),
      Effect.map((first) => isPermitted(Option.getOrUndefined(Option.flatten(first)), feature))
    )

  return { report: SubscriptionRef.get(state), interval, whilePermitted, permittedAtStart } satisfies RbacCheckShape
})

export class RbacCheck extends Context.Service<RbacCheck, RbacCheckShape>()("dca/RbacCheck") {
  static readonly make = makeRbacCheck

  /** The rights of the features the configuration (and the kubernetes_apiserver check's options) turns on. */
  static readonly layer: Layer.Layer<
    RbacCheck,
    never,
    ClusterAgentConfig | ApiserverCheckConfig | KubeClient | Health
  > = Layer.effect(
    RbacCheck,
    Effect.gen(function* () {
      return yield* makeRbacCheck({
        kube: yield* KubeClient,
        table: featureRights(yield* ClusterAgentConfig, yield* ApiserverCheckConfig),
        health: yield* Health
      })
    })
  )

  /** No check: every feature runs (tests of features that do not look at RBAC). */
  static readonly permitAll: Layer.Layer<RbacCheck> = Layer.succeed(RbacCheck, {
    report: Effect.succeed(undefined),
    interval: defaultInterval,
    whilePermitted: <E, R>(_feature: Feature, work: Effect.Effect<unknown, E, R>) =>
      Effect.andThen(Effect.scoped(work).pipe(Effect.ignore), Effect.never) as Effect.Effect<
        never,
        never,
        Exclude<R, Scope.Scope>
      >,
    permittedAtStart: () => Effect.succeed(true)
  })
}
