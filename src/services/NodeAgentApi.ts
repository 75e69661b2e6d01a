// The command port (DD_CLUSTER_AGENT_CMD_PORT, 5005): HTTPS only, TLS >= 1.2, HTTP/1.1 for node
// agents and the CLI, and HTTP/2 on the same socket so that gRPC calls of the newest node agents
// get a proper gRPC UNIMPLEMENTED and they fall back to polling (contract §1.1). Requests are
// answered from memory by the pure handler in nodeAgentApi/handlers.ts; the API server is never
// called per node-agent request (the cluster ID is read once and cached; only the CLI's status
// page reads the event token ConfigMap).
import type * as Http2 from "node:http2"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { AuthTokens } from "../layers/AuthTokens.ts"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { listenAlpn } from "../lib/alpnServer.ts"
import { version } from "../version.ts"
import { ClusterId } from "./ClusterId.ts"
import { Flare } from "./flare/Flare.ts"
import { MetadataMapper } from "./MetadataMapper.ts"
import { tokenBytes } from "./nodeAgentApi/auth.ts"
import { makeServingCertificate } from "./nodeAgentApi/certificate.ts"
import { type ApiResponse, type ApiSources, handle, textError } from "./nodeAgentApi/handlers.ts"
import { Status } from "./Status.ts"
import { statusJson } from "./status/model.ts"
import { renderStatusText } from "./status/render.ts"

export class NodeAgentApiError extends Schema.TaggedError<NodeAgentApiError>()("NodeAgentApiError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

const apiRequests = Metric.counter("api_requests", {
  description: "Requests to the command port, by handler and status"
})

/** gRPC status UNIMPLEMENTED, sent as a trailers-only response (headers with END_STREAM). */
const grpcUnimplemented = (stream: Http2.ServerHttp2Stream) => {
  if (stream.destroyed || stream.headersSent) return
  stream.respond(
    {
      ":status": 200,
      "content-type": "application/grpc",
      "grpc-status": "12",
      "grpc-message": "gRPC is not served by this cluster agent; use the REST API"
    },
    { endStream: true }
  )
}

type Request = Http2.Http2ServerRequest
type Response = Http2.Http2ServerResponse

/** A request listener over the pure handler; `record` counts each answer. */
export const makeRequestListener =
  (sources: ApiSources, record: (handler: string, status: number) => void) => (req: Request, res: Response) => {
    if (req.httpVersionMajor === 2 && (req.headers["content-type"] ?? "").startsWith("application/grpc")) {
      record("grpc", 200)
      return grpcUnimplemented(req.stream)
    }
    const send = (handler: string, r: ApiResponse) => {
      if (res.headersSent || res.destroyed) return
      record(handler, r.status)
      res.writeHead(r.status, { ...r.headers, "content-length": String(Buffer.byteLength(r.body)) })
      res.end(r.body)
    }
    const crashed = () => textError(500, "internal error")
    try {
      const handled = handle({ method: req.method, url: req.url, authorization: req.headers.authorization }, sources)
      if (handled.response instanceof Promise) {
        handled.response.then(
          (r) => send(handled.handler, r),
          () => send(handled.handler, crashed())
        )
      } else {
        send(handled.handler, handled.response)
      }
    } catch {
      send("panic", crashed())
    }
  }

export interface NodeAgentApiShape {
  /** The port actually bound (differs from the configured one only when that is 0 in tests). */
  readonly port: number
  /** The PEM of the serving certificate, for clients that pin it. */
  readonly certificatePem: string
}

export class NodeAgentApi extends Context.Service<NodeAgentApi, NodeAgentApiShape>()("dca/NodeAgentApi") {
  static readonly layer = Layer.effect(
    NodeAgentApi,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const tokens = yield* AuthTokens
      const mapper = yield* MetadataMapper
      const clusterId = yield* ClusterId
      // GET /status is served when the agent provides its Status (tests of the API alone do not).
      const status = yield* Effect.serviceOption(Status)
      // POST /flare is served when the agent provides a Flare (tests of the API alone do not).
      const flare = yield* Effect.serviceOption(Flare)
      const context = yield* Effect.context<never>()
      const certificate = yield* makeServingCertificate(config)

      const sources: ApiSources = {
        version,
        mapper,
        tokens: {
          cluster: tokenBytes(Redacted.value(tokens.cluster)),
          local: tokenBytes(Redacted.value(tokens.local))
        },
        clusterId: () =>
          Effect.runPromiseWith(context)(
            clusterId.get.pipe(
              Effect.map((id) => ({ id })),
              Effect.catch((e) => Effect.as(Effect.logWarning(e.message), { error: e.message }))
            )
          ),
        status: Option.match(status, {
          onNone: () => undefined,
          onSome: (st) => (format) =>
            Effect.runPromiseWith(context)(
              Effect.map(st.collect, (s) => (format === "text" ? renderStatusText(s) : statusJson(s)))
            )
        }),
        flare: Option.match(flare, {
          onNone: () => undefined,
          onSome: (f) => () =>
            Effect.runPromiseWith(context)(
              f.create.pipe(
                Effect.map((path) => ({ path })),
                Effect.catch((e) => Effect.succeed({ error: e.message }))
              )
            )
        })
      }
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

      // One TLS listener for HTTP/1.1 (node agents, the CLI) and h2 (gRPC clients); the
      // original closes connections idle for 60 s.
      const { port } = yield* listenAlpn({
        tls: { cert: certificate.certPem, key: certificate.keyPem, minVersion: "TLSv1.2" },
        listener: makeRequestListener(sources, record),
        port: config.cmdPort,
        idleTimeoutMs: 60_000
      }).pipe(
        Effect.mapError(
          (e) =>
            new NodeAgentApiError({
              detail: `DD_CLUSTER_AGENT_CMD_PORT=${config.cmdPort}: cannot listen: ${e.message}`
            })
        )
      )
      yield* Effect.logInfo("node-agent API listening").pipe(
        Effect.annotateLogs({
          port,
          certificate:
            config.clusterTrustChainCaCert === "" ? "self-signed" : `issued by ${config.clusterTrustChainCaCert}`,
          dnsNames: certificate.dnsNames.join(",")
        })
      )
      return NodeAgentApi.of({ port, certificatePem: certificate.certPem })
    })
  )
}
