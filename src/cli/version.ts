// `datadog-cluster-agent version`: the version, the commit and the /version JSON node agents read.
import * as Console from "effect/Console"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import { version, versionString } from "../version.ts"

export const versionCommand = Command.make(
  "version",
  { json: Flag.Boolean("json").pipe(Flag.withDescription("Print only the /version JSON"), Flag.withDefault(false)) },
  Effect.fn(function* ({ json }) {
    if (!json) {
      const commit = version.Commit === "" ? "unknown" : version.Commit
      yield* Console.log(`Cluster Agent v${versionString()} - Commit: ${commit} - Node.js ${process.version}`)
    }
    yield* Console.log(JSON.stringify(version))
  })
).pipe(Command.withDescription("Print the agent's version, commit and the /version JSON served to node agents"))
