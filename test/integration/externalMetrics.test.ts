/**
 * The external metrics API behind the shared control plane's real aggregator: an APIService
 * `v1beta1.external.metrics.k8s.io` pointing (through an ExternalName Service to localhost) at a
 * server run in this process over a static ServedMetrics, authenticated as the cluster's admin.
 *
 * The APIService is cluster-scoped and there is only one: every test that needs it lives in
 * this file, and afterAll deletes it.
 */
import * as Https from "node:https"
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiCaller } from "../../dev/controlPlane/http.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { KubeClient } from "../../src/layers/KubeClient.ts"
import { createCertificate, generateKeyPair } from "../../src/lib/x509.ts"
import {
  ExternalMetricsApi,
  type ExternalMetricsApiShape,
  makeExternalMetricsApi
} from "../../src/services/ExternalMetricsApi.ts"
import { type Answer, request } from "../services/externalMetricsApi/client.ts"
import { issueClient } from "../services/externalMetricsApi/pki.ts"
import { entry, staticServed } from "../services/externalMetricsApi/staticServed.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { waitFor } from "../support/waitFor.ts"

const APISERVICE = "v1beta1.external.metrics.k8s.io"
const APISERVICES = "/apis/apiregistration.k8s.io/v1/apiservices"
const METRIC = "dca.test.queue_depth"
const aggregatedAccept =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

const served = staticServed([
  entry(METRIC, { queue: "jobs" }, 1234.5),
  entry(METRIC, { queue: "mail" }, 7, { valid: false, reason: "no data in the last 300 s" })
])

const servingKey = generateKeyPair("ec-p256")
const certificate = {
  certPem: createCertificate({
    subject: { commonName: "localhost" },
    publicKey: servingKey.publicKey,
    signingKey: servingKey.privateKey,
    isCA: false,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
    extKeyUsage: ["serverAuth"],
    validityDays: 30
  }),
  keyPem: servingKey.privateKeyPem,
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1", "::1"]
}

/** A request to the API server as the user of `kubeconfigPath`. */
const viaApiServer = async (kubeconfigPath: string, path: string, accept?: string): Promise<Answer> => {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfigPath)
  const options: Https.RequestOptions = {}
  await kc.applyToHTTPSOptions(options)
  const server = new URL(kc.getCurrentCluster()?.server ?? "")
  return new Promise<Answer>((resolve, reject) => {
    const req = Https.request(
      {
        ...options,
        host: server.hostname,
        port: server.port,
        path,
        method: "GET",
        agent: false,
        timeout: 10_000,
        headers: { ...(options.headers ?? {}), ...(accept === undefined ? {} : { accept }) }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          let json: unknown
          try {
            json = JSON.parse(body)
          } catch {
            json = undefined
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json })
        })
      }
    )
    req.on("timeout", () => req.destroy(new Error(`${path}: no answer in 10 s`)))
    req.on("error", reject)
    req.end()
  })
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN

describe.runIf(clusterAvailable)("ExternalMetricsApi behind the aggregator (real control plane)", () => {
  const cluster = useCluster()
  let runtime: ManagedRuntime.ManagedRuntime<ExternalMetricsApi, unknown>
  let api: ExternalMetricsApiShape
  let namespace = ""
  let core: CoreV1Api
  let rbac: RbacAuthorizationV1Api
  let readerKubeconfig = ""
  let strangerKubeconfig = ""
  const admin = (path: string, accept?: string) => viaApiServer(cluster.kubeconfigPath, path, accept)
  const metricPath = (ns: string, selector: string, name = METRIC) =>
    `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}/${name}?labelSelector=${encodeURIComponent(selector)}`

  /** A ServiceAccount's token from the TokenRequest API. */
  const serviceAccountToken = async (name: string) => {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } })
    const created = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 3600 } }
    })
    const token = created.status?.token ?? ""
    expect(token).not.toBe("")
    return token
  }

  /** A write to the API server as admin (client-node has no typed apiregistration client). */
  const fetchAsAdmin = (method: string, path: string, body?: unknown) =>
    apiCaller(cluster.server, cluster.adminTls)(method, path, body)

  beforeAll(async () => {
    const kc = cluster.kubeConfig
    core = kc.makeApiClient(CoreV1Api)
    rbac = kc.makeApiClient(RbacAuthorizationV1Api)
    namespace = await cluster.newNamespace("extmetrics")

    const kube = KubeClient.layer.pipe(
      Layer.provide(ClusterAgentConfig.fromEnv({ DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath }))
    )
    const server = Layer.effect(
      ExternalMetricsApi,
      Effect.gen(function* () {
        const kubeClient = yield* KubeClient
        return ExternalMetricsApi.of(
          yield* makeExternalMetricsApi({ port: 0, host: "127.0.0.1", certificate, served, kube: kubeClient })
        )
      })
    ).pipe(Layer.provide(kube))
    runtime = ManagedRuntime.make(server)
    api = await runtime.runPromise(
      Effect.gen(function* () {
        return yield* ExternalMetricsApi
      })
    )

    // Readers of external metrics in `namespace`: RBAC as the HPA's external-metrics-reader.
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "external-metrics-reader" },
        rules: [{ apiGroups: ["external.metrics.k8s.io"], resources: ["*"], verbs: ["get", "list", "watch"] }]
      }
    })
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "external-metrics-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "external-metrics-reader" },
        subjects: [
          { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "dca-metrics-reader" },
          { kind: "ServiceAccount", name: "reader", namespace }
        ]
      }
    })
    readerKubeconfig = await cluster.userKubeconfig("dca-metrics-reader")
    strangerKubeconfig = await cluster.userKubeconfig("dca-metrics-stranger")

    // The aggregator dials an ExternalName Service's name at the APIService's port (kubernetes-notes D2).
    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: "dca-metrics-api" },
        spec: { type: "ExternalName", externalName: "localhost", ports: [{ name: "metricsapi", port: api.port }] }
      }
    })
    const apiService = {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: APISERVICE },
      spec: {
        group: "external.metrics.k8s.io",
        version: "v1beta1",
        insecureSkipTLSVerify: true,
        groupPriorityMinimum: 100,
        versionPriority: 100,
        service: { name: "dca-metrics-api", namespace, port: api.port }
      }
    }
    // A leftover of an interrupted run is replaced.
    const existing = await admin(`${APISERVICES}/${APISERVICE}`)
    if (existing.status === 200) {
      await fetchAsAdmin("DELETE", `${APISERVICES}/${APISERVICE}`)
    }
    const created = await fetchAsAdmin("POST", APISERVICES, apiService)
    expect(created.status, created.body).toBe(201)
  }, 120_000)

  afterAll(async () => {
    await fetchAsAdmin("DELETE", `${APISERVICES}/${APISERVICE}`).catch(() => undefined)
    if (namespace !== "") {
      await core.deleteNamespacedService({ name: "dca-metrics-api", namespace }).catch(() => undefined)
    }
    await runtime?.dispose()
  }, 60_000)

  it("the APIService becomes Available", async () => {
    const condition = await waitFor(
      async () => {
        const res = await admin(`${APISERVICES}/${APISERVICE}`)
        const conditions = (res.json as { status?: { conditions?: Array<{ type: string; status: string }> } }).status
          ?.conditions
        const available = conditions?.find((c) => c.type === "Available")
        if (available?.status !== "True") throw new Error(JSON.stringify(available))
        return available
      },
      { timeoutMs: 90_000, intervalMs: 250, what: "APIService Available=True" }
    )
    expect(condition).toMatchObject({ type: "Available", status: "True" })
  }, 120_000)

  it("serves the value through the API server, as a quantity", async () => {
    const res = await waitFor(
      async () => {
        const r = await admin(metricPath("default", "queue=jobs"))
        return r.status === 200 ? r : undefined
      },
      { timeoutMs: 30_000, what: "the metric through the aggregator" }
    )
    expect(res.json).toEqual({
      kind: "ExternalMetricValueList",
      apiVersion: "external.metrics.k8s.io/v1beta1",
      metadata: {},
      items: [
        {
          metricName: METRIC,
          metricLabels: { queue: "jobs" },
          timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          value: "1234500m"
        }
      ]
    })
    // client-go lower-cases the name; the server matches it so.
    expect((await admin(metricPath("default", "queue=jobs", METRIC.toUpperCase()))).json.items).toHaveLength(1)
    // An invalid value is never served: the Status and its message pass through the aggregator.
    const invalid = await admin(metricPath("default", "queue=mail"))
    expect(invalid.status).toBe(503)
    expect(invalid.json).toMatchObject({
      kind: "Status",
      reason: "ServiceUnavailable",
      message: `external metric "${METRIC}" with labels {queue=mail} has no valid value: no data in the last 300 s`
    })
    const bad = await admin(metricPath("default", "queue in jobs"))
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ kind: "Status", reason: "BadRequest" })
  })

  it("kubectl's discovery through the API server lists the group, legacy and aggregated", async () => {
    const legacy = await admin("/apis")
    expect(legacy.status).toBe(200)
    expect((legacy.json as { groups: Array<{ name: string }> }).groups.map((g) => g.name)).toContain(
      "external.metrics.k8s.io"
    )
    const resources = await admin("/apis/external.metrics.k8s.io/v1beta1")
    expect((resources.json as { resources: Array<{ name: string }> }).resources.map((r) => r.name)).toEqual([
      "externalmetrics",
      METRIC
    ])
    // The aggregated document is merged by the aggregator from our legacy one (after our 406).
    const merged = await waitFor(
      async () => {
        const r = await admin("/apis", aggregatedAccept)
        expect(r.headers["content-type"]).toMatch(/apidiscovery\.k8s\.io/)
        const groups = (
          r.json as {
            items: Array<{
              metadata: { name: string }
              versions: Array<{ version: string; resources?: Array<{ resource: string }> }>
            }>
          }
        ).items
        const ours = groups.find((g) => g.metadata.name === "external.metrics.k8s.io")
        const names = ours?.versions.find((v) => v.version === "v1beta1")?.resources?.map((x) => x.resource) ?? []
        return names.includes(METRIC) ? names : undefined
      },
      { timeoutMs: 90_000, intervalMs: 500, what: "the group in the aggregated discovery" }
    )
    expect(merged).toEqual(["externalmetrics", METRIC])
  }, 120_000)

  it("a user with RBAC gets the value through the API server; one without gets 403", async () => {
    const allowed = await viaApiServer(readerKubeconfig, metricPath(namespace, "queue=jobs"))
    expect(allowed.status).toBe(200)
    expect(allowed.json.items[0].value).toBe("1234500m")
    const denied = await viaApiServer(strangerKubeconfig, metricPath(namespace, "queue=jobs"))
    expect(denied.status).toBe(403)
    expect(denied.json).toMatchObject({ kind: "Status", reason: "Forbidden" })
    expect(denied.json.message).toContain('User "dca-metrics-stranger" cannot list resource "dca.test.queue_depth"')
  })

  it("directly, without front-proxy certificate or token: 401, whatever the headers claim", async () => {
    const path = metricPath("default", "queue=jobs")
    expect(await request(api.port, path)).toMatchObject({ status: 401, json: { kind: "Status", code: 401 } })
    const selfSigned = issueClient("front-proxy-client", ["system:masters"])
    expect((await request(api.port, path, { cert: selfSigned })).status).toBe(401)
    const forged = { "X-Remote-User": "system:kube-aggregator", "X-Remote-Group": "system:masters" }
    expect((await request(api.port, path, { headers: forged })).status).toBe(401)
    expect((await request(api.port, path, { headers: forged, cert: selfSigned })).status).toBe(401)
    expect(await request(api.port, "/healthz")).toMatchObject({ status: 200, body: "ok" })
  })

  it("a ServiceAccount token is authenticated by TokenReview and authorized by SubjectAccessReview", async () => {
    const readerToken = await serviceAccountToken("reader")
    const strangerToken = await serviceAccountToken("stranger")
    const path = metricPath(namespace, "queue=jobs")
    const asReader = await request(api.port, path, { headers: { Authorization: `Bearer ${readerToken}` } })
    expect(asReader.status, asReader.body).toBe(200)
    expect(asReader.json.items[0].value).toBe("1234500m")
    const asStranger = await request(api.port, path, { headers: { Authorization: `Bearer ${strangerToken}` } })
    expect(asStranger.status).toBe(403)
    expect(asStranger.json.message).toBe(
      `dca.test.queue_depth.external.metrics.k8s.io is forbidden: User "system:serviceaccount:${namespace}:stranger" cannot list resource "dca.test.queue_depth" in API group "external.metrics.k8s.io" in the namespace "${namespace}"`
    )
    // The reader's Role is in its namespace only.
    expect(
      (
        await request(api.port, metricPath("default", "queue=jobs"), {
          headers: { Authorization: `Bearer ${readerToken}` }
        })
      ).status
    ).toBe(403)
    expect((await request(api.port, path, { headers: { Authorization: "Bearer not-a-token" } })).status).toBe(401)
  })

  it("answers repeated requests from memory (latency, local)", async () => {
    const token = await serviceAccountToken("bench")
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "bench" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "external-metrics-reader" },
        subjects: [{ kind: "ServiceAccount", name: "bench", namespace }]
      }
    })
    const agent = new Https.Agent({ keepAlive: true, maxSockets: 1 })
    const path = metricPath(namespace, "queue=jobs")
    const headers = { Authorization: `Bearer ${token}` }
    try {
      // The first request pays for the TokenReview and the SubjectAccessReview (RBAC may lag a moment).
      await waitFor(async () => (await request(api.port, path, { headers, agent })).status === 200, {
        timeoutMs: 15_000,
        what: "the bench ServiceAccount to be allowed"
      })
      const times: Array<number> = []
      for (let i = 0; i < 1000; i++) {
        const start = performance.now()
        const r = await request(api.port, path, { headers, agent })
        times.push(performance.now() - start)
        if (r.status !== 200) throw new Error(`request ${i}: ${r.status} ${r.body}`)
      }
      times.sort((a, b) => a - b)
      const p50 = percentile(times, 50)
      const p99 = percentile(times, 99)
      console.log(
        `external metrics API, token + SAR cached, keep-alive: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`
      )
      expect(p50).toBeLessThan(50)
    } finally {
      agent.destroy()
    }
  }, 60_000)
})
