// Sends a flare archive to Datadog as the original does (contract §8.3,
// `dda: comp/core/flare/helpers/send_flare.go`): to the infra endpoint (DD_DD_URL, else
// `https://app.<DD_SITE>`) with a Datadog app domain's first label replaced by
// `<major>-<minor>-<patch>-flare.agent`; a HEAD with `DD-API-KEY` first, following redirects, to
// find where to POST; then a chunked `multipart/form-data` POST with the fields `case_id`, `email`,
// `source`, the file part `flare_file`, then `agent_version` and `hostname`. A 5xx or a broken
// connection is tried again, three attempts one second apart. The answers are worded as the
// original's; a 403 says which API key was refused by its last five characters.
import { randomBytes } from "node:crypto"
import type { IncomingHttpHeaders, IncomingMessage } from "node:http"
import * as Https from "node:https"
import * as Path from "node:path"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type ProxySettings, proxyAuthorization, proxyFor } from "../../layers/datadog/proxy.ts"
import { TunnelAgent } from "../../layers/datadog/transport.ts"
import { nodeHttp } from "../../lib/builtins.ts"
import { defaultScrubber } from "./scrubber.ts"

/** Why an upload failed; `response` is what the original prints before its error (often empty). */
export class FlareUploadError extends Schema.TaggedError<FlareUploadError>()("FlareUploadError", {
  response: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

/** Pure: the infra endpoint: DD_DD_URL, else `https://app.<site>`. */
export const infraEndpoint = (ddUrl: string | undefined, site: string): string =>
  ddUrl !== undefined && ddUrl.trim() !== "" ? ddUrl.trim() : `https://app.${site.trim()}`

// The original's ddURLRegexp: Datadog's own app domains (any site, the MRF variants).
const datadogAppHost = /^app(\.mrf)?\.([a-z]{2,}\d{1,2}\.)?(datad(?:oghq|0g)\.(?:com|eu)|ddog-gov\.com)\.?$/

/** Pure: AddAgentVersionToDomain: `https://app.datadoghq.com` → `https://7-72-0-flare.agent.datadoghq.com`. */
export const addAgentVersionToDomain = (
  url: string,
  version: { readonly Major: number; readonly Minor: number; readonly Patch: number },
  app = "flare"
): string => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url
  }
  if (!datadogAppHost.test(parsed.host)) return url
  const prefix = `${version.Major}-${version.Minor}-${version.Patch}-${app}.agent`
  parsed.host = parsed.host.replace(parsed.host.split(".")[0] ?? "", prefix)
  return parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : "")
}

/** Pure: `<base>/support/flare[/<caseId>]`. */
export const flareUrl = (base: string, caseId: string): string =>
  `${base.replace(/\/+$/, "")}/support/flare${caseId === "" ? "" : `/${encodeURIComponent(caseId)}`}`

export interface FormFields {
  readonly caseId: string
  readonly email: string
  readonly source: string
  readonly agentVersion: string
  readonly hostname: string
}

/** Pure: the multipart body Go's mime/multipart writes, fields in the original's order. */
export const multipartBody = (boundary: string, fields: FormFields, fileName: string, file: Uint8Array): Buffer => {
  const parts: Array<Buffer> = []
  let first = true
  const open = (headers: string) => {
    parts.push(Buffer.from(`${first ? "" : "\r\n"}--${boundary}\r\n${headers}\r\n\r\n`))
    first = false
  }
  const field = (name: string, value: string) => {
    open(`Content-Disposition: form-data; name="${name}"`)
    parts.push(Buffer.from(value))
  }
  if (fields.caseId !== "") field("case_id", fields.caseId)
  if (fields.email !== "") field("email", fields.email)
  if (fields.source !== "") field("source", fields.source)
  const escaped = fileName.replaceAll("\\", "\\\\").replaceAll('"', '\\"')
  open(
    `Content-Disposition: form-data; name="flare_file"; filename="${escaped}"\r\nContent-Type: application/octet-stream`
  )
  parts.push(Buffer.from(file))
  field("agent_version", fields.agentVersion)
  field("hostname", fields.hostname)
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`))
  return Buffer.concat(parts)
}

/** What an HTTP exchange gave. */
export interface Answer {
  readonly status: number
  /** Go's `Response.Status`: `403 Forbidden`. */
  readonly statusLine: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The URL answered, after redirects. */
  readonly url: string
}

/** Pure: the last five characters the 403 message names (`HTTP 403 Forbidden: …`). */
export const forbiddenMessage = (apiKey: string): string =>
  apiKey.length === 0
    ? "API key is missing"
    : `Make sure your API key is valid. API Key ending with: ${apiKey.length > 5 ? apiKey.slice(-5) : apiKey}`

/** Pure: analyzeResponse: the message for a final answer, or the failure (with its message). */
export const analyzeResponse = (
  answer: Pick<Answer, "status" | "statusLine" | "headers" | "body">,
  apiKey: string
): { readonly response: string } | { readonly response: string; readonly error: string } => {
  if (answer.status === 403) return { response: "", error: `HTTP 403 Forbidden: ${forbiddenMessage(apiKey)}` }
  const contentType = String(answer.headers["content-type"] ?? "")
  let problem: string | undefined
  let parsed: { case_id?: unknown; error?: unknown; request_uuid?: unknown; jira_ticket?: unknown } = {}
  if (answer.status !== 200) problem = `HTTP ${answer.status} ${answer.statusLine}`
  else if (!contentType.startsWith("application/json")) {
    problem =
      contentType === ""
        ? "Server returned a 200 but with no content-type header"
        : `Server returned a 200 but with an unknown content-type ${contentType}`
  } else {
    try {
      parsed = JSON.parse(answer.body === "" ? "null" : answer.body) ?? {}
      if (typeof parsed !== "object") throw new Error(`json: cannot unmarshal ${typeof parsed} into the flare response`)
    } catch (e) {
      problem = (e as Error).message
    }
  }
  if (problem !== undefined) {
    return {
      response: "Error: could not deserialize response body -- Please contact support by email.",
      error: `${problem}\nServer returned:\n${answer.body.slice(0, 150)}`
    }
  }
  if (typeof parsed.error === "string" && parsed.error !== "") {
    const uuid =
      typeof parsed.request_uuid === "string" && parsed.request_uuid !== ""
        ? ` and facilitate the request uuid: \`${parsed.request_uuid}\``
        : ""
    return {
      response: `An error occurred while uploading the flare: ${parsed.error}. Please contact support by email${uuid}.`,
      error: parsed.error
    }
  }
  const caseId = typeof parsed.case_id === "number" ? parsed.case_id : 0
  let response = `Your logs were successfully uploaded. For future reference, your internal case id is ${caseId}`
  if (typeof parsed.jira_ticket === "string" && parsed.jira_ticket !== "") {
    response += `\nFollow this Jira Ticket for process false positive detection results: ${parsed.jira_ticket}`
  }
  return { response }
}

/** Pure: isRetryableFlareError: a 5xx, or a connection that failed in a way worth another try. */
export const isRetryable = (status: number | undefined, detail: string): boolean => {
  if (status !== undefined && status >= 500 && status < 600) return true
  const d = detail.toLowerCase()
  return ["timeout", "connection refused", "connection reset", "network unreachable", "temporary failure"].some((s) =>
    d.includes(s)
  )
}

interface RequestSpec {
  readonly method: "HEAD" | "POST"
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Buffer
}

/** Node's errors as Go words them, so that the retry rule sees the same failures. */
const describeSocketError = (e: NodeJS.ErrnoException): string => {
  switch (e.code) {
    case "ECONNREFUSED":
      return `connection refused (${e.message})`
    case "ECONNRESET":
      return `connection reset by peer (${e.message})`
    case "ENETUNREACH":
      return `network unreachable (${e.message})`
    case "EAI_AGAIN":
      return `temporary failure in name resolution (${e.message})`
    case "ETIMEDOUT":
      return `timeout (${e.message})`
    default:
      return e.message
  }
}

const send = (spec: RequestSpec, proxy: ProxySettings, timeout: Duration.Duration): Effect.Effect<Answer, Error> =>
  Effect.callback<Answer, Error>((resume, signal) => {
    const target = new URL(spec.url)
    const via = proxyFor(target, proxy)
    const secure = target.protocol === "https:"
    const headers: Record<string, string> = { ...spec.headers }
    let request: typeof Https.request = secure ? Https.request : nodeHttp().request
    let options: Https.RequestOptions = {
      hostname: target.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: target.port === "" ? (secure ? 443 : 80) : Number(target.port),
      path: `${target.pathname}${target.search}`
    }
    if (via !== undefined && secure) {
      options.agent = new TunnelAgent(via, { keepAlive: false })
    } else if (via !== undefined) {
      // http:// through a proxy: the absolute URI to the proxy.
      request = via.protocol === "https:" ? Https.request : nodeHttp().request
      options = {
        hostname: via.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: via.port === "" ? (via.protocol === "https:" ? 443 : 80) : Number(via.port),
        path: target.href
      }
      headers.Host = target.host
      const auth = proxyAuthorization(via)
      if (auth !== undefined) headers["Proxy-Authorization"] = auth
    }
    const req = request({ ...options, method: spec.method, headers, signal }, (res: IncomingMessage) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("error", (e: NodeJS.ErrnoException) => resume(Effect.fail(new Error(describeSocketError(e)))))
      res.on("end", () => {
        const status = res.statusCode ?? 0
        resume(
          Effect.succeed({
            status,
            statusLine: `${status} ${res.statusMessage ?? ""}`.trim(),
            headers: res.headers,
            body: Buffer.concat(chunks).toString("utf8"),
            url: spec.url
          })
        )
      })
    })
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (!signal.aborted) resume(Effect.fail(new Error(describeSocketError(e))))
    })
    if (spec.body !== undefined) req.write(spec.body)
    req.end()
  }).pipe(
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () =>
        Effect.fail(
          new Error(`${spec.method} ${defaultScrubber.line(spec.url)}: timeout after ${Duration.format(timeout)}`)
        )
    })
  )

const redirects = new Set([301, 302, 303, 307, 308])

/** A HEAD that follows redirects (at most 10, as Go's client), keeping its headers. */
const head = (
  url: string,
  headers: Readonly<Record<string, string>>,
  proxy: ProxySettings,
  timeout: Duration.Duration
) =>
  Effect.gen(function* () {
    let current = url
    for (let hop = 0; hop <= 10; hop++) {
      const answer = yield* send({ method: "HEAD", url: current, headers }, proxy, timeout)
      const location = answer.headers.location
      if (!redirects.has(answer.status) || location === undefined) return answer
      current = new URL(location, current).toString()
    }
    return yield* Effect.fail(new Error(`HEAD ${defaultScrubber.line(url)}: stopped after 10 redirects`))
  })

export interface UploadOptions {
  readonly archivePath: string
  readonly caseId: string
  readonly email: string
  /** The key as configured; "" when none. */
  readonly apiKey: string
  /** The infra endpoint (before the version rewrite). */
  readonly endpoint: string
  readonly hostname: string
  readonly version: { readonly Major: number; readonly Minor: number; readonly Patch: number }
  /** `agent_version`. */
  readonly agentVersion: string
  readonly userAgent: string
  readonly proxy: ProxySettings
  readonly timeout?: Duration.Input | undefined
  /** Between attempts of the POST; the original waits one second. */
  readonly retryDelay?: Duration.Input | undefined
  readonly boundary?: string | undefined
}

/** Uploads the archive; succeeds with the original's success message. */
export const uploadFlare = Effect.fn("Flare.upload")(function* (options: UploadOptions) {
  const timeout = Duration.fromInputUnsafe(options.timeout ?? "60 seconds")
  const retryDelay = options.retryDelay ?? "1 second"
  const apiKey = options.apiKey.trim()
  const base = addAgentVersionToDomain(options.endpoint, options.version)
  const keyHeader = { "DD-API-KEY": apiKey, "User-Agent": options.userAgent }
  const fail = (detail: string, response = "") => new FlareUploadError({ response, detail })

  const resolved = yield* head(flareUrl(base, options.caseId), keyHeader, options.proxy, timeout).pipe(
    Effect.mapError((e) => fail(e.message))
  )
  // A refused key may already show on the HEAD: say so as the POST's 403 would.
  if (resolved.status === 403) return yield* fail(`HTTP 403 Forbidden: ${forbiddenMessage(apiKey)}`)
  if (resolved.status !== 200 && resolved.status !== 404) {
    return yield* fail(
      `We couldn't reach the flare backend ${defaultScrubber.line(resolved.url)} via redirects: ${resolved.statusLine}`
    )
  }

  const file = yield* Effect.tryPromise({
    try: () => import("node:fs/promises").then((fs) => fs.readFile(options.archivePath)),
    catch: (e) => fail(`cannot read ${options.archivePath}: ${(e as Error).message}`)
  })
  const boundary = options.boundary ?? randomBytes(30).toString("hex")
  const body = multipartBody(
    boundary,
    {
      caseId: options.caseId,
      email: options.email,
      source: "local",
      agentVersion: options.agentVersion,
      hostname: options.hostname
    },
    Path.basename(options.archivePath),
    file
  )
  const post = send(
    {
      method: "POST",
      url: resolved.url,
      headers: {
        ...keyHeader,
        "Content-Type": `multipart/form-data; boundary=${boundary}`,
        "Transfer-Encoding": "chunked"
      },
      body
    },
    options.proxy,
    timeout
  )

  let lastError = ""
  for (let attempt = 1; attempt <= 3; attempt++) {
    const outcome = yield* Effect.result(post)
    let status: number | undefined
    let detail: string
    if (outcome._tag === "Success") {
      const answer = outcome.success
      if (answer.status < 500 || answer.status >= 600) {
        const analyzed = analyzeResponse(answer, apiKey)
        if ("error" in analyzed) return yield* fail(analyzed.error, analyzed.response)
        return analyzed.response
      }
      status = answer.status
      detail = `HTTP ${answer.status} ${answer.statusLine.replace(/^\d+ /, "")}\nServer returned:\n${answer.body}`
    } else {
      detail = outcome.failure.message
    }
    lastError = detail
    if (!isRetryable(status, detail)) return yield* fail(detail)
    if (attempt < 3) {
      yield* Effect.logDebug("Failed to send flare, retrying in 1 second")
      yield* Effect.sleep(retryDelay)
    }
  }
  return yield* fail(`failed to send flare after 3 attempts: ${lastError}`)
})
