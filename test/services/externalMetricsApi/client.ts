/** HTTPS requests to the external metrics API as its clients make them: with or without a client certificate. */
import * as Http2 from "node:http2"
import * as Https from "node:https"

export interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
  /** The body parsed, when it is JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON answers
  readonly json: any
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: Record<string, string | ReadonlyArray<string>>
  readonly cert?: { readonly certPem: string; readonly keyPem: string }
  readonly agent?: Https.Agent
}

const parse = (body: string, type: unknown) => {
  if (body === "" || typeof type !== "string" || !type.startsWith("application/json")) return undefined
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

export const request = (port: number, path: string, options: RequestOptions = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const req = Https.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        rejectUnauthorized: false,
        headers: options.headers as Record<string, string | string[]>,
        timeout: 10_000,
        ...(options.agent === undefined ? { agent: false } : { agent: options.agent }),
        ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem })
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: parse(body, res.headers["content-type"])
          })
        })
        res.on("error", reject)
      }
    )
    req.on("timeout", () => req.destroy(new Error(`${path}: no answer in 10 s`)))
    req.on("error", reject)
    req.end()
  })

/** One request over HTTP/2. */
export const requestH2 = (port: number, path: string, options: RequestOptions = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const session = Http2.connect(`https://127.0.0.1:${port}`, {
      rejectUnauthorized: false,
      ...(options.cert === undefined ? {} : { cert: options.cert.certPem, key: options.cert.keyPem })
    })
    session.on("error", reject)
    const stream = session.request({ ":path": path, ":method": options.method ?? "GET", ...options.headers })
    const chunks: Array<Buffer> = []
    let headers: Http2.IncomingHttpHeaders = {}
    stream.on("response", (h) => {
      headers = h
    })
    stream.on("data", (c: Buffer) => chunks.push(c))
    stream.on("end", () => {
      session.close()
      const body = Buffer.concat(chunks).toString("utf8")
      resolve({
        status: Number(headers[":status"]),
        headers: headers as Record<string, string>,
        body,
        json: parse(body, headers["content-type"])
      })
    })
    stream.on("error", reject)
    stream.end()
  })
