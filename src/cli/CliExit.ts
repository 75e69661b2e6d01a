// How a command ends the process with a non-zero code after it has said why on its own.
import * as Data from "effect/Data"
import * as Runtime from "effect/Runtime"

export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number }> {
  override readonly [Runtime.errorExitCode]: number = this.code
  // The command already printed or logged the reason; the runtime must not report it again.
  override readonly [Runtime.errorReported] = false
}
