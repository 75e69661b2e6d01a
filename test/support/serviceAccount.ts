/** Kubeconfigs that authenticate as a ServiceAccount, as a pod would (a TokenRequest token). */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { CoreV1Api } from "@kubernetes/client-node"

export const serviceAccountKubeconfig = async (
  core: CoreV1Api,
  cluster: { readonly server: string; readonly caPem: string },
  namespace: string,
  name = "datadog-cluster-agent"
): Promise<string> => {
  const request = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } }
  })
  const token = request.status?.token ?? ""
  if (token === "") throw new Error(`TokenRequest for ${namespace}/${name} returned no token`)
  const q = (v: string) => JSON.stringify(v)
  const path = join(mkdtempSync(join(tmpdir(), "dca-sa-")), "kubeconfig")
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
