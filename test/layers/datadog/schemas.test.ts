/**
 * The request and response schemas: the decoded side has exactly the field names of
 * `@datadog/datadog-api-client`'s models (checked by the compiler, `import type` only: the
 * library is never loaded), the encoded side is the wire's snake_case JSON.
 */
import type { EventCreateRequest as LibEventCreateRequest } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/models/EventCreateRequest.js"
import type { MetricsQueryMetadata as LibMetricsQueryMetadata } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/models/MetricsQueryMetadata.js"
import type { MetricsQueryResponse as LibMetricsQueryResponse } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/models/MetricsQueryResponse.js"
import type { ServiceCheck as LibServiceCheck } from "@datadog/datadog-api-client/dist/packages/datadog-api-client-v1/models/ServiceCheck.js"
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import {
  EventCreateRequest,
  EventCreateResponse,
  MetricsQueryResponse,
  type MetricsQuerySeries,
  ServiceCheckRequest
} from "../../../src/layers/datadog/schemas.ts"

type ModelKeys<T> = Exclude<keyof T, "additionalProperties" | "_unparsed">
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false

// Compile-time: the same field names as the library's models.
const sameNames: ReadonlyArray<true> = [
  true satisfies Same<ModelKeys<LibEventCreateRequest>, keyof EventCreateRequest>,
  true satisfies Same<ModelKeys<LibServiceCheck>, keyof (typeof ServiceCheckRequest.Type)[number]>,
  true satisfies Same<ModelKeys<LibMetricsQueryMetadata>, keyof MetricsQuerySeries>,
  true satisfies Same<ModelKeys<LibMetricsQueryResponse>, keyof MetricsQueryResponse>
]

describe("Datadog schemas", () => {
  it("have the library's field names (checked by the compiler)", () => {
    expect(sameNames).toEqual([true, true, true, true])
  })

  it("encode requests as the wire's snake_case JSON, dropping unknown fields", () => {
    expect(
      Schema.encodeSync(EventCreateRequest)({
        title: "t",
        text: "x",
        dateHappened: 5,
        alertType: "warning",
        aggregationKey: "k",
        sourceTypeName: "kubernetes",
        relatedEventId: 1,
        deviceName: "d",
        extra: true
      } as EventCreateRequest)
    ).toEqual({
      title: "t",
      text: "x",
      date_happened: 5,
      alert_type: "warning",
      aggregation_key: "k",
      source_type_name: "kubernetes",
      related_event_id: 1,
      device_name: "d"
    })
    expect(Schema.encodeSync(ServiceCheckRequest)([{ check: "c", hostName: "h", status: 3, tags: ["a"] }])).toEqual([
      { check: "c", host_name: "h", status: 3, tags: ["a"] }
    ])
  })

  it("decode answers: null points kept, 64-bit ids as strings, missing required fields refused", () => {
    const answer = Schema.decodeUnknownSync(MetricsQueryResponse)({
      status: "ok",
      res_type: "time_series",
      from_date: 1,
      to_date: 2,
      series: [
        {
          pointlist: [
            [1_000, null],
            [2_000, 1.5]
          ],
          query_index: 1,
          tag_set: ["a:b"],
          display_name: "m",
          unit: null
        }
      ],
      group_by: []
    })
    expect(answer).toEqual({
      status: "ok",
      resType: "time_series",
      fromDate: 1,
      toDate: 2,
      series: [
        {
          pointlist: [
            [1_000, null],
            [2_000, 1.5]
          ],
          queryIndex: 1,
          tagSet: ["a:b"],
          displayName: "m",
          unit: null
        }
      ],
      groupBy: []
    })
    expect(
      Schema.decodeUnknownSync(EventCreateResponse)({
        status: "ok",
        event: { id: 2 ** 60, id_str: "1152921504606846977" }
      }).event.idStr
    ).toBe("1152921504606846977")
    expect(() => Schema.decodeUnknownSync(MetricsQueryResponse)({ status: "ok" })).toThrow()
    expect(() =>
      Schema.decodeUnknownSync(MetricsQueryResponse)({ status: "ok", series: [{ pointlist: [[1, "x"]] }] })
    ).toThrow()
    expect(() => Schema.decodeUnknownSync(EventCreateResponse)({ status: "ok" })).toThrow()
  })
})
