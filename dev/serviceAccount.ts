/**
 * The agent's ServiceAccount as a pod meets it: a TokenRequest token (what the kubelet projects
 * into the pod), a kubeconfig that authenticates with one, and what the authorizer lets it do.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AuthorizationV1Api, type CoreV1Api, type KubeConfig, type V1ResourceAttributes } from "@kubernetes/client-node"
import { waitFor } from "./waitFor.ts"

/** The shipped ServiceAccount's name (deploy/base). */
export const serviceAccountName = "datadog-cluster-agent"

/** The user name the API server gives the ServiceAccount's tokens. */
export const serviceAccountUser = (namespace: string, name = serviceAccountName): string =>
  `system:serviceaccount:${namespace}:${name}`

/** A token for the ServiceAccount from the TokenRequest API, valid for `expirationSeconds` (an hour). */
export const serviceAccountToken = async (
  core: CoreV1Api,
  namespace: string,
  name = serviceAccountName,
  expirationSeconds = 3600
): Promise<string> => {
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds } }
  })
  const token = request.status?.token ?? ""
  if (token === "") throw new Error(`TokenRequest for ${namespace}/${name} returned no token`)
  return token
}

/**
 * Whether the authorizer lets the ServiceAccount do it (a SubjectAccessReview, asked with the
 * groups its tokens carry). `authenticated: false` leaves out the group system:authenticated,
 * whose default rights (system:public-info-viewer: /version, /readyz, /healthz) would otherwise
 * hide a missing rule of ours.
 */
export const serviceAccountAllowed = async (
  authz: AuthorizationV1Api,
  namespace: string,
  attributes: V1ResourceAttributes | { readonly path: string },
  options: { readonly authenticated?: boolean; readonly name?: string } = {}
): Promise<boolean> => {
  const groups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`]
  const review = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user: serviceAccountUser(namespace, options.name),
        groups: options.authenticated === false ? groups : [...groups, "system:authenticated"],
        ...("path" in attributes
          ? { nonResourceAttributes: { path: attributes.path, verb: "get" } }
          : { resourceAttributes: attributes })
      }
    }
  })
  return review.status?.allowed === true
}

/**
 * A kubeconfig file that authenticates as the ServiceAccount with a TokenRequest token (valid
 * `expirationSeconds`, an hour by default), written into `dir` (default: a new temporary folder).
 */
export const serviceAccountKubeconfig = async (
  core: CoreV1Api,
  cluster: { readonly server: string; readonly caPem: string },
  namespace: string,
  options: { readonly name?: string; readonly dir?: string; readonly expirationSeconds?: number } = {}
): Promise<string> => {
  const name = options.name ?? serviceAccountName
  const token = await serviceAccountToken(core, namespace, name, options.expirationSeconds)
  const q = (v: string) => JSON.stringify(v)
  const path = join(options.dir ?? mkdtempSync(join(tmpdir(), "dca-sa-")), "kubeconfig")
  const yaml = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: "test"`,
    "  cluster:",
    `    server: ${q(cluster.server)}`,
    `    certificate-authority-data: ${Buffer.from(cluster.caPem).toString("base64")}`,
    "users:",
    `- name: ${q(name)}`,
    "  user:",
    `    token: ${q(token)}`,
    "contexts:",
    `- name: "sa"`,
    "  context:",
    `    cluster: "test"`,
    `    user: ${q(name)}`,
    `current-context: "sa"`,
    ""
  ].join("\n")
  writeFileSync(path, yaml, { mode: 0o600 })
  return path
}

/**
 * Waits until the authorizer grants the ServiceAccount of `namespace` one rule: bindings reach
 * its cache asynchronously, and a role's rules arrive together, so one rule per binding is enough.
 */
export const awaitGranted = (
  kubeConfig: KubeConfig,
  namespace: string,
  attributes: V1ResourceAttributes | { readonly path: string },
  what: string
): Promise<true> =>
  waitFor(() => serviceAccountAllowed(kubeConfig.makeApiClient(AuthorizationV1Api), namespace, attributes), { what })

/**
 * Waits until the authorizer applies the shipped bindings in `namespace` (those created): one
 * rule of the ClusterRole's and one of the Role's, and with `externalMetrics` one of
 * deploy/external-metrics' ClusterRole, so every other rule is proven by what follows (the
 * metrics provider, checked once at start, would otherwise not start).
 */
export const awaitShippedBindings = async (
  kubeConfig: KubeConfig,
  namespace: string,
  created: {
    readonly clusterRoleBinding: boolean
    readonly roleBinding: boolean
    readonly externalMetrics?: boolean
  } = { clusterRoleBinding: true, roleBinding: true }
): Promise<void> => {
  if (created.clusterRoleBinding) {
    await awaitGranted(
      kubeConfig,
      namespace,
      { verb: "watch", resource: "pods" },
      "the ClusterRoleBinding to take effect"
    )
  }
  if (created.roleBinding) {
    await awaitGranted(
      kubeConfig,
      namespace,
      { verb: "get", resource: "configmaps", namespace, name: "datadog-cluster-id" },
      "the RoleBinding to take effect"
    )
  }
  if (created.externalMetrics === true) {
    await awaitGranted(
      kubeConfig,
      namespace,
      { verb: "watch", group: "autoscaling", resource: "horizontalpodautoscalers" },
      "the external metrics ClusterRoleBinding to take effect"
    )
  }
}
