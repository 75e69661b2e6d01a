// `datadog-cluster-agent metamap [nodeName]`: the pod → service map the running agent serves,
// laid out as the original's template does (contract §2.3), or as raw JSON with --json. The CLI
// holds the local token, which opens the all-nodes route; a node is picked out client-side.
import * as Console from "effect/Console"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MetadataResponse } from "../services/metadata/views.ts"
import { agentCallAdvice, agentGet } from "./agentClient.ts"
import { CliExit } from "./CliExit.ts"
import { loadConfigOrExit } from "./config.ts"
import { forNode, renderMetadataMap } from "./metamapText.ts"

// The rendering is pure and free of effect/cli, so that the agent's flare can use it too.
export { forNode, renderMetadataMap }

const metamapPath = "/api/v1/tags/pod"

export const metamapCommand = Command.make(
  "metamap",
  {
    node: Argument.String("nodeName").pipe(Argument.withDescription("Only this node"), Argument.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the agent's JSON answer"), Flag.withDefault(false))
  },
  Effect.fn(function* ({ node, json }) {
    const config = yield* loadConfigOrExit
    const body = yield* agentGet(config, metamapPath).pipe(
      Effect.catch((e) =>
        Effect.andThen(
          Console.error(agentCallAdvice(config, "the metadata map", metamapPath, e)),
          new CliExit({ code: 1 })
        )
      )
    )
    const all = JSON.parse(body) as MetadataResponse
    const response = Option.match(node, { onNone: () => all, onSome: (n) => forNode(all, n) })
    yield* Console.log(json ? JSON.stringify(response) : renderMetadataMap(response))
  })
).pipe(Command.withDescription("Print the map of pods to services the running agent serves to node agents"))
