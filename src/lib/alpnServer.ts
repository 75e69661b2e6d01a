// One TLS listener serving HTTP/1.1 and h2 on the same port, ALPN choosing per connection, for
// the command port and the external metrics API. HTTP/1.1 goes to a plain http.Server (faster
// than the HTTP/2 server's HTTP/1 compatibility mode); h2 goes to an HTTP/2 server, made (and
// node:http2 loaded) on the first h2 connection. An HTTP/1.1 keep-alive ends after 60 s idle (as
// the original's); a socket or h2 session idle for `idleTimeoutMs` is closed, the h2 session with
// a GOAWAY, so a client that keeps sessions open (the aggregator) opens a new one
// instead of losing a request to a reset. When the scope closes the listener stops and open
// connections end (answers are instant; keep-alive would hold the close open).
import type * as Http from "node:http"
import type * as Http2 from "node:http2"
import type { Socket } from "node:net"
import * as Tls from "node:tls"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { nodeHttp, nodeHttp2 } from "./builtins.ts"

/**
 * A request listener written to HTTP/2's compatibility API; it is also given HTTP/1.1 requests,
 * so it must use only what both APIs have (headers, method, url, setHeader, writeHead, end).
 */
export type AlpnRequestListener = (req: Http2.Http2ServerRequest, res: Http2.Http2ServerResponse) => void

export interface AlpnServerOptions {
  readonly tls: Tls.TlsOptions
  readonly listener: AlpnRequestListener
  readonly port: number
  readonly host?: string | undefined
  readonly idleTimeoutMs: number
}

export interface AlpnServer {
  /** The port listened on (the one asked for, or the one the OS chose for 0). */
  readonly port: number
  /** The TLS server, for setSecureContext on a certificate or CA change. */
  readonly server: Tls.Server
}

/** Listens until the scope closes; fails with the listen error (port taken, not permitted). */
export const listenAlpn = (options: AlpnServerOptions): Effect.Effect<AlpnServer, Error, Scope.Scope> =>
  Effect.suspend(() => {
    const { listener, idleTimeoutMs } = options
    const http1 = nodeHttp().createServer(listener as unknown as Http.RequestListener)
    http1.keepAliveTimeout = 60_000
    let http2: Http2.Http2Server | undefined
    const http2Server = () => {
      if (http2 === undefined) {
        http2 = nodeHttp2().createServer()
        http2.on("request", listener)
        http2.on("session", (session) => session.setTimeout(idleTimeoutMs, () => session.close()))
      }
      return http2
    }
    const server = Tls.createServer({ ...options.tls, ALPNProtocols: ["h2", "http/1.1"] })
    const sockets = new Set<Socket>()
    server.on("secureConnection", (socket: Tls.TLSSocket) => {
      sockets.add(socket)
      socket.once("close", () => sockets.delete(socket))
      if (socket.alpnProtocol === "h2") {
        http2Server().emit("connection", socket)
      } else {
        // keepAliveTimeout ends an idle keep-alive; this bounds a client stalled mid-request.
        socket.setTimeout(idleTimeoutMs, () => socket.destroy())
        http1.emit("connection", socket)
      }
    })
    // A failed handshake is the client's business; nothing to log per attempt.
    server.on("tlsClientError", () => undefined)

    return Effect.acquireRelease(
      Effect.callback<AlpnServer, Error>((resume) => {
        server.once("error", (e) => resume(Effect.fail(e)))
        server.listen({ port: options.port, host: options.host ?? "0.0.0.0" }, () => {
          const address = server.address()
          const port = typeof address === "object" && address !== null ? address.port : options.port
          resume(Effect.succeed({ port, server }))
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          http1.close()
          http2?.close()
          server.close(() => resume(Effect.void))
          for (const s of sockets) s.destroy()
        })
    )
  })
