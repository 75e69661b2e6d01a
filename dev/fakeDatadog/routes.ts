/**
 * What the fake Datadog API answers, per path, once faults are out of the way: the endpoints the
 * cluster agent calls, with the request checks and response shapes of Datadog's v1 API as
 * `@datadog/datadog-api-client` expects them. Pure apart from the id counters in `RouteState`.
 */
import type { FormBody, UploadedFile } from "./body.ts"
import type { SeriesScripts } from "./metrics.ts"
import type { RecordedRequest } from "./recorder.ts"

/** What `POST /api/v1/events` takes (EventCreateRequest). */
export interface EventBody {
  readonly title: string
  readonly text: string
  readonly date_happened?: number
  readonly priority?: "normal" | "low"
  readonly host?: string
  readonly tags?: ReadonlyArray<string>
  readonly alert_type?: string
  readonly aggregation_key?: string
  readonly source_type_name?: string
  readonly related_event_id?: number
  readonly device_name?: string
  readonly [key: string]: unknown
}

/** One element of the array `POST /api/v1/check_run` takes (ServiceCheck). */
export interface ServiceCheckBody {
  readonly check: string
  readonly host_name: string
  readonly status: 0 | 1 | 2 | 3
  readonly tags?: ReadonlyArray<string>
  readonly timestamp?: number
  readonly message?: string
  readonly [key: string]: unknown
}

export interface FlareUpload {
  /** The case id in the path (`/support/flare/<caseId>`), if any. */
  readonly pathCaseId?: string
  /** The case id answered. */
  readonly caseId: number
  readonly fields: Readonly<Record<string, string>>
  readonly file?: UploadedFile
}

export type KeyPolicy = "any" | ReadonlyArray<string>

export interface RouteState {
  readonly series: SeriesScripts
  apiKeys: KeyPolicy
  appKeys: KeyPolicy
  nextEventId: number
  nextCaseId: number
  /** The fake's own URL, for event links. */
  baseUrl: string
}

export interface Answer {
  readonly status: number
  /** JSON body; `undefined` for none. */
  readonly body?: unknown
  /** Whether the request was acted on (stored, answered) rather than refused. */
  readonly accepted: boolean
  /** For a flare upload, what was stored. */
  readonly flare?: FlareUpload
}

interface Route {
  readonly path: RegExp
  readonly methods: ReadonlyArray<string>
  readonly keys: "api" | "api+app"
  readonly handle: (request: RecordedRequest, state: RouteState, params: ReadonlyArray<string>) => Answer
}

export const errors = (status: number, ...messages: string[]): Answer => ({
  status,
  body: { errors: messages },
  accepted: false
})

const ALERT_TYPES = ["error", "warning", "info", "success", "user_update", "recommendation", "snapshot"]
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === "string")
const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v)
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** The first problem of an event, if any. */
export const eventProblem = (e: unknown): string | undefined => {
  if (!isObject(e)) return "the body must be a JSON object (EventCreateRequest)"
  if (typeof e.title !== "string" || e.title === "") return "Event title is required (a non-empty string)"
  if (typeof e.text !== "string") return "Event text is required (a string)"
  if (e.date_happened !== undefined && !isInt(e.date_happened)) return "date_happened must be an integer (seconds)"
  if (e.priority !== undefined && e.priority !== "normal" && e.priority !== "low")
    return `priority must be "normal" or "low", got ${JSON.stringify(e.priority)}`
  if (e.alert_type !== undefined && !ALERT_TYPES.includes(e.alert_type as string))
    return `alert_type must be one of ${ALERT_TYPES.join(", ")}, got ${JSON.stringify(e.alert_type)}`
  if (e.tags !== undefined && !isStringArray(e.tags)) return "tags must be an array of strings"
  for (const key of ["host", "aggregation_key", "source_type_name", "device_name"])
    if (e[key] !== undefined && typeof e[key] !== "string") return `${key} must be a string`
  if (e.related_event_id !== undefined && !isInt(e.related_event_id)) return "related_event_id must be an integer"
  return undefined
}

/** The first problem of a check_run payload, if any. */
export const serviceChecksProblem = (body: unknown): string | undefined => {
  if (!Array.isArray(body)) return "the body must be a JSON array of service checks"
  for (const [i, c] of body.entries()) {
    const at = `service check [${i}]`
    if (!isObject(c)) return `${at} must be an object`
    if (typeof c.check !== "string" || c.check === "") return `${at}: check is required (a non-empty string)`
    if (typeof c.host_name !== "string") return `${at}: host_name is required (a string)`
    if (!isInt(c.status) || c.status < 0 || c.status > 3)
      return `${at}: status must be 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN), got ${JSON.stringify(c.status)}`
    if (c.tags !== undefined && !isStringArray(c.tags)) return `${at}: tags must be an array of strings`
    if (c.timestamp !== undefined && !isInt(c.timestamp)) return `${at}: timestamp must be an integer (seconds)`
    if (c.message !== undefined && typeof c.message !== "string") return `${at}: message must be a string`
  }
  return undefined
}

const createEvent: Route["handle"] = (request, state) => {
  const problem = eventProblem(request.body)
  if (problem !== undefined) return errors(400, problem)
  const event = request.body as EventBody
  const id = state.nextEventId++
  return {
    status: 202,
    accepted: true,
    body: {
      status: "ok",
      event: {
        ...event,
        date_happened: event.date_happened ?? Math.floor(request.time / 1000),
        id,
        id_str: String(id),
        url: `${state.baseUrl}/event/event?id=${id}`
      }
    }
  }
}

const checkRun: Route["handle"] = (request) => {
  const problem = serviceChecksProblem(request.body)
  if (problem !== undefined) return errors(400, problem)
  return { status: 202, accepted: true, body: { status: "ok" } }
}

const integerParam = (request: RecordedRequest, name: string): number | string => {
  const raw = request.query[name]
  if (raw === undefined || raw === "") return `Missing required parameter '${name}' (seconds since the epoch)`
  const n = Number(raw)
  return Number.isInteger(n) ? n : `Parameter '${name}' must be an integer (seconds since the epoch), got "${raw}"`
}

const queryMetrics: Route["handle"] = (request, state) => {
  const from = integerParam(request, "from")
  const to = integerParam(request, "to")
  const query = request.query.query
  if (typeof from === "string") return errors(400, from)
  if (typeof to === "string") return errors(400, to)
  if (query === undefined || query.trim() === "") return errors(400, "Missing required parameter 'query'")
  if (from > to) return errors(400, `'from' (${from}) is after 'to' (${to})`)
  return { status: 200, accepted: true, body: state.series.respond(query, from, to) }
}

const flare: Route["handle"] = (request, state, [pathCaseId]) => {
  if (request.method === "HEAD") return { status: 200, accepted: true }
  const form = request.body as FormBody | undefined
  if (form === undefined || !isObject(form) || !isObject(form.fields))
    return errors(400, "expected a multipart/form-data body with a flare_file part")
  const file = form.files.flare_file
  if (file === undefined) return errors(400, "missing file part 'flare_file'")
  const asked = Number(pathCaseId ?? form.fields.case_id)
  const caseId = Number.isSafeInteger(asked) && asked > 0 ? asked : state.nextCaseId++
  const upload: FlareUpload = {
    ...(pathCaseId === undefined ? {} : { pathCaseId }),
    caseId,
    fields: form.fields,
    file
  }
  return { status: 200, accepted: true, body: { case_id: caseId }, flare: upload }
}

const ROUTES: ReadonlyArray<Route> = [
  {
    path: /^\/api\/v1\/validate$/,
    methods: ["GET"],
    keys: "api",
    handle: () => ({ status: 200, accepted: true, body: { valid: true } })
  },
  { path: /^\/api\/v1\/events$/, methods: ["POST"], keys: "api", handle: createEvent },
  { path: /^\/api\/v1\/check_run$/, methods: ["POST"], keys: "api", handle: checkRun },
  { path: /^\/api\/v1\/query$/, methods: ["GET"], keys: "api+app", handle: queryMetrics },
  { path: /^\/support\/flare(?:\/([^/]+))?\/?$/, methods: ["HEAD", "POST"], keys: "api", handle: flare }
]

const allowed = (policy: KeyPolicy, key: string) => key !== "" && (policy === "any" || policy.includes(key))

const keyProblem = (request: RecordedRequest, route: Route, state: RouteState): Answer | undefined => {
  const apiKey = request.headers["dd-api-key"] ?? request.query.api_key
  if (apiKey === undefined || apiKey === "") return errors(403, "Forbidden: no API key (DD-API-KEY header)")
  if (!allowed(state.apiKeys, apiKey)) return errors(403, "Forbidden")
  if (route.keys === "api") return undefined
  const appKey = request.headers["dd-application-key"] ?? request.query.application_key
  if (appKey === undefined || appKey === "")
    return errors(403, "Forbidden: no application key (DD-APPLICATION-KEY header)")
  if (!allowed(state.appKeys, appKey)) return errors(403, "Forbidden")
  return undefined
}

/** Is this one of the rate-limited query paths? (for the X-RateLimit-* headers on every answer) */
export const isQueryPath = (path: string) => path === "/api/v1/query"

/** The answer to a request that faults did not stop. */
export const answer = (request: RecordedRequest, state: RouteState): Answer => {
  for (const route of ROUTES) {
    const match = route.path.exec(request.path)
    if (match === null) continue
    if (!route.methods.includes(request.method))
      return errors(405, `Method Not Allowed: ${request.method} ${request.path} (allowed: ${route.methods.join(", ")})`)
    if (request.bodyError !== undefined) return errors(400, `Bad Request: ${request.bodyError}`)
    const refused = keyProblem(request, route, state)
    if (refused !== undefined) return refused
    return route.handle(
      request,
      state,
      match.slice(1).filter((p): p is string => p !== undefined)
    )
  }
  return errors(404, `Not found: ${request.method} ${request.path}`)
}

/** The `Allow` header of a 405. */
export const allowedMethods = (path: string): string | undefined =>
  ROUTES.find((r) => r.path.test(path))?.methods.join(", ")
