/**
 * Validating DD_API_KEY at start (`validateAtStart`, `DatadogKeyCheckLive`) against the real
 * fake Datadog API and a real dead port: a valid key, a rejected one (an error line naming the
 * masked key, no retry, no exit), Datadog unreachable (a warning, retries on the test clock, the
 * agent keeps running), and never the key itself in a log line.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { DatadogClient, DatadogKeyCheckLive } from "../../src/layers/DatadogClient.ts"
import { startDeadPort } from "./datadog/servers.ts"
import {
  API_KEY,
  APP_KEY,
  captureLogs,
  clientOptions,
  MASKED_API_KEY,
  until,
  useFakeDatadog
} from "./datadog/support.ts"

const VALIDATE = "/api/v1/validate"

const fake = useFakeDatadog()

type Logs = ReturnType<typeof captureLogs>

/** No line, message or annotation, carries a key. */
const expectNoKeys = (logs: Logs) => {
  const text = JSON.stringify(logs.lines)
  expect(text).not.toContain(API_KEY)
  expect(text).not.toContain(APP_KEY)
}

const unreachableLines = (logs: Logs) => logs.lines.filter((l) => l.message.startsWith("cannot reach Datadog"))

/**
 * Waits until the n-th failed validation has been logged and its next attempt scheduled, and
 * returns the announced delay (ms, rounded): the test moves the clock by that much and one
 * millisecond, never further (a longer move would also fire the next request's timeout).
 */
const nthValidationDelay = (logs: Logs, n: number) =>
  Effect.gen(function* () {
    const later = () => logs.lines.filter((l) => l.message === "validating DD_API_KEY again later")
    yield* until(`failure ${n}`, () => later().length >= n)
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow
    return Number(later()[n - 1]?.annotations.retryInMillis) + 1
  })

describe("validateAtStart", () => {
  it.effect("a valid key: one request, an info line with the masked key, status valid", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const client = yield* DatadogClient.make(clientOptions(fake.url))
      expect(yield* client.keyStatus).toEqual({ state: "unknown", apiKey: MASKED_API_KEY })
      yield* client.validateAtStart
      const status = yield* client.keyStatus
      expect(status.state).toBe("valid")
      expect(status.apiKey).toBe(MASKED_API_KEY)
      expect(status.lastError).toBeUndefined()
      expect(fake.requests({ path: VALIDATE }).map((r) => r.status)).toEqual([200])
      const info = logs.lines.filter((l) => l.level === "Info")
      expect(info.map((l) => l.message)).toEqual(["Datadog accepted DD_API_KEY"])
      expect(info[0]?.annotations).toMatchObject({ apiKey: MASKED_API_KEY, url: fake.url })
      expect(logs.atLeast("Warn")).toEqual([])
      expectNoKeys(logs)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a rejected key: one error line naming DD_API_KEY, masked; status invalid; no retry", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      fake.setAcceptedApiKeys(["some-other-key"])
      const client = yield* DatadogClient.make(clientOptions(fake.url))
      yield* client.validateAtStart
      const errors = logs.atLeast("Error")
      expect(errors).toHaveLength(1)
      expect(errors[0]?.message).toBe(
        "DD_API_KEY (API key ending with bcdef) is invalid: Datadog rejected it; events, service checks and metric queries with it will fail until it is replaced"
      )
      expect(errors[0]?.annotations).toMatchObject({
        apiKey: MASKED_API_KEY,
        url: fake.url,
        status: 403,
        error: "GET /api/v1/validate: 403 Forbidden: Forbidden"
      })
      const status = yield* client.keyStatus
      expect(status.state).toBe("invalid")
      expect(status.lastError).toBe("GET /api/v1/validate: 403 Forbidden: Forbidden")
      expect(status.checkedAt).toBe(0)
      expect(fake.requests({ path: VALIDATE })).toHaveLength(1)
      expect(unreachableLines(logs)).toEqual([])
      expectNoKeys(logs)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("no key at all: an error line, status invalid, nothing sent", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const client = yield* DatadogClient.make(clientOptions(fake.url, { apiKey: Option.none() }))
      yield* client.validateAtStart
      expect(logs.atLeast("Error").map((l) => l.message)).toEqual([
        "DD_API_KEY is not set: Datadog will refuse everything the agent sends"
      ])
      expect(yield* client.keyStatus).toMatchObject({ state: "invalid", apiKey: "(not set)" })
      expect(fake.requests()).toEqual([])
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("Datadog unreachable, then back: one warning, retries with backoff, then valid", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      fake.inject({ kind: "drop" }, { path: VALIDATE, times: 3 })
      const client = yield* DatadogClient.make(clientOptions(fake.url))
      const fiber = yield* Effect.forkChild(client.validateAtStart)
      for (let n = 1; n <= 3; n++) {
        const delay = yield* nthValidationDelay(logs, n)
        expect(delay).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** (n - 1))
        expect(delay).toBeLessThanOrEqual(1.2 * 1000 * 2 ** (n - 1) + 2)
        if (n === 1) {
          const status = yield* client.keyStatus
          expect(status.state).toBe("unknown")
          expect(status.lastError).toMatch(/^GET \/api\/v1\/validate: Transport: /)
        }
        yield* TestClock.adjust(delay)
      }
      yield* Fiber.join(fiber)
      expect(fake.requests({ path: VALIDATE }).map((r) => r.status ?? "dropped")).toEqual([
        "dropped",
        "dropped",
        "dropped",
        200
      ])
      const warnings = logs.atLeast("Warn")
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatchObject({
        level: "Warn",
        message: "cannot reach Datadog to validate DD_API_KEY; retrying, the agent keeps running",
        annotations: { url: fake.url, reason: "Transport", failedAttempts: 1 }
      })
      // The later failures, inside the warning window, are debug lines.
      expect(unreachableLines(logs).map((l) => l.level)).toEqual(["Warn", "Debug", "Debug"])
      expect((yield* client.keyStatus).state).toBe("valid")
      expect(logs.lines.at(-1)?.message).toBe("Datadog accepted DD_API_KEY")
      expectNoKeys(logs)
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("Datadog unreachable for 20 minutes: keeps retrying (at most 5 min apart), a warning per 5 min", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      const dead = yield* Effect.acquireRelease(Effect.promise(startDeadPort), (d) => Effect.promise(d.close))
      const client = yield* DatadogClient.make(clientOptions(dead.url))
      const fiber = yield* Effect.forkChild(client.validateAtStart)
      let n = 0
      // 1+2+4+...+256 s, then 300 s steps: 13 attempts pass 20 minutes of clock time.
      const delays: Array<number> = []
      while (n < 13) {
        n += 1
        const delay = yield* nthValidationDelay(logs, n)
        delays.push(delay)
        yield* TestClock.adjust(delay)
      }
      // Doubling, jittered, capped at 5 minutes.
      for (const delay of delays) expect(delay).toBeLessThanOrEqual(300_001)
      expect(delays.slice(-3)).toEqual([300_001, 300_001, 300_001])
      yield* until("failure 14", () => unreachableLines(logs).length >= 14)
      expect(fiber.pollUnsafe()).toBeUndefined()
      expect(dead.connections()).toBeGreaterThanOrEqual(14)
      // Attempts start when their sleep ends (clock time): never more than 5 minutes apart.
      const starts = logs.attempts(VALIDATE).map((l) => l.time)
      const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? 0))
      expect(gaps.length).toBeGreaterThanOrEqual(13)
      // (Each attempt fails up to 2 ms after its start: the clock moved 1 ms past each sleep.)
      for (const gap of gaps) expect(gap).toBeLessThanOrEqual(300_003)
      expect(gaps.slice(-3).every((gap) => gap >= 240_000)).toBe(true)
      // Warnings at least 5 minutes apart; each counts the attempts since the previous one.
      const warnings = logs.atLeast("Warn")
      expect(warnings.length).toBeGreaterThanOrEqual(3)
      expect(warnings.length).toBeLessThanOrEqual(6)
      for (const [i, w] of warnings.slice(1).entries()) {
        expect(w.time - (warnings[i]?.time ?? 0)).toBeGreaterThanOrEqual(300_000)
      }
      expect(warnings.every((w) => w.level === "Warn")).toBe(true)
      expect(warnings.reduce((sum, w) => sum + Number(w.annotations.failedAttempts), 0)).toBeLessThanOrEqual(14)
      expect((yield* client.keyStatus).state).toBe("unknown")
      expectNoKeys(logs)
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(logs.layer))
  })
})

describe("DatadogKeyCheckLive", () => {
  const keyCheck = (url: string) =>
    DatadogKeyCheckLive.pipe(Layer.provideMerge(DatadogClient.layerWith(clientOptions(url))))

  it.effect("validates in the background: the layer is up while Datadog has not answered", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      fake.inject({ kind: "latency", ms: 60_000 }, { path: VALIDATE, times: 1 })
      const context = yield* Layer.build(keyCheck(fake.url))
      const client = yield* Effect.provide(DatadogClient, context)
      yield* until("the validation request", () => fake.requests({ path: VALIDATE }).length === 1)
      expect(fake.requests({ path: VALIDATE })[0]?.done).toBe(false)
      expect((yield* client.keyStatus).state).toBe("unknown")
    }).pipe(Effect.provide(logs.layer))
  })

  it.effect("a rejected key: an error line and status invalid; the layer stays up", () => {
    const logs = captureLogs()
    return Effect.gen(function* () {
      fake.setAcceptedApiKeys(["not-ours"])
      const context = yield* Layer.build(keyCheck(fake.url))
      const client = yield* Effect.provide(DatadogClient, context)
      yield* until("the error line", () => logs.atLeast("Error").length === 1)
      expect((yield* client.keyStatus).state).toBe("invalid")
      // Still usable: the next call goes out (and is refused the same way).
      const e = yield* Effect.flip(client.submitEvent({ title: "t", text: "x" }))
      expect(e.reason).toBe("Forbidden")
      expectNoKeys(logs)
    }).pipe(Effect.provide(logs.layer))
  })
})
