/** Minimal HTTPS client for the harness (readiness probes): TLS verified against our CA. */
import { request } from "node:https"

export interface TlsClient {
  readonly caPem: string
  readonly certPem?: string
  readonly keyPem?: string
}

export interface HttpResponse {
  readonly status: number
  readonly body: string
}

export const httpsRequest = (
  url: string,
  tls: TlsClient | "insecure",
  init: { method?: string; body?: string; timeoutMs?: number } = {}
): Promise<HttpResponse> =>
  new Promise((resolve, reject) => {
    const tlsOptions =
      tls === "insecure"
        ? { rejectUnauthorized: false }
        : {
            ca: tls.caPem,
            ...(tls.certPem === undefined ? {} : { cert: tls.certPem }),
            ...(tls.keyPem === undefined ? {} : { key: tls.keyPem })
          }
    const req = request(
      url,
      {
        method: init.method ?? "GET",
        ...tlsOptions,
        agent: false,
        timeout: init.timeoutMs ?? 5_000,
        headers: init.body === undefined ? {} : { "content-type": "application/json" }
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
