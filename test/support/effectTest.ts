/** Helpers for Effect tests: captured logs, and moving the TestClock in small steps. */
import { Duration, Effect, Logger, References } from "effect"
import { TestClock } from "effect/testing"

export interface LogLine {
  readonly level: string
  readonly message: string
  readonly annotations: Readonly<Record<string, unknown>>
}

export const captureLogs = () => {
  const lines: Array<LogLine> = []
  const logger = Logger.make(({ logLevel, message, fiber }) => {
    lines.push({
      level: logLevel,
      message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
      annotations: fiber.getRef(References.CurrentLogAnnotations)
    })
  })
  return { lines, layer: Logger.layer([logger]) }
}

/** Moves the test clock forward in small steps, letting forked fibers run between them. */
export const advance = (total: Duration.Input, step: Duration.Input = "100 millis") =>
  Effect.gen(function* () {
    const steps = Math.round(
      Duration.toMillis(Duration.fromInputUnsafe(total)) / Duration.toMillis(Duration.fromInputUnsafe(step))
    )
    for (let i = 0; i < steps; i++) {
      yield* Effect.yieldNow
      yield* TestClock.adjust(step)
    }
    yield* Effect.yieldNow
  })
