/**
 * vitest global setup (runs once per `vitest run`, in the main process).
 *
 * Unless DCA_TEST_CONTROL_PLANE=0 it makes sure the control-plane binaries exist (a cold
 * build takes 10-25 min; global setup has no timeout, test hooks do) and starts the control
 * endpoint through which test files reach ONE shared control plane. The control plane itself
 * starts on the first `useCluster()` (test/support/cluster.ts), so runs without cluster
 * tests do not pay for it. Teardown stops it and removes its temp dir.
 *
 * A failed or impossible build (no Go, no KUBEBUILDER_ASSETS) fails the whole run. With CI
 * set, DCA_TEST_CONTROL_PLANE=0 fails it too (controlPlaneGate.ts); elsewhere it skips the
 * cluster tests and says so on stderr.
 */
import type { TestProject } from "vitest/node"
import { ensureBinaries } from "../../dev/controlPlane/binaries.ts"
import { startControlServer } from "../../dev/controlPlane/controlServer.ts"
import { controlPlaneGate } from "./controlPlaneGate.ts"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const gate = controlPlaneGate(process.env)
  if (gate._tag === "Refuse") throw new Error(gate.error)
  if (gate._tag === "Skip") {
    process.stderr.write(`${gate.notice}\n`)
    project.provide("dcaControlPlane", null)
    return async () => {}
  }
  await ensureBinaries()
  const control = await startControlServer({
    // Watches are then served by etcd, so `compactEtcd()` alone makes a watch from an old
    // resourceVersion fail with 410 Gone, without restarting the apiserver under the feet
    // of other test files (with the watch cache on, only a restart of the cache does that).
    watchCache: false
  })
  project.provide("dcaControlPlane", { url: control.url, token: control.token })
  return control.close
}
