/**
 * Cleans up a control plane when the Node process that started it dies without doing so
 * itself, including on SIGKILL (which no handler can catch).
 *
 * A tiny `sh` process holds the read end of a pipe whose write end only this Node process
 * has. When Node dies for any reason the kernel closes the write end, `read` returns, and
 * the watchdog SIGKILLs the pids listed in `pidFile` (nothing in the temp dir is worth a
 * graceful shutdown) and removes the temp dir. A normal stop writes "stop" into the pipe
 * and the watchdog exits quietly.
 * Limit: a pid in `pidFile` could in theory be reused between Node's death and the kill.
 */
import { spawn } from "node:child_process"
import { writeFile } from "node:fs/promises"

const SCRIPT = `
pid_file="$1"; dir="$2"
IFS= read -r command || command=""
[ "$command" = "stop" ] && exit 0
pids=$(cat "$pid_file" 2>/dev/null)
[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
i=0
while [ $i -lt 50 ]; do
  alive=""
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ -n "$alive" ] || break
  sleep 0.1; i=$((i + 1))
done
rm -rf "$dir"
`

export interface Watchdog {
  readonly pid: number
  /** Records the pids to kill if this process dies. */
  readonly setPids: (pids: ReadonlyArray<number>) => Promise<void>
  /** Tells the watchdog to exit without doing anything; resolves when it has exited. */
  readonly dismiss: () => Promise<void>
}

export const startWatchdog = async (pidFile: string, dir: string): Promise<Watchdog> => {
  await writeFile(pidFile, "")
  const child = spawn("sh", ["-c", SCRIPT, "dca-control-plane-watchdog", pidFile, dir], {
    stdio: ["pipe", "ignore", "ignore"],
    // Own process group: a Ctrl-C in the terminal must not kill the watchdog before Node
    // has had a chance to clean up (Node's children get the SIGINT anyway).
    detached: true
  })
  const pid = await new Promise<number>((resolve, reject) => {
    child.once("error", reject)
    child.once("spawn", () => (child.pid === undefined ? reject(new Error("watchdog has no pid")) : resolve(child.pid)))
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  // Neither the process nor its pipe may keep Node's event loop alive.
  child.unref()
  const stdin = child.stdin as (NonNullable<typeof child.stdin> & { ref?: () => void; unref?: () => void }) | null
  stdin?.unref?.()
  return {
    pid,
    setPids: (pids) => writeFile(pidFile, pids.join(" ")),
    dismiss: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        // Keep the event loop alive until the watchdog has read the command and exited.
        child.ref()
        stdin?.ref?.()
        stdin?.end("stop\n")
        await exited
      }
    }
  }
}
