// The one reconnect policy of the agent's edges (API server connection, watches): exponential
// from 1 s, doubling, each delay jittered (×0.8–1.2), never above 30 s. Named so tests and logs
// can refer to it.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

export const reconnectCap = Duration.seconds(30)

export const reconnectBackoff: Schedule.Schedule<Duration.Duration> = Schedule.exponential("1 second", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay(({ duration }) => Effect.succeed(Duration.min(duration, reconnectCap)))
)
