// The request listener: route, authenticate, authorize, answer. Health paths skip both checks;
// everything else needs a user (401), a decision (403, or 500 when the review cannot be made),
// then the pure handler answers from memory.
import type * as Http from "node:http"
import type * as Http2 from "node:http2"
import type { TLSSocket } from "node:tls"
import type { AuthConfig } from "./authConfig.ts"
import { authenticate, type Headers, type TokenReviewResult, type User } from "./authenticate.ts"
import { type Authorizable, type Decision, forbiddenMessage } from "./authorize.ts"
import { type HandlerSources, handle } from "./handler.ts"
import { peerCertificate } from "./peer.ts"
import { requestInfo } from "./requestInfo.ts"
import { type ApiResponse, statusError, unauthorized } from "./status.ts"

export interface ListenerDependencies {
  readonly sources: HandlerSources
  readonly authConfig: () => AuthConfig
  readonly reviewToken: (token: string) => Promise<TokenReviewResult>
  readonly authorize: (user: User, info: Authorizable) => Promise<Decision>
  /** Counts each answer, by route and status. */
  readonly record: (handler: string, status: number) => void
  /** Why a request was refused, or a review failed (never a credential). */
  readonly log: (level: "debug" | "warning", message: string, annotations: Record<string, unknown>) => void
}

type Request = Http.IncomingMessage | Http2.Http2ServerRequest
type Response = Http.ServerResponse | Http2.Http2ServerResponse

/** Every value of repeated headers, from the raw list (h2 and HTTP/1.1 alike). */
const distinctHeaders = (raw: ReadonlyArray<string>): Headers => {
  const headers: Record<string, Array<string>> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase()
    const value = raw[i + 1] as string
    const values = headers[name]
    if (values === undefined) headers[name] = [value]
    else values.push(value)
  }
  return headers
}

const tlsSocket = (req: Request): TLSSocket => ("stream" in req ? req.stream.session?.socket : req.socket) as TLSSocket

export const makeListener = (deps: ListenerDependencies) => {
  // A TokenReview that cannot be made leaves the request unauthenticated (401), as in
  // k8s.io/apiserver; the failure is logged (it says what to fix), and not cached.
  const reviewToken = (token: string): Promise<TokenReviewResult> =>
    deps.reviewToken(token).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e)
      deps.log("warning", "external metrics API: token review failed", { error: message })
      return { _tag: "Rejected", why: message }
    })
  return (req: Request, res: Response) => listen(deps, reviewToken, req, res)
}

const listen = (
  deps: ListenerDependencies,
  reviewToken: (token: string) => Promise<TokenReviewResult>,
  req: Request,
  res: Response
) => {
  const url = req.url ?? "/"
  const q = url.indexOf("?")
  const path = q === -1 ? url : url.slice(0, q)
  const query = new URLSearchParams(q === -1 ? "" : url.slice(q + 1))
  const method = req.method ?? "GET"
  const info = requestInfo(method, path, query)

  const send = (r: ApiResponse) => {
    if (res.headersSent || res.destroyed) return
    deps.record(info.route, r.status)
    const headers = { ...r.headers, "content-length": String(Buffer.byteLength(r.body)) }
    ;(res as Http.ServerResponse).writeHead(r.status, headers)
    if (method === "HEAD") res.end()
    else res.end(r.body)
  }
  const answer = () => handle(info, { method, query, accept: req.headers.accept }, deps.sources)
  const crashed = (e: unknown) => {
    deps.log("warning", "external metrics API: request failed", { path, error: String(e) })
    send(statusError(500, "InternalError", "Internal error occurred: the request could not be served"))
  }

  try {
    if (info._tag === "Health") return send(answer())
    const headers = distinctHeaders(req.rawHeaders)
    const peer = peerCertificate(tlsSocket(req))
    authenticate({ peer, headers }, deps.authConfig(), reviewToken)
      .then(async (authn) => {
        if (authn._tag === "Unauthenticated") {
          deps.log("debug", "external metrics API: unauthenticated request", { path, why: authn.why })
          return send(unauthorized)
        }
        const decision = await deps.authorize(authn.user, info)
        switch (decision._tag) {
          case "Allowed":
            return send(answer())
          case "Denied":
            deps.log("debug", "external metrics API: forbidden", { path, user: authn.user.name })
            return send(statusError(403, "Forbidden", forbiddenMessage(authn.user, info, decision.reason)))
          case "Failed":
            // Like k8s.io/apiserver: an authorizer error is a 500, never an allow.
            deps.log("warning", "external metrics API: authorization check failed", { path, error: decision.detail })
            return send(
              statusError(
                500,
                "InternalError",
                `Internal error occurred: authorization check failed: ${decision.detail}`
              )
            )
        }
      })
      .catch(crashed)
  } catch (e) {
    crashed(e)
  }
}
