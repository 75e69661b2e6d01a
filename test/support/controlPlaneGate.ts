/**
 * Whether a vitest run starts the shared control plane (decided once, in globalSetup.ts).
 *
 * DCA_TEST_CONTROL_PLANE=0 turns the cluster off, so files guarded by
 * `describe.runIf(clusterAvailable)` skip their cluster tests. That is a convenience for a
 * person without Go; in CI (CI set and not "0"/"false") it is refused, because a CI run
 * that silently skips the cluster tests would pass without testing against Kubernetes.
 */

export type ControlPlaneGate =
  | { readonly _tag: "Run" }
  | { readonly _tag: "Skip"; readonly notice: string }
  | { readonly _tag: "Refuse"; readonly error: string }

export type Env = Readonly<Record<string, string | undefined>>

/** CI is on when the variable CI is set to anything but "", "0" or "false" (any case). */
export const isCi = (env: Env): boolean => {
  const value = env.CI?.trim().toLowerCase()
  return value !== undefined && value !== "" && value !== "0" && value !== "false"
}

export const controlPlaneGate = (env: Env): ControlPlaneGate => {
  if (env.DCA_TEST_CONTROL_PLANE !== "0") return { _tag: "Run" }
  if (isCi(env)) {
    return {
      _tag: "Refuse",
      error:
        `DCA_TEST_CONTROL_PLANE=0 is refused because CI=${env.CI} is set: the cluster tests are required in CI. ` +
        "Unset DCA_TEST_CONTROL_PLANE (the control-plane binaries come from scripts/control-plane/build.sh, " +
        "or KUBEBUILDER_ASSETS)."
    }
  }
  return {
    _tag: "Skip",
    notice:
      "[dca tests] DCA_TEST_CONTROL_PLANE=0: no control plane is started, so the cluster tests are SKIPPED " +
      "(files guarded by describe.runIf(clusterAvailable)); unset it to run them."
  }
}
