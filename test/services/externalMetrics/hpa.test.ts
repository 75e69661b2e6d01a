import { describe, expect, it } from "@effect/vitest"
import * as Result from "effect/Result"
import type { LabelSelector, MetricSpec } from "../../../src/layers/kube/schemas.ts"
import { discoverMetrics, type HpaView, hpaMetrics, hpaWatch } from "../../../src/services/externalMetrics/hpa.ts"
import { handledEvent, handledReason, problemEvent } from "../../../src/services/externalMetrics/hpaEvents.ts"

const external = (name: string, selector?: LabelSelector): MetricSpec => ({
  type: "External",
  external: {
    metric: { name, ...(selector === undefined ? {} : { selector }) },
    target: { type: "Value", value: "10" }
  }
})

const hpa = (metrics: ReadonlyArray<MetricSpec>): HpaView => ({ namespace: "shop", name: "web", uid: "u-1", metrics })
const reference = { type: "horizontal", name: "web", namespace: "shop", uid: "u-1" } as const

describe("HPA discovery", () => {
  it("turns each External metric into a request with its matchLabels; other types are not ours", () => {
    const found = hpaMetrics(
      hpa([
        external("nginx.net.request_per_s", { matchLabels: { kube_container_name: "nginx" } }),
        { type: "Resource" },
        external("queue.depth")
      ])
    )
    expect(found.problems).toEqual([])
    expect(found.requests).toEqual([
      { metricName: "nginx.net.request_per_s", labels: { kube_container_name: "nginx" }, reference },
      { metricName: "queue.depth", labels: {}, reference }
    ])
  })

  it.each([
    ["1starts.with.digit", "is not a Datadog metric name"],
    ["has-dash", "is not a Datadog metric name"],
    ["", "is not a Datadog metric name"],
    [`a${"b".repeat(200)}`, "is not a Datadog metric name"]
  ])("reports the invalid name %j, never skips it silently", (name, reason) => {
    const found = hpaMetrics(hpa([external(name)]))
    expect(found.requests).toEqual([])
    expect(found.problems).toEqual([
      { reference, metricName: name, reason: expect.stringContaining(`spec.metrics[0].external.metric.name`) }
    ])
    expect(found.problems[0]?.reason).toContain(reason)
  })

  it("accepts a 200-character name", () => {
    expect(hpaMetrics(hpa([external(`a${"b".repeat(199)}`)])).requests).toHaveLength(1)
  })

  it("reports matchExpressions as unsupported", () => {
    const found = hpaMetrics(
      hpa([
        external("m", { matchLabels: { a: "b" }, matchExpressions: [{ key: "env", operator: "In", values: ["x"] }] })
      ])
    )
    expect(found.requests).toEqual([])
    expect(found.problems[0]?.reason).toContain("matchExpressions is not supported")
  })

  it("reports a second use of one metric in one HPA (one ConfigMap key holds one)", () => {
    const found = hpaMetrics(
      hpa([external("m", { matchLabels: { a: "1" } }), external("m", { matchLabels: { a: "2" } })])
    )
    expect(found.requests).toHaveLength(1)
    expect(found.problems[0]?.reason).toContain(
      "spec.metrics[1].external uses metric m again (first in spec.metrics[0].external)"
    )
  })

  it("decodes HPAs off the watch and reports an unreadable one by its name", () => {
    const good = hpaWatch.strip({
      metadata: { name: "web", namespace: "shop", uid: "u-1" },
      spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 3, metrics: [external("m")] }
    })
    const bad = hpaWatch.strip({ metadata: { name: "broken", namespace: "shop" }, spec: { maxReplicas: "three" } })
    expect(Result.isFailure(bad.autoscaler)).toBe(true)
    const found = discoverMetrics(
      new Map([
        ["shop/web", good],
        ["shop/broken", bad]
      ])
    )
    expect(found.requests.map((r) => r.metricName)).toEqual(["m"])
    expect(found.problems).toEqual([
      {
        reference: { type: "horizontal", name: "broken", namespace: "shop", uid: "" },
        metricName: "",
        reason: expect.stringContaining("the HPA cannot be read")
      }
    ])
  })
})

describe("HPA events", () => {
  const now = new Date("2026-12-02T10:00:00.500Z")
  it("records the original's Normal event, named so that every replica writes the same one", () => {
    const e = handledEvent(reference, "dca-0", now)
    expect(e).toMatchObject({
      type: "Normal",
      reason: handledReason,
      message: "",
      involvedObject: {
        kind: "HorizontalPodAutoscaler",
        apiVersion: "autoscaling/v2",
        name: "web",
        namespace: "shop",
        uid: "u-1"
      },
      firstTimestamp: "2026-12-02T10:00:00Z",
      count: 1,
      reportingInstance: "dca-0"
    })
    expect(handledEvent(reference, "dca-1", new Date(0)).metadata?.name).toBe(e.metadata?.name)
    expect(handledEvent({ ...reference, uid: "u-2" }, "dca-0", now).metadata?.name).not.toBe(e.metadata?.name)
  })

  it("records a Warning per distinct problem, with the reason", () => {
    const p = { reference, metricName: "m", reason: "bad" }
    const e = problemEvent(p, "dca-0", now)
    expect(e).toMatchObject({
      type: "Warning",
      reason: "FailedExternalMetric",
      message: "external metric m is not served: bad"
    })
    expect(problemEvent({ ...p, reason: "worse" }, "dca-0", now).metadata?.name).not.toBe(e.metadata?.name)
    expect(problemEvent(p, "dca-1", now).metadata?.name).toBe(e.metadata?.name)
  })
})
