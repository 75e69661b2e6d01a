#!/usr/bin/env node
// Entry point of the `datadog-cluster-agent` binary.
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Effect, Exit, Runtime } from "effect"
import { Command } from "effect/cli"
import { rootCommand } from "./cli/root.ts"
import { loggingLayer } from "./layers/Logging.ts"
import { versionString } from "./version.ts"

// A signal asks for a clean stop: interruption then is success (exit 0), not 130. Should a
// finalizer hang, the process still ends within 5 s of the signal, as Kubernetes expects.
const exitDeadlineMs = 4_500
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    setTimeout(() => {
      process.stderr.write(`shutdown did not finish within ${exitDeadlineMs} ms after ${signal}; exiting\n`)
      process.exit(0)
    }, exitDeadlineMs).unref()
  })
}

const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

rootCommand.pipe(
  Command.run({ version: versionString() }),
  Effect.provide([NodeServices.layer, loggingLayer("info")]),
  NodeRuntime.runMain({ teardown })
)
