/** Runs the real `datadog-cluster-agent` entry point (from sources) as a child process. */
import { fileURLToPath } from "node:url"
import { type Finished, type Running, spawnCollected } from "../../dev/childProcess.ts"

export const mainScript = fileURLToPath(new URL("../../src/main.ts", import.meta.url))

/**
 * Only what the agent needs from the parent, so a developer's DD_* never leaks into tests; the
 * Datadog API is a closed local port unless a test points it at the fake (tests never reach
 * the real Datadog).
 */
export const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  DD_DD_URL: "http://127.0.0.1:9"
})

export type { Finished, Running }

/** Starts the CLI with `args` and exactly `env` (plus PATH and HOME). */
export const startCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Running =>
  spawnCollected(process.execPath, [mainScript, ...args], { env: { ...baseEnv(), ...env } })

/** Runs the CLI to completion; kills it after `timeoutMs` so a hang fails the test instead of stalling it. */
export const runCli = async (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  timeoutMs = 30_000
): Promise<Finished> => {
  const running = startCli(args, env)
  const timer = setTimeout(() => running.child.kill("SIGKILL"), timeoutMs)
  try {
    return await running.exited
  } finally {
    clearTimeout(timer)
  }
}

/** The JSON log lines of an agent's stdout (every line must be JSON). */
export const jsonLines = (stdout: string): ReadonlyArray<Record<string, unknown>> =>
  stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** The message of a JSON log line (the logger may write it as an array of parts). */
export const messageOf = (line: Record<string, unknown>): string =>
  Array.isArray(line.message) ? line.message.join(" ") : String(line.message)
