#!/usr/bin/env node
// Entry point of the `datadog-cluster-agent` binary.
// Modules by subpath, not from the barrels: `@effect/platform-node` re-exports every module of the
// package, and loading it loads redis, ws and undici (about 25 MB of RSS for good).
//
// The image runs exactly `datadog-cluster-agent start`: that command line runs the agent
// (src/startAgent.ts) without the CLI, so the process never loads effect/cli's parser, help and
// wizard, nor NodeServices (file system, terminal, child processes) that only the CLI needs.
// Any other command line, `start --help` included, goes through the CLI, whose `start` runs the
// same effect. Each side is imported only when taken (in the bundle: its own chunk).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import { loggingLayer } from "./layers/Logging.ts"
import { defaultIdleGcOptions, startIdleGc } from "./lib/idleGc.ts"
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

// Memory back to the system once the agent is idle (with --expose-gc, as the image runs it).
startIdleGc(defaultIdleGcOptions, globalThis.gc)

const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

const args = process.argv.slice(2)
if (args.length === 1 && args[0] === "start") {
  const { startAgent } = await import("./startAgent.ts")
  startAgent.pipe(Effect.provide(loggingLayer("info")), NodeRuntime.runMain({ teardown }))
} else {
  const [Command, NodeServices, { rootCommand }] = await Promise.all([
    import("effect/cli/Command"),
    import("@effect/platform-node/NodeServices"),
    import("./cli/root.ts")
  ])
  rootCommand.pipe(
    Command.run({ version: versionString() }),
    Effect.provide([NodeServices.layer, loggingLayer("info")]),
    NodeRuntime.runMain({ teardown })
  )
}
