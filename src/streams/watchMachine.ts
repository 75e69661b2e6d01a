// The decisions of the list+watch loop, as a pure state machine: given where the loop is and how
// its last request went, where it goes next and what it does. The Effect shell (watcher.ts) only
// performs the actions and reports outcomes, so every rule of the loop is here, testable without
// a clock or a server:
//
//   Listing ──Listed(rv)──▶ Watching(rv) ──Event(rv')──▶ Watching(rv')       (rv only moves on)
//      ▲                       │ Ended after a while, or Idle ──▶ watch again from rv
//      │                       │ Ended at once with nothing ──▶ BackingOff ──▶ watch again from rv
//      │                       │ Failed (transport, 403, ...) ──▶ BackingOff ──▶ watch again from rv
//      ├─── Gone (410) ────────┤ (after a backoff when the version came from the LIST just made)
//      └─── ServerError (500) ─┘ (a compacted version can surface as a 500: relist after backoff)
//   ListFailed ──▶ BackingOff ──▶ Listing
//
// `failures` counts failed requests since the last progress (a complete LIST, or any event or
// bookmark): it picks the backoff delay, and progress resets it.
import type { KubeErrorReason } from "../layers/kube/errors.ts"

/** A watch that the server closes sooner than this, with nothing in it, counts as a failure. */
export const quickEndMillis = 1000

export type WatchState = Requesting | { readonly _tag: "BackingOff"; readonly then: Requesting }

/** The states that make a request: where a backoff returns to. */
export type Requesting =
  | { readonly _tag: "Listing"; readonly failures: number }
  | {
      readonly _tag: "Watching"
      /** Where the next WATCH resumes: the list's resourceVersion, then the latest event's. */
      readonly resourceVersion: string
      /** Whether the current WATCH has delivered anything (an event or a bookmark). */
      readonly progressed: boolean
      /** Whether the current WATCH is the first after a LIST (it resumes from the list's version). */
      readonly fresh: boolean
      readonly failures: number
    }

export type WatchOutcome =
  | { readonly _tag: "Listed"; readonly resourceVersion: string }
  | { readonly _tag: "ListFailed"; readonly reason: KubeErrorReason }
  /** An event or bookmark of the current WATCH; its resourceVersion when it has one. */
  | { readonly _tag: "Event"; readonly resourceVersion: string | undefined }
  /** The server ended the WATCH normally (its timeout) after `elapsedMillis`. */
  | { readonly _tag: "Ended"; readonly elapsedMillis: number }
  /** Nothing arrived for the idle timeout: the connection is presumed dead. */
  | { readonly _tag: "Idle" }
  | { readonly _tag: "WatchFailed"; readonly reason: KubeErrorReason }
  /** The backoff delay has passed. */
  | { readonly _tag: "Slept" }

export type WatchAction =
  | { readonly _tag: "List" }
  | { readonly _tag: "Watch"; readonly resourceVersion: string }
  /** Wait the backoff delay for the `attempt`-th consecutive failure (1-based). */
  | { readonly _tag: "Backoff"; readonly attempt: number }
  /** Keep consuming the current WATCH. */
  | { readonly _tag: "Continue" }

export interface Step {
  readonly state: WatchState
  readonly action: WatchAction
}

/** Where a loop starts: from a LIST, or resuming a known resourceVersion (e.g. a stored cursor). */
export const start = (resumeFrom?: string): Step =>
  resumeFrom === undefined || resumeFrom === ""
    ? { state: { _tag: "Listing", failures: 0 }, action: { _tag: "List" } }
    : {
        state: { _tag: "Watching", resourceVersion: resumeFrom, progressed: false, fresh: false, failures: 0 },
        action: { _tag: "Watch", resourceVersion: resumeFrom }
      }

const listing = (failures: number): Requesting => ({ _tag: "Listing", failures })
const watching = (resourceVersion: string, failures: number, fresh = false): Requesting => ({
  _tag: "Watching",
  resourceVersion,
  progressed: false,
  fresh,
  failures
})
const backOff = (then: Requesting, failures: number): Step => ({
  state: { _tag: "BackingOff", then },
  action: { _tag: "Backoff", attempt: failures }
})
const actionOf = (state: Requesting): WatchAction =>
  state._tag === "Listing" ? { _tag: "List" } : { _tag: "Watch", resourceVersion: state.resourceVersion }

/**
 * The next state and action. An outcome that does not fit the state (a watch event while
 * listing, say) is a bug in the shell, not something a server can cause: it throws.
 */
export const step = (state: WatchState, outcome: WatchOutcome): Step => {
  switch (state._tag) {
    case "Listing":
      switch (outcome._tag) {
        case "Listed": {
          const next = watching(outcome.resourceVersion, 0, true)
          return { state: next, action: actionOf(next) }
        }
        case "ListFailed":
          return backOff(listing(state.failures + 1), state.failures + 1)
        default:
          return unexpected(state, outcome)
      }
    case "Watching": {
      // Progress in this WATCH wipes the failures that came before it.
      const failures = state.progressed ? 0 : state.failures
      switch (outcome._tag) {
        case "Event":
          return {
            state: {
              _tag: "Watching",
              resourceVersion:
                outcome.resourceVersion === undefined || outcome.resourceVersion === ""
                  ? state.resourceVersion
                  : outcome.resourceVersion,
              progressed: true,
              fresh: state.fresh,
              failures: 0
            },
            action: { _tag: "Continue" }
          }
        case "Ended": {
          const next = watching(state.resourceVersion, failures)
          if (!state.progressed && outcome.elapsedMillis < quickEndMillis) {
            // Closed at once with nothing in it: a misbehaving server or proxy, not a timeout.
            return backOff(watching(state.resourceVersion, failures + 1), failures + 1)
          }
          return { state: next, action: actionOf(next) }
        }
        case "Idle": {
          // The idle timeout is long (minutes): restarting at once cannot loop hot.
          const next = watching(state.resourceVersion, failures)
          return { state: next, action: actionOf(next) }
        }
        case "WatchFailed":
          if (outcome.reason === "Gone") {
            // The version is older than the server's history: only a LIST can catch up, at once.
            // Unless the version came from the LIST just made and nothing arrived since: a
            // server that forgets its own list at once would otherwise be relisted in a loop.
            if (state.fresh && !state.progressed) return backOff(listing(failures + 1), failures + 1)
            return { state: listing(failures), action: { _tag: "List" } }
          }
          if (outcome.reason === "ServerError") return backOff(listing(failures + 1), failures + 1)
          return backOff(watching(state.resourceVersion, failures + 1), failures + 1)
        default:
          return unexpected(state, outcome)
      }
    }
    case "BackingOff":
      if (outcome._tag === "Slept") return { state: state.then, action: actionOf(state.then) }
      return unexpected(state, outcome)
  }
}

const unexpected = (state: WatchState, outcome: WatchOutcome): never => {
  throw new Error(`watch machine: outcome ${outcome._tag} cannot happen in state ${state._tag}`)
}

/** The resourceVersion a restart resumes from, or undefined when the next request is a LIST. */
export const resumeVersion = (state: WatchState): string | undefined => {
  const s = state._tag === "BackingOff" ? state.then : state
  return s._tag === "Watching" ? s.resourceVersion : undefined
}
