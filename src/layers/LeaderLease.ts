// Leader election among the agent's replicas, client-go's algorithm (kubernetes-notes.md B) over
// a Lease or the original's ConfigMap lock (leader/lock.ts). The decisions are pure
// (leader/decide.ts); this file runs them: one loop that acquires and renews, one watcher that
// ends leadership at its stop time even while a request hangs, and `whileLeader`, which runs
// leader-only work for each term and has it interrupted, and finished, before the renew
// deadline. Followers also follow the lock through the shared watch layer, so they see each
// renewal when it happens and try the moment the lease they saw runs out (a kill -9 of the leader
// is taken over about one lease duration after its last renewal, not up to 2.2 retry periods
// later as with client-go's polling). The elector never fails and never ends: a lock it cannot
// reach shows in status and readiness, and losing leadership only means waiting for the next term.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { reconnectBackoff } from "../lib/backoff.ts"
import { Health } from "../services/Health.ts"
import { Watches, type WatchesShape } from "../streams/Watches.ts"
import { ClusterAgentConfig } from "./Config.ts"
import { KubeClient, type KubeClientShape, type KubeError } from "./KubeClient.ts"
import { compareResourceVersions } from "./kube/resourceVersion.ts"
import {
  afterRead,
  afterRelease,
  afterWrite,
  canWriteDirectly,
  decide,
  type ElectorState,
  expire,
  heldBy,
  initialState,
  isClaimed,
  isGarbled,
  isHealthy,
  leadsAt,
  nextDelay,
  type Outcome,
  releasedRecord,
  type Step,
  stopAtOf,
  validUntil
} from "./leader/decide.ts"
import {
  discoverLockKind,
  type Lock,
  type LockChoice,
  type LockObject,
  type LockSnapshot,
  lockChoiceOf,
  makeLock
} from "./leader/lock.ts"
import { type Timings, timingsFor } from "./leader/timings.ts"

export interface LeaderStatus {
  /** "Disabled" with DD_LEADER_ELECTION=false. */
  readonly state: "Running" | "Failing" | "Disabled"
  readonly leaderName: string // the observed holder ("" when none)
  readonly acquiredTime?: Date | undefined
  readonly renewedTime?: Date | undefined
  readonly transitions: number
  readonly error?: string | undefined // last failure, when Failing
}

export interface LeaderLeaseShape {
  readonly identity: string
  /** True while this replica holds a valid lease (always true when election is disabled). */
  readonly isLeader: Effect.Effect<boolean>
  /** The current value, then every change. */
  readonly leadership: Stream.Stream<boolean>
  readonly status: Effect.Effect<LeaderStatus>
  /**
   * Runs `work` each time this replica becomes leader, in a scope that is interrupted, and has
   * finished, before the renew deadline passes without a renewal (start the interruption early
   * enough, e.g. a stop grace before the deadline, and log when stopping takes too long). When
   * `work` fails or ends while still leading, it is logged (with `name`) and restarted after a
   * backoff. Never returns; interrupting it stops the work.
   */
  readonly whileLeader: <E, R>(
    name: string,
    work: Effect.Effect<unknown, E, R>
  ) => Effect.Effect<never, never, Exclude<R, Scope.Scope>>
}

export interface LeaderLeaseOptions {
  readonly kube: KubeClientShape
  /** Our holder identity (DD_POD_NAME, else the host name). */
  readonly identity: string
  /** Where the lock lives (the resources namespace). */
  readonly namespace: string
  /** DD_LEADER_LEASE_NAME. */
  readonly name: string
  readonly lock: LockChoice
  /** Whole seconds, at least 1; the other timings derive from it (leader/timings.ts). */
  readonly leaseDuration: Duration.Input
  /** On close, once leader work has finished, write a released record so another replica takes over at once. */
  readonly releaseOnShutdown: boolean
  /** Registers the "leader-election" readiness component there. */
  readonly health?: Health["Service"] | undefined
  /**
   * Follows the lock object through the shared watch layer: each renewal is observed when it
   * happens, and a follower tries to take over as soon as the lease it saw runs out, instead of
   * up to two jittered retry periods later. Without it the elector only polls, like client-go.
   */
  readonly watches?: WatchesShape | undefined
}

// --- self-metrics ---------------------------------------------------------------------------

const isLeaderGauge = Metric.gauge("leader_election_is_leader", {
  description: "The label is_leader is true if the reporting pod is leader, equals false otherwise."
})
const isLeaderSeries = (leading: boolean) =>
  Metric.withAttributes(isLeaderGauge, { join_leader: "true", is_leader: String(leading) })
const transitionsTotal = Metric.counter("leader_election_transitions_total", {
  description: "Times this replica became leader",
  incremental: true
})
const sinceRenewal = Metric.gauge("leader_election_seconds_since_last_renewal", {
  description: "Seconds since the leader's last successful renewal started; 0 when not leading"
})

/** Like the original, only the current label set is exposed: the other series is removed, not zeroed. */
const reportLeader = (leading: boolean) =>
  Effect.andThen(Metric.remove(isLeaderSeries(!leading)), Metric.update(isLeaderSeries(leading), 1))

// --- leader work ------------------------------------------------------------------------------

/** Between restarts of leader work that failed or ended: 1 s doubling to 30 s, reset each term. */
export const restartDelay = (failures: number): number => Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1))

const monotonicMillis = Effect.map(Clock.monotonicTimeNanos, (nanos) => Number(nanos) / 1e6)

const until = (leadership: SubscriptionRef.SubscriptionRef<boolean>, value: boolean): Effect.Effect<void> =>
  Effect.asVoid(Stream.runHead(Stream.filter(SubscriptionRef.changes(leadership), (leading) => leading === value)))

/**
 * Runs `work` for each term of `leadership`. When the term ends (the stop time, a grace
 * before the deadline, or another holder seen), the work is interrupted and awaited; a stop
 * that overruns the grace is logged, since the deadline is then at risk.
 */
const runWhileLeader = <E, R>(
  leadership: SubscriptionRef.SubscriptionRef<boolean>,
  workers: Set<Fiber.Fiber<unknown, unknown>>,
  stopGrace: number,
  annotations: Readonly<Record<string, unknown>>,
  name: string,
  work: Effect.Effect<unknown, E, R>
): Effect.Effect<never, never, Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    for (;;) {
      yield* until(leadership, true)
      let failures = 0
      // One term: run, restart after a backoff while leading, stop when it ends.
      for (;;) {
        const fiber = yield* Effect.forkChild(Effect.scoped(work))
        workers.add(fiber)
        const ended = yield* Effect.raceFirst(
          Effect.map(Fiber.await(fiber), (exit) => Option.some(exit)),
          Effect.as(until(leadership, false), Option.none())
        ).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
        if (Option.isNone(ended)) {
          const stopping = yield* monotonicMillis
          const stopped = yield* Effect.timeoutOption(Fiber.interrupt(fiber), Duration.millis(stopGrace))
          if (Option.isNone(stopped)) {
            yield* Effect.logWarning("leader work did not stop within the stop grace; the renew deadline is at risk")
            yield* Fiber.interrupt(fiber)
            const took = (yield* monotonicMillis) - stopping
            yield* Effect.logWarning("leader work stopped late").pipe(
              Effect.annotateLogs({ stopMillis: Math.round(took) })
            )
          }
          workers.delete(fiber)
          break
        }
        workers.delete(fiber)
        failures++
        const delay = restartDelay(failures)
        const exit = ended.value
        yield* (
          exit._tag === "Failure"
            ? Effect.logWarning("leader work failed; restarting it", exit.cause)
            : Effect.logWarning("leader work ended while leading; restarting it")
        ).pipe(Effect.annotateLogs({ restartInMillis: delay }))
        const lost = yield* Effect.raceFirst(
          Effect.as(Effect.sleep(Duration.millis(delay)), false),
          Effect.as(until(leadership, false), true)
        )
        if (lost) break
      }
    }
  }).pipe(
    Effect.annotateLogs({ ...annotations, work: name }),
    Effect.withSpan("LeaderLease.whileLeader")
  ) as Effect.Effect<never, never, Exclude<R, Scope.Scope>>

// --- the elector --------------------------------------------------------------------------------

/** Mutable facts beside the pure state, written under the elector's mutex. */
interface Extra {
  lock: Lock | undefined
  lastError: string | undefined
  closing: boolean
  reportedHolder: string
  /** What leader_election_is_leader shows; undefined before the lock was first seen. */
  reportedLeading: boolean | undefined
  warnedVersion: string | undefined
}

/** A watched version that is not older than the one observed (a late event must not undo a read). */
const isNewer = (snapshot: LockSnapshot, s: ElectorState<LockObject>): boolean =>
  s.observed === undefined ||
  compareResourceVersions(
    snapshot.object.metadata?.resourceVersion ?? "",
    s.observed.snapshot.object.metadata?.resourceVersion ?? ""
  ) >= 0

/**
 * When a follower can take the lock, from what it observed: when another's claim runs out (plus a
 * millisecond), or when it saw the lock released. Undefined while we lead or saw nothing.
 */
const followerChance = (s: ElectorState<LockObject>, now: number, timings: Timings): number | undefined => {
  if (s.observed === undefined || leadsAt(s.term, now, timings)) return undefined
  return isClaimed(s.observed.snapshot) ? validUntil(s.observed, timings) + 1 : s.observed.observedAt
}

/** What a 403 on the lock means in RBAC terms, naming the lock so the fix is obvious. */
export const rightsNeeded = (lock: Pick<Lock, "kind" | "namespace" | "name">): string => {
  const resource = lock.kind === "Lease" ? "leases (coordination.k8s.io)" : "configmaps"
  return `the agent's service account needs create on ${resource} and get, list, watch, update on ${resource} named ${lock.name} in namespace ${lock.namespace}; DD_LEADER_LEASE_NAME must match the Role's resourceNames`
}

const errorText = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e ? String((e as Error).message) : String(e)

/**
 * An elector over explicit options (tests run several in one process). Needs a scope: closing
 * it stops the elector, interrupts and awaits running leader work, then releases the lock.
 */
export const makeLeaderLease = Effect.fn("LeaderLease.make")(function* (options: LeaderLeaseOptions) {
  const { kube, identity, namespace, name } = options
  if (identity === "") return yield* Effect.die(new Error("LeaderLease: an empty identity cannot hold a lock"))
  const timings: Timings = timingsFor(Duration.toMillis(Duration.fromInputUnsafe(options.leaseDuration)))

  const state = yield* Ref.make<ElectorState<LockObject>>(initialState)
  const leadership = yield* SubscriptionRef.make(false)
  const mutex = yield* Semaphore.make(1)
  const workers = new Set<Fiber.Fiber<unknown, unknown>>()
  const extra: Extra = {
    lock: undefined,
    lastError: undefined,
    closing: false,
    reportedHolder: "",
    reportedLeading: undefined,
    warnedVersion: undefined
  }
  // A counter is exposed from the start, at 0, so a rate over it works on a replica that never led.
  yield* Metric.update(transitionsTotal, 0)
  const health = options.health === undefined ? undefined : yield* options.health.register("leader-election", ["ready"])

  /** Leadership as published: a live term, and not closing. */
  const leadingNow = (s: ElectorState, now: number) => !extra.closing && leadsAt(s.term, now, timings)

  /** Logs, metrics and the leadership stream after a transition. */
  const announce = (step: Step<LockObject>, now: number) =>
    Effect.gen(function* () {
      const observed = step.state.observed?.snapshot
      if (observed !== undefined && isGarbled(observed) && extra.warnedVersion !== observed.version) {
        extra.warnedVersion = observed.version
        for (const p of observed.problems) {
          yield* Effect.logWarning(
            "the leader lock's record is unreadable; it counts as held by an unknown replica"
          ).pipe(Effect.annotateLogs({ field: p.field, problem: p.problem }))
        }
      }
      const holder = observed === undefined || isGarbled(observed) ? "" : observed.record.holderIdentity
      if (holder !== extra.reportedHolder) {
        extra.reportedHolder = holder
        if (holder !== "" && holder !== identity) yield* Effect.logInfo(`new leader observed: ${holder}`)
      }
      const leading = leadingNow(step.state, now)
      // Like the original's OnNewLeader: the series appears with the first sight of the lock.
      if (extra.reportedLeading !== leading && (leading || observed !== undefined)) {
        extra.reportedLeading = leading
        yield* reportLeader(leading)
      }
      if (leading === (yield* SubscriptionRef.get(leadership))) return
      if (leading) {
        yield* Effect.logInfo("became leader")
        yield* Metric.update(transitionsTotal, 1)
      } else {
        yield* Effect.logInfo("stopped leading").pipe(
          Effect.annotateLogs({ reason: step.ended ?? (extra.closing ? "shutting down" : "unknown") })
        )
      }
      yield* SubscriptionRef.set(leadership, leading)
    })

  /** Applies a pure transition at the current time, atomically with what it announces. */
  const commit = (f: (s: ElectorState<LockObject>, now: number) => Step<LockObject>) =>
    mutex.withPermits(1)(
      Effect.gen(function* () {
        const now = yield* monotonicMillis
        const step = f(yield* Ref.get(state), now)
        yield* Ref.set(state, step.state)
        yield* announce(step, now).pipe(
          Effect.annotateLogs({ lock: extra.lock?.description ?? "(not yet discovered)" })
        )
        return { state: step.state, now }
      })
    )

  /** Readiness and the renewal-age gauge. */
  const refresh = Effect.gen(function* () {
    const now = yield* monotonicMillis
    const s = yield* Ref.get(state)
    yield* Metric.update(sinceRenewal, leadingNow(s, now) && s.term ? (now - s.term.renewedAt) / 1000 : 0)
    if (health !== undefined) yield* health.set(isHealthy(s, now, timings, timings.retryPeriod))
  })

  const wroteAt = (startedAt: number) => (written: LockSnapshot) =>
    commit((s, now) => afterWrite(s, written, startedAt, now, timings))

  /** client-go's tryAcquireOrRenew: the fast path, else read, decide and write. */
  const attempt = (lock: Lock): Effect.Effect<Outcome, KubeError> =>
    Effect.gen(function* () {
      const startedAt = yield* monotonicMillis
      const wallNow = yield* Clock.currentTimeMillis
      const input = { identity, wallNow, timings, precision: lock.precision }
      const held = yield* Ref.get(state)
      if (held.observed !== undefined && canWriteDirectly(held, identity, startedAt, timings)) {
        const direct = decide({ ...input, observed: held.observed, now: startedAt })
        if (direct._tag === "Unchanged") return "Unchanged"
        if (direct._tag === "Write") {
          const written = yield* Effect.result(lock.update(held.observed.snapshot, direct.record))
          if (written._tag === "Success") {
            yield* wroteAt(startedAt)(written.success)
            return "Written"
          }
          yield* Effect.logDebug("renewing without a read failed; reading the lock").pipe(
            Effect.annotateLogs({ error: written.failure.message })
          )
        }
      }
      const fetched = yield* lock.get
      const read = yield* commit((s, now) => afterRead(s, fetched, now, identity, timings))
      const observed = read.state.observed
      const decision = decide({ ...input, observed, now: read.now })
      switch (decision._tag) {
        case "Wait":
          return "Waiting"
        case "Unchanged":
          return "Unchanged"
        case "Create":
          yield* Effect.flatMap(lock.create(decision.record), wroteAt(startedAt))
          return "Written"
        case "Write":
          // `observed` is defined: decide only creates without one.
          yield* Effect.flatMap(
            lock.update((observed as { snapshot: LockSnapshot }).snapshot, decision.record),
            wroteAt(startedAt)
          )
          return "Written"
      }
    })

  /** One attempt, bounded in time; failures go to status, and to the log when they change. */
  const tryOnce = (lock: Lock): Effect.Effect<Outcome> =>
    attempt(lock).pipe(
      Effect.timeout(Duration.millis(timings.attemptTimeout)),
      Effect.matchEffect({
        onSuccess: (outcome) =>
          Effect.gen(function* () {
            if (extra.lastError !== undefined) yield* Effect.logInfo("the leader lock answers again")
            extra.lastError = undefined
            return outcome
          }),
        onFailure: (e) =>
          Effect.gen(function* () {
            if (e._tag === "KubeError" && e.reason === "Conflict") {
              // Lost a race with another writer: normal, and the next read shows who won.
              yield* Effect.logDebug("the leader lock changed under us").pipe(Effect.annotateLogs({ error: e.message }))
              return "Failed" as const
            }
            const text =
              e._tag !== "KubeError"
                ? `no answer within ${timings.attemptTimeout} ms`
                : e.reason === "Forbidden"
                  ? `${e.message} (${rightsNeeded(lock)})`
                  : e.message
            if (text !== extra.lastError) {
              yield* Effect.logWarning("leader election attempt failed").pipe(Effect.annotateLogs({ error: text }))
            }
            extra.lastError = text
            return "Failed" as const
          })
      })
    )

  const resolveLock: Effect.Effect<Lock> =
    options.lock === "Discover"
      ? discoverLockKind(kube, namespace, name).pipe(
          Effect.timeout(Duration.millis(timings.attemptTimeout)),
          Effect.tapError((e) =>
            Effect.gen(function* () {
              const text = `cannot tell whether the API server serves leases: ${errorText(e)}`
              if (text !== extra.lastError) yield* Effect.logWarning(text)
              extra.lastError = text
            })
          ),
          Effect.retry(reconnectBackoff),
          Effect.map((kind) => makeLock(kube, kind, namespace, name)),
          Effect.orDie
        )
      : Effect.succeed(makeLock(kube, options.lock, namespace, name))

  // Woken by what the lock watch observes, to recompute when the next attempt is due.
  const observedChange = yield* Queue.sliding<void>(1)

  /** Every version of the lock object the watch delivers, as if read (older versions ignored). */
  const follow = (lock: Lock, watches: WatchesShape) =>
    watches.watch(lock.watchRequest).pipe(
      Stream.runForEach((event) => {
        const seen =
          event._tag === "Apply" ? [event.object] : event._tag === "InitPage" ? event.objects.map((o) => o.object) : []
        return Effect.forEach(
          seen,
          (snapshot) =>
            snapshot === undefined
              ? Effect.void
              : Effect.andThen(
                  commit((s, now) =>
                    isNewer(snapshot, s) ? afterRead(s, snapshot, now, identity, timings) : { state: s }
                  ),
                  Queue.offer(observedChange, undefined)
                ),
          { discard: true }
        )
      })
    )

  const loop = Effect.gen(function* () {
    const lock = yield* resolveLock
    extra.lock = lock
    yield* Effect.logInfo("leader election started").pipe(Effect.annotateLogs({ lockKind: lock.kind }))
    if (options.watches !== undefined) yield* Effect.forkChild(follow(lock, options.watches))
    for (;;) {
      const attemptedAt = yield* monotonicMillis
      const outcome = yield* tryOnce(lock)
      yield* refresh
      const after = yield* monotonicMillis
      const due = after + nextDelay(yield* Ref.get(state), outcome, after, timings, yield* Random.next)
      // Sleep until the attempt is due, or until a chance the watch showed (each chance that
      // came after the last attempt started is taken once: no hot loop on a failing server).
      for (;;) {
        const now = yield* monotonicMillis
        const chance = followerChance(yield* Ref.get(state), now, timings)
        const at = chance !== undefined && chance > attemptedAt ? Math.min(due, chance) : due
        if (at <= now) break
        const woken = yield* Effect.raceFirst(
          Effect.as(Effect.sleep(Duration.millis(at - now)), false),
          Effect.as(Queue.take(observedChange), true)
        )
        if (!woken) break
      }
    }
  })

  // Ends a term at its stop time, whatever the loop is doing (a hung request does not delay it).
  const watcher = Effect.forever(
    Effect.gen(function* () {
      const s = yield* Ref.get(state)
      if (s.term === undefined) return yield* until(leadership, true)
      const wait = stopAtOf(s.term, timings) - (yield* monotonicMillis)
      if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
      yield* commit((st, now) => expire(st, now, timings))
    })
  )

  const ticker = Effect.forever(
    Effect.andThen(Effect.sleep(Duration.millis(Math.min(1000, timings.renewRetry))), refresh)
  )

  const release = (lock: Lock) =>
    Effect.gen(function* () {
      const write = (held: LockSnapshot) =>
        Effect.flatMap(Clock.currentTimeMillis, (wallNow) =>
          lock.update(held, releasedRecord(held.record, wallNow, lock.precision))
        )
      const s = yield* Ref.get(state)
      if (s.observed === undefined || !heldBy(s.observed.snapshot, identity)) return
      const written = yield* write(s.observed.snapshot).pipe(
        // Our own renewal may have landed as we stopped: read, and release if it is still ours.
        Effect.catchIf(
          (e) => e.reason === "Conflict",
          () =>
            Effect.flatMap(lock.get, (current) =>
              current !== undefined && heldBy(current, identity) ? write(current) : Effect.succeed(undefined)
            )
        )
      )
      if (written === undefined) return
      yield* commit((st, now) => afterRelease(st, written, now))
      yield* Effect.logInfo("released the leader lock")
    }).pipe(
      Effect.timeout(Duration.millis(timings.renewDeadline)),
      Effect.catch((e) =>
        Effect.logWarning("could not release the leader lock; another replica takes over once it expires").pipe(
          Effect.annotateLogs({ error: errorText(e) })
        )
      )
    )

  const shutdown = Effect.gen(function* () {
    extra.closing = true
    yield* commit((s) => ({ state: s, ended: "shutting down" }))
    // Until none runs: a term's work forked just as leadership ended is stopped too.
    const stopAll: Effect.Effect<void> = Effect.suspend(() => {
      const running = [...workers].filter((fiber) => fiber.pollUnsafe() === undefined)
      return running.length === 0 ? Effect.void : Effect.andThen(Fiber.interruptAll(running), stopAll)
    })
    const stopped = yield* Effect.timeoutOption(stopAll, Duration.millis(timings.renewDeadline))
    if (Option.isNone(stopped)) {
      return yield* Effect.logWarning("leader work did not stop; the leader lock is left to expire")
    }
    if (options.releaseOnShutdown && extra.lock !== undefined) yield* release(extra.lock)
  })

  const annotations = { identity, lockName: `${namespace}/${name}`, lockChoice: options.lock }
  // Registered before the fibers: the scope interrupts them first, then runs this.
  yield* Effect.addFinalizer(() => shutdown.pipe(Effect.annotateLogs(annotations)))
  yield* Effect.forkScoped(
    Effect.all([loop, watcher, ticker], { concurrency: "unbounded" }).pipe(Effect.annotateLogs(annotations))
  )

  const status = Effect.gen(function* () {
    const s = yield* Ref.get(state)
    const snapshot = s.observed?.snapshot
    const record = snapshot !== undefined && !isGarbled(snapshot) ? snapshot.record : undefined
    return {
      state: extra.lastError === undefined ? "Running" : "Failing",
      leaderName: record?.holderIdentity ?? "",
      acquiredTime: record?.acquireTime,
      renewedTime: record?.renewTime,
      transitions: snapshot?.record.transitions ?? 0,
      error: extra.lastError
    } satisfies LeaderStatus
  })

  return LeaderLease.of({
    identity,
    isLeader: Effect.map(Effect.zip(Ref.get(state), monotonicMillis), ([s, now]) => leadingNow(s, now)),
    leadership: SubscriptionRef.changes(leadership),
    status,
    whileLeader: (workName, work) => runWhileLeader(leadership, workers, timings.stopGrace, annotations, workName, work)
  })
})

/** DD_LEADER_ELECTION=false: this replica is the leader, always; no API calls. */
export const makeDisabledLeaderLease = Effect.fn("LeaderLease.makeDisabled")(function* (identity: string) {
  const leadership = yield* SubscriptionRef.make(true)
  const workers = new Set<Fiber.Fiber<unknown, unknown>>()
  return LeaderLease.of({
    identity,
    isLeader: Effect.succeed(true),
    leadership: SubscriptionRef.changes(leadership),
    status: Effect.succeed({ state: "Disabled", leaderName: identity, transitions: 0 }),
    whileLeader: (workName, work) => runWhileLeader(leadership, workers, 0, { identity }, workName, work)
  })
})

export class LeaderLease extends Context.Service<LeaderLease, LeaderLeaseShape>()("dca/LeaderLease") {
  /** An elector over explicit options, in the current scope. */
  static readonly make = makeLeaderLease

  static readonly layer: Layer.Layer<LeaderLease, never, KubeClient | ClusterAgentConfig | Health | Watches> =
    Layer.effect(
      LeaderLease,
      Effect.gen(function* () {
        const config = yield* ClusterAgentConfig
        if (!config.leaderElection) return yield* makeDisabledLeaderLease(config.identity)
        return yield* makeLeaderLease({
          kube: yield* KubeClient,
          health: yield* Health,
          identity: config.identity,
          namespace: config.effectiveNamespace,
          name: config.leaderLeaseName,
          lock: lockChoiceOf(config.leaderElectionResource),
          leaseDuration: config.leaderLeaseDuration,
          releaseOnShutdown: config.leaderElectionReleaseOnShutdown,
          watches: yield* Watches
        })
      })
    )
}
