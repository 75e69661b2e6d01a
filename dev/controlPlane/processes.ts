/** Child processes of a control plane: spawned with output to a log file, stopped politely. */
import { spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { readFile } from "node:fs/promises"

export interface ExitStatus {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  readonly logPath: string
  /** Settles once the process has exited (and been reaped). Never rejects. */
  readonly exited: Promise<ExitStatus>
  readonly hasExited: () => boolean
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
  readonly stop: (timeoutMs?: number) => Promise<ExitStatus>
}

export interface SpawnOptions {
  readonly name: string
  readonly command: string
  readonly args: ReadonlyArray<string>
  /** stdout and stderr are appended to this file. */
  readonly logPath: string
  readonly env?: NodeJS.ProcessEnv
}

const DEFAULT_STOP_TIMEOUT_MS = 10_000

export const spawnManaged = (options: SpawnOptions): Promise<ManagedProcess> =>
  new Promise((resolve, reject) => {
    const log = openSync(options.logPath, "a")
    const child = spawn(options.command, options.args, {
      stdio: ["ignore", log, log],
      env: options.env ?? process.env
    })
    closeSync(log)

    let status: ExitStatus | undefined
    const exited = new Promise<ExitStatus>((resolveExit) => {
      child.once("exit", (code, signal) => {
        status = { code, signal }
        resolveExit(status)
      })
    })

    child.once("error", (error) => {
      if (child.pid === undefined)
        reject(new Error(`could not start ${options.name} (${options.command}): ${error.message}`))
    })
    child.once("spawn", () => {
      const pid = child.pid
      if (pid === undefined) return
      const stop = async (timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitStatus> => {
        if (status) return status
        child.kill("SIGTERM")
        let timer: NodeJS.Timeout | undefined
        const timedOut = new Promise<"timeout">((resolveTimeout) => {
          timer = setTimeout(() => resolveTimeout("timeout"), timeoutMs)
        })
        const first = await Promise.race([exited, timedOut])
        clearTimeout(timer)
        if (first === "timeout") child.kill("SIGKILL")
        return exited
      }
      resolve({
        name: options.name,
        pid,
        logPath: options.logPath,
        exited,
        hasExited: () => status !== undefined,
        stop
      })
    })
  })

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The last `lines` lines of a log file, for error messages. */
export const logTail = async (path: string, lines = 25): Promise<string> => {
  try {
    const text = await readFile(path, "utf8")
    return text.trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}
