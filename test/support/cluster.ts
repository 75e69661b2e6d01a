/**
 * The shared test cluster (one real control plane per vitest run, see globalSetup.ts).
 *
 *   const cluster = useCluster()   // at file or describe level: registers beforeAll/afterAll
 *   it("...", async () => {
 *     const namespace = await cluster.newNamespace("leader")
 *     // cluster.kubeconfigPath, cluster.server, cluster.kubeConfig (client-node, admin) ...
 *   })
 *
 * Files that must also run without a cluster: `describe.runIf(clusterAvailable)(...)`
 * (the cluster is off when DCA_TEST_CONTROL_PLANE=0, which CI refuses: controlPlaneGate.ts).
 */
import { randomBytes } from "node:crypto"
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { afterAll, beforeAll, inject } from "vitest"
import { type ClusterInfo, type ControlEndpoint, callControl } from "../../dev/controlPlane/controlServer.ts"
import type { TlsClient } from "../../dev/controlPlane/http.ts"
import { waitFor } from "./waitFor.ts"

export interface Cluster {
  readonly kubeconfigPath: string
  readonly server: string
  readonly caPem: string
  /** Admin (system:masters) client config for @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig
  /** The admin's client certificate and the cluster CA, for raw requests (dev/controlPlane/http.ts). */
  readonly adminTls: TlsClient
  /**
   * Creates a uniquely named namespace `<prefix>-<random>`, waits until its "default"
   * ServiceAccount exists (pods are rejected before that), and deletes it after the file.
   */
  readonly newNamespace: (prefix?: string) => Promise<string>
  /** Kubeconfig path of a user authenticated by a client cert (CN = user, O = groups), with no RBAC rights. */
  readonly userKubeconfig: (user: string, groups?: ReadonlyArray<string>) => Promise<string>
  /**
   * Compacts etcd to its current revision; returns it. The shared cluster runs with
   * `--watch-cache=false`, so afterwards a WATCH (or a LIST) from an older resourceVersion
   * gets 410 Gone (watch: an ERROR event with code 410), as does a stale `continue` token.
   */
  readonly compactEtcd: () => Promise<number>
  /**
   * Restarts kube-apiserver (same port, same etcd). Shared by all test files running at the
   * same time: they see their connections drop, so use it only in files written for that.
   */
  readonly restartApiServer: () => Promise<void>
}

const endpoint = (): ControlEndpoint | null => inject("dcaControlPlane") ?? null

/** False when the run was started with DCA_TEST_CONTROL_PLANE=0. */
export const clusterAvailable: boolean = endpoint() !== null

const dnsLabel = (prefix: string): string => {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50)
  return `${base || "test"}-${randomBytes(4).toString("hex")}`
}

export const useCluster = (): Cluster => {
  let info: ClusterInfo | undefined
  let kubeConfig: KubeConfig | undefined
  const namespaces: string[] = []

  const control = (): ControlEndpoint => {
    const found = endpoint()
    if (!found) throw new Error("no test control plane: this run has DCA_TEST_CONTROL_PLANE=0")
    return found
  }
  const ready = (): { info: ClusterInfo; kubeConfig: KubeConfig } => {
    if (!info || !kubeConfig) throw new Error("useCluster(): the cluster is only available inside tests and hooks")
    return { info, kubeConfig }
  }

  beforeAll(async () => {
    info = await callControl(control(), "cluster", {})
    kubeConfig = new KubeConfig()
    kubeConfig.loadFromFile(info.kubeconfigPath)
  })

  afterAll(async () => {
    if (!kubeConfig || namespaces.length === 0) return
    const core = kubeConfig.makeApiClient(CoreV1Api)
    // Deletion finishes in the background (namespace controller); no need to wait for it.
    await Promise.allSettled(namespaces.map((name) => core.deleteNamespace({ name })))
  })

  return {
    get kubeconfigPath() {
      return ready().info.kubeconfigPath
    },
    get server() {
      return ready().info.server
    },
    get caPem() {
      return ready().info.caPem
    },
    get kubeConfig() {
      return ready().kubeConfig
    },
    get adminTls() {
      const { info, kubeConfig } = ready()
      const user = kubeConfig.getCurrentUser()
      const pem = (b64: string | undefined) => (b64 === undefined ? undefined : Buffer.from(b64, "base64").toString())
      const certPem = pem(user?.certData)
      const keyPem = pem(user?.keyData)
      if (certPem === undefined || keyPem === undefined) throw new Error("the test cluster's admin has no client cert")
      return { caPem: info.caPem, certPem, keyPem }
    },
    newNamespace: async (prefix = "test") => {
      const core = ready().kubeConfig.makeApiClient(CoreV1Api)
      const name = dnsLabel(prefix)
      await core.createNamespace({ body: { metadata: { name } } })
      namespaces.push(name)
      await waitFor(() => core.readNamespacedServiceAccount({ name: "default", namespace: name }), {
        timeoutMs: 30_000,
        what: `ServiceAccount ${name}/default`
      })
      return name
    },
    userKubeconfig: async (user, groups = []) =>
      (await callControl(control(), "user-kubeconfig", { user, groups })).kubeconfigPath,
    compactEtcd: async () => (await callControl(control(), "compact-etcd", {})).revision,
    restartApiServer: async () => {
      await callControl(control(), "restart-apiserver", {})
    }
  }
}
