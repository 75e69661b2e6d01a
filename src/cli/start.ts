// `datadog-cluster-agent start`: the command of src/startAgent.ts, which src/main.ts also runs
// directly (without the CLI) when the command line is exactly `start`.
import * as Command from "effect/cli/Command"
import { startAgent } from "../startAgent.ts"

export const startCommand = Command.make("start", {}, () => startAgent).pipe(
  Command.withDescription("Start the Cluster Agent and run it until SIGTERM or SIGINT")
)
