import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import {
  configMapKey,
  decodeEntries,
  encodeEntry,
  lastUpdatedAnnotation,
  newConfigMap,
  renderConfigMap
} from "../../../src/services/externalMetrics/configMap.ts"
import type { ExternalMetricEntry } from "../../../src/services/externalMetrics/types.ts"

const entry: ExternalMetricEntry = {
  metricName: "nginx.net.request_per_s",
  labels: { kube_container_name: "nginx" },
  ts: 1714564807,
  reference: { type: "horizontal", name: "nginx-hpa", namespace: "shop", uid: "5b1c" },
  value: 2.5,
  valid: true
}

describe("metrics ConfigMap format (contract §6.2)", () => {
  it("keys an entry by type, namespace, autoscaler and metric", () => {
    expect(configMapKey(entry)).toBe("external_metric-horizontal-shop-nginx-hpa-nginx.net.request_per_s")
  })

  it("writes the original's JSON, field for field and in its order", () => {
    expect(encodeEntry(entry)).toBe(
      '{"metricName":"nginx.net.request_per_s","labels":{"kube_container_name":"nginx"},"ts":1714564807,' +
        '"reference":{"type":"horizontal","name":"nginx-hpa","namespace":"shop","uid":"5b1c"},"value":2.5,"valid":true}'
    )
  })

  it("reads what it writes", () => {
    const key = configMapKey(entry)
    const read = decodeEntries({ [key]: encodeEntry(entry) })
    expect(read.invalid).toEqual([])
    expect(read.entries.get(key)).toEqual(entry)
  })

  it("reads a Go nil map of labels as no labels", () => {
    const raw = encodeEntry(entry).replace('{"kube_container_name":"nginx"}', "null")
    expect(decodeEntries({ [configMapKey(entry)]: raw }).entries.get(configMapKey(entry))?.labels).toEqual({})
  })

  it("lists the older format, garbage and foreign keys as invalid, with the reason", () => {
    const older = JSON.stringify({
      metricName: "m",
      labels: {},
      ts: 1,
      hpa: { name: "h", namespace: "n", uid: "u" },
      value: 1,
      valid: true
    })
    const read = decodeEntries({
      "external_metric-n-h-m": older,
      "external_metric-horizontal-n-h-x": "{not json",
      "something-else": "1",
      "external_metric-horizontal-other-name-m": encodeEntry({ ...entry, metricName: "m" })
    })
    expect(read.entries.size).toBe(0)
    expect(Object.fromEntries(read.invalid.map((i) => [i.key, i.reason]))).toEqual({
      "external_metric-n-h-m": "an entry of the older format (hpa instead of reference)",
      "external_metric-horizontal-n-h-x": expect.stringContaining("unreadable"),
      "something-else": "not an external metric key",
      "external_metric-horizontal-other-name-m": expect.stringContaining("does not match its value")
    })
  })

  it("renders exactly the given entries on the previous object, stamped with the write time", () => {
    const previous = {
      ...newConfigMap("shop", "datadog-custom-metrics"),
      metadata: {
        name: "datadog-custom-metrics",
        namespace: "shop",
        resourceVersion: "42",
        labels: { team: "a" },
        annotations: { keep: "me" }
      },
      data: { stale: "x" }
    }
    const rendered = renderConfigMap(
      previous,
      new Map([[configMapKey(entry), entry]]),
      new Date("2026-12-02T10:00:00.123Z")
    )
    expect(rendered.metadata?.resourceVersion).toBe("42")
    expect(rendered.metadata?.labels).toEqual({ team: "a" })
    expect(rendered.metadata?.annotations).toEqual({ keep: "me", [lastUpdatedAnnotation]: "2026-12-02T10:00:00Z" })
    expect(rendered.data).toEqual({ [configMapKey(entry)]: encodeEntry(entry) })
  })

  it("every entry survives a write and a read", () =>
    fc.assert(
      fc.property(
        fc.record({
          metricName: fc.stringMatching(/^[a-z][a-z0-9_.]{0,20}$/),
          labels: fc.dictionary(fc.stringMatching(/^[a-z_]{1,8}$/), fc.string()),
          ts: fc.integer({ min: 0, max: 2 ** 40 }),
          name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
          namespace: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
          uid: fc.uuid(),
          value: fc.double({ noNaN: true, noDefaultInfinity: true }),
          valid: fc.boolean()
        }),
        (r) => {
          const e: ExternalMetricEntry = {
            metricName: r.metricName,
            labels: r.labels,
            ts: r.ts,
            reference: { type: "horizontal", name: r.name, namespace: r.namespace, uid: r.uid },
            value: r.value,
            valid: r.valid
          }
          const rendered = renderConfigMap(newConfigMap("ns", "cm"), new Map([[configMapKey(e), e]]), new Date(0))
          const read = decodeEntries(rendered.data)
          expect(read.invalid).toEqual([])
          // JSON has no -0: it reads back as 0.
          expect(read.entries.get(configMapKey(e))).toEqual({ ...e, value: Object.is(e.value, -0) ? 0 : e.value })
        }
      )
    ))
})
