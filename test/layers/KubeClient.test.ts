// KubeClient against the real control plane (test/support/cluster.ts): every operation, and the
// failures callers branch on (404, 409, 403, 410), over the layer the agent itself builds.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { CoreV1Api, dumpYaml, loadYaml } from "@kubernetes/client-node"
import { Effect, Exit, Fiber, Layer, Stream } from "effect"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { KubeClient, type KubeClientShape, KubeError } from "../../src/layers/KubeClient.ts"
import { formatMicroTime } from "../../src/layers/kube/microTime.ts"
import type { ConfigMap, ResourceRef } from "../../src/layers/kube/types.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { waitFor } from "../support/waitFor.ts"

describe.runIf(clusterAvailable)("KubeClient (real API server)", () => {
  const cluster = useCluster()

  /** The agent's own wiring: DD_KUBERNETES_KUBECONFIG_PATH → ClusterAgentConfig → KubeClient.layer. */
  const clientLayer = (kubeconfigPath: string) =>
    KubeClient.layer.pipe(Layer.provide(ClusterAgentConfig.fromEnv({ DD_KUBERNETES_KUBECONFIG_PATH: kubeconfigPath })))

  const withKube = <A, E>(f: (kube: KubeClientShape) => Effect.Effect<A, E>, kubeconfigPath?: string) =>
    KubeClient.use(f).pipe(Effect.provide(clientLayer(kubeconfigPath ?? cluster.kubeconfigPath)))

  const namespace = (prefix: string) => Effect.promise(() => cluster.newNamespace(prefix))
  const cms = (ns: string): ResourceRef => ({ group: "", version: "v1", resource: "configmaps", namespace: ns })

  /** A copy of the admin kubeconfig with the cluster entry changed. */
  const variant = (change: (cluster: Record<string, unknown>) => void): string => {
    const doc = loadYaml<{ clusters: Array<{ cluster: Record<string, unknown> }> }>(
      Fs.readFileSync(cluster.kubeconfigPath, "utf8")
    )
    for (const c of doc.clusters) change(c.cluster)
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-kubeclient-"))
    const path = Path.join(dir, "kubeconfig")
    Fs.writeFileSync(path, dumpYaml(doc), { mode: 0o600 })
    return path
  }

  it.live("reads the server version and /readyz", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const version = yield* kube.serverVersion()
        expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/)
        expect(version.major).toBe("1")
        expect(yield* kube.readyz()).toBe("ok")
        expect(kube.server).toBe(cluster.server)
        expect(kube.credentialsSource).toBe(`DD_KUBERNETES_KUBECONFIG_PATH=${cluster.kubeconfigPath}`)
      })
    )
  )

  it.live("ConfigMaps: create, get, replace; 409 on a stale resourceVersion or a taken name; 404", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-configmaps")
        const created = yield* kube.createConfigMap(ns, { metadata: { name: "tokens" }, data: { a: "1" } })
        expect(created.metadata?.resourceVersion).toMatch(/^\d+$/)

        const read = yield* kube.getConfigMap(ns, "tokens")
        expect(read.data).toEqual({ a: "1" })
        const replaced = yield* kube.replaceConfigMap(ns, { ...read, data: { a: "2" } })
        expect(replaced.data).toEqual({ a: "2" })
        expect(replaced.metadata?.resourceVersion).not.toBe(read.metadata?.resourceVersion)

        // Writing from the old read loses the race.
        const stale = yield* Effect.flip(kube.replaceConfigMap(ns, { ...read, data: { a: "3" } }))
        expect(stale).toMatchObject({ reason: "Conflict", status: 409, apiReason: "Conflict", verb: "PUT" })
        expect(stale.path).toBe(`/api/v1/namespaces/${ns}/configmaps/tokens`)
        expect(stale.detail).toContain("the object has been modified")

        const taken = yield* Effect.flip(kube.createConfigMap(ns, { metadata: { name: "tokens" } }))
        expect(taken).toMatchObject({ reason: "Conflict", status: 409, apiReason: "AlreadyExists", verb: "POST" })

        const missing = yield* Effect.flip(kube.getConfigMap(ns, "nope"))
        expect(missing).toMatchObject({ reason: "NotFound", status: 404, apiReason: "NotFound" })
        const missingReplace = yield* Effect.flip(
          kube.replaceConfigMap(ns, { metadata: { name: "nope", resourceVersion: "1" } })
        )
        expect(missingReplace.reason).toBe("NotFound")

        yield* kube.delete(cms(ns), "tokens")
        expect((yield* Effect.flip(kube.getConfigMap(ns, "tokens"))).reason).toBe("NotFound")
      })
    )
  )

  it.live("Leases: MicroTime fields with six digits are accepted, create and replace", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-leases")
        const acquired = formatMicroTime(new Date("2026-01-02T03:04:05.123Z"))
        const lease = yield* kube.createLease(ns, {
          metadata: { name: "datadog-leader-election" },
          spec: {
            holderIdentity: "pod-a",
            leaseDurationSeconds: 60,
            acquireTime: acquired,
            renewTime: acquired,
            leaseTransitions: 0
          }
        })
        expect(lease.spec?.acquireTime).toBe("2026-01-02T03:04:05.123000Z")

        const renewed = formatMicroTime(new Date())
        const updated = yield* kube.replaceLease(ns, { ...lease, spec: { ...lease.spec, renewTime: renewed } })
        expect(updated.spec?.renewTime).toBe(renewed)
        expect((yield* kube.getLease(ns, "datadog-leader-election")).spec).toMatchObject({
          holderIdentity: "pod-a",
          renewTime: renewed
        })

        // Why formatMicroTime exists: three digits are refused.
        const threeDigits = yield* Effect.flip(
          kube.replaceLease(ns, { ...updated, spec: { ...updated.spec, renewTime: new Date().toISOString() } })
        )
        expect(threeDigits).toMatchObject({ reason: "Invalid", status: 400 })

        // A stale lease write is a 409, like for ConfigMaps.
        const stale = yield* Effect.flip(
          kube.replaceLease(ns, { ...lease, spec: { ...lease.spec, holderIdentity: "b" } })
        )
        expect(stale.reason).toBe("Conflict")
      })
    )
  )

  it.live("decoded ConfigMaps and Leases keep what the schemas don't model, through a read-modify-replace", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-open")
        const leases: ResourceRef = { group: "coordination.k8s.io", version: "v1", resource: "leases", namespace: ns }
        const annotations = { "example.com/owner": "someone-else" }
        yield* kube.createConfigMap(ns, { metadata: { name: "open", annotations }, data: { a: "1" } })
        yield* kube.createLease(ns, {
          metadata: { name: "open", annotations },
          spec: { holderIdentity: "pod-a", leaseDurationSeconds: 60 }
        })

        // Decoding drops nothing of what the server sent: the cast (generic) read is the same.
        const cm = yield* kube.getConfigMap(ns, "open")
        expect(cm).toEqual(yield* kube.get(cms(ns), "open"))
        const lease = yield* kube.getLease(ns, "open")
        expect(lease).toEqual(yield* kube.get(leases, "open"))
        // managedFields is not modelled; it is there, whole.
        const managed = cm.metadata?.managedFields
        expect(Array.isArray(managed) && managed.length > 0).toBe(true)
        expect(JSON.stringify(managed)).toContain("f:data")
        expect(JSON.stringify(lease.metadata?.managedFields)).toContain("f:holderIdentity")

        // Write back what was read with one change: the rest is still there.
        const cm2 = yield* kube.replaceConfigMap(ns, { ...cm, data: { ...cm.data, b: "2" } })
        expect(cm2.data).toEqual({ a: "1", b: "2" })
        expect(cm2.metadata?.annotations).toEqual(annotations)
        expect(cm2.metadata?.uid).toBe(cm.metadata?.uid)
        expect(cm2).toEqual(yield* kube.get(cms(ns), "open"))
        const lease2 = yield* kube.replaceLease(ns, { ...lease, spec: { ...lease.spec, holderIdentity: "pod-b" } })
        expect(lease2.spec).toEqual({ holderIdentity: "pod-b", leaseDurationSeconds: 60 })
        expect(lease2.metadata?.annotations).toEqual(annotations)
        expect(lease2).toEqual(yield* kube.get(leases, "open"))
      })
    )
  )

  it.live("403 for a user without rights", () =>
    Effect.gen(function* () {
      const ns = yield* namespace("kc-forbidden")
      const nobody = yield* Effect.promise(() => cluster.userKubeconfig("dca-nobody"))
      yield* withKube(
        (kube) =>
          Effect.gen(function* () {
            const e = yield* Effect.flip(kube.getConfigMap(ns, "anything"))
            expect(e).toMatchObject({ reason: "Forbidden", status: 403, apiReason: "Forbidden" })
            expect(e.detail).toContain('User "dca-nobody" cannot get resource "configmaps"')
            const w = yield* Effect.flip(Stream.runDrain(kube.watch(cms(ns))))
            expect(w).toMatchObject({ reason: "Forbidden", verb: "WATCH" })
            // It may still ask what it may do.
            const review = yield* kube.createSelfSubjectAccessReview({
              spec: { resourceAttributes: { namespace: ns, verb: "get", resource: "configmaps" } }
            })
            expect(review.status?.allowed).toBe(false)
          }),
        nobody
      )
    })
  )

  it.live("pages through a LIST with limit and continue", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-paging")
        const names = Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, "0")}`)
        yield* Effect.forEach(
          names,
          (name) => kube.createConfigMap(ns, { metadata: { name, labels: { paging: "yes" } } }),
          { concurrency: 5 }
        )
        const options = { labelSelector: "paging=yes", limit: 10 }
        const first = yield* kube.list<ConfigMap>(cms(ns), options)
        expect(first.items).toHaveLength(10)
        expect(first.metadata.continue).toBeTruthy()
        // (remainingItemCount is not computed when a label selector filters the list.)

        const pages = yield* Stream.runCollect(kube.listAll<ConfigMap>(cms(ns), options))
        expect(pages.map((p) => p.items.length)).toEqual([10, 10, 5])
        expect(pages.flatMap((p) => p.items.map((i) => i.metadata?.name))).toEqual(names)
        // Every page is of the same snapshot.
        expect(new Set(pages.map((p) => p.metadata.resourceVersion)).size).toBe(1)
        expect(pages.at(-1)?.metadata.continue ?? "").toBe("")

        const byField = yield* kube.list(cms(ns), { fieldSelector: "metadata.name=cm-07" })
        expect(byField.items.map((i) => i.metadata?.name)).toEqual(["cm-07"])

        const bad = yield* Effect.flip(kube.list(cms(ns), { labelSelector: "in valid" }))
        expect(bad).toMatchObject({ reason: "Invalid", status: 400 })
      })
    )
  )

  it.live("a watch the server ends ends the stream; resuming from the last resourceVersion sees later events", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-watch")
        const start = yield* kube.list(cms(ns))
        const rv0 = start.metadata.resourceVersion
        // timeoutSeconds bounds the watch on the server; the stream must then end normally.
        const first = yield* Effect.forkChild(
          Stream.runCollect(kube.watch<ConfigMap>(cms(ns), { resourceVersion: rv0, timeoutSeconds: 2 }))
        )
        const created = yield* kube.createConfigMap(ns, { metadata: { name: "w1" }, data: { v: "1" } })
        const exit = yield* Fiber.await(first)
        expect(Exit.isSuccess(exit)).toBe(true)
        const events = Exit.isSuccess(exit) ? exit.value : []
        const mine = events.filter((e) => e.object.metadata?.name === "w1")
        expect(mine.map((e) => e.type)).toEqual(["ADDED"])
        const last = events.at(-1)?.object.metadata?.resourceVersion
        expect(last).toBe(created.metadata?.resourceVersion)

        yield* kube.replaceConfigMap(ns, { ...created, data: { v: "2" } })
        yield* kube.delete(cms(ns), "w1")
        const resumed = yield* Stream.runCollect(
          kube.watch<ConfigMap>(cms(ns), {
            resourceVersion: last,
            timeoutSeconds: 1,
            allowWatchBookmarks: true,
            fieldSelector: "metadata.name=w1"
          })
        )
        expect(resumed.filter((e) => e.type !== "BOOKMARK").map((e) => [e.type, e.object.data?.v])).toEqual([
          ["MODIFIED", "2"],
          ["DELETED", "2"]
        ])
      })
    )
  )

  it.live("a watch carries a ~1 MB object across many chunks", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-big")
        const rv = (yield* kube.list(cms(ns))).metadata.resourceVersion
        // Multi-byte characters, so chunk boundaries also fall inside UTF-8 sequences.
        const blob = "é€".repeat(180_000)
        yield* kube.createConfigMap(ns, { metadata: { name: "big" }, data: { blob } })
        const events = yield* Stream.runCollect(
          Stream.take(kube.watch<ConfigMap>(cms(ns), { resourceVersion: rv, timeoutSeconds: 30 }), 1)
        )
        expect(events[0]?.type).toBe("ADDED")
        expect(events[0]?.object.data?.blob === blob).toBe(true)
      })
    )
  )

  it.live("a watch from a compacted resourceVersion fails with Gone", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-gone")
        const cm = yield* kube.createConfigMap(ns, { metadata: { name: "old" } })
        yield* kube.replaceConfigMap(ns, { ...cm, data: { v: "2" } })
        yield* Effect.promise(() => cluster.compactEtcd())
        const e = yield* Effect.flip(
          Stream.runDrain(kube.watch(cms(ns), { resourceVersion: cm.metadata?.resourceVersion, timeoutSeconds: 5 }))
        )
        expect(e).toMatchObject({ reason: "Gone", status: 410, verb: "WATCH" })
        // A LIST of that exact version is gone too.
        const list = yield* Effect.flip(
          kube.list(cms(ns), { resourceVersion: cm.metadata?.resourceVersion, resourceVersionMatch: "Exact" })
        )
        expect(list).toMatchObject({ reason: "Gone", status: 410 })
      })
    )
  )

  it.live("interrupting a watch closes its connection", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-abort")
        yield* kube.createConfigMap(ns, { metadata: { name: "x" } })
        const rv = (yield* kube.list(cms(ns))).metadata.resourceVersion
        const fiber = yield* Effect.forkChild(
          Stream.runDrain(kube.watch(cms(ns), { resourceVersion: rv, timeoutSeconds: 300 }))
        )
        yield* Effect.promise(() =>
          waitFor(async () => (await Effect.runPromise(kube.connections)).active === 1, { what: "the watch to open" })
        )
        yield* Fiber.interrupt(fiber)
        yield* Effect.promise(() =>
          waitFor(async () => (await Effect.runPromise(kube.connections)).active === 0, { what: "the watch to close" })
        )
        // Sequential requests share one kept-alive connection.
        for (let i = 0; i < 5; i++) yield* kube.getConfigMap(ns, "x")
        yield* Effect.promise(() =>
          waitFor(async () => {
            const c = await Effect.runPromise(kube.connections)
            return c.active === 0 && c.idle === 1
          })
        )
      })
    )
  )

  it.live("namespaces and componentstatuses", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-ns")
        const got = yield* kube.getNamespace(ns)
        expect(got.metadata?.name).toBe(ns)
        expect(got.status?.phase).toBe("Active")
        expect((yield* Effect.flip(kube.getNamespace("no-such-namespace-x"))).reason).toBe("NotFound")

        const statuses = yield* kube.listComponentStatuses()
        expect(statuses.kind).toBe("ComponentStatusList")
        expect(statuses.items.map((s) => s.metadata?.name)).toContain("etcd-0")
        const etcd = statuses.items.find((s) => s.metadata?.name === "etcd-0")
        expect(etcd?.conditions?.[0]).toMatchObject({ type: "Healthy", status: "True" })
      })
    )
  )

  it.live("TokenReview, SubjectAccessReview and SelfSubjectAccessReview", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-reviews")
        const token = yield* Effect.promise(async () => {
          const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
          const request = await core.createNamespacedServiceAccountToken({
            name: "default",
            namespace: ns,
            body: { spec: { audiences: [], expirationSeconds: 600 } }
          })
          return request.status?.token ?? ""
        })
        expect(token).not.toBe("")

        const good = yield* kube.createTokenReview({ spec: { token } })
        expect(good.status?.authenticated).toBe(true)
        expect(good.status?.user?.username).toBe(`system:serviceaccount:${ns}:default`)
        const bad = yield* kube.createTokenReview({ spec: { token: "not-a-token" } })
        expect(bad.status?.authenticated).toBeFalsy()

        const attributes = { namespace: ns, verb: "get", resource: "configmaps" }
        const denied = yield* kube.createSubjectAccessReview({
          spec: { user: "dca-someone", groups: [], resourceAttributes: attributes }
        })
        expect(denied.status?.allowed).toBe(false)
        const allowed = yield* kube.createSubjectAccessReview({
          spec: { user: "dca-admin-like", groups: ["system:masters"], resourceAttributes: attributes }
        })
        expect(allowed.status?.allowed).toBe(true)

        const self = yield* kube.createSelfSubjectAccessReview({ spec: { resourceAttributes: attributes } })
        expect(self.status?.allowed).toBe(true)
      })
    )
  )

  it.live("creates core/v1 Events", () =>
    withKube((kube) =>
      Effect.gen(function* () {
        const ns = yield* namespace("kc-events")
        const cm = yield* kube.createConfigMap(ns, { metadata: { name: "subject" } })
        const now = new Date()
        const event = yield* kube.createEvent(ns, {
          metadata: { generateName: "subject." },
          involvedObject: {
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "subject",
            namespace: ns,
            uid: cm.metadata?.uid ?? ""
          },
          reason: "Tested",
          message: "an event from the cluster agent tests",
          type: "Normal",
          source: { component: "datadog-cluster-agent" },
          firstTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z"),
          lastTimestamp: now.toISOString().replace(/\.\d+Z$/, "Z"),
          count: 1,
          eventTime: formatMicroTime(now),
          action: "Test",
          reportingComponent: "datadog-cluster-agent",
          reportingInstance: "test"
        })
        expect(event.metadata?.name).toMatch(/^subject\./)
        const listed = yield* kube.list(
          { group: "", version: "v1", resource: "events", namespace: ns },
          { fieldSelector: "involvedObject.name=subject" }
        )
        expect(listed.items.map((e) => e.metadata?.name)).toEqual([event.metadata?.name])
      })
    )
  )

  it.live("honours tls-server-name and refuses a server whose certificate does not match", () =>
    Effect.gen(function* () {
      const good = variant((c) => {
        c["tls-server-name"] = "kubernetes.default.svc"
      })
      expect((yield* withKube((kube) => kube.serverVersion(), good)).major).toBe("1")

      const wrong = variant((c) => {
        c["tls-server-name"] = "not-the-apiserver.example"
      })
      const e = yield* Effect.flip(withKube((kube) => kube.serverVersion(), wrong))
      expect(e).toBeInstanceOf(KubeError)
      if (!(e instanceof KubeError)) return
      expect(e.reason).toBe("Transport")
      expect(e.detail).toMatch(/altnames|ERR_TLS_CERT_ALTNAME_INVALID/)

      const insecure = variant((c) => {
        delete c["certificate-authority-data"]
        c["insecure-skip-tls-verify"] = true
      })
      expect((yield* withKube((kube) => kube.serverVersion(), insecure)).major).toBe("1")

      const unknownCa = variant((c) => {
        delete c["certificate-authority-data"]
      })
      const untrusted = yield* Effect.flip(withKube((kube) => kube.serverVersion(), unknownCa))
      expect(untrusted).toMatchObject({ _tag: "KubeError", reason: "Transport" })
    })
  )

  it.live("a missing kubeconfig fails the layer with a clear KubeConfigError", () =>
    Effect.gen(function* () {
      const path = Path.join(Os.tmpdir(), "dca-no-such-kubeconfig")
      const e = yield* Effect.flip(withKube((kube) => kube.serverVersion(), path))
      expect(e).toMatchObject({ _tag: "KubeConfigError" })
      expect(e.message).toBe(`DD_KUBERNETES_KUBECONFIG_PATH=${path}: file not found`)
    })
  )
})
