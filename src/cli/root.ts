// The `datadog-cluster-agent` command tree.
import * as Command from "effect/cli/Command"
import { configCommand } from "./config.ts"
import { flareCommand } from "./flare.ts"
import { metamapCommand } from "./metamap.ts"
import { startCommand } from "./start.ts"
import { statusCommand } from "./status.ts"
import { versionCommand } from "./version.ts"

export const rootCommand = Command.make("datadog-cluster-agent").pipe(
  Command.withDescription("Datadog Cluster Agent: cluster metadata for node agents, external metrics for HPAs"),
  Command.withSubcommands([startCommand, versionCommand, configCommand, metamapCommand, statusCommand, flareCommand])
)
