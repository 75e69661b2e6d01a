/**
 * Minimal HTTP(S) client for the harness, the scripts and the tests (readiness probes, raw API
 * server calls, requests as node agents make them): the whole body as text, TLS verified against
 * our CA unless "insecure".
 */
import * as Http from "node:http"
import * as Https from "node:https"

export interface TlsClient {
  readonly caPem: string
  readonly certPem?: string
  readonly keyPem?: string
}

export interface HttpResponse {
  readonly status: number
  readonly body: string
}

export interface RequestInit {
  readonly method?: string
  /** Sent as is, with `content-type: application/json`. */
  readonly body?: string
  /** No answer within it (default 5 s) fails the request. */
  readonly timeoutMs?: number
  /** Added to the request's headers (after the content type, so they may override it). */
  readonly headers?: Readonly<Record<string, string>>
  /** The connection pool to use; by default a fresh connection per request. */
  readonly agent?: Http.Agent
}

type Request = (
  url: string,
  options: Https.RequestOptions,
  callback: (res: Http.IncomingMessage) => void
) => Http.ClientRequest

const send = (request: Request, url: string, options: Https.RequestOptions, init: RequestInit): Promise<HttpResponse> =>
  new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method ?? "GET",
        ...options,
        agent: init.agent ?? false,
        timeout: init.timeoutMs ?? 5_000,
        headers: {
          ...(init.body === undefined ? {} : { "content-type": "application/json" }),
          ...init.headers
        }
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          body += chunk
        })
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        res.on("error", reject)
      }
    )
    req.on("timeout", () => req.destroy(new Error(`timeout requesting ${url}`)))
    req.on("error", reject)
    req.end(init.body)
  })

/** One HTTPS request; "insecure" does not verify the server's certificate (as node agents do). */
export const httpsRequest = (url: string, tls: TlsClient | "insecure", init: RequestInit = {}): Promise<HttpResponse> =>
  send(
    Https.request,
    url,
    tls === "insecure"
      ? { rejectUnauthorized: false }
      : {
          ca: tls.caPem,
          ...(tls.certPem === undefined ? {} : { cert: tls.certPem }),
          ...(tls.keyPem === undefined ? {} : { key: tls.keyPem })
        },
    init
  )

/** One plain HTTP request (the agent's health port). */
export const httpRequest = (url: string, init: RequestInit = {}): Promise<HttpResponse> =>
  send(Http.request, url, {}, init)

/** Raw requests to an API server as one client; a body is sent as JSON, exactly as given. */
export type ApiCall = (method: string, path: string, body?: unknown) => Promise<HttpResponse>

export const apiCaller =
  (server: string, tls: TlsClient, timeoutMs = 15_000): ApiCall =>
  (method, path, body) =>
    httpsRequest(`${server}${path}`, tls, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      timeoutMs
    })
