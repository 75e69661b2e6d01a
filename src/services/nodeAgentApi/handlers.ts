// Answers of the command port, as plain values. Errors look like Go's http.Error (text/plain,
// nosniff, message + "\n"); metadata answers carry no explicit JSON content type, like the
// original's (Go sniffs them as text/plain), while /version and /cluster/id declare JSON.
import type { VersionInfo } from "../../version.ts"
import type { MetadataMapperShape } from "../MetadataMapper.ts"
import { checkBearer, type Denied } from "./auth.ts"
import { type Credential, type Match, matchRoute, type RouteName } from "./routes.ts"

export interface ApiResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** Bytes when they are cached (the hot path), text otherwise. */
  readonly body: string | Buffer
}

const json = (body: string): ApiResponse => ({
  status: 200,
  headers: { "content-type": "application/json" },
  body
})
const sniffedJson = (body: string | Buffer): ApiResponse => ({
  status: 200,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body
})
export const textError = (status: number, message: string, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...headers },
  body: `${message}\n`
})

export const notFound = textError(404, "404 page not found")
export const methodNotAllowed: ApiResponse = { status: 405, headers: {}, body: "" }
export const badRequest = textError(400, "400 Bad Request")

export interface ApiSources {
  readonly version: VersionInfo
  readonly mapper: MetadataMapperShape
  /** The cluster ID, or an error message. */
  readonly clusterId: () => Promise<{ readonly id: string } | { readonly error: string }>
  /** The accepted tokens, per credential (see auth.tokenBytes). */
  readonly tokens: Readonly<Record<Credential, Buffer>>
  /** The status page (`GET /status`), as JSON or text (absent: the agent serves no status). */
  readonly status?: ((format: StatusFormat) => Promise<string>) | undefined
  /** Builds a flare archive: its path, or why not (absent: the agent makes no flares). */
  readonly flare?: (() => Promise<{ readonly path: string } | { readonly error: string }>) | undefined
}

export type StatusFormat = "json" | "text"

/** `?format=text` asks for the text page; anything else is JSON, as the original's. */
export const statusFormat = (url: string): StatusFormat => {
  const query = url.indexOf("?")
  return query >= 0 && new URLSearchParams(url.slice(query + 1)).get("format") === "text" ? "text" : "json"
}

/** The original's error answer of /status, whose `error` field the CLI prints. */
const statusError = (message: string): ApiResponse => ({
  status: 500,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ error: message })
})

export interface ApiRequest {
  readonly method: string
  readonly url: string
  readonly authorization: string | undefined
}

/** The route name for telemetry: the route, or what happened instead. */
export type HandlerLabel = RouteName | "notFound" | "methodNotAllowed" | "badRequest"

export interface Handled {
  readonly handler: HandlerLabel
  readonly response: ApiResponse | Promise<ApiResponse>
}

const denied = (d: Denied): ApiResponse => textError(d.status, d.body, { ...d.headers })

const notInCache = (kind: "nodes" | "namespaces", name: string) =>
  // The original answers 500 with its cache's error; node agents treat any non-200 alike, and an
  // unknown name is not a server fault, so we say 404 with the same kind of message.
  textError(404, `entity ${kind}//${name} not found`)

const answer = (
  match: Extract<Match, { _tag: "Found" }>,
  url: string,
  sources: ApiSources
): ApiResponse | Promise<ApiResponse> => {
  const [a = "", b = "", c = ""] = match.params
  const { mapper } = sources
  switch (match.route.name) {
    case "version":
      return json(JSON.stringify(sources.version))
    case "getPodMetadataForNode":
      return sniffedJson(mapper.nodePodsJson(a))
    case "getPodMetadata":
      return sniffedJson(mapper.podTagsJson(a, b, c))
    case "getAllMetadata":
      return sniffedJson(mapper.allNodesJson())
    case "getNodeLabels": {
      const labels = mapper.nodeLabels(a)
      return labels === undefined ? notInCache("nodes", a) : sniffedJson(JSON.stringify(labels))
    }
    case "getNodeAnnotations": {
      const annotations = mapper.nodeAnnotations(a)
      return annotations === undefined ? notInCache("nodes", a) : sniffedJson(JSON.stringify(annotations))
    }
    case "getNamespaceLabels": {
      const ns = mapper.namespace(a)
      if (ns === undefined) return notInCache("namespaces", a)
      // The original serialises a namespace without labels as null.
      return sniffedJson(Object.keys(ns.labels).length === 0 ? "null" : JSON.stringify(ns.labels))
    }
    case "getNamespaceMetadata": {
      const ns = mapper.namespace(a)
      if (ns === undefined) return notInCache("namespaces", a)
      return sniffedJson(
        JSON.stringify({ Name: ns.name, Namespace: "", Annotations: ns.annotations, Labels: ns.labels })
      )
    }
    case "getClusterID":
      return sources.clusterId().then((r) => ("id" in r ? json(JSON.stringify(r.id)) : textError(500, r.error)))
    case "getStatus": {
      const format = statusFormat(url)
      if (sources.status === undefined) return statusError("this agent serves no status")
      return sources.status(format).then(
        (body): ApiResponse =>
          format === "json"
            ? json(body)
            : { status: 200, headers: { "content-type": "text/plain; charset=utf-8" }, body },
        (e: unknown) => statusError(e instanceof Error ? e.message : String(e))
      )
    }
    case "flare":
      // The original answers the archive's path as is (declared JSON), or `{"error":…}` with a 500.
      if (sources.flare === undefined) return textError(500, JSON.stringify({ error: "this agent makes no flares" }))
      return sources
        .flare()
        .then((r) =>
          "path" in r
            ? { status: 200, headers: { "content-type": "application/json" }, body: r.path }
            : textError(500, JSON.stringify({ error: r.error }))
        )
  }
}

/** Pure apart from the cluster ID lookup: routes, authenticates and answers one request. */
export const handle = (request: ApiRequest, sources: ApiSources): Handled => {
  const match = matchRoute(request.method, request.url)
  switch (match._tag) {
    case "NotFound":
      return { handler: "notFound", response: notFound }
    case "MethodNotAllowed":
      return { handler: "methodNotAllowed", response: methodNotAllowed }
    case "BadRequest":
      return { handler: "badRequest", response: badRequest }
    case "Found": {
      const refused = checkBearer(request.authorization, sources.tokens[match.route.credential])
      if (refused !== undefined) return { handler: match.route.name, response: denied(refused) }
      return { handler: match.route.name, response: answer(match, request.url, sources) }
    }
  }
}
