// The Kubernetes External Metrics API (external.metrics.k8s.io/v1beta1) as an aggregated API
// server on DD_EXTERNAL_METRICS_PROVIDER_PORT (8443), HTTPS (contract §6.1, kubernetes-notes C).
// Requests are answered from the replica's copy of the metrics (ServedMetrics) without I/O;
// authentication and authorization are delegated to the API server like k8s.io/apiserver does,
// with TokenReview and SubjectAccessReview answers cached ~10 s so repeated requests cost no call.
// TLS requests client certificates (the aggregator's front-proxy certificate) without requiring
// them; the trusted CAs come from kube-system/extension-apiserver-authentication, re-read every
// 5 minutes, and the TLS context follows when they change.
import type * as Tls from "node:tls"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { KubeClient, type KubeClientShape } from "../layers/KubeClient.ts"
import { listenAlpn } from "../lib/alpnServer.ts"
import { ServedMetrics, type ServedMetricsShape } from "./externalMetrics/served.ts"
import { type AuthConfig, emptyAuthConfig, sameCas, trustedPems } from "./externalMetricsApi/authConfig.ts"
import { cachedTokenReview, type TokenReviewResult } from "./externalMetricsApi/authenticate.ts"
import { authorize, type ReviewResult } from "./externalMetricsApi/authorize.ts"
import { makeAuthSource } from "./externalMetricsApi/authSource.ts"
import { makeListener } from "./externalMetricsApi/listener.ts"
import { accessReviewer, tokenReviewer } from "./externalMetricsApi/reviews.ts"
import { makeTtlCache } from "./externalMetricsApi/ttlCache.ts"
import { Health } from "./Health.ts"
import { makeServingCertificate, type ServingCertificate } from "./nodeAgentApi/certificate.ts"

export class ExternalMetricsApiError extends Schema.TaggedError<ExternalMetricsApiError>()("ExternalMetricsApiError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

const apiRequests = Metric.counter("external_metrics_api_requests", {
  description: "Requests to the external metrics API, by handler and status"
})

export interface ExternalMetricsApiOptions {
  /** 0: a free port (tests). */
  readonly port: number
  /** Default 0.0.0.0. */
  readonly host?: string | undefined
  readonly certificate: ServingCertificate
  readonly served: ServedMetricsShape
  readonly kube: KubeClientShape
  /** Registers the readiness component `external-metrics-api`, healthy once listening. */
  readonly health?: Health["Service"] | undefined
  /** How often the authentication ConfigMap is re-read (default 5 minutes). */
  readonly authRefreshInterval?: Duration.Input | undefined
  /** How long TokenReview and SubjectAccessReview answers are kept (default 10 s). */
  readonly reviewCacheTtl?: Duration.Input | undefined
}

export interface ExternalMetricsApiShape {
  /** The port actually bound (differs from the configured one only when that is 0). */
  readonly port: number
  /** The PEM of the serving certificate (the APIService skips verifying it). */
  readonly certificatePem: string
  /** Re-reads the authentication ConfigMap now; true when the read succeeded. */
  readonly refreshAuthentication: Effect.Effect<boolean>
}

const reviewCacheSize = 10_000
const idleTimeoutMs = 120_000

/** The server over explicit dependencies; it stops listening when the scope closes. */
export const makeExternalMetricsApi = (
  options: ExternalMetricsApiOptions
): Effect.Effect<ExternalMetricsApiShape, ExternalMetricsApiError, Scope.Scope> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<never>()
    const clock = yield* Clock.Clock
    const now = () => clock.currentTimeMillisUnsafe()
    const run = <A>(effect: Effect.Effect<A>) => Effect.runPromiseWith(context)(effect)
    const ttl = Duration.toMillis(Duration.fromInputUnsafe(options.reviewCacheTtl ?? "10 seconds"))
    const { certificate } = options

    // One labelled counter per (handler, status), made once: this is the hot path.
    const counters = new Map<string, Metric.Metric<number, unknown>>()
    const record = (handler: string, status: number) => {
      const key = `${handler} ${status}`
      let counter = counters.get(key)
      if (counter === undefined) {
        counter = Metric.withAttributes(apiRequests, { handler, status: String(status) })
        counters.set(key, counter)
      }
      counter.updateUnsafe(1, context)
    }

    // With no CA known yet, the serving certificate stands in: nothing a client holds chains to
    // it, and node would otherwise trust (and advertise) its whole default root store.
    const secureContext = (config: AuthConfig): Tls.SecureContextOptions => {
      const cas = trustedPems(config)
      return {
        cert: certificate.certPem,
        key: certificate.keyPem,
        minVersion: "TLSv1.2",
        ca: cas.length === 0 ? [certificate.certPem] : [...cas]
      }
    }
    let authConfig = emptyAuthConfig
    let server: Tls.Server | undefined
    const authSource = makeAuthSource({
      kube: options.kube,
      interval: Duration.fromInputUnsafe(options.authRefreshInterval ?? "5 minutes"),
      onChange: (next) => {
        const casChanged = !sameCas(authConfig, next)
        authConfig = next
        if (casChanged) server?.setSecureContext(secureContext(next))
      }
    })
    // Read before listening, so the aggregator's first requests are recognised; a failure is
    // logged and retried in the background (bearer tokens work meanwhile).
    const firstRead = yield* authSource.refresh

    const tokenCache = makeTtlCache<TokenReviewResult>({ ttlMs: () => ttl, maxEntries: reviewCacheSize, now })
    const reviewCache = makeTtlCache<ReviewResult>({ ttlMs: () => ttl, maxEntries: reviewCacheSize, now })
    const reviewAccess = accessReviewer(options.kube, run)
    const logLevels = { debug: Effect.logDebug, warning: Effect.logWarning } as const
    const listener = makeListener({
      sources: { served: options.served, now },
      authConfig: () => authConfig,
      reviewToken: cachedTokenReview(tokenCache, tokenReviewer(options.kube, run)),
      authorize: (user, info) => authorize(user, info, reviewCache, reviewAccess),
      record,
      log: (level, message, annotations) => {
        Effect.runForkWith(context)(logLevels[level](message).pipe(Effect.annotateLogs(annotations)))
      }
    })

    // The aggregator speaks h2 and keeps its sessions open: they close after 2 minutes idle.
    const { port, server: tls } = yield* listenAlpn({
      tls: { ...secureContext(authConfig), requestCert: true, rejectUnauthorized: false },
      listener,
      port: options.port,
      host: options.host,
      idleTimeoutMs
    }).pipe(
      Effect.mapError(
        (e) =>
          new ExternalMetricsApiError({
            detail: `DD_EXTERNAL_METRICS_PROVIDER_PORT=${options.port}: cannot listen: ${e.message}`
          })
      )
    )
    server = tls
    yield* Effect.forkScoped(authSource.loop(firstRead))
    if (options.health !== undefined) {
      const handle = yield* options.health.register("external-metrics-api", ["ready"])
      yield* handle.set(true)
    }
    yield* Effect.logInfo("external metrics API listening").pipe(
      Effect.annotateLogs({ port, dnsNames: certificate.dnsNames.join(",") })
    )
    return { port, certificatePem: certificate.certPem, refreshAuthentication: authSource.refresh }
  })

export class ExternalMetricsApi extends Context.Service<ExternalMetricsApi, ExternalMetricsApiShape>()(
  "dca/ExternalMetricsApi"
) {
  static readonly layer: Layer.Layer<
    ExternalMetricsApi,
    ExternalMetricsApiError,
    ServedMetrics | KubeClient | ClusterAgentConfig | Health
  > = Layer.effect(
    ExternalMetricsApi,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const certificate = yield* makeServingCertificate(config).pipe(
        Effect.mapError((e) => new ExternalMetricsApiError({ detail: e.message }))
      )
      return ExternalMetricsApi.of(
        yield* makeExternalMetricsApi({
          port: config.externalMetricsPort,
          certificate,
          served: yield* ServedMetrics,
          kube: yield* KubeClient,
          health: yield* Health
        })
      )
    })
  )
}
