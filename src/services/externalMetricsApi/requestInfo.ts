// What a request asks for, derived from its method and path the way k8s.io/apiserver's
// RequestInfoFactory does (pkg/endpoints/request/requestinfo.go): the route it is served by, and
// the attributes authorization is asked about. A GET of a collection such as
// /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric> is verb "list" (there is no
// name), so RBAC must grant `list` on the metric.

export const group = "external.metrics.k8s.io"
export const version = "v1beta1"
export const groupVersion = `${group}/${version}`

export type Route =
  | "healthz"
  | "livez"
  | "readyz"
  | "apis"
  | "apiGroup"
  | "apiResources"
  | "openapiV2"
  | "openapiV3"
  | "externalMetric"
  | "unknown"

export interface ResourceAttributes {
  readonly verb: string
  readonly group: string
  readonly version: string
  readonly resource: string
  readonly namespace: string
  readonly name: string
  readonly subresource: string
}

export type RequestInfo =
  /** Never authenticated nor authorized, like k8s.io/apiserver's AlwaysAllowPaths. */
  | { readonly _tag: "Health"; readonly route: "healthz" | "livez" | "readyz" }
  | { readonly _tag: "NonResource"; readonly route: Route; readonly path: string; readonly verb: string }
  | { readonly _tag: "Resource"; readonly route: Route; readonly attributes: ResourceAttributes }

const healthRoutes: Readonly<Record<string, "healthz" | "livez" | "readyz">> = {
  "/healthz": "healthz",
  "/livez": "livez",
  "/readyz": "readyz"
}

const nonResourceRoutes: Readonly<Record<string, Route>> = {
  "/apis": "apis",
  [`/apis/${group}`]: "apiGroup",
  [`/apis/${groupVersion}`]: "apiResources",
  "/openapi/v2": "openapiV2",
  "/openapi/v3": "openapiV3"
}

const methodVerbs: Readonly<Record<string, string>> = {
  GET: "get",
  HEAD: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete"
}

const decode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

const isWatch = (query: URLSearchParams) => {
  const watch = query.get("watch")
  return watch !== null && watch !== "false" && watch !== "0"
}

/** Pure: the route and authorization attributes of a request (`path` without its query). */
export const requestInfo = (method: string, path: string, query: URLSearchParams): RequestInfo => {
  const health = healthRoutes[path]
  if (health !== undefined) return { _tag: "Health", route: health }
  const lowerVerb = methodVerbs[method] ?? method.toLowerCase()
  const parts = path.split("/").filter((p) => p !== "")
  // /apis/<group>/<version>/<resource...> and /api/<version>/<resource...> are resource requests.
  const prefixLength = parts[0] === "apis" ? 3 : parts[0] === "api" ? 2 : 0
  if (prefixLength === 0 || parts.length <= prefixLength) {
    return { _tag: "NonResource", route: nonResourceRoutes[path] ?? "unknown", path, verb: lowerVerb }
  }
  const apiGroup = prefixLength === 3 ? decode(parts[1] ?? "") : ""
  const apiVersion = decode(parts[prefixLength - 1] ?? "")
  let rest = parts.slice(prefixLength).map(decode)
  let namespace = ""
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1] ?? ""
    // `namespaces/<ns>/<resource>...`; a bare `namespaces/<ns>` is the namespace object itself.
    if (rest.length > 2 && rest[2] !== "status" && rest[2] !== "finalize") rest = rest.slice(2)
  }
  const [resource = "", name = "", subresource = ""] = rest
  let verb = lowerVerb
  if (name === "" && verb === "get") verb = isWatch(query) ? "watch" : "list"
  if (name === "" && verb === "delete") verb = "deletecollection"
  const isMetric =
    apiGroup === group &&
    apiVersion === version &&
    namespace !== "" &&
    rest.length === 1 &&
    parts[prefixLength] === "namespaces"
  return {
    _tag: "Resource",
    route: isMetric ? "externalMetric" : "unknown",
    attributes: { verb, group: apiGroup, version: apiVersion, resource, namespace, name, subresource }
  }
}
