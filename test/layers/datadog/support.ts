/** Helpers of the Datadog client tests: keys, client options, captured logs with clock times, metrics. */

import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import { Duration, Effect, Layer, Logger, Metric, Option, Redacted, References } from "effect"
import { type FakeDatadog, startFakeDatadog } from "../../../dev/fakeDatadog/index.ts"
import type { DatadogClientOptions } from "../../../src/layers/DatadogClient.ts"
import { waitFor } from "../../support/waitFor.ts"

/** 32 and 40 characters, the lengths of real API and application keys (masked to the last five). */
export const API_KEY = "0123456789abcdef0123456789abcdef"
export const APP_KEY = "fedcba9876543210fedcba9876543210fedcba98"
export const MASKED_API_KEY = `${"*".repeat(27)}bcdef`

export const clientOptions = (url: string, overrides: Partial<DatadogClientOptions> = {}): DatadogClientOptions => ({
  apiUrl: url,
  queryUrl: url,
  apiKey: Option.some(Redacted.make(API_KEY)),
  queryApiKey: Option.some(Redacted.make(API_KEY)),
  queryAppKey: Option.some(Redacted.make(APP_KEY)),
  timeout: Duration.seconds(10),
  proxy: { noProxy: [], nonExactMatch: false },
  ...overrides
})

export interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
  /** The Effect clock's time when logged (the TestClock's, in `it.effect`). */
  readonly time: number
}

/** Every log line from Debug up, with the clock time it was written at. */
export const captureLogs = () => {
  const lines: Array<LogLine> = []
  const logger = Logger.make(({ logLevel, message, fiber, date }) => {
    lines.push({
      level: logLevel,
      message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
      annotations: fiber.getRef(References.CurrentLogAnnotations),
      time: date.getTime()
    })
  })
  const layer = Layer.mergeAll(Logger.layer([logger]), Layer.succeed(References.MinimumLogLevel, "Debug"))
  return {
    lines,
    layer,
    /** The "Datadog request" lines: one per attempt. */
    attempts: (endpoint?: string) =>
      lines.filter(
        (l) => l.message === "Datadog request" && (endpoint === undefined || l.annotations.endpoint === endpoint)
      ),
    retries: () => lines.filter((l) => l.message === "Datadog request failed, retrying"),
    atLeast: (level: "Warn" | "Error") =>
      lines.filter((l) => (level === "Warn" ? l.level === "Warn" || l.level === "Error" : l.level === "Error"))
  }
}

/** Waits (real time: the I/O is real) until `check` holds. */
export const until = (what: string, check: () => boolean, timeoutMs = 10_000) =>
  Effect.promise(() => waitFor(() => check() || undefined, { what, timeoutMs, intervalMs: 5 }))

/**
 * Waits until the client has logged its `n`-th retry (it then sleeps on the test clock) and
 * returns the announced delay in milliseconds.
 */
export const nthRetry = (logs: ReturnType<typeof captureLogs>, n: number) =>
  Effect.gen(function* () {
    yield* until(`retry ${n}`, () => logs.retries().length >= n)
    // The sleep starts right after the line is written, in the same fiber.
    for (let i = 0; i < 5; i++) yield* Effect.yieldNow
    return Number(logs.retries()[n - 1]?.annotations.retryInMillis)
  })

/** The value of a counter or gauge with exactly these attributes (0 when absent). */
export const metricValue = (id: string, attributes: Readonly<Record<string, string>>) =>
  Effect.map(Metric.snapshot, (snapshot) => {
    const found = snapshot.find(
      (m) =>
        m.id === id &&
        Object.entries(attributes).every(([k, v]) => m.attributes?.[k] === v) &&
        Object.keys(m.attributes ?? {}).filter((k) => k !== "unit" && k !== "time_unit").length ===
          Object.keys(attributes).length
    )
    if (found === undefined) return 0
    if (found.type === "Counter") return Number(found.state.count)
    if (found.type === "Gauge") return Number(found.state.value)
    return Number.NaN
  })

/**
 * One fake Datadog API for a test file: started before its tests, closed after, and reset
 * before each test to accept exactly our keys. The returned value forwards to the running fake.
 */
export const useFakeDatadog = (): FakeDatadog => {
  let fake: FakeDatadog | undefined
  const running = (): FakeDatadog => {
    if (fake === undefined) throw new Error("useFakeDatadog(): the fake runs only inside tests and hooks")
    return fake
  }
  beforeAll(async () => {
    fake = await startFakeDatadog()
  })
  afterAll(async () => {
    await fake?.close()
  })
  beforeEach(() => {
    running().reset()
    running().setAcceptedApiKeys([API_KEY])
    running().setAcceptedAppKeys([APP_KEY])
  })
  return new Proxy({} as FakeDatadog, {
    get: (_, key) => {
      const value = Reflect.get(running(), key)
      return typeof value === "function" ? value.bind(running()) : value
    }
  })
}
