import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { KubeErrorReason } from "../../src/layers/kube/errors.ts"
import {
  quickEndMillis,
  type Requesting,
  resumeVersion,
  type Step,
  start,
  step,
  type WatchAction,
  type WatchOutcome,
  type WatchState
} from "../../src/streams/watchMachine.ts"

// ---------------------------------------------------------------------------------------------
// Building blocks

const listing = (failures: number): Requesting => ({ _tag: "Listing", failures })
/** `fresh`: the first WATCH after a LIST, from the list's own version. */
const watching = (resourceVersion: string, progressed: boolean, failures: number, fresh = false): Requesting => ({
  _tag: "Watching",
  resourceVersion,
  progressed,
  fresh,
  failures
})
const backingOff = (then: Requesting): WatchState => ({ _tag: "BackingOff", then })

const List: WatchAction = { _tag: "List" }
const Continue: WatchAction = { _tag: "Continue" }
const Watch = (resourceVersion: string): WatchAction => ({ _tag: "Watch", resourceVersion })
const Backoff = (attempt: number): WatchAction => ({ _tag: "Backoff", attempt })

const Listed = (resourceVersion: string): WatchOutcome => ({ _tag: "Listed", resourceVersion })
const ListFailed = (reason: KubeErrorReason): WatchOutcome => ({ _tag: "ListFailed", reason })
const Event = (resourceVersion: string | undefined): WatchOutcome => ({ _tag: "Event", resourceVersion })
const Ended = (elapsedMillis: number): WatchOutcome => ({ _tag: "Ended", elapsedMillis })
const Idle: WatchOutcome = { _tag: "Idle" }
const WatchFailed = (reason: KubeErrorReason): WatchOutcome => ({ _tag: "WatchFailed", reason })
const Slept: WatchOutcome = { _tag: "Slept" }

const reasons: ReadonlyArray<KubeErrorReason> = KubeErrorReason.literals
/** The watch failures that must not relist: the connection or the request failed, the version is fine. */
const resumableReasons = reasons.filter((r) => r !== "Gone" && r !== "ServerError")

/** Freezes a state all the way down, so that a step that writes to its input throws (ESM is strict). */
const deepFreeze = <T>(value: T): T => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

// ---------------------------------------------------------------------------------------------
// Table tests: one row per transition

interface Row {
  readonly name: string
  readonly state: WatchState
  readonly outcome: WatchOutcome
  readonly expected: Step
}

const rows: ReadonlyArray<Row> = [
  // Listing
  {
    name: "Listing + Listed → watch from the list's version (a fresh watch)",
    state: listing(0),
    outcome: Listed("7"),
    expected: { state: watching("7", false, 0, true), action: Watch("7") }
  },
  {
    name: "Listing after failures + Listed → a complete list is progress: failures reset",
    state: listing(3),
    outcome: Listed("7"),
    expected: { state: watching("7", false, 0, true), action: Watch("7") }
  },
  {
    name: "Listing + ListFailed → back off (attempt 1), then list again",
    state: listing(0),
    outcome: ListFailed("Transport"),
    expected: { state: backingOff(listing(1)), action: Backoff(1) }
  },
  {
    name: "Listing after 2 failures + ListFailed → attempt 3",
    state: listing(2),
    outcome: ListFailed("ServerError"),
    expected: { state: backingOff(listing(3)), action: Backoff(3) }
  },
  {
    name: "Listing + ListFailed Gone (expired continue token) → back off and list again",
    state: listing(0),
    outcome: ListFailed("Gone"),
    expected: { state: backingOff(listing(1)), action: Backoff(1) }
  },
  // Watching: events
  {
    name: "Watching + Event(rv) → move to rv, progress, failures reset, keep consuming",
    state: watching("5", false, 2),
    outcome: Event("6"),
    expected: { state: watching("6", true, 0), action: Continue }
  },
  {
    name: "fresh Watching + Event(rv) → still the watch after the LIST",
    state: watching("5", false, 0, true),
    outcome: Event("6"),
    expected: { state: watching("6", true, 0, true), action: Continue }
  },
  {
    name: "Watching + Event(undefined) → keep the previous version (still progress)",
    state: watching("5", false, 1),
    outcome: Event(undefined),
    expected: { state: watching("5", true, 0), action: Continue }
  },
  {
    name: 'Watching + Event("") → keep the previous version',
    state: watching("5", true, 0),
    outcome: Event(""),
    expected: { state: watching("5", true, 0), action: Continue }
  },
  // Watching: the server ends the watch
  {
    name: "Watching with progress + Ended at once → watch again at once (progress is not a failure)",
    state: watching("5", true, 0, true),
    outcome: Ended(10),
    expected: { state: watching("5", false, 0), action: Watch("5") }
  },
  {
    name: "Watching without progress + Ended just under quickEndMillis → back off",
    state: watching("5", false, 0, true),
    outcome: Ended(quickEndMillis - 1),
    expected: { state: backingOff(watching("5", false, 1)), action: Backoff(1) }
  },
  {
    name: "Watching without progress after 2 failures + Ended(0) → attempt 3",
    state: watching("5", false, 2),
    outcome: Ended(0),
    expected: { state: backingOff(watching("5", false, 3)), action: Backoff(3) }
  },
  {
    name: "Watching without progress + Ended at quickEndMillis → a normal end: watch again, failures kept",
    state: watching("5", false, 2),
    outcome: Ended(quickEndMillis),
    expected: { state: watching("5", false, 2), action: Watch("5") }
  },
  {
    name: "Watching with progress + Ended after its timeout → watch again",
    state: watching("9", true, 0),
    outcome: Ended(60_000),
    expected: { state: watching("9", false, 0), action: Watch("9") }
  },
  // Watching: idle
  {
    name: "Watching without progress + Idle → watch again at once, failures kept",
    state: watching("5", false, 2),
    outcome: Idle,
    expected: { state: watching("5", false, 2), action: Watch("5") }
  },
  {
    name: "fresh Watching with progress + Idle → watch again at once (no longer fresh)",
    state: watching("5", true, 0, true),
    outcome: Idle,
    expected: { state: watching("5", false, 0), action: Watch("5") }
  },
  // Watching: 410 Gone
  {
    name: "Watching with progress + Gone → relist at once",
    state: watching("5", true, 0),
    outcome: WatchFailed("Gone"),
    expected: { state: listing(0), action: List }
  },
  {
    name: "fresh Watching with progress + Gone → relist at once",
    state: watching("5", true, 0, true),
    outcome: WatchFailed("Gone"),
    expected: { state: listing(0), action: List }
  },
  {
    name: "fresh Watching without progress + Gone → back off, then relist (a server forgetting its own list)",
    state: watching("5", false, 0, true),
    outcome: WatchFailed("Gone"),
    expected: { state: backingOff(listing(1)), action: Backoff(1) }
  },
  {
    name: "resumed Watching without progress + Gone → relist at once, failures kept",
    state: watching("5", false, 0),
    outcome: WatchFailed("Gone"),
    expected: { state: listing(0), action: List }
  },
  {
    name: "resumed Watching without progress after 2 failures + Gone → relist at once, failures kept",
    state: watching("5", false, 2),
    outcome: WatchFailed("Gone"),
    expected: { state: listing(2), action: List }
  },
  // Watching: 500 and the rest
  {
    name: "Watching with progress + ServerError → back off (attempt 1), then relist",
    state: watching("5", true, 0),
    outcome: WatchFailed("ServerError"),
    expected: { state: backingOff(listing(1)), action: Backoff(1) }
  },
  {
    name: "fresh Watching + ServerError → back off, then relist",
    state: watching("5", false, 0, true),
    outcome: WatchFailed("ServerError"),
    expected: { state: backingOff(listing(1)), action: Backoff(1) }
  },
  {
    name: "Watching without progress after 2 failures + ServerError → attempt 3, then relist",
    state: watching("5", false, 2),
    outcome: WatchFailed("ServerError"),
    expected: { state: backingOff(listing(3)), action: Backoff(3) }
  },
  {
    name: "fresh Watching + Transport → back off, then watch again from the same version",
    state: watching("5", false, 0, true),
    outcome: WatchFailed("Transport"),
    expected: { state: backingOff(watching("5", false, 1)), action: Backoff(1) }
  },
  {
    name: "Watching with progress + Forbidden → attempt 1 (progress wiped the earlier failures)",
    state: watching("5", true, 0),
    outcome: WatchFailed("Forbidden"),
    expected: { state: backingOff(watching("5", false, 1)), action: Backoff(1) }
  },
  {
    name: "Watching without progress after 3 failures + TooManyRequests → attempt 4",
    state: watching("5", false, 3),
    outcome: WatchFailed("TooManyRequests"),
    expected: { state: backingOff(watching("5", false, 4)), action: Backoff(4) }
  },
  {
    name: "Watching + Timeout → back off, then watch again",
    state: watching("5", false, 1),
    outcome: WatchFailed("Timeout"),
    expected: { state: backingOff(watching("5", false, 2)), action: Backoff(2) }
  },
  // BackingOff
  {
    name: "BackingOff to Listing + Slept → list",
    state: backingOff(listing(2)),
    outcome: Slept,
    expected: { state: listing(2), action: List }
  },
  {
    name: "BackingOff to Watching + Slept → watch from the kept version",
    state: backingOff(watching("5", false, 2)),
    outcome: Slept,
    expected: { state: watching("5", false, 2), action: Watch("5") }
  }
]

/** Every outcome that cannot happen in a state: what the shell can never report there. */
const impossible: ReadonlyArray<readonly [WatchState, WatchOutcome]> = [
  ...[Event("1"), Event(undefined), Ended(5000), Idle, WatchFailed("Gone"), Slept].map((o) => [listing(0), o] as const),
  ...[Listed("1"), ListFailed("Transport"), Slept].map((o) => [watching("5", true, 0), o] as const),
  ...[Listed("1"), ListFailed("Transport"), Event("1"), Ended(5000), Idle, WatchFailed("Transport")].flatMap((o) => [
    [backingOff(listing(1)), o] as const,
    [backingOff(watching("5", false, 1)), o] as const
  ])
]

describe("watchMachine: start", () => {
  it("without a version lists first", () => {
    expect(start()).toEqual({ state: listing(0), action: List })
    expect(start(undefined)).toEqual({ state: listing(0), action: List })
  })

  it("with an empty version lists first (an empty cursor is no cursor)", () => {
    expect(start("")).toEqual({ state: listing(0), action: List })
  })

  it("with a version watches from it without listing", () => {
    // Not fresh: the version did not come from a LIST just made, so a 410 relists at once.
    expect(start("42")).toEqual({ state: watching("42", false, 0), action: Watch("42") })
    expect(resumeVersion(start("42").state)).toBe("42")
  })

  it("with any non-empty version watches from exactly that version", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (rv) => {
        const first = start(rv)
        expect(first.action).toEqual(Watch(rv))
        expect(resumeVersion(first.state)).toBe(rv)
      })
    )
  })
})

describe("watchMachine: step (table)", () => {
  for (const row of rows) {
    it(row.name, () => {
      expect(step(deepFreeze(row.state), row.outcome)).toEqual(row.expected)
    })
  }

  it("every watch failure other than Gone and ServerError backs off and resumes from the same version", () => {
    for (const reason of resumableReasons) {
      const backed = step(watching("5", false, 0), WatchFailed(reason))
      expect(backed, reason).toEqual({ state: backingOff(watching("5", false, 1)), action: Backoff(1) })
      expect(step(backed.state, Slept).action, reason).toEqual(Watch("5"))
    }
  })

  it("every list failure backs off and lists again", () => {
    for (const reason of reasons) {
      const backed = step(listing(0), ListFailed(reason))
      expect(backed, reason).toEqual({ state: backingOff(listing(1)), action: Backoff(1) })
      expect(step(backed.state, Slept).action, reason).toEqual(List)
    }
  })

  for (const [state, outcome] of impossible) {
    const where = state._tag === "BackingOff" ? `BackingOff(${state.then._tag})` : state._tag
    it(`throws for ${outcome._tag} while ${where} (a bug in the shell)`, () => {
      expect(() => step(state, outcome)).toThrow(`outcome ${outcome._tag} cannot happen in state ${state._tag}`)
    })
  }

  it("a typical life: list, events, bookmark, timeout, expiry, relist", () => {
    const life: ReadonlyArray<readonly [WatchOutcome, WatchAction]> = [
      [Listed("10"), Watch("10")],
      [Event("11"), Continue],
      [Event("12"), Continue], // a bookmark
      [Ended(300_000), Watch("12")],
      [Event(undefined), Continue],
      [Idle, Watch("12")],
      [WatchFailed("Transport"), Backoff(1)],
      [Slept, Watch("12")],
      [WatchFailed("Transport"), Backoff(2)],
      [Slept, Watch("12")],
      [Event("13"), Continue],
      [WatchFailed("Gone"), List],
      [ListFailed("Timeout"), Backoff(1)],
      [Slept, List],
      [Listed("40"), Watch("40")]
    ]
    let { state, action } = start()
    expect(action).toEqual(List)
    for (const [outcome, expected] of life) {
      ;({ state, action } = step(state, outcome))
      expect(action).toEqual(expected)
    }
  })
})

describe("watchMachine: resumeVersion", () => {
  it("is the version a watch would resume from, or undefined when the next request lists", () => {
    expect(resumeVersion(listing(0))).toBeUndefined()
    expect(resumeVersion(backingOff(listing(2)))).toBeUndefined()
    expect(resumeVersion(watching("5", true, 0))).toBe("5")
    expect(resumeVersion(backingOff(watching("6", false, 1)))).toBe("6")
  })
})

// ---------------------------------------------------------------------------------------------
// Property tests over simulated runs: from each state, an outcome the shell can report there,
// with resourceVersions from an increasing counter as a real server hands them out.

interface Choice {
  /** Which outcome, among those allowed in the state (percent). */
  readonly roll: number
  readonly reason: KubeErrorReason
  readonly elapsedMillis: number
  /** Whether an event carries a new version (a change or a bookmark), none, or an empty one. */
  readonly version: "new" | "none" | "empty"
}

const choice: fc.Arbitrary<Choice> = fc.record({
  roll: fc.integer({ min: 0, max: 99 }),
  // Every reason, with the two that relist drawn more often.
  reason: fc.oneof(fc.constantFrom(...reasons), fc.constantFrom<KubeErrorReason>("Gone", "ServerError")),
  elapsedMillis: fc.oneof(
    fc.integer({ min: 0, max: quickEndMillis - 1 }),
    fc.integer({ min: quickEndMillis, max: 600_000 })
  ),
  version: fc.constantFrom<Choice["version"]>("new", "new", "new", "none", "empty")
})

const resumeFrom: fc.Arbitrary<string | undefined> = fc.option(
  fc.oneof(fc.constant(""), fc.integer({ min: 1, max: 1000 }).map(String)),
  { nil: undefined }
)

interface Transition {
  readonly before: WatchState
  readonly outcome: WatchOutcome
  readonly after: Step
}

interface Run {
  readonly resumeFrom: string | undefined
  readonly first: Step
  readonly transitions: ReadonlyArray<Transition>
}

const outcomeFor = (state: WatchState, c: Choice, nextVersion: () => string): WatchOutcome => {
  switch (state._tag) {
    case "BackingOff":
      return Slept
    case "Listing":
      return c.roll < 60 ? Listed(nextVersion()) : ListFailed(c.reason)
    case "Watching":
      if (c.roll < 40) return Event(c.version === "new" ? nextVersion() : c.version === "none" ? undefined : "")
      if (c.roll < 55) return Ended(c.elapsedMillis)
      if (c.roll < 65) return Idle
      return WatchFailed(c.reason)
  }
}

/** Runs the machine on outcomes that are valid where it is; the states it is given are frozen. */
const simulate = (from: string | undefined, choices: ReadonlyArray<Choice>): Run => {
  let counter = from === undefined || from === "" ? 0 : Number(from)
  const nextVersion = () => String(++counter)
  const first = start(from)
  let state = first.state
  const transitions: Array<Transition> = []
  for (const c of choices) {
    const outcome = outcomeFor(state, c, nextVersion)
    const before = deepFreeze(state)
    const after = step(before, outcome)
    transitions.push({ before, outcome, after })
    state = after.state
  }
  return { resumeFrom: from, first, transitions }
}

const runs = fc.tuple(resumeFrom, fc.array(choice, { maxLength: 200 }))
const numRuns = 1000

const isRequest = (a: WatchAction): a is Extract<WatchAction, { _tag: "List" | "Watch" }> =>
  a._tag === "List" || a._tag === "Watch"

const isRelistCause = (o: WatchOutcome | undefined): boolean =>
  o !== undefined &&
  (o._tag === "ListFailed" || (o._tag === "WatchFailed" && (o.reason === "Gone" || o.reason === "ServerError")))

/** What the model knows of the current WATCH, from the actions and outcomes alone (not the machine's state). */
interface WatchContext {
  /** It has delivered an event or a bookmark. */
  readonly progressed: boolean
  /** It is the first WATCH after a LIST, from the version that LIST returned. */
  readonly fresh: boolean
}

/**
 * A 410 that the contract relists at once: in a watch that delivered something, or one that
 * resumed an older version (after a restart or from a stored cursor). A 410 on the version the
 * LIST just returned, with nothing since, is a server forgetting its own list: a failure.
 */
const isPromptRelist = (o: WatchOutcome, w: WatchContext): boolean =>
  o._tag === "WatchFailed" && o.reason === "Gone" && (w.progressed || !w.fresh)

/**
 * A failed request: a failed LIST, a failed WATCH (except a 410 relisted at once, above), or a
 * WATCH that the server closed at once without anything in it.
 */
const isFailure = (o: WatchOutcome, w: WatchContext): boolean => {
  switch (o._tag) {
    case "ListFailed":
      return true
    case "WatchFailed":
      return !isPromptRelist(o, w)
    case "Ended":
      return !w.progressed && o.elapsedMillis < quickEndMillis
    default:
      return false
  }
}

/** Calls `visit` with each transition and what the model knows of the current WATCH, and `onAction` with each action. */
const walk = (
  run: Run,
  visit: (t: Transition, w: WatchContext) => void,
  onAction: (a: WatchAction) => void = () => {}
) => {
  let w: WatchContext = { progressed: false, fresh: false }
  onAction(run.first.action)
  for (const t of run.transitions) {
    visit(t, w)
    if (t.outcome._tag === "Event") w = { ...w, progressed: true }
    onAction(t.after.action)
    if (t.after.action._tag === "Watch") w = { progressed: false, fresh: t.outcome._tag === "Listed" }
  }
}

describe("watchMachine: properties over valid runs", () => {
  it("never throws, never writes to the state it is given, and keeps failures a count", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        expect(run.transitions).toHaveLength(choices.length)
        for (const { after } of run.transitions) {
          const s = after.state._tag === "BackingOff" ? after.state.then : after.state
          expect(["Listing", "Watching"]).toContain(s._tag)
          expect(Number.isInteger(s.failures) && s.failures >= 0).toBe(true)
        }
      }),
      { numRuns }
    )
  })

  it("every Watch resumes from the latest Listed or non-empty Event since the last List", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        // The version the next WATCH must use; undefined while only a LIST can continue.
        let latest = from === undefined || from === "" ? undefined : from
        let lastWatched = Number.NEGATIVE_INFINITY
        const checkAction = (a: WatchAction) => {
          if (a._tag === "List") latest = undefined
          if (a._tag === "Watch") {
            expect(latest).toBeDefined()
            expect(a.resourceVersion).not.toBe("")
            expect(a.resourceVersion).toBe(latest)
            // The server's versions only grow, so the watched ones never go back.
            expect(Number(a.resourceVersion)).toBeGreaterThanOrEqual(lastWatched)
            lastWatched = Number(a.resourceVersion)
          }
        }
        checkAction(run.first.action)
        expect(resumeVersion(run.first.state)).toBe(latest)
        for (const { outcome, after } of run.transitions) {
          if (outcome._tag === "Listed") latest = outcome.resourceVersion
          if (outcome._tag === "Event" && outcome.resourceVersion !== undefined && outcome.resourceVersion !== "") {
            latest = outcome.resourceVersion
          }
          // After a 410 or a 500 the version is no longer one to resume from.
          if (isRelistCause(outcome)) latest = undefined
          checkAction(after.action)
          // What a restart would resume from, at every point of the run.
          expect(resumeVersion(after.state)).toBe(latest)
        }
      }),
      { numRuns }
    )
  })

  it("an Event without a resourceVersion keeps the previous one", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        for (const { before, outcome, after } of run.transitions) {
          if (outcome._tag === "Event" && (outcome.resourceVersion === undefined || outcome.resourceVersion === "")) {
            expect(resumeVersion(after.state)).toBe(resumeVersion(before))
            expect(after.action).toEqual(Continue)
          }
        }
      }),
      { numRuns }
    )
  })

  it("relists exactly after the start without a version, a 410, a 500 (after a backoff) or a failed LIST (after a backoff)", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        expect(run.first.action._tag === "List").toBe(from === undefined || from === "")
        /** The outcome that put the loop into its current backoff. */
        let backoffCause: WatchOutcome | undefined
        /** A 410, 500 or failed LIST happened: the next request must be a LIST. */
        let mustList = false
        walk(run, ({ outcome, after }, w) => {
          if (isRelistCause(outcome)) mustList = true
          const a = after.action
          if (a._tag === "Backoff") backoffCause = outcome
          if (!isRequest(a)) return
          const cause = outcome._tag === "Slept" ? backoffCause : outcome
          expect(a._tag === "List", `${a._tag} after ${JSON.stringify(cause)}`).toBe(isRelistCause(cause))
          if (mustList) expect(a).toEqual(List)
          mustList = false
          // A LIST comes at once only after a 410 relisted at once; after anything else, after a backoff.
          if (a._tag === "List") expect(outcome._tag === "Slept").toBe(!isPromptRelist(outcome, w))
        })
      }),
      { numRuns }
    )
  })

  it("backs off after every failure, and only after failures", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        walk(run, ({ outcome, after }, w) => {
          const failed = isFailure(outcome, w)
          expect(after.action._tag === "Backoff", `${after.action._tag} after ${JSON.stringify(outcome)}`).toBe(failed)
          // What follows a backoff is the request again, never a second backoff.
          if (outcome._tag === "Slept") expect(isRequest(after.action)).toBe(true)
        })
      }),
      { numRuns }
    )
  })

  it("no hot loops: requests without progress and without a backoff between them come at most two in a row", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        interface Request {
          readonly tag: "List" | "Watch"
          readonly backoffBefore: boolean
          progressed: boolean
          endedBy: WatchOutcome | undefined
        }
        const requests: Array<Request> = []
        let backoffSinceLast = false
        walk(
          run,
          ({ outcome }) => {
            const current = requests[requests.length - 1]
            if (current === undefined || outcome._tag === "Slept") return
            if (outcome._tag === "Listed" || outcome._tag === "Event") current.progressed = true
            if (outcome._tag !== "Event") current.endedBy = outcome
          },
          (a) => {
            if (a._tag === "Backoff") backoffSinceLast = true
            if (isRequest(a)) {
              requests.push({ tag: a._tag, backoffBefore: backoffSinceLast, progressed: false, endedBy: undefined })
              backoffSinceLast = false
            }
          }
        )
        /** An end that takes long by itself: the idle timeout (minutes) or the server's watch timeout. */
        const slowEnd = (o: WatchOutcome | undefined) =>
          o?._tag === "Idle" || (o?._tag === "Ended" && o.elapsedMillis >= quickEndMillis)
        for (let i = 1; i < requests.length; i++) {
          const [first, second] = [requests[i - 1], requests[i]]
          if (first === undefined || second === undefined || second.endedBy === undefined) continue
          if (first.progressed || second.progressed || second.backoffBefore || slowEnd(first.endedBy)) continue
          // Two requests in a row that got nothing: only a 410 relisted at once, then that LIST,
          // which then fails (and backs off): never a third.
          const ended = first.endedBy
          expect(
            ended?._tag === "WatchFailed" && ended.reason === "Gone",
            `request ${i} after ${JSON.stringify(ended)}`
          ).toBe(true)
          expect(second.tag).toBe("List")
          expect(second.endedBy._tag).toBe("ListFailed")
          const third = requests[i + 1]
          if (third !== undefined) expect(third.backoffBefore).toBe(true)
        }
      }),
      { numRuns }
    )
  })

  it("backoff attempts count the failures since the last progress: 1, 2, 3, ...; progress starts over", () => {
    fc.assert(
      fc.property(runs, ([from, choices]) => {
        const run = simulate(from, choices)
        let failures = 0
        walk(run, ({ outcome, after }, w) => {
          if (outcome._tag === "Listed" || outcome._tag === "Event") failures = 0
          if (isFailure(outcome, w)) failures++
          if (after.action._tag === "Backoff") expect(after.action.attempt).toBe(failures)
        })
      }),
      { numRuns }
    )
  })

  it("the generated runs reach every rule (the properties above are not vacuous)", () => {
    const seen = new Map<string, number>()
    const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1)
    for (const [from, choices] of fc.sample(runs, { numRuns: 300, seed: 42 })) {
      const run = simulate(from, choices)
      if (run.first.action._tag === "Watch") count("start from a version")
      walk(run, ({ outcome, after }, w) => {
        const a = after.action
        if (outcome._tag === "WatchFailed" && outcome.reason === "Gone") {
          count(isPromptRelist(outcome, w) ? "Gone relisted at once" : "Gone after a backoff")
          if (!w.progressed && !w.fresh) count("Gone in a resumed watch without progress")
        }
        if (outcome._tag === "WatchFailed" && outcome.reason === "ServerError") count("ServerError")
        if (outcome._tag === "Ended") count(isFailure(outcome, w) ? "quick empty end" : "normal end")
        if (outcome._tag === "Idle") count("Idle")
        if (outcome._tag === "Event" && outcome.resourceVersion === undefined) count("event without version")
        if (a._tag === "Backoff" && a.attempt >= 3) count("attempt >= 3")
        if (a._tag === "Backoff" && a.attempt === 1 && outcome._tag === "WatchFailed") count("attempt 1 after a watch")
      })
    }
    for (const what of [
      "start from a version",
      "Gone relisted at once",
      "Gone after a backoff",
      "Gone in a resumed watch without progress",
      "ServerError",
      "quick empty end",
      "normal end",
      "Idle",
      "event without version",
      "attempt >= 3",
      "attempt 1 after a watch"
    ]) {
      expect(seen.get(what) ?? 0, what).toBeGreaterThanOrEqual(20)
    }
  })
})
