/**
 * Real network pieces that sit between the Datadog client and the fake Datadog API in tests:
 * a forward proxy (CONNECT tunnels and absolute-URI requests, recording what it was asked), a
 * TLS front (so https:// reaches the plain-http fake), and a relay that gzips answers (as a
 * load balancer in front of Datadog may). Each is a real server on loopback; nothing is mocked.
 */
import * as Http from "node:http"
import * as Net from "node:net"
import * as Tls from "node:tls"
import * as Zlib from "node:zlib"
import { selfSignedLocalhost } from "../../../dev/controlPlane/pki.ts"

const listen = (server: Net.Server): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve((server.address() as Net.AddressInfo).port))
  })

const closeServer = (server: Net.Server & { closeAllConnections?: () => void }): Promise<void> =>
  new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections?.()
  })

export interface ProxyRecord {
  readonly method: string
  /** `host:port` for CONNECT, the absolute URI otherwise. */
  readonly target: string
  readonly proxyAuthorization?: string
}

export interface ForwardProxy {
  readonly url: string
  readonly port: number
  readonly seen: () => ReadonlyArray<ProxyRecord>
  readonly close: () => Promise<void>
}

/**
 * A forward proxy. `requireAuth`: answer 407 unless `Proxy-Authorization` equals it.
 * `refuseConnect`: answer this status to every CONNECT.
 */
export const startForwardProxy = async (
  options: { readonly requireAuth?: string; readonly refuseConnect?: number } = {}
): Promise<ForwardProxy> => {
  const seen: Array<ProxyRecord> = []
  const sockets = new Set<Net.Socket>()
  const record = (method: string, target: string, auth: string | undefined) =>
    seen.push({ method, target, ...(auth === undefined ? {} : { proxyAuthorization: auth }) })
  const authorized = (auth: string | undefined) => options.requireAuth === undefined || auth === options.requireAuth

  const server = Http.createServer((req, res) => {
    const auth = req.headers["proxy-authorization"]
    record(req.method ?? "GET", req.url ?? "", auth)
    if (!authorized(auth)) {
      res.writeHead(407, { "proxy-authenticate": 'Basic realm="proxy"' })
      return res.end()
    }
    const target = new URL(req.url ?? "")
    const headers = { ...req.headers }
    delete headers["proxy-authorization"]
    delete headers["proxy-connection"]
    const upstream = Http.request(
      {
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: `${target.pathname}${target.search}`,
        headers
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    upstream.on("error", () => {
      res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  server.on("connect", (req: Http.IncomingMessage, client: Net.Socket, head: Buffer) => {
    const auth = req.headers["proxy-authorization"]
    record("CONNECT", req.url ?? "", auth)
    sockets.add(client)
    client.on("close", () => sockets.delete(client))
    if (options.refuseConnect !== undefined) {
      client.end(`HTTP/1.1 ${options.refuseConnect} Refused\r\ncontent-length: 0\r\n\r\n`)
      return
    }
    if (!authorized(auth)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="proxy"\r\n\r\n')
      return
    }
    const [host = "", port = "443"] = (req.url ?? "").split(/:(?=\d+$)/)
    const upstream = Net.connect(Number(port), host.replace(/^\[(.*)\]$/, "$1"), () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n")
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    sockets.add(upstream)
    upstream.on("close", () => sockets.delete(upstream))
    upstream.on("error", () => client.destroy())
    client.on("error", () => upstream.destroy())
  })
  const port = await listen(server)
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen: () => [...seen],
    close: async () => {
      for (const s of sockets) s.destroy()
      await closeServer(server)
    }
  }
}

export interface TlsFront {
  /** `https://localhost:<port>` */
  readonly url: string
  readonly port: number
  /** The certificate (PEM) to trust. */
  readonly ca: string
  readonly close: () => Promise<void>
}

/** Terminates TLS for `localhost` and pipes the bytes to a plain TCP port (the fake). */
export const startTlsFront = async (targetPort: number): Promise<TlsFront> => {
  const { keyPem, certPem: cert } = selfSignedLocalhost("localhost")
  const sockets = new Set<Net.Socket>()
  const server = Tls.createServer({ key: keyPem, cert }, (client) => {
    const upstream = Net.connect(targetPort, "127.0.0.1")
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
    }
    client.pipe(upstream)
    upstream.pipe(client)
    upstream.on("error", () => client.destroy())
    client.on("error", () => upstream.destroy())
  })
  const port = await listen(server)
  return {
    url: `https://localhost:${port}`,
    port,
    ca: cert,
    close: async () => {
      for (const s of sockets) s.destroy()
      await closeServer(server)
    }
  }
}

export interface GzipRelay {
  readonly url: string
  readonly close: () => Promise<void>
}

/** Forwards to `target` and gzips every answer the client accepts gzip for. */
export const startGzipRelay = async (target: string): Promise<GzipRelay> => {
  const base = new URL(target)
  const server = Http.createServer((req, res) => {
    const upstream = Http.request(
      {
        hostname: base.hostname,
        port: base.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, "accept-encoding": "identity" }
      },
      (answer) => {
        const chunks: Array<Buffer> = []
        answer.on("data", (c: Buffer) => chunks.push(c))
        answer.on("end", () => {
          const body = Buffer.concat(chunks)
          const headers = { ...answer.headers }
          delete headers["content-length"]
          if (String(req.headers["accept-encoding"] ?? "").includes("gzip")) {
            const zipped = Zlib.gzipSync(body)
            res.writeHead(answer.statusCode ?? 502, {
              ...headers,
              "content-encoding": "gzip",
              "content-length": zipped.length
            })
            res.end(zipped)
          } else {
            res.writeHead(answer.statusCode ?? 502, { ...headers, "content-length": body.length })
            res.end(body)
          }
        })
      }
    )
    upstream.on("error", () => {
      res.writeHead(502)
      res.end()
    })
    req.pipe(upstream)
  })
  const port = await listen(server)
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) }
}

/** A port that accepts TCP connections and drops each at once (Datadog unreachable). */
export const startDeadPort = async (): Promise<{
  readonly url: string
  readonly connections: () => number
  readonly close: () => Promise<void>
}> => {
  let connections = 0
  const server = Net.createServer((socket) => {
    connections++
    socket.destroy()
  })
  const port = await listen(server)
  return { url: `http://127.0.0.1:${port}`, connections: () => connections, close: () => closeServer(server) }
}
