// The request and response shapes of the four v1 endpoints the agent calls, declared once as
// Effect schemas: the decoded side has the field names of `@datadog/datadog-api-client`'s
// models (EventCreateRequest, ServiceCheck, MetricsQueryResponse...), the encoded side is the
// wire's snake_case JSON. Requests are encoded (and checked) with them; answers are decoded with
// them, so a 2xx that is not what Datadog sends is a Decode error, never a success with
// undefined fields (which is what the library returns for a malformed body).
import * as Schema from "effect/Schema"

const optional = Schema.optionalKey
const Str = Schema.String
const Num = Schema.Number
const Int = Schema.Int

// --- POST /api/v1/events ---------------------------------------------------------------------

export const EventAlertType = Schema.Literals([
  "error",
  "warning",
  "info",
  "success",
  "user_update",
  "recommendation",
  "snapshot"
])
export type EventAlertType = typeof EventAlertType.Type

export const EventPriority = Schema.Literals(["normal", "low"])
export type EventPriority = typeof EventPriority.Type

/** An event to create (the library's EventCreateRequest). */
export const EventCreateRequest = Schema.Struct({
  title: Str,
  text: Str,
  /** Seconds since the epoch; Datadog uses the arrival time when absent. */
  dateHappened: optional(Int),
  priority: optional(EventPriority),
  host: optional(Str),
  tags: optional(Schema.Array(Str)),
  alertType: optional(EventAlertType),
  aggregationKey: optional(Str),
  sourceTypeName: optional(Str),
  relatedEventId: optional(Int),
  deviceName: optional(Str)
}).pipe(
  Schema.encodeKeys({
    dateHappened: "date_happened",
    alertType: "alert_type",
    aggregationKey: "aggregation_key",
    sourceTypeName: "source_type_name",
    relatedEventId: "related_event_id",
    deviceName: "device_name"
  })
)
export type EventCreateRequest = typeof EventCreateRequest.Type

/** The answer to an event creation (the library's EventCreateResponse, the fields we read). */
export const EventCreateResponse = Schema.Struct({
  status: optional(Str),
  event: Schema.Struct({
    /** Datadog's ids are 64-bit: `idStr` is exact, `id` may have lost precision in JSON.parse. */
    id: Num,
    idStr: optional(Str),
    url: optional(Str)
  }).pipe(Schema.encodeKeys({ idStr: "id_str" }))
})
export type EventCreateResponse = typeof EventCreateResponse.Type

// --- POST /api/v1/check_run ------------------------------------------------------------------

/** 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export const ServiceCheckStatus = Schema.Literals([0, 1, 2, 3])
export type ServiceCheckStatus = typeof ServiceCheckStatus.Type

/** One service check run (the library's ServiceCheck). */
export const ServiceCheck = Schema.Struct({
  check: Str,
  hostName: Str,
  status: ServiceCheckStatus,
  tags: Schema.Array(Str),
  /** Seconds since the epoch; Datadog uses the arrival time when absent. */
  timestamp: optional(Int),
  message: optional(Str)
}).pipe(Schema.encodeKeys({ hostName: "host_name" }))
export type ServiceCheck = typeof ServiceCheck.Type

export const ServiceCheckRequest = Schema.Array(ServiceCheck)

/** `{"status": "ok"}` (the library's IntakePayloadAccepted). */
export const IntakePayloadAccepted = Schema.Struct({ status: Str })

// --- GET /api/v1/validate --------------------------------------------------------------------

export const AuthenticationValidationResponse = Schema.Struct({ valid: Schema.Boolean })

// --- GET /api/v1/query -----------------------------------------------------------------------

/** `[timestamp in ms, value]`; Datadog leaves gaps as `null` values. */
export const Point = Schema.Tuple([Num, Schema.NullOr(Num)])
export type Point = typeof Point.Type

/** One series of a query answer (the library's MetricsQueryMetadata, with nulls in pointlist). */
export const MetricsQuerySeries = Schema.Struct({
  metric: optional(Str),
  displayName: optional(Str),
  expression: optional(Str),
  scope: optional(Str),
  tagSet: optional(Schema.Array(Str)),
  aggr: optional(Schema.NullOr(Str)),
  pointlist: Schema.Array(Point),
  /** Which of the comma-separated queries this series answers (0-based). */
  queryIndex: optional(Int),
  interval: optional(Num),
  length: optional(Num),
  start: optional(Num),
  end: optional(Num),
  unit: optional(Schema.Unknown)
}).pipe(Schema.encodeKeys({ displayName: "display_name", tagSet: "tag_set", queryIndex: "query_index" }))
export type MetricsQuerySeries = typeof MetricsQuerySeries.Type

/** The answer to a metrics query (the library's MetricsQueryResponse). */
export const MetricsQueryResponse = Schema.Struct({
  status: Str,
  resType: optional(Str),
  query: optional(Str),
  fromDate: optional(Num),
  toDate: optional(Num),
  series: Schema.Array(MetricsQuerySeries),
  groupBy: optional(Schema.Array(Str)),
  message: optional(Str),
  error: optional(Str)
}).pipe(Schema.encodeKeys({ resType: "res_type", fromDate: "from_date", toDate: "to_date", groupBy: "group_by" }))
export type MetricsQueryResponse = typeof MetricsQueryResponse.Type

export interface MetricsQuery {
  /** Seconds since the epoch. */
  readonly from: number
  /** Seconds since the epoch. */
  readonly to: number
  /** One query, or several separated by commas (answers carry `queryIndex`). */
  readonly query: string
}
