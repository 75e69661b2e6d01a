/**
 * Stops running control planes when the Node process is interrupted or exits.
 *
 * - SIGINT / SIGTERM / SIGHUP: stop every registered control plane (async), then re-raise the
 *   signal if nobody else listens for it, so the process still dies with that signal. When
 *   other listeners exist (vitest, `scripts/control-plane.ts serve`) they decide how to exit.
 * - `exit` (only synchronous work possible): SIGTERM the children; the watchdog then
 *   SIGKILLs whatever is left and removes the temp dir.
 * - SIGKILL of Node: only the watchdog (see watchdog.ts) can clean up.
 */

export interface CleanupEntry {
  readonly stop: () => Promise<void>
  readonly terminateSync: () => void
}

const SIGNALS: ReadonlyArray<NodeJS.Signals> = ["SIGINT", "SIGTERM", "SIGHUP"]
const entries = new Set<CleanupEntry>()
let installed = false

const onExit = () => {
  for (const entry of entries) entry.terminateSync()
}

const onSignal = (signal: NodeJS.Signals) => {
  const alone = process.listenerCount(signal) === 1
  uninstall()
  void Promise.allSettled([...entries].map((entry) => entry.stop())).then(() => {
    if (alone) process.kill(process.pid, signal)
  })
}

const install = () => {
  installed = true
  for (const signal of SIGNALS) process.on(signal, onSignal)
  process.on("exit", onExit)
}

const uninstall = () => {
  installed = false
  for (const signal of SIGNALS) process.off(signal, onSignal)
  process.off("exit", onExit)
}

/** Registers a running control plane; returns the function that unregisters it. */
export const registerForCleanup = (entry: CleanupEntry): (() => void) => {
  if (!installed) install()
  entries.add(entry)
  return () => {
    entries.delete(entry)
    if (entries.size === 0 && installed) uninstall()
  }
}
