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
import { missingNodeWarning } from "../services/metadata/views.ts"
import { agentGet } from "./agentClient.ts"
import { CliExit } from "./CliExit.ts"
import { loadConfigOrExit } from "./config.ts"

/** Pure: keeps one node of an all-nodes answer (with the original's warning when absent). */
export const forNode = (all: MetadataResponse, node: string): MetadataResponse => {
  const bundle = all.Nodes?.[node]
  return bundle === undefined ? { Warnings: [missingNodeWarning(node)] } : { Nodes: { [node]: bundle } }
}

/** Pure: the text layout of the original's metadata mapper template. */
export const renderMetadataMap = (response: MetadataResponse): string => {
  const lines = ["===============", "Metadata Mapper", "===============", ""]
  if (response.Errors !== undefined && response.Errors !== "") {
    lines.push(`Could not run the service mapper: ${response.Errors}`)
    return lines.join("\n")
  }
  if (response.Warnings !== undefined && response.Warnings.length > 0) {
    lines.push("Warnings:")
    for (const w of response.Warnings) lines.push(`   - ${w}`)
    lines.push("")
  }
  for (const [node, bundle] of Object.entries(response.Nodes ?? {})) {
    lines.push(`Node detected: ${node}`, "")
    for (const [namespace, pods] of Object.entries(bundle.services ?? {})) {
      lines.push(`  - Namespace: ${namespace}`)
      for (const [pod, services] of Object.entries(pods)) {
        lines.push(`      - Pod: ${pod}`, `        Services: [${Object.keys(services).join(" ")}]`)
      }
    }
    lines.push("")
  }
  return lines.join("\n").trimEnd()
}

/** The original's advice when the agent cannot be reached. */
export const unreachableAdvice = (detail: string): string =>
  [
    `Could not reach agent: ${detail}`,
    "Make sure the agent is properly running before requesting the map of services to pods.",
    "Contact support if you continue having issues."
  ].join("\n")

export const metamapCommand = Command.make(
  "metamap",
  {
    node: Argument.String("nodeName").pipe(Argument.withDescription("Only this node"), Argument.optional),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print the agent's JSON answer"), Flag.withDefault(false))
  },
  Effect.fn(function* ({ node, json }) {
    const config = yield* loadConfigOrExit
    const body = yield* agentGet(config, "/api/v1/tags/pod").pipe(
      Effect.catchTags({
        AgentUnreachable: (e) => Effect.andThen(Console.error(unreachableAdvice(e.detail)), new CliExit({ code: 1 })),
        AgentRefused: (e) => Effect.andThen(Console.error(`The agent refused: ${e.message}`), new CliExit({ code: 1 })),
        TokenError: (e) =>
          Effect.andThen(
            Console.error(`${unreachableAdvice(`cannot read the local token: ${e.message}`)}`),
            new CliExit({ code: 1 })
          )
      })
    )
    const all = JSON.parse(body) as MetadataResponse
    const response = Option.match(node, { onNone: () => all, onSome: (n) => forNode(all, n) })
    yield* Console.log(json ? JSON.stringify(response) : renderMetadataMap(response))
  })
).pipe(Command.withDescription("Print the map of pods to services the running agent serves to node agents"))
