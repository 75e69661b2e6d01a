// The status page's data (contract §11): one plain object (status/model.ts) gathered from every
// service on request. `GET /status` on the command port serves it as JSON or text; the flare
// puts its text in the archive. `collect` never fails: a section that cannot be read says why.
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { gatherStatus, type StatusServices } from "./status/collect.ts"
import type { AgentStatus } from "./status/model.ts"

export interface StatusShape {
  /** The status as of now. */
  readonly collect: Effect.Effect<AgentStatus>
}

export class Status extends Context.Service<Status, StatusShape>()("dca/Status") {
  /** Over the agent's services; the agent's start is taken as the process's. */
  static readonly layer: Layer.Layer<Status, never, StatusServices> = Layer.effect(
    Status,
    Effect.gen(function* () {
      const services = yield* Effect.context<StatusServices>()
      const startedAt = Date.now() - Math.round(process.uptime() * 1000)
      return Status.of({ collect: gatherStatus(startedAt).pipe(Effect.provide(services)) })
    })
  )

  /** A fixed status (tests of what serves or prints it). */
  static readonly fixed = (status: AgentStatus): Layer.Layer<Status> =>
    Layer.succeed(Status, Status.of({ collect: Effect.succeed(status) }))
}
