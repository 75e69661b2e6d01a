// HTTP to one API server over one keep-alive agent: lists, writes and watches share its
// connection pool (client-node 2.0.1 builds a new undici Agent per call; notes A6). node:https
// speaks HTTP/1.1, so each open watch holds one connection; ordinary requests reuse idle ones.
// TLS material is read once (credentials.ts); the Authorization header is computed per request
// (auth.ts). Ordinary requests are bounded by the client timeout; watches are not (the server's
// timeoutSeconds ends them, and an idle watchdog belongs to the watch loop).
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from "node:http"
import * as Https from "node:https"
import * as Zlib from "node:zlib"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { nodeHttp } from "../../lib/builtins.ts"
import { type Authorizer, makeAuthorizer } from "./auth.ts"
import type { Credentials } from "./credentials.ts"
import { KubeError } from "./errors.ts"

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE"

export interface RequestSpec {
  readonly method: Method
  /** Path and query, below the server URL. */
  readonly path: string
  /** Sent as JSON. */
  readonly body?: unknown
  readonly accept?: string
  /** How the request is named in errors (defaults to the method; "WATCH" for watches). */
  readonly verb?: string
}

export interface HttpResponse {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

export interface Connections {
  /** Sockets carrying a request or a watch. */
  readonly active: number
  /** Keep-alive sockets waiting for the next request. */
  readonly idle: number
}

export interface Transport {
  readonly server: string
  /** A buffered request/response, bounded by the client timeout. Any status is a success here. */
  readonly send: (spec: RequestSpec) => Effect.Effect<HttpResponse, KubeError>
  /**
   * A request whose response body is read as it arrives. Closing the scope aborts the request
   * and destroys its socket (unless the response already ended and the socket went back to the pool).
   */
  readonly open: (spec: RequestSpec) => Effect.Effect<IncomingMessage, KubeError, Scope.Scope>
  readonly connections: Effect.Effect<Connections>
}

export interface TransportOptions {
  readonly timeout: Duration.Duration
  readonly userAgent: string
}

const countSockets = (sockets: NodeJS.ReadOnlyDict<ReadonlyArray<unknown>>): number =>
  Object.values(sockets).reduce((n, list) => n + (list?.length ?? 0), 0)

const transportError = (spec: RequestSpec, detail: string) =>
  new KubeError({ reason: "Transport", verb: spec.verb ?? spec.method, path: spec.path, detail })

const describeSocketError = (e: NodeJS.ErrnoException): string =>
  e.code !== undefined && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message

/** Builds the transport and its agent; the agent's sockets are closed with the scope. */
export const makeTransport = (
  credentials: Credentials,
  options: TransportOptions
): Effect.Effect<Transport, never, Scope.Scope> =>
  Effect.gen(function* () {
    const url = new URL(credentials.server)
    const secure = url.protocol === "https:"
    const agentOptions: Https.AgentOptions = {
      keepAlive: true,
      // TCP keep-alive probes after 30 s of silence, like client-go: a dead peer behind a
      // load balancer is noticed instead of hanging a watch forever.
      keepAliveMsecs: 30_000,
      scheduling: "lifo",
      ...credentials.tls
    }
    const agent = yield* Effect.acquireRelease(
      Effect.sync(() => (secure ? new Https.Agent(agentOptions) : new (nodeHttp().Agent)(agentOptions))),
      (a) => Effect.sync(() => a.destroy())
    )
    const request = secure ? Https.request : nodeHttp().request
    const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1")
    const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port)
    const basePath = url.pathname.replace(/\/+$/, "")
    const authorize: Authorizer = makeAuthorizer(credentials.auth)

    const headersFor = Effect.fn("KubeTransport.headers")(function* (spec: RequestSpec, body: Buffer | undefined) {
      const authorization = yield* Effect.tryPromise({
        try: () => authorize(),
        catch: (e) => transportError(spec, (e as Error).message)
      })
      const headers: Record<string, string | number> = {
        Accept: spec.accept ?? "application/json",
        "User-Agent": options.userAgent
      }
      if (authorization !== undefined) headers.Authorization = authorization
      if (credentials.impersonate !== undefined) headers["Impersonate-User"] = credentials.impersonate
      if (body !== undefined) {
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = body.length
      }
      return headers
    })

    const start = (spec: RequestSpec, headers: Record<string, string | number>, signal?: AbortSignal) =>
      request({
        agent,
        hostname,
        port,
        method: spec.method,
        path: `${basePath}${spec.path}`,
        headers,
        ...(signal === undefined ? {} : { signal })
      })

    const encode = (spec: RequestSpec): Buffer | undefined =>
      spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body))

    const timeoutError = (spec: RequestSpec) =>
      new KubeError({
        reason: "Timeout",
        verb: spec.verb ?? spec.method,
        path: spec.path,
        detail: `no answer within ${Duration.format(options.timeout)}`
      })

    const send = (spec: RequestSpec): Effect.Effect<HttpResponse, KubeError> =>
      Effect.gen(function* () {
        const body = encode(spec)
        const headers = yield* headersFor(spec, body)
        headers["Accept-Encoding"] = "gzip"
        return yield* Effect.callback<HttpResponse, KubeError>((resume, signal) => {
          const fail = (detail: string) => resume(Effect.fail(transportError(spec, detail)))
          const attempt = (mayRetry: boolean) => {
            let responded = false
            const req = start(spec, headers, signal)
            req.on("response", (res) => {
              responded = true
              const chunks: Array<Buffer> = []
              res.on("data", (c: Buffer) => chunks.push(c))
              res.on("error", (e) => fail(`response broken: ${describeSocketError(e)}`))
              res.on("end", () => {
                const raw = Buffer.concat(chunks)
                const done = (b: Buffer) =>
                  resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: b }))
                if (res.headers["content-encoding"] === "gzip") {
                  Zlib.gunzip(raw, (e, b) => (e === null ? done(b) : fail(`bad gzip body: ${e.message}`)))
                } else {
                  done(raw)
                }
              })
            })
            req.on("error", (e: NodeJS.ErrnoException) => {
              if (signal.aborted) return
              // A kept-alive socket the server closed while idle fails the next request before any
              // answer; the request never reached the server, so one retry on a fresh socket is safe.
              if (mayRetry && !responded && req.reusedSocket && e.code === "ECONNRESET") return attempt(false)
              fail(describeSocketError(e))
            })
            req.end(body)
          }
          attempt(true)
        })
      }).pipe(
        Effect.timeoutOrElse({
          duration: options.timeout,
          orElse: () => Effect.fail(timeoutError(spec))
        })
      )

    const open = (spec: RequestSpec): Effect.Effect<IncomingMessage, KubeError, Scope.Scope> =>
      Effect.gen(function* () {
        const body = encode(spec)
        const headers = yield* headersFor(spec, body)
        const handle: { req?: ClientRequest } = {}
        // Added before the request exists, so an interruption at any point aborts it.
        yield* Effect.addFinalizer(() => Effect.sync(() => handle.req?.destroy()))
        return yield* Effect.callback<IncomingMessage, KubeError>((resume) => {
          const req = start(spec, headers)
          handle.req = req
          req.on("response", (res) => resume(Effect.succeed(res)))
          // Stays attached for the life of the request: errors after the response are reported
          // by the response stream; an unhandled 'error' would crash the process.
          req.on("error", (e: NodeJS.ErrnoException) =>
            resume(Effect.fail(transportError(spec, describeSocketError(e))))
          )
          req.end(body)
        })
      })

    return {
      server: credentials.server,
      send,
      open,
      connections: Effect.sync(() => ({ active: countSockets(agent.sockets), idle: countSockets(agent.freeSockets) }))
    } satisfies Transport
  })
