/**
 * A local Kubernetes control plane for people (etcd + kube-apiserver + kube-controller-manager,
 * the same harness the tests use). Usage: `npm run control-plane -- <up|down|status|--help>`.
 *
 * `up` starts `node scripts/control-plane.ts serve` detached (it outlives npm), which runs the
 * control plane until SIGTERM. State lives in .control-plane/ (git-ignored): state.json (pid),
 * kubeconfig, ca.crt/admin.crt/admin.key (for curl) and control-plane.log.
 */
import { spawn, spawnSync } from "node:child_process"
import { closeSync, openSync, readFileSync } from "node:fs"
import { mkdir, readFile, rm, writeFile } from "node:fs/promises"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { ensureBinaries, REPO_ROOT } from "../dev/controlPlane/binaries.ts"
import { type ControlPlane, startControlPlane } from "../dev/controlPlane/controlPlane.ts"
import { httpsRequest } from "../dev/controlPlane/http.ts"
import { isProcessAlive, logTail } from "../dev/controlPlane/processes.ts"

const SCRIPT = fileURLToPath(import.meta.url)
const STATE_DIR = join(REPO_ROOT, ".control-plane")
const FILES = {
  state: join(STATE_DIR, "state.json"),
  kubeconfig: join(STATE_DIR, "kubeconfig"),
  ca: join(STATE_DIR, "ca.crt"),
  cert: join(STATE_DIR, "admin.crt"),
  key: join(STATE_DIR, "admin.key"),
  log: join(STATE_DIR, "control-plane.log")
}
const READY_TIMEOUT_MS = 180_000
const DOWN_TIMEOUT_MS = 30_000

interface State {
  readonly pid: number
  readonly status: "starting" | "ready"
  readonly startedAt: string
  readonly server?: string
  readonly tempDir?: string
}

const HELP = `Usage: npm run control-plane -- <command>

Runs a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager; no nodes,
no scheduler, no kubelet) in the background, for trying the cluster agent by hand.

Commands:
  up        start it in the background and wait until it is ready
            (the first run builds the binaries from Go modules: 10-25 min)
  down      stop it and remove its temporary files
  status    tell whether it runs and whether /readyz answers ok
  --help    this text

Files (in .control-plane/, git-ignored): kubeconfig (admin, system:masters), ca.crt, admin.crt,
admin.key, control-plane.log, state.json.`

const show = (path: string) => {
  const rel = relative(process.cwd(), path)
  return rel.startsWith("..") ? path : rel
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const readState = async (): Promise<State | undefined> => {
  try {
    return JSON.parse(await readFile(FILES.state, "utf8")) as State
  } catch {
    return undefined
  }
}

/** Alive and (where /proc exists) really a `control-plane.ts` process, not a reused pid. */
const isServeProcess = (pid: number): boolean => {
  if (!isProcessAlive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("control-plane.ts")
  } catch {
    return true
  }
}

const removeStateFiles = () =>
  Promise.all([FILES.state, FILES.kubeconfig, FILES.ca, FILES.cert, FILES.key].map((f) => rm(f, { force: true })))

/** Creates state.json exclusively (two `up`s at once cannot both win); false if it exists. */
const claimState = async (state: State): Promise<boolean> => {
  try {
    await writeFile(FILES.state, JSON.stringify(state), { flag: "wx" })
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
    throw error
  }
}

const hasKubectl = () => spawnSync("sh", ["-c", "command -v kubectl"], { stdio: "ignore" }).status === 0

const adminTls = () => ({
  caPem: readFileSync(FILES.ca, "utf8"),
  certPem: readFileSync(FILES.cert, "utf8"),
  keyPem: readFileSync(FILES.key, "utf8")
})

const up = async (): Promise<number> => {
  await mkdir(STATE_DIR, { recursive: true })
  const claim: State = { pid: process.pid, status: "starting", startedAt: new Date().toISOString() }
  if (!(await claimState(claim))) {
    const existing = await readState()
    if (existing && isServeProcess(existing.pid)) {
      console.error(`control plane already running (pid ${existing.pid}); run \`npm run control-plane -- down\` first`)
      return 1
    }
    console.error(`removing stale state of a control plane that is gone (pid ${existing?.pid ?? "unknown"})`)
    await removeStateFiles()
    if (!(await claimState(claim))) {
      console.error("another `up` is starting a control plane right now")
      return 1
    }
  }

  try {
    // In the foreground so that a first (long) build shows its progress here.
    await ensureBinaries()
  } catch (error) {
    await removeStateFiles()
    console.error(error instanceof Error ? error.message : String(error))
    return 1
  }

  const log = openSync(FILES.log, "w")
  const child = spawn(process.execPath, [SCRIPT, "serve"], {
    cwd: REPO_ROOT,
    detached: true, // own session: survives the npm command and terminal hang-ups
    stdio: ["ignore", log, log]
  })
  closeSync(log)
  child.unref()
  const pid = child.pid
  if (pid === undefined) {
    await removeStateFiles()
    console.error("could not start the control plane process")
    return 1
  }
  await writeFile(FILES.state, JSON.stringify({ ...claim, pid } satisfies State))
  console.log(`starting the control plane (pid ${pid}, log ${show(FILES.log)}) ...`)

  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const state = await readState()
    if (state?.status === "ready" && state.pid === pid) return printReady(state)
    if (!isProcessAlive(pid)) {
      console.error(`the control plane failed to start; last lines of ${show(FILES.log)}:\n${await logTail(FILES.log)}`)
      await removeStateFiles()
      return 1
    }
    if (Date.now() > deadline) {
      console.error(`the control plane was not ready after ${READY_TIMEOUT_MS / 1000} s; stopping it`)
      await stopProcess(pid)
      await removeStateFiles()
      return 1
    }
    await sleep(200)
  }
}

const printReady = async (state: State): Promise<number> => {
  const server = state.server ?? "?"
  let version = ""
  try {
    const res = await httpsRequest(`${server}/version`, adminTls())
    version = ` (Kubernetes ${(JSON.parse(res.body) as { gitVersion?: string }).gitVersion})`
  } catch {
    // cosmetic only
  }
  const kubeconfig = show(FILES.kubeconfig)
  console.log(`
control plane ready${version}: ${server}
  kubeconfig  ${kubeconfig}   (user dca-test-admin, group system:masters)
  pid         ${state.pid}   (log ${show(FILES.log)}; component logs in ${state.tempDir ?? "?"}/logs)

Use it:
  export KUBECONFIG=${FILES.kubeconfig}
  kubectl --kubeconfig ${kubeconfig} get --raw /readyz${
    hasKubectl() ? "" : "\n    (kubectl is not installed here; any kubectl works, or use one of:)"
  }
  curl --cacert ${show(FILES.ca)} --cert ${show(FILES.cert)} --key ${show(FILES.key)} ${server}/readyz
  npm run control-plane -- status      (checks /readyz with Node alone)

There are no nodes, no scheduler and no kubelet: pods are created but stay Pending.
Stop it with: npm run control-plane -- down`)
  return 0
}

const stopProcess = async (pid: number): Promise<void> => {
  try {
    process.kill(pid, "SIGTERM")
  } catch {
    return
  }
  const deadline = Date.now() + DOWN_TIMEOUT_MS
  while (isProcessAlive(pid) && Date.now() < deadline) await sleep(100)
  if (isProcessAlive(pid)) {
    console.error(`pid ${pid} did not stop within ${DOWN_TIMEOUT_MS / 1000} s; killing it (its watchdog cleans up)`)
    process.kill(pid, "SIGKILL")
    while (isProcessAlive(pid)) await sleep(100)
  }
}

const down = async (): Promise<number> => {
  const state = await readState()
  if (!state) {
    console.log("control plane not running")
    return 0
  }
  if (!isServeProcess(state.pid)) {
    console.log(`control plane not running (removing stale state of pid ${state.pid})`)
    await removeStateFiles()
    return 0
  }
  console.log(`stopping the control plane (pid ${state.pid}) ...`)
  await stopProcess(state.pid)
  await removeStateFiles()
  console.log("control plane stopped")
  return 0
}

const status = async (): Promise<number> => {
  const state = await readState()
  if (!state || !isServeProcess(state.pid)) {
    console.log(state ? `control plane not running (stale state of pid ${state.pid})` : "control plane not running")
    return 0
  }
  if (state.status !== "ready") {
    console.log(`control plane starting (pid ${state.pid})`)
    return 0
  }
  let health: string
  try {
    const res = await httpsRequest(`${state.server}/readyz`, adminTls())
    health = `/readyz: ${res.status} ${res.body.trim()}`
  } catch (error) {
    health = `/readyz failed: ${error instanceof Error ? error.message : String(error)}`
  }
  console.log(`control plane running (pid ${state.pid}) at ${state.server}; ${health}`)
  console.log(`kubeconfig: ${show(FILES.kubeconfig)}`)
  return 0
}

/** The detached background process: runs the control plane until SIGTERM/SIGINT/SIGHUP. */
const serve = async (): Promise<void> => {
  const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`)
  const ownsState = async () => (await readState())?.pid === process.pid
  let cp: ControlPlane | undefined
  let exiting = false
  const shutdown = async (reason: string, code: number) => {
    if (exiting) return
    exiting = true
    log(`${reason}: stopping the control plane`)
    await cp?.stop().catch((error: unknown) => log(`stop failed: ${String(error)}`))
    if (await ownsState()) await removeStateFiles()
    log("stopped")
    process.exit(code)
  }
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
    process.on(signal, () => void shutdown(signal, 0))
  }

  try {
    log("starting etcd, kube-apiserver and kube-controller-manager")
    cp = await startControlPlane()
  } catch (error) {
    log(`start failed: ${error instanceof Error ? error.message : String(error)}`)
    if (await ownsState()) await removeStateFiles()
    process.exit(1)
  }
  const kubeconfig = await readFile(cp.kubeconfigPath, "utf8")
  await Promise.all([
    writeFile(FILES.kubeconfig, kubeconfig, { mode: 0o600 }),
    writeFile(FILES.ca, cp.caPem),
    writeFile(FILES.cert, cp.admin.certPem),
    writeFile(FILES.key, cp.admin.keyPem, { mode: 0o600 })
  ])
  const state: State = {
    pid: process.pid,
    status: "ready",
    startedAt: new Date().toISOString(),
    server: cp.server,
    tempDir: cp.tempDir
  }
  await writeFile(FILES.state, JSON.stringify(state))
  log(`ready at ${cp.server}; component logs in ${cp.tempDir}/logs`)
  void cp.unexpectedExit.then((exit) =>
    shutdown(`${exit.component} exited unexpectedly (code ${exit.code}, signal ${exit.signal})`, 1)
  )
  setInterval(() => {}, 1 << 30) // stay alive until a signal arrives
}

const main = async (): Promise<number> => {
  const command = process.argv[2]
  switch (command) {
    case "up":
      return up()
    case "down":
      return down()
    case "status":
      return status()
    case "serve":
      await serve()
      return -1 // keeps running
    case "--help":
    case "-h":
    case "help":
      console.log(HELP)
      return 0
    default:
      console.error(command ? `unknown command: ${command}\n` : "")
      console.error(HELP)
      return 2
  }
}

const code = await main()
if (code >= 0) process.exit(code)
