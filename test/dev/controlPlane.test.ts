/**
 * The control-plane harness itself: starts its own control planes (independent of the shared
 * one behind useCluster) so it can stop and restart them.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import {
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Deployment,
  type V1Secret
} from "@kubernetes/client-node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { runBuildScript } from "../../dev/controlPlane/binaries.ts"
import { type ControlPlane, startControlPlane } from "../../dev/controlPlane/controlPlane.ts"
import { httpsRequest } from "../../dev/controlPlane/http.ts"
import { isPortFree } from "../../dev/controlPlane/ports.ts"
import { isProcessAlive } from "../../dev/controlPlane/processes.ts"
import { clusterAvailable } from "../support/cluster.ts"
import { waitFor } from "../support/waitFor.ts"
import { firstWatchEvent } from "../support/watch.ts"

const loadKubeConfig = (path: string): KubeConfig => {
  const kc = new KubeConfig()
  kc.loadFromFile(path)
  return kc
}

const deployment = (name: string): V1Deployment => ({
  metadata: { name },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "main", image: "registry.invalid/pause" }] }
    }
  }
})

const apiStatus = (error: unknown): number | undefined => (error as { code?: number }).code

describe.runIf(clusterAvailable)("control plane harness", () => {
  let cp: ControlPlane
  let kc: KubeConfig
  let core: CoreV1Api

  beforeAll(async () => {
    cp = await startControlPlane()
    kc = loadKubeConfig(cp.kubeconfigPath)
    core = kc.makeApiClient(CoreV1Api)
  })
  afterAll(async () => {
    await cp?.stop()
  })

  const createNamespace = async (name: string) => {
    await core.createNamespace({ body: { metadata: { name } } })
    await waitFor(() => core.readNamespacedServiceAccount({ name: "default", namespace: name }), {
      what: `ServiceAccount ${name}/default`
    })
  }

  it("answers /readyz with ok to the admin, over TLS verified against its CA", async () => {
    const res = await httpsRequest(`${cp.server}/readyz`, {
      caPem: cp.caPem,
      certPem: cp.admin.certPem,
      keyPem: cp.admin.keyPem
    })
    expect(res).toEqual({ status: 200, body: "ok" })
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} })
    expect(review.status?.userInfo?.username).toBe("dca-test-admin")
    expect(review.status?.userInfo?.groups).toContain("system:masters")
  })

  it("runs the controller manager: a Deployment gets a ReplicaSet and pods", async () => {
    await createNamespace("deploy")
    const apps = kc.makeApiClient(AppsV1Api)
    await apps.createNamespacedDeployment({ namespace: "deploy", body: deployment("web") })
    const replicaSet = await waitFor(
      async () =>
        (await apps.listNamespacedReplicaSet({ namespace: "deploy" })).items.find((rs) =>
          rs.metadata?.ownerReferences?.some((o) => o.kind === "Deployment" && o.name === "web")
        ),
      { what: "a ReplicaSet owned by deploy/web" }
    )
    expect(replicaSet.spec?.replicas).toBe(2)
    // No scheduler or kubelet: the pods exist but stay Pending.
    const pods = await waitFor(
      async () => {
        const items = (await core.listNamespacedPod({ namespace: "deploy" })).items
        return items.length === 2 ? items : undefined
      },
      { what: "2 pods of deploy/web" }
    )
    expect(pods.every((pod) => pod.status?.phase === "Pending")).toBe(true)
  })

  it("creates the default ServiceAccount and fills service-account token Secrets", async () => {
    await createNamespace("tokens")
    const secret: V1Secret = {
      metadata: { name: "default-token", annotations: { "kubernetes.io/service-account.name": "default" } },
      type: "kubernetes.io/service-account-token"
    }
    await core.createNamespacedSecret({ namespace: "tokens", body: secret })
    const filled = await waitFor(
      async () => {
        const current = await core.readNamespacedSecret({ name: "default-token", namespace: "tokens" })
        return current.data?.token ? current : undefined
      },
      { what: "token in secret tokens/default-token" }
    )
    expect(Buffer.from(filled.data?.["ca.crt"] ?? "", "base64").toString()).toBe(cp.caPem)

    // The TokenRequest API (apiserver signing key) and TokenReview agree too.
    const request = await core.createNamespacedServiceAccountToken({
      name: "default",
      namespace: "tokens",
      body: { spec: { audiences: [] } }
    })
    const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token: request.status?.token ?? "" } }
    })
    expect(review.status?.authenticated).toBe(true)
    expect(review.status?.user?.username).toBe("system:serviceaccount:tokens:default")
  })

  it("completes namespace deletion (namespace controller)", async () => {
    await createNamespace("doomed")
    await core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "cm" }, data: { a: "b" } } })
    await core.deleteNamespace({ name: "doomed" })
    await waitFor(
      () =>
        core.readNamespace({ name: "doomed" }).then(
          () => false,
          (error: unknown) => apiStatus(error) === 404
        ),
      { what: "namespace doomed to disappear" }
    )
  })

  it("makes kubeconfigs for users without rights", async () => {
    const userKc = loadKubeConfig(await cp.makeUserKubeconfig("nobody", ["team-a"]))
    const review = await userKc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} })
    expect(review.status?.userInfo?.username).toBe("nobody")
    expect(review.status?.userInfo?.groups).toEqual(["team-a", "system:authenticated"])
    const error = await userKc
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: "default" })
      .catch((e: unknown) => e)
    expect(apiStatus(error)).toBe(403)
  })

  it("restarts the API server on the same port and etcd; old watch RVs then get 410", async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "survivor" }, data: { v: "0" } }
    })
    const oldRv = created.metadata?.resourceVersion ?? ""
    await core.replaceNamespacedConfigMap({
      name: "survivor",
      namespace: "default",
      body: { metadata: { name: "survivor" }, data: { v: "1" } }
    })
    // Compaction alone: the watch cache still serves the old RV (its window is in memory).
    await cp.compactEtcd()
    const path = "/api/v1/namespaces/default/configmaps"
    const fromCache = await firstWatchEvent(kc, path, { resourceVersion: oldRv })
    expect(fromCache.type).toBe("MODIFIED")

    const apiServerPid = cp.pids[1]
    await cp.restartApiServer()
    expect(cp.pids).not.toContain(apiServerPid)
    expect(apiServerPid === undefined ? true : isProcessAlive(apiServerPid)).toBe(false)
    const read = await core.readNamespacedConfigMap({ name: "survivor", namespace: "default" })
    expect(read.data).toEqual({ v: "1" })

    const event = await firstWatchEvent(kc, path, { resourceVersion: oldRv })
    expect(event.type).toBe("ERROR")
    expect(event.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" })
  })

  it("stop() ends every process it started, frees the ports and removes the temp dir", async () => {
    const pids = cp.pids
    expect(pids.length).toBe(4) // etcd, kube-apiserver, kube-controller-manager, watchdog
    expect(pids.every(isProcessAlive)).toBe(true)
    await cp.stop()
    for (const pid of pids) {
      expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow(expect.objectContaining({ code: "ESRCH" }))
    }
    for (const port of Object.values(cp.ports)) expect(await isPortFree(port), `port ${port}`).toBe(true)
    expect(existsSync(cp.tempDir)).toBe(false)
  })

  describe("a second control plane", () => {
    let second: ControlPlane | undefined
    afterAll(async () => {
      await second?.stop()
    })

    it("reuses the built binaries", async () => {
      const stamp = (path: string) => {
        const s = statSync(path)
        return `${s.ino}:${s.mtimeMs}`
      }
      const binaries = [cp.binaries.etcd, cp.binaries.kubeApiServer, cp.binaries.kubeControllerManager]
      const before = binaries.map(stamp)
      expect(await runBuildScript()).toBe(cp.binaries.dir)
      expect(binaries.map(stamp)).toEqual(before)
      second = await startControlPlane({ watchCache: false })
      expect(second.binaries.dir).toBe(cp.binaries.dir)
      expect(join(second.binaries.dir, "etcd")).toBe(cp.binaries.etcd)
    })

    it("with --watch-cache=false, compactEtcd alone makes a watch from an old RV fail with 410", async () => {
      if (!second) throw new Error("second control plane did not start")
      const kc2 = loadKubeConfig(second.kubeconfigPath)
      const core2 = kc2.makeApiClient(CoreV1Api)
      const created = await core2.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "old" }, data: { v: "0" } }
      })
      const oldRv = created.metadata?.resourceVersion ?? ""
      await core2.deleteNamespacedConfigMap({ name: "old", namespace: "default" })
      const path = "/api/v1/namespaces/default/configmaps"
      expect((await firstWatchEvent(kc2, path, { resourceVersion: oldRv })).type).toBe("DELETED")

      const revision = await second.compactEtcd()
      expect(revision).toBeGreaterThan(Number(oldRv))
      const event = await firstWatchEvent(kc2, path, { resourceVersion: oldRv })
      expect(event.type).toBe("ERROR")
      expect(event.object).toMatchObject({ kind: "Status", code: 410, reason: "Expired" })
      // A list at the exact old revision is gone as well.
      const error = await core2
        .listNamespacedConfigMap({ namespace: "default", resourceVersion: oldRv, resourceVersionMatch: "Exact" })
        .catch((e: unknown) => e)
      expect(apiStatus(error)).toBe(410)
    })
  })
})

describe.runIf(clusterAvailable)("control plane owned by a process that dies", () => {
  const children: ChildProcess[] = []
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL")
  })
  const controlPlaneModule = new URL("../../dev/controlPlane/controlPlane.ts", import.meta.url).href
  // Starts a control plane in a child Node process that prints its pids and temp dir.
  const startInChild = async () => {
    const code = `
      import { startControlPlane } from ${JSON.stringify(controlPlaneModule)}
      const cp = await startControlPlane({ controllers: ["namespace-controller"] })
      console.log(JSON.stringify({ pids: cp.pids, tempDir: cp.tempDir }))
      setInterval(() => {}, 1 << 30)
    `
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] })
    children.push(child)
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal }))
    )
    let out = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk
    })
    const info = await waitFor(
      () => (out.includes("\n") ? (JSON.parse(out) as { pids: number[]; tempDir: string }) : undefined),
      { timeoutMs: 120_000, what: "the child's control plane" }
    )
    return { child, exited, ...info }
  }

  it.each(["SIGKILL", "SIGTERM"] as const)("cleans up when the owner gets %s", async (signal) => {
    const { child, exited, pids, tempDir } = await startInChild()
    expect(pids.every(isProcessAlive)).toBe(true)
    child.kill(signal)
    // Without other listeners the harness re-raises SIGTERM after cleaning up.
    expect((await exited).signal).toBe(signal)
    await waitFor(() => !pids.some(isProcessAlive) && !existsSync(tempDir), {
      timeoutMs: 20_000,
      what: `processes ${pids.join(", ")} to end and ${tempDir} to disappear`
    })
  })
})
