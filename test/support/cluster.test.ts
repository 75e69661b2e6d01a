/** The shared test cluster as test files see it (through useCluster). */
import { readFileSync } from "node:fs"
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { describe, expect, it } from "vitest"
import { clusterAvailable, useCluster } from "./cluster.ts"
import { firstWatchEvent } from "./watch.ts"

const apiStatus = (error: unknown): number | undefined => (error as { code?: number }).code

describe.runIf(clusterAvailable)("useCluster", () => {
  const cluster = useCluster()

  it("provides an admin kubeconfig for the shared control plane", async () => {
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect(readFileSync(cluster.kubeconfigPath, "utf8")).toContain(cluster.server)
    const review = await cluster.kubeConfig.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} })
    expect(review.status?.userInfo?.groups).toContain("system:masters")
  })

  it("creates unique namespaces that are ready for pods", async () => {
    const [a, b] = await Promise.all([cluster.newNamespace("Cluster Test"), cluster.newNamespace("cluster-test")])
    expect(a).toMatch(/^cluster-test-[0-9a-f]{8}$/)
    expect(b).not.toBe(a)
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    const pod = await core.createNamespacedPod({
      namespace: a ?? "",
      body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "registry.invalid/pause" }] } }
    })
    expect(pod.spec?.serviceAccountName).toBe("default")
  })

  it("makes kubeconfigs for users without rights", async () => {
    const namespace = await cluster.newNamespace("rbac")
    const kc = new KubeConfig()
    kc.loadFromFile(await cluster.userKubeconfig("someone", ["some-group"]))
    const error = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedConfigMap({ namespace })
      .catch((e: unknown) => e)
    expect(apiStatus(error)).toBe(403)
  })

  it("compactEtcd makes a watch from an older resourceVersion fail with 410", async () => {
    const namespace = await cluster.newNamespace("compact")
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    const created = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "cm" } } })
    const oldRv = created.metadata?.resourceVersion ?? ""
    const updated = await core.replaceNamespacedConfigMap({
      name: "cm",
      namespace,
      body: { metadata: { name: "cm" }, data: { a: "b" } }
    })
    await cluster.compactEtcd()
    const path = `/api/v1/namespaces/${namespace}/configmaps`
    const event = await firstWatchEvent(cluster.kubeConfig, path, { resourceVersion: oldRv })
    expect(event.type).toBe("ERROR")
    expect(event.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" })
    // The newest resourceVersion is still fine to watch from. Only "cm": kube-controller-manager
    // adds kube-root-ca.crt to every new namespace whenever it gets to it.
    const quiet = await firstWatchEvent(
      cluster.kubeConfig,
      path,
      { resourceVersion: updated.metadata?.resourceVersion ?? "", fieldSelector: "metadata.name=cm" },
      1_000
    )
    expect(quiet.type).toBe("TIMEOUT")
  })

  it("restartApiServer brings the API server back with the data", async () => {
    const namespace = await cluster.newNamespace("restart")
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "kept" }, data: { k: "v" } } })
    await cluster.restartApiServer()
    const read = await core.readNamespacedConfigMap({ name: "kept", namespace })
    expect(read.data).toEqual({ k: "v" })
  })
})
