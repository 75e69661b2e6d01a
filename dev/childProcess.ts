/** A child process whose stdout and stderr are collected as text while it runs. */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process"

export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface Running {
  readonly child: ChildProcess
  /** Everything written to stdout so far. */
  readonly stdout: () => string
  readonly stderr: () => string
  /** Once it exited and both streams closed. */
  readonly exited: Promise<Finished>
}

/** Spawns `command args` with stdin ignored and stdout/stderr piped and collected. */
export const spawnCollected = (
  command: string,
  args: ReadonlyArray<string>,
  options: Omit<SpawnOptions, "stdio"> = {}
): Running => {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d
  })
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d
  })
  const exited = new Promise<Finished>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exited }
}
