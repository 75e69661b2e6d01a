// Pure: what the elector knows and decides, client-go's tryAcquireOrRenew without the I/O
// (kubernetes-notes.md B2, B4). LeaderLease.ts runs these functions against a lock; the
// property tests run the very same functions against a simulated lock and clocks.
//
// Times are of two kinds. Local monotonic milliseconds (`now`, `observedAt`, terms) decide
// everything: a record's expiry is when this replica saw it change plus its lease duration,
// never the times written in it (other nodes' clocks). Wall-clock milliseconds (`wallNow`)
// only fill the acquire and renew times of the records we write, for people and status.
import { type LeaderRecord, type RecordProblem, sameRecord } from "./record.ts"
import { acquireDelay, type Timings } from "./timings.ts"

/** One read of the lock, or the answer to one write. */
export interface Snapshot<O = unknown> {
  readonly record: LeaderRecord
  /** Fields another writer garbled; such a record is held by an unknown replica. */
  readonly problems: ReadonlyArray<RecordProblem>
  /**
   * Changes whenever the stored record may have changed (resourceVersion and record text).
   * Stricter than client-go's byte comparison of the record: any write restarts the wait.
   */
  readonly version: string
  /** The stored object, written back with its resourceVersion (optimistic concurrency). */
  readonly object: O
}

/** The last snapshot, and when (local) it was first seen in this version. */
export interface Observed<O = unknown> {
  readonly snapshot: Snapshot<O>
  readonly observedAt: number
}

/** Keeps the time of the first sighting while the stored version stays the same. */
export const observe = <O>(previous: Observed<O> | undefined, snapshot: Snapshot<O>, now: number): Observed<O> =>
  previous !== undefined && previous.snapshot.version === snapshot.version
    ? { snapshot, observedAt: previous.observedAt }
    : { snapshot, observedAt: now }

export const isGarbled = (snapshot: Snapshot): boolean => snapshot.problems.length > 0

/** The holder of a readable record is us. A garbled record is never ours. */
export const heldBy = (snapshot: Snapshot, identity: string): boolean =>
  !isGarbled(snapshot) && snapshot.record.holderIdentity === identity

/** Someone claims the lock: a holder is named, or the record cannot be read. */
export const isClaimed = (snapshot: Snapshot): boolean => isGarbled(snapshot) || snapshot.record.holderIdentity !== ""

/**
 * Until when (local) the observed claim stands: first sighting plus the record's own lease
 * duration (client-go's isLeaseValid). A garbled record gets at least our lease duration.
 */
export const validUntil = (observed: Observed, timings: Timings): number => {
  const own = Math.max(0, observed.snapshot.record.leaseDurationSeconds) * 1000
  return observed.observedAt + (isGarbled(observed.snapshot) ? Math.max(own, timings.leaseDuration) : own)
}

export type Decision =
  /** No lock object: create it with us as holder. */
  | { readonly _tag: "Create"; readonly record: LeaderRecord }
  /** Write `record` over the observed object: a renewal, or a takeover (released or expired). */
  | { readonly _tag: "Write"; readonly record: LeaderRecord; readonly takeover: boolean }
  /** We hold it and the record to write equals the stored one (same second on a ConfigMap): nothing to write. */
  | { readonly _tag: "Unchanged" }
  /** Another replica's claim is still valid. */
  | { readonly _tag: "Wait"; readonly holder: string; readonly until: number }

export interface DecideInput {
  /** What the last read found; undefined when the lock does not exist. */
  readonly observed: Observed | undefined
  readonly identity: string
  /** Local monotonic milliseconds. */
  readonly now: number
  /** Wall-clock milliseconds, for the record's times. */
  readonly wallNow: number
  readonly timings: Timings
  /** Milliseconds the lock stores times in (1000 for the ConfigMap record). */
  readonly precision: number
}

export const decide = (input: DecideInput): Decision => {
  const { observed, identity, timings } = input
  const wall = new Date(Math.floor(input.wallNow / input.precision) * input.precision)
  const fresh: LeaderRecord = {
    holderIdentity: identity,
    leaseDurationSeconds: Math.floor(timings.leaseDuration / 1000),
    acquireTime: wall,
    renewTime: wall,
    transitions: 0
  }
  if (observed === undefined) return { _tag: "Create", record: fresh }
  const { snapshot } = observed
  if (heldBy(snapshot, identity)) {
    // Renewal: the term goes on, so acquire time and transition count stay.
    const record = { ...fresh, acquireTime: snapshot.record.acquireTime, transitions: snapshot.record.transitions }
    return sameRecord(record, snapshot.record) ? { _tag: "Unchanged" } : { _tag: "Write", record, takeover: false }
  }
  const until = validUntil(observed, timings)
  if (isClaimed(snapshot) && input.now < until) {
    return { _tag: "Wait", holder: snapshot.record.holderIdentity, until }
  }
  // Released (no holder) or expired: take it over.
  return { _tag: "Write", record: { ...fresh, transitions: snapshot.record.transitions + 1 }, takeover: true }
}

/** The record a leader writes to step down on shutdown: nobody holds it, and it expires in 1 s. */
export const releasedRecord = (current: LeaderRecord, wallNow: number, precision: number): LeaderRecord => {
  const wall = new Date(Math.floor(wallNow / precision) * precision)
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTime: wall,
    renewTime: wall,
    transitions: current.transitions
  }
}

// --- leadership -----------------------------------------------------------------------------

/** A stretch of leadership, in local time. */
export interface Term {
  /** When it began (the winning write's answer arrived). */
  readonly since: number
  /** When the latest successful write of the term started: the renew deadline counts from here. */
  readonly renewedAt: number
}

/** Leader work must have finished by then: no renewal started since `renewDeadline` ago succeeded. */
export const deadlineOf = (term: Term, timings: Timings): number => term.renewedAt + timings.renewDeadline

/** Leader work is interrupted then, a stop grace before the deadline. */
export const stopAtOf = (term: Term, timings: Timings): number => deadlineOf(term, timings) - timings.stopGrace

/** The rule for running leader work: a term whose stop time has not come. */
export const leadsAt = (term: Term | undefined, now: number, timings: Timings): boolean =>
  term !== undefined && now < stopAtOf(term, timings)

// --- the elector's state and its transitions ---------------------------------------------------

export interface ElectorState<O = unknown> {
  readonly observed: Observed<O> | undefined
  /** Present while leading (cleared when the stop time passes, or another holder is seen). */
  readonly term: Term | undefined
  /** Local time of the last answer from the lock (a read, a 404, a successful write). */
  readonly lastContact: number | undefined
}

export const initialState: ElectorState<never> = { observed: undefined, term: undefined, lastContact: undefined }

/** A transition's new state, and why leadership ended when it did. */
export interface Step<O> {
  readonly state: ElectorState<O>
  readonly ended?: string | undefined
}

export const reasonDeadline = "no renewal succeeded within the renew deadline"

/** Ends a term whose stop time has come. */
export const expire = <O>(state: ElectorState<O>, now: number, timings: Timings): Step<O> =>
  state.term !== undefined && !leadsAt(state.term, now, timings)
    ? { state: { ...state, term: undefined }, ended: reasonDeadline }
    : { state }

/**
 * A read answered at `now` (undefined: the lock does not exist). Seeing another holder ends
 * our term at once, without waiting for the deadline.
 */
export const afterRead = <O>(
  state: ElectorState<O>,
  snapshot: Snapshot<O> | undefined,
  now: number,
  identity: string,
  timings: Timings
): Step<O> => {
  const expired = expire(state, now, timings)
  const observed = snapshot === undefined ? undefined : observe(expired.state.observed, snapshot, now)
  const next: ElectorState<O> = { ...expired.state, observed, lastContact: now }
  if (next.term !== undefined && snapshot !== undefined && !heldBy(snapshot, identity)) {
    const holder = isGarbled(snapshot) ? "an unreadable record" : snapshot.record.holderIdentity || "nobody"
    return { state: { ...next, term: undefined }, ended: `the lock is now held by ${holder}` }
  }
  return { state: next, ended: expired.ended }
}

/**
 * Our write (create, renewal or takeover) that started at `startedAt` was answered at `now`.
 * The term goes on, or begins; a success that arrives after its own stop time leads nowhere.
 */
export const afterWrite = <O>(
  state: ElectorState<O>,
  snapshot: Snapshot<O>,
  startedAt: number,
  now: number,
  timings: Timings
): Step<O> => {
  const expired = expire(state, now, timings)
  const term: Term = { since: expired.state.term?.since ?? now, renewedAt: startedAt }
  return {
    state: {
      observed: { snapshot, observedAt: now },
      term: leadsAt(term, now, timings) ? term : undefined,
      lastContact: now
    },
    ended: expired.ended
  }
}

/** Our release was written: no term, and the released record is what we saw last. */
export const afterRelease = <O>(state: ElectorState<O>, snapshot: Snapshot<O>, now: number): Step<O> => ({
  state: { observed: { snapshot, observedAt: now }, term: undefined, lastContact: now },
  ended: state.term === undefined ? undefined : "released the lock"
})

/**
 * client-go's fast path: while the record we saw last is ours and valid, renew by writing over
 * it directly, without reading first (a 409 means someone wrote since, and we read).
 */
export const canWriteDirectly = (state: ElectorState, identity: string, now: number, timings: Timings): boolean =>
  state.observed !== undefined && heldBy(state.observed.snapshot, identity) && now < validUntil(state.observed, timings)

/** How an attempt went, for when the next one comes. */
export type Outcome = "Written" | "Unchanged" | "Waiting" | "Failed"

/**
 * The wait after an attempt: a leader renews every retry period, and retries a failed
 * renewal sooner; everyone else tries every retry period, jittered (`random` in [0, 1)).
 */
export const nextDelay = (
  state: ElectorState,
  outcome: Outcome,
  now: number,
  timings: Timings,
  random: number
): number => {
  if (leadsAt(state.term, now, timings)) return outcome === "Written" ? timings.retryPeriod : timings.renewRetry
  return acquireDelay(timings, random)
}

/**
 * Readiness: a working elector has heard from the lock within a lease duration (plus
 * `tolerance`), and a leader has renewed within a lease duration. Either failing means the
 * elector is stuck, which must show rather than hide.
 */
export const isHealthy = (state: ElectorState, now: number, timings: Timings, tolerance: number): boolean =>
  state.lastContact !== undefined &&
  now - state.lastContact <= timings.leaseDuration + tolerance &&
  (state.term === undefined || now - state.term.renewedAt <= timings.leaseDuration)
