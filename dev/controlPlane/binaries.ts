/**
 * Locates etcd, kube-apiserver and kube-controller-manager via
 * `scripts/control-plane/build.sh`, which builds them from Go modules on first use
 * (10-25 min cold) and afterwards prints its cache folder instantly.
 */
import { spawn } from "node:child_process"
import { access, constants } from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url))
export const BUILD_SCRIPT = join(REPO_ROOT, "scripts", "control-plane", "build.sh")

export interface Binaries {
  readonly dir: string
  readonly etcd: string
  readonly kubeApiServer: string
  readonly kubeControllerManager: string
}

export const runBuildScript = (): Promise<string> =>
  new Promise((resolve, reject) => {
    // stderr is forwarded live so people see the (long) first build progress, and kept for errors.
    const child = spawn("bash", [BUILD_SCRIPT], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderrTail = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      process.stderr.write(chunk)
      stderrTail = (stderrTail + chunk).slice(-4000)
    })
    child.once("error", (error) => reject(new Error(`could not run ${BUILD_SCRIPT}: ${error.message}`)))
    child.once("close", (code, signal) => {
      const dir = stdout.trim().split("\n").pop() ?? ""
      if (code === 0 && dir) return resolve(dir)
      const why = signal ? `was killed by ${signal}` : `exited with code ${code}`
      reject(new Error(`${BUILD_SCRIPT} ${why}; no control-plane binaries.\n${stderrTail.trim()}`))
    })
  })

let cached: Promise<Binaries> | undefined

/** Builds (first time) or finds the binaries; memoized per process. */
export const ensureBinaries = (): Promise<Binaries> => {
  cached ??= runBuildScript().then(async (dir) => {
    const binaries = {
      dir,
      etcd: join(dir, "etcd"),
      kubeApiServer: join(dir, "kube-apiserver"),
      kubeControllerManager: join(dir, "kube-controller-manager")
    }
    for (const path of [binaries.etcd, binaries.kubeApiServer, binaries.kubeControllerManager]) {
      await access(path, constants.X_OK)
    }
    return binaries
  })
  cached.catch(() => {
    cached = undefined // let a later call retry
  })
  return cached
}
