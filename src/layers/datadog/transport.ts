// HTTP to Datadog on node:http/node:https, which the agent loads anyway (the API server client
// uses them): one keep-alive agent per (origin, proxy), closed with the scope. Through a proxy,
// https:// requests go through a CONNECT tunnel (TLS end to end with Datadog) and http://
// requests are sent to the proxy with an absolute URI, as Go's http.Transport does. Answers
// may be gzip- or deflate-compressed. Every request is bounded by the timeout, taken from the
// Effect clock. Any status is a success here: the client classifies answers.
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from "node:http"
import * as Https from "node:https"
import { isIP } from "node:net"
import type { Duplex } from "node:stream"
import * as Tls from "node:tls"
import * as Zlib from "node:zlib"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { nodeHttp } from "../../lib/builtins.ts"
import { DatadogApiError } from "./errors.ts"
import { describeProxy, type ProxySettings, proxyAuthorization, proxyFor } from "./proxy.ts"

export interface RequestSpec {
  readonly method: "GET" | "POST"
  /** `https://api.datadoghq.com`, or any base URL (with a path prefix, for relays). */
  readonly baseUrl: string
  /** The API path, e.g. `/api/v1/query`. */
  readonly endpoint: string
  readonly query?: Readonly<Record<string, string>>
  /** Extra headers (the keys). */
  readonly headers?: Readonly<Record<string, string>>
  /** A JSON text. */
  readonly body?: string
}

export interface HttpAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** The body, decompressed, as text. */
  readonly body: string
}

export interface TransportOptions {
  readonly timeout: Duration.Duration
  readonly userAgent: string
  readonly proxy: ProxySettings
  /** Extra trust for https:// (tests, TLS-intercepting relays). */
  readonly ca?: string | ReadonlyArray<string> | undefined
  /** Largest (decompressed) answer accepted; default 64 MiB. */
  readonly maxBodyBytes?: number | undefined
}

export interface Transport {
  readonly send: (spec: RequestSpec) => Effect.Effect<HttpAnswer, DatadogApiError>
}

const describeSocketError = (e: NodeJS.ErrnoException): string =>
  e.code !== undefined && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message

const portOf = (url: URL): number => (url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80)

const hostnameOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1")

/** An https agent whose connections are CONNECT tunnels through an http(s) proxy. */
export class TunnelAgent extends Https.Agent {
  readonly #proxy: URL

  constructor(proxy: URL, options: Https.AgentOptions) {
    super(options)
    this.#proxy = proxy
  }

  override createConnection(
    options: RequestOptions & Tls.ConnectionOptions,
    callback?: (err: Error | null, stream: Duplex) => void
  ): Duplex | null | undefined {
    const done = callback ?? (() => undefined)
    const fail = (detail: string) => done(new Error(detail), undefined as unknown as Duplex)
    const host = String(options.hostname ?? options.host ?? "localhost").replace(/^\[(.*)\]$/, "$1")
    const port = Number(options.port ?? 443)
    const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`
    const proxy = this.#proxy
    const auth = proxyAuthorization(proxy)
    const request = proxy.protocol === "https:" ? Https.request : nodeHttp().request
    const connect = request({
      hostname: hostnameOf(proxy),
      port: portOf(proxy),
      method: "CONNECT",
      path: authority,
      agent: false,
      headers: { host: authority, ...(auth === undefined ? {} : { "proxy-authorization": auth }) },
      ...(proxy.protocol === "https:" && options.ca !== undefined ? { ca: options.ca } : {})
    })
    connect.once("connect", (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy()
        return fail(`proxy ${describeProxy(proxy)} answered ${res.statusCode} to CONNECT ${authority}`)
      }
      if (head.length > 0) socket.unshift(head)
      // SNI names a host, never an address.
      const servername = options.servername ?? host
      const tlsSocket = Tls.connect({
        socket,
        host,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: options.rejectUnauthorized }),
        ...(servername === "" || isIP(servername) !== 0 ? {} : { servername })
      })
      done(null, tlsSocket)
    })
    connect.once("error", (e: NodeJS.ErrnoException) =>
      fail(`proxy ${describeProxy(proxy)}: CONNECT ${authority}: ${describeSocketError(e)}`)
    )
    connect.end()
    return undefined
  }
}

const decoders: Record<string, (b: Buffer, cb: (e: Error | null, out: Buffer) => void) => void> = {
  gzip: Zlib.gunzip,
  "x-gzip": Zlib.gunzip,
  deflate: Zlib.inflate,
  br: Zlib.brotliDecompress
}

/** Builds the transport; its agents' sockets are closed with the scope. */
export const makeTransport = (options: TransportOptions): Effect.Effect<Transport, never, Scope.Scope> =>
  Effect.gen(function* () {
    const maxBodyBytes = options.maxBodyBytes ?? 64 * 1024 * 1024
    const agents = new Map<string, import("node:http").Agent>()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        for (const agent of agents.values()) agent.destroy()
        agents.clear()
      })
    )
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: 30_000,
      maxSockets: 16,
      // Datadog's load balancers close idle connections; drop ours first.
      timeout: 60_000,
      scheduling: "lifo" as const
    }
    const ca = options.ca === undefined ? undefined : typeof options.ca === "string" ? options.ca : [...options.ca]
    const tls = ca === undefined ? {} : { ca }

    /** How a request to `target` is sent: which request function, agent, host, port and path. */
    const route = (target: URL) => {
      const proxy = proxyFor(target, options.proxy)
      const key = `${target.protocol}//${target.host}|${proxy?.href ?? ""}`
      const secure = target.protocol === "https:"
      let agent = agents.get(key)
      if (proxy === undefined || secure) {
        if (agent === undefined) {
          agent =
            proxy !== undefined
              ? new TunnelAgent(proxy, { ...agentOptions, ...tls })
              : secure
                ? new Https.Agent({ ...agentOptions, ...tls })
                : new (nodeHttp().Agent)(agentOptions)
          agents.set(key, agent)
        }
        return {
          request: secure ? Https.request : nodeHttp().request,
          agent,
          hostname: hostnameOf(target),
          port: portOf(target),
          absolute: false,
          proxyAuth: undefined as string | undefined
        }
      }
      // http:// through a proxy: the request goes to the proxy, with the absolute URI.
      const proxySecure = proxy.protocol === "https:"
      if (agent === undefined) {
        agent = proxySecure ? new Https.Agent({ ...agentOptions, ...tls }) : new (nodeHttp().Agent)(agentOptions)
        agents.set(key, agent)
      }
      return {
        request: proxySecure ? Https.request : nodeHttp().request,
        agent,
        hostname: hostnameOf(proxy),
        port: portOf(proxy),
        absolute: true,
        proxyAuth: proxyAuthorization(proxy)
      }
    }

    const send = (spec: RequestSpec): Effect.Effect<HttpAnswer, DatadogApiError> => {
      const transportError = (detail: string) =>
        new DatadogApiError({ reason: "Transport", method: spec.method, endpoint: spec.endpoint, detail })
      const url = new URL(`${spec.baseUrl.replace(/\/+$/, "")}${spec.endpoint}`)
      for (const [name, value] of Object.entries(spec.query ?? {})) url.searchParams.set(name, value)
      const body = spec.body === undefined ? undefined : Buffer.from(spec.body)
      return Effect.callback<HttpAnswer, DatadogApiError>((resume, signal) => {
        let r: ReturnType<typeof route>
        try {
          r = route(url)
        } catch (e) {
          return resume(Effect.fail(transportError(`bad proxy URL: ${(e as Error).message}`)))
        }
        const headers: Record<string, string | number> = {
          Accept: "application/json",
          "Accept-Encoding": "gzip, deflate",
          "User-Agent": options.userAgent,
          ...spec.headers
        }
        if (body !== undefined) {
          headers["Content-Type"] = "application/json"
          headers["Content-Length"] = body.length
        }
        if (r.absolute) headers.Host = url.host
        if (r.proxyAuth !== undefined) headers["Proxy-Authorization"] = r.proxyAuth
        const fail = (detail: string) => resume(Effect.fail(transportError(detail)))
        const attempt = (mayRetry: boolean) => {
          let responded = false
          const req: ClientRequest = r.request({
            agent: r.agent,
            hostname: r.hostname,
            port: r.port,
            method: spec.method,
            path: r.absolute ? url.href : `${url.pathname}${url.search}`,
            headers,
            signal
          })
          req.on("response", (res: IncomingMessage) => {
            responded = true
            const chunks: Array<Buffer> = []
            let size = 0
            res.on("data", (c: Buffer) => {
              size += c.length
              if (size > maxBodyBytes) {
                req.destroy()
                fail(`answer larger than ${maxBodyBytes} bytes`)
                return
              }
              chunks.push(c)
            })
            res.on("error", (e: NodeJS.ErrnoException) => fail(`answer broken: ${describeSocketError(e)}`))
            res.on("end", () => {
              if (size > maxBodyBytes) return
              const raw = Buffer.concat(chunks)
              // Resumed on the next turn: node:http returns the socket to the agent's free list
              // in a nextTick after 'end', and the caller's next request should find it there.
              const answer = (b: Buffer) =>
                setImmediate(() =>
                  resume(
                    Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: b.toString("utf8") })
                  )
                )
              const encoding = String(res.headers["content-encoding"] ?? "")
                .trim()
                .toLowerCase()
              const decode = decoders[encoding]
              if (decode === undefined || raw.length === 0) return answer(raw)
              decode(raw, (e, out) => (e === null ? answer(out) : fail(`bad ${encoding} answer: ${e.message}`)))
            })
          })
          req.on("error", (e: NodeJS.ErrnoException) => {
            if (signal.aborted) return
            // A kept-alive socket the server closed while idle fails the next request before any
            // answer; the request never reached the server, so one retry on a fresh socket is safe.
            if (mayRetry && !responded && req.reusedSocket && e.code === "ECONNRESET") return attempt(false)
            fail(responded ? `answer broken: ${describeSocketError(e)}` : describeSocketError(e))
          })
          req.end(body)
        }
        attempt(true)
      }).pipe(
        Effect.timeoutOrElse({
          duration: options.timeout,
          orElse: () =>
            Effect.fail(
              new DatadogApiError({
                reason: "Timeout",
                method: spec.method,
                endpoint: spec.endpoint,
                detail: `no answer within ${Duration.format(options.timeout)}`
              })
            )
        })
      )
    }

    return { send } satisfies Transport
  })
