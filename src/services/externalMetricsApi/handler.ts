// The pure request handler: an authenticated, authorized request in, its answer out, from memory.
// Only GET (and HEAD, answered like GET without a body by the HTTP layer) is served.
import type { ServedMetricsShape } from "../externalMetrics/served.ts"
import { acceptsPlainJson } from "./accept.ts"
import { apiGroup, apiGroupList, apiResourceList, openApiV2, openApiV3 } from "./discovery.ts"
import { parseSelector } from "./labelSelector.ts"
import { metricValueList } from "./metricValues.ts"
import type { RequestInfo } from "./requestInfo.ts"
import { type ApiResponse, json, methodNotAllowed, notAcceptable, notFound, statusError, text } from "./status.ts"

export interface HandlerRequest {
  readonly method: string
  readonly query: URLSearchParams
  readonly accept: string | undefined
}

export interface HandlerSources {
  readonly served: ServedMetricsShape
  /** Milliseconds since the epoch. */
  readonly now: () => number
}

// Documents that never change, serialised once.
const fixed = {
  apis: json(apiGroupList),
  apiGroup: json(apiGroup),
  openapiV2: json(openApiV2),
  openapiV3: json(openApiV3),
  ok: text("ok")
}

const discovery = (request: HandlerRequest, answer: () => ApiResponse): ApiResponse =>
  acceptsPlainJson(request.accept) ? answer() : notAcceptable

/** Pure (given its sources): the answer to a request. */
export const handle = (info: RequestInfo, request: HandlerRequest, sources: HandlerSources): ApiResponse => {
  if (info.route === "unknown") return notFound
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed
  switch (info.route) {
    case "healthz":
    case "livez":
    case "readyz":
      return fixed.ok
    case "apis":
      return discovery(request, () => fixed.apis)
    case "apiGroup":
      return discovery(request, () => fixed.apiGroup)
    case "apiResources":
      return discovery(request, () => json(apiResourceList(sources.served.names())))
    case "openapiV2":
      return fixed.openapiV2
    case "openapiV3":
      return fixed.openapiV3
    case "externalMetric": {
      if (info._tag !== "Resource") return notFound
      // A watch of the collection is not served; the HPA only lists.
      if (info.attributes.verb !== "list") return methodNotAllowed
      const raw = request.query.get("labelSelector") ?? ""
      const parsed = parseSelector(raw)
      if (parsed._tag === "Invalid") {
        return statusError(400, "BadRequest", `unable to parse labelSelector "${raw}": ${parsed.problem}`)
      }
      // client-go lower-cases the resource segment (kubernetes-notes C4); the namespace is ignored.
      const name = info.attributes.resource.toLowerCase()
      return metricValueList(name, parsed.selector, sources.served.lookup(name), sources.now())
    }
  }
}
