// `datadog-cluster-agent status [-j|--json] [-p|--pretty-json] [-o|--file <path>]` (contract §11):
// the running agent's status page, from `GET /status` on the command port with the local token.
// The agent answers JSON; the text is rendered here from it (services/status/render.ts), after
// the JSON was checked against the status schema.
import * as Fs from "node:fs"
import * as Console from "effect/Console"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ClusterAgentConfigShape } from "../layers/Config.ts"
import { decodeStatusJson, statusJson } from "../services/status/model.ts"
import { renderStatusText } from "../services/status/render.ts"
import { type AgentCallError, agentCallAdvice, agentGet } from "./agentClient.ts"
import { CliExit } from "./CliExit.ts"
import { loadConfigOrExit } from "./config.ts"

export const statusPath = "/status?format=json"

/** Pure: what to tell the user when the agent cannot give its status. */
export const failureAdvice = (
  config: Pick<ClusterAgentConfigShape, "cmdPort" | "authTokenFilePath">,
  error: AgentCallError
): string => agentCallAdvice(config, "the status", statusPath, error)

export const statusCommand = Command.make(
  "status",
  {
    json: Flag.Boolean("json").pipe(
      Flag.withAlias("j"),
      Flag.withDescription("Print the status as JSON"),
      Flag.withDefault(false)
    ),
    prettyJson: Flag.Boolean("pretty-json").pipe(
      Flag.withAlias("p"),
      Flag.withDescription("Print the status as indented JSON"),
      Flag.withDefault(false)
    ),
    file: Flag.String("file").pipe(
      Flag.withAlias("o"),
      Flag.withDescription("Write the status to this file instead of the standard output"),
      Flag.optional
    )
  },
  Effect.fn(function* ({ json, prettyJson, file }) {
    const config = yield* loadConfigOrExit
    const asJson = json || prettyJson
    if (!asJson) yield* Console.log("Getting the status from the agent.\n")
    const body = yield* agentGet(config, statusPath).pipe(
      Effect.catch((e) => Effect.andThen(Console.error(failureAdvice(config, e)), new CliExit({ code: 1 })))
    )
    const status = yield* Effect.try({
      try: () => decodeStatusJson(body),
      catch: (e) => e
    }).pipe(
      Effect.catch((e) =>
        Effect.andThen(
          Console.error(`The agent's status is not what this CLI expects (another version?): ${String(e)}`),
          new CliExit({ code: 1 })
        )
      )
    )
    const output = asJson ? statusJson(status, prettyJson) : renderStatusText(status).trimEnd()
    yield* Option.match(file, {
      onNone: () => Console.log(output),
      onSome: (path) =>
        Effect.try({
          try: () => Fs.writeFileSync(path, `${output}\n`, { mode: 0o644 }),
          catch: (e) => e as Error
        }).pipe(
          Effect.catch((e) =>
            Effect.andThen(Console.error(`Could not write ${path}: ${e.message}`), new CliExit({ code: 1 }))
          )
        )
    })
  })
).pipe(Command.withDescription("Print the status of the running agent: each feature, what works and what does not"))
