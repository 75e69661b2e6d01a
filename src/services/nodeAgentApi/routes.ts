// The routes of the command port and how a request target is matched to one. Routing comes
// before authentication, as with the original's router: unknown paths are 404 and known paths
// with another method 405, without a token. Each route takes exactly one credential: node-agent
// routes the cluster token, CLI routes the local token, never one for the other (dda#54321).
// Paths are classified without their query string.

export type Credential = "cluster" | "local"

export type RouteName =
  | "version"
  | "getPodMetadataForNode"
  | "getPodMetadata"
  | "getAllMetadata"
  | "getNodeLabels"
  | "getNodeAnnotations"
  | "getNamespaceLabels"
  | "getNamespaceMetadata"
  | "getClusterID"
  | "getStatus"
  | "flare"

export interface Route {
  readonly name: RouteName
  readonly method: "GET" | "POST"
  /** Literal segments, or `:param` for one non-empty segment. */
  readonly segments: ReadonlyArray<string>
  readonly credential: Credential
}

const route = (name: RouteName, path: string, credential: Credential, method: Route["method"] = "GET"): Route => ({
  name,
  method,
  segments: path.split("/").slice(1),
  credential
})

export const routes: ReadonlyArray<Route> = [
  route("version", "/version", "cluster"),
  route("getPodMetadataForNode", "/api/v1/tags/pod/:node", "cluster"),
  route("getPodMetadata", "/api/v1/tags/pod/:node/:namespace/:pod", "cluster"),
  route("getAllMetadata", "/api/v1/tags/pod", "local"),
  route("getNodeLabels", "/api/v1/tags/node/:node", "cluster"),
  route("getNodeAnnotations", "/api/v1/annotations/node/:node", "cluster"),
  route("getNamespaceLabels", "/api/v1/tags/namespace/:namespace", "cluster"),
  route("getNamespaceMetadata", "/api/v1/metadata/namespace/:namespace", "cluster"),
  route("getClusterID", "/api/v1/cluster/id", "cluster"),
  route("getStatus", "/status", "local"),
  route("flare", "/flare", "local", "POST")
]

export type Match =
  | { readonly _tag: "Found"; readonly route: Route; readonly params: ReadonlyArray<string> }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "MethodNotAllowed" }
  | { readonly _tag: "BadRequest" }

/** The decoded path segments of a request target (origin or absolute form), or undefined if malformed. */
export const pathSegments = (target: string): ReadonlyArray<string> | undefined => {
  let path: string
  if (target.startsWith("/")) {
    const end = target.search(/[?#]/)
    path = end < 0 ? target : target.slice(0, end)
  } else {
    try {
      path = new URL(target).pathname
    } catch {
      return undefined
    }
  }
  const segments: Array<string> = []
  const raw = path.split("/").slice(1)
  // Node agents send plain names: decode only when something is escaped.
  if (!path.includes("%")) return raw
  for (const segment of raw) {
    try {
      segments.push(decodeURIComponent(segment))
    } catch {
      return undefined
    }
  }
  return segments
}

const matches = (route: Route, segments: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  if (route.segments.length !== segments.length) return undefined
  const params: Array<string> = []
  for (let i = 0; i < segments.length; i++) {
    const expected = route.segments[i] as string
    const actual = segments[i] as string
    if (expected.startsWith(":")) {
      if (actual === "" || actual.includes("/")) return undefined
      params.push(actual)
    } else if (expected !== actual) return undefined
  }
  return params
}

/** Pure: the route of a request, or why there is none. */
export const matchRoute = (method: string, target: string): Match => {
  const segments = pathSegments(target)
  if (segments === undefined) return { _tag: "BadRequest" }
  let pathKnown = false
  for (const r of routes) {
    const params = matches(r, segments)
    if (params === undefined) continue
    if (r.method === method) return { _tag: "Found", route: r, params }
    pathKnown = true
  }
  return pathKnown ? { _tag: "MethodNotAllowed" } : { _tag: "NotFound" }
}
