/**
 * The external metrics API over real TLS, with a fake KubeClient behind its delegated
 * authentication: who gets in (front proxy, client certificate, token), who is refused, what
 * the reviews cost, and the trust following the ConfigMap.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { PrometheusMetrics } from "effect/observability"
import { fakeKubeClient } from "../../../dev/fakeKubeClient.ts"
import { KubeError } from "../../../src/layers/KubeClient.ts"
import type { ConfigMap, SubjectAccessReview, TokenReview } from "../../../src/layers/kube/types.ts"
import { createCertificate, generateKeyPair } from "../../../src/lib/x509.ts"
import { type ExternalMetricsApiShape, makeExternalMetricsApi } from "../../../src/services/ExternalMetricsApi.ts"
import { Health } from "../../../src/services/Health.ts"
import { captureLogs } from "../../support/effectTest.ts"
import { parsePrometheus } from "../../support/prometheus.ts"
import { request, requestH2 } from "./client.ts"
import { issueClient, makeCa } from "./pki.ts"
import { entry, staticServed } from "./staticServed.ts"

const servingKey = generateKeyPair("ec-p256")
const certificate = {
  certPem: createCertificate({
    subject: { commonName: "localhost" },
    publicKey: servingKey.publicKey,
    signingKey: servingKey.privateKey,
    isCA: false,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    extKeyUsage: ["serverAuth"],
    validityDays: 30
  }),
  keyPem: servingKey.privateKeyPem,
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1"]
}

const clientCa = makeCa("client-ca")
const frontProxyCa = makeCa("front-proxy-ca")
const frontProxy = issueClient("front-proxy-client", [], frontProxyCa)
const admin = issueClient("admin", ["system:masters"], clientCa)
const carol = issueClient("carol", ["readers"], clientCa)
const selfSigned = issueClient("front-proxy-client")

const authData = (proxyCa = frontProxyCa) => ({
  "client-ca-file": clientCa.certPem,
  "requestheader-client-ca-file": proxyCa.certPem,
  "requestheader-allowed-names": '["front-proxy-client"]',
  "requestheader-username-headers": '["X-Remote-User"]',
  "requestheader-group-headers": '["X-Remote-Group"]',
  "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]'
})

const metricPath = "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/nginx.net.request_per_s"
const selectorPath = `${metricPath}?labelSelector=kube_container_name%3Dnginx`

interface Fake {
  configMap: ConfigMap | KubeError
  tokens: Record<string, { user: string; groups: Array<string> }>
  /** user → allowed; absent: denied. */
  allowed: Set<string>
  sarFails: boolean
  tokenReviewFails: boolean
  readonly tokenReviews: Array<string>
  readonly sars: Array<SubjectAccessReview["spec"]>
  configMapReads: number
}

const makeFake = (): Fake => ({
  configMap: { metadata: { name: "extension-apiserver-authentication", namespace: "kube-system" }, data: authData() },
  tokens: {},
  allowed: new Set(),
  sarFails: false,
  tokenReviewFails: false,
  tokenReviews: [],
  sars: [],
  configMapReads: 0
})

const kubeFor = (fake: Fake) =>
  fakeKubeClient({
    getConfigMap: () =>
      Effect.suspend(() => {
        fake.configMapReads++
        return fake.configMap instanceof KubeError ? Effect.fail(fake.configMap) : Effect.succeed(fake.configMap)
      }),
    createTokenReview: (review: TokenReview) =>
      Effect.suspend(() => {
        fake.tokenReviews.push(review.spec.token.slice(0, 4))
        if (fake.tokenReviewFails) {
          return Effect.fail(
            new KubeError({ reason: "Transport", verb: "POST", path: "/tokenreviews", detail: "ECONNREFUSED" })
          )
        }
        const known = fake.tokens[review.spec.token]
        return Effect.succeed({
          ...review,
          status:
            known === undefined
              ? { authenticated: false, error: "invalid bearer token" }
              : { authenticated: true, user: { username: known.user, groups: known.groups } }
        })
      }),
    createSubjectAccessReview: (review: SubjectAccessReview) =>
      Effect.suspend(() => {
        fake.sars.push(review.spec)
        if (fake.sarFails) {
          return Effect.fail(
            new KubeError({
              reason: "Forbidden",
              verb: "POST",
              path: "/subjectaccessreviews",
              status: 403,
              detail: "forbidden"
            })
          )
        }
        const allowed = fake.allowed.has(review.spec.user ?? "")
        return Effect.succeed({
          ...review,
          status: allowed ? { allowed: true } : { allowed: false, reason: "no RBAC policy matched" }
        })
      })
  })

const served = staticServed([
  entry("nginx.net.request_per_s", { kube_container_name: "nginx" }, 2.5),
  entry("nginx.net.request_per_s", { kube_container_name: "api" }, 4)
])

/** Runs `body` against a live server over `fake`. */
const withServer = <A>(fake: Fake, body: (api: ExternalMetricsApiShape) => Promise<A>) =>
  Effect.gen(function* () {
    const api = yield* makeExternalMetricsApi({
      port: 0,
      host: "127.0.0.1",
      certificate,
      served,
      kube: kubeFor(fake)
    })
    return yield* Effect.promise(() => body(api))
  })

const proxied = (user: string, groups: ReadonlyArray<string> = []) => ({
  cert: frontProxy,
  headers: { "X-Remote-User": user, "X-Remote-Group": groups, "X-Remote-Extra-Scopes": "s1" }
})

describe("ExternalMetricsApi over TLS", () => {
  it.live("health paths need no credentials", () =>
    withServer(makeFake(), async ({ port }) => {
      for (const path of ["/healthz", "/livez", "/readyz"]) {
        expect(await request(port, path)).toMatchObject({ status: 200, body: "ok" })
      }
    })
  )

  it.live("the aggregator (front-proxy certificate, system:masters) is served without a review", () => {
    const fake = makeFake()
    return withServer(fake, async ({ port }) => {
      const answer = await request(port, selectorPath, proxied("system:kube-aggregator", ["system:masters"]))
      expect(answer.status).toBe(200)
      expect(answer.json.items).toEqual([
        {
          metricName: "nginx.net.request_per_s",
          metricLabels: { kube_container_name: "nginx" },
          timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          value: "2500m"
        }
      ])
      const discovery = await request(port, "/apis/external.metrics.k8s.io/v1beta1", proxied("x", ["system:masters"]))
      expect(discovery.json.resources.map((r: { name: string }) => r.name)).toEqual([
        "externalmetrics",
        "nginx.net.request_per_s"
      ])
      expect(fake.sars).toEqual([])
      expect(fake.tokenReviews).toEqual([])
    })
  })

  it.live("a proxied user is authorized by one cached SubjectAccessReview carrying groups and extra", () => {
    const fake = makeFake()
    fake.allowed.add("system:serviceaccount:kube-system:horizontal-pod-autoscaler")
    return withServer(fake, async ({ port }) => {
      const hpa = proxied("system:serviceaccount:kube-system:horizontal-pod-autoscaler", [
        "system:serviceaccounts",
        "system:authenticated"
      ])
      for (let i = 0; i < 5; i++) expect((await request(port, selectorPath, hpa)).status).toBe(200)
      expect(fake.sars).toEqual([
        {
          user: "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
          groups: ["system:serviceaccounts", "system:authenticated"],
          extra: { scopes: ["s1"] },
          resourceAttributes: {
            namespace: "default",
            verb: "list",
            group: "external.metrics.k8s.io",
            version: "v1beta1",
            resource: "nginx.net.request_per_s"
          }
        }
      ])
    })
  })

  it.live("a denied user gets 403 in the API server's words, and the deny is cached", () => {
    const fake = makeFake()
    return withServer(fake, async ({ port }) => {
      for (let i = 0; i < 3; i++) {
        const answer = await request(port, selectorPath, proxied("mallory"))
        expect(answer.status).toBe(403)
        expect(answer.json).toEqual({
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message:
            'nginx.net.request_per_s.external.metrics.k8s.io is forbidden: User "mallory" cannot list resource "nginx.net.request_per_s" in API group "external.metrics.k8s.io" in the namespace "default": no RBAC policy matched',
          reason: "Forbidden",
          code: 403
        })
      }
      expect(fake.sars).toHaveLength(1)
      const discovery = await request(port, "/apis", proxied("mallory"))
      expect(discovery.status).toBe(403)
      expect(discovery.json.message).toBe('forbidden: User "mallory" cannot get path "/apis": no RBAC policy matched')
    })
  })

  it.live("X-Remote-* headers without the front proxy's certificate are ignored: 401", () => {
    const fake = makeFake()
    return withServer(fake, async ({ port }) => {
      const forged = { "X-Remote-User": "system:kube-aggregator", "X-Remote-Group": "system:masters" }
      const unauthorized = {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        code: 401
      }
      expect(await request(port, selectorPath)).toMatchObject({ status: 401, json: unauthorized })
      expect(await request(port, selectorPath, { headers: forged })).toMatchObject({ status: 401, json: unauthorized })
      expect(await request(port, selectorPath, { headers: forged, cert: selfSigned })).toMatchObject({ status: 401 })
      // A client-CA certificate authenticates as itself, whatever the headers say.
      expect(await request(port, selectorPath, { headers: forged, cert: carol })).toMatchObject({ status: 403 })
      expect(fake.sars.map((s) => [s.user, s.groups])).toEqual([["carol", ["readers", "system:authenticated"]]])
    })
  })

  it.live("a client-CA certificate is its CN and O: system:masters needs no review", () => {
    const fake = makeFake()
    return withServer(fake, async ({ port }) => {
      expect((await request(port, selectorPath, { cert: admin })).status).toBe(200)
      expect(fake.sars).toEqual([])
    })
  })

  it.live("a bearer token is reviewed once per 10 s, then authorized", () => {
    const fake = makeFake()
    fake.tokens["sa-token-1"] = { user: "system:serviceaccount:ns:reader", groups: ["system:serviceaccounts"] }
    fake.allowed.add("system:serviceaccount:ns:reader")
    return withServer(fake, async ({ port }) => {
      const auth = { headers: { Authorization: "Bearer sa-token-1" } }
      for (let i = 0; i < 4; i++) expect((await request(port, selectorPath, auth)).status).toBe(200)
      expect(fake.tokenReviews).toEqual(["sa-t"])
      expect(fake.sars).toHaveLength(1)
      expect((await request(port, selectorPath, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401)
      expect((await request(port, selectorPath, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401)
      expect(fake.tokenReviews).toEqual(["sa-t", "wron"])
    })
  })

  it.live("a review that cannot be made: token → 401, access → 500, never an allow", () => {
    const fake = makeFake()
    fake.tokenReviewFails = true
    fake.sarFails = true
    const logs = captureLogs()
    return withServer(fake, async ({ port }) => {
      expect((await request(port, selectorPath, { headers: { Authorization: "Bearer t" } })).status).toBe(401)
      const failed = await request(port, selectorPath, proxied("hpa"))
      expect(failed.status).toBe(500)
      expect(failed.json).toMatchObject({
        kind: "Status",
        reason: "InternalError",
        code: 500,
        message: expect.stringContaining("system:auth-delegator")
      })
      // Not cached: the next request tries again.
      await request(port, selectorPath, proxied("hpa"))
      expect(fake.sars).toHaveLength(2)
      expect(logs.lines.map((l) => l.message)).toEqual(
        expect.arrayContaining(["external metrics API: token review failed"])
      )
      expect(JSON.stringify(logs.lines)).not.toContain("Bearer")
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("serves HTTP/2 clients the same way", () =>
    withServer(makeFake(), async ({ port }) => {
      const h2 = await requestH2(port, selectorPath, {
        cert: frontProxy,
        headers: { "x-remote-user": "agg", "x-remote-group": "system:masters" }
      })
      expect(h2.status).toBe(200)
      expect(h2.json.items[0].value).toBe("2500m")
      expect((await requestH2(port, selectorPath, { headers: { "x-remote-user": "agg" } })).status).toBe(401)
    })
  )

  it.live("HEAD answers the headers of GET without a body", () =>
    withServer(makeFake(), async ({ port }) => {
      const head = await request(port, "/apis", { ...proxied("a", ["system:masters"]), method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.body).toBe("")
      expect(Number(head.headers["content-length"])).toBeGreaterThan(0)
    })
  )

  it.live("follows the front-proxy CA when the ConfigMap changes (the TLS context too)", () => {
    const fake = makeFake()
    return withServer(fake, async ({ port, refreshAuthentication }) => {
      const asAggregator = proxied("agg", ["system:masters"])
      expect((await request(port, selectorPath, asAggregator)).status).toBe(200)
      const rotated = makeCa("front-proxy-ca-2")
      const newProxy = issueClient("front-proxy-client", [], rotated)
      fake.configMap = { metadata: { name: "extension-apiserver-authentication" }, data: authData(rotated) }
      expect(await Effect.runPromise(refreshAuthentication)).toBe(true)
      expect((await request(port, selectorPath, asAggregator)).status).toBe(401)
      expect((await request(port, selectorPath, { ...asAggregator, cert: newProxy })).status).toBe(200)
    })
  })

  it.live("without the ConfigMap (403) it says which RoleBinding to add, and still takes tokens", () => {
    const fake = makeFake()
    fake.configMap = new KubeError({
      reason: "Forbidden",
      verb: "GET",
      path: "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
      status: 403,
      detail: "forbidden"
    })
    fake.tokens.tok = { user: "admin-sa", groups: ["system:masters"] }
    const logs = captureLogs()
    return withServer(fake, async ({ port }) => {
      const error = logs.lines.find((l) => l.level === "Error")
      expect(error?.message).toMatch(/RoleBinding .* Role extension-apiserver-authentication-reader/)
      expect((await request(port, selectorPath, proxied("agg", ["system:masters"]))).status).toBe(401)
      expect((await request(port, selectorPath, { headers: { Authorization: "Bearer tok" } })).status).toBe(200)
    }).pipe(Effect.provide(logs.layer))
  })

  it.live("counts requests by handler and status, and reports ready once listening", () =>
    Effect.gen(function* () {
      const health = yield* Health.make
      const api = yield* makeExternalMetricsApi({
        port: 0,
        host: "127.0.0.1",
        certificate,
        served,
        kube: kubeFor(makeFake()),
        health
      })
      expect(yield* health.report("ready")).toEqual({ Healthy: ["external-metrics-api"], Unhealthy: [] })
      yield* Effect.promise(async () => {
        await request(api.port, selectorPath, proxied("agg", ["system:masters"]))
        await request(api.port, selectorPath)
        await request(api.port, "/nope", proxied("agg", ["system:masters"]))
      })
      const samples = parsePrometheus(yield* PrometheusMetrics.format()).samples.filter(
        (s) => s.name === "external_metrics_api_requests"
      )
      const count = (handler: string, status: string) =>
        samples.find((s) => s.labels.handler === handler && s.labels.status === status)?.value ?? 0
      expect(count("externalMetric", "200")).toBeGreaterThanOrEqual(1)
      expect(count("externalMetric", "401")).toBeGreaterThanOrEqual(1)
      expect(count("unknown", "404")).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(Layer.empty))
  )
})
