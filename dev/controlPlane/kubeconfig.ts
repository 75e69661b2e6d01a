/**
 * Self-contained kubeconfig files (certificates inline as base64 `*-data` fields), written by
 * hand. Every scalar is emitted as a JSON string, which is also a valid YAML scalar.
 */
import { writeFile } from "node:fs/promises"

export interface KubeconfigInput {
  readonly server: string
  readonly caPem: string
  readonly user: string
  readonly certPem: string
  readonly keyPem: string
  readonly clusterName?: string
  readonly namespace?: string
}

const b64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64")
const q = (value: string) => JSON.stringify(value)

export const kubeconfigYaml = (input: KubeconfigInput): string => {
  const cluster = input.clusterName ?? "dca-test"
  const context = `${input.user}@${cluster}`
  return [
    "apiVersion: v1",
    "kind: Config",
    "preferences: {}",
    "clusters:",
    `- name: ${q(cluster)}`,
    "  cluster:",
    `    server: ${q(input.server)}`,
    `    certificate-authority-data: ${b64(input.caPem)}`,
    "users:",
    `- name: ${q(input.user)}`,
    "  user:",
    `    client-certificate-data: ${b64(input.certPem)}`,
    `    client-key-data: ${b64(input.keyPem)}`,
    "contexts:",
    `- name: ${q(context)}`,
    "  context:",
    `    cluster: ${q(cluster)}`,
    `    user: ${q(input.user)}`,
    ...(input.namespace ? [`    namespace: ${q(input.namespace)}`] : []),
    `current-context: ${q(context)}`,
    ""
  ].join("\n")
}

/** Writes the kubeconfig with mode 0600 (it holds a private key). */
export const writeKubeconfig = (path: string, input: KubeconfigInput): Promise<void> =>
  writeFile(path, kubeconfigYaml(input), { mode: 0o600 })
