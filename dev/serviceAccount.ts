/**
 * The agent's ServiceAccount as a pod meets it: a TokenRequest token (what the kubelet projects
 * into the pod), a kubeconfig that authenticates with one, and what the authorizer lets it do.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { AuthorizationV1Api, CoreV1Api, V1ResourceAttributes } from "@kubernetes/client-node"

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
