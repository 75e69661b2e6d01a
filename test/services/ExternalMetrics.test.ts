/**
 * The provider's loops on the TestClock, over an in-memory ConfigMap and a scripted Datadog: the
 * leader's store, refresh and failure rules, and a follower's copy going stale.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { hpaObject, hpaStore, memoryKube } from "../../dev/externalMetricsFakes.ts"
import { ConfigError, resolve } from "../../src/layers/Config.ts"
import type { DatadogClientShape } from "../../src/layers/DatadogClient.ts"
import { DatadogApiError } from "../../src/layers/datadog/errors.ts"
import type { MetricsQuery, MetricsQueryResponse } from "../../src/layers/datadog/schemas.ts"
import { KubeError } from "../../src/layers/KubeClient.ts"
import { makeProvider } from "../../src/services/ExternalMetrics.ts"
import { configMapKey, encodeEntry } from "../../src/services/externalMetrics/configMap.ts"
import { advance } from "../support/effectTest.ts"

const config = (() => {
  const c = resolve(
    {
      DD_API_KEY: "0123456789abcdef0123456789abcdef",
      DD_APP_KEY: "0123456789abcdef0123456789abcdef01234567",
      DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
      DD_KUBE_RESOURCES_NAMESPACE: "dd",
      DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD: "30",
      DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW: "10",
      DD_EXTERNAL_METRICS_PROVIDER_LOCAL_COPY_REFRESH_RATE: "30"
    },
    { hostname: "dca-0", serviceAccountNamespace: Option.none() }
  )
  if (c instanceof ConfigError) throw c
  return c
})()

/** A Datadog whose answer to every query is the current `value` (or a failure). */
const scriptedDatadog = () => {
  const state = { value: 7 as number, fail: false, calls: 0 }
  const queryMetrics = (q: MetricsQuery) =>
    Effect.suspend(() => {
      state.calls += 1
      if (state.fail) {
        return Effect.fail(
          new DatadogApiError({
            reason: "RateLimited",
            method: "GET",
            endpoint: "/api/v1/query",
            status: 429,
            detail: "slow down"
          })
        )
      }
      const series = q.query.split(",").map((_, i) => ({
        pointlist: [
          [(q.to - 60) * 1000, state.value],
          [(q.to - 30) * 1000, state.value],
          [q.to * 1000, 999]
        ] as Array<[number, number | null]>,
        queryIndex: i
      }))
      return Effect.succeed({ status: "ok", series } as MetricsQueryResponse)
    })
  return { state, datadog: { queryMetrics } as unknown as DatadogClientShape }
}

const key = configMapKey({
  metricName: "queue.depth",
  labels: { app: "web" },
  reference: { type: "horizontal", name: "web", namespace: "shop", uid: "uid-web" }
})

describe("ExternalMetrics (leader)", () => {
  it.effect("creates the store, writes each metric's value, serves it, and records the HPA's event", () =>
    Effect.gen(function* () {
      const memory = memoryKube()
      const dd = scriptedDatadog()
      const provider = yield* makeProvider({
        config,
        kube: memory.kube,
        datadog: dd.datadog,
        hpas: yield* hpaStore([hpaObject("web", "queue.depth", { app: "web" })])
      })
      const term = yield* Effect.forkChild(provider.term)
      yield* advance("1 second")
      const entry = JSON.parse(memory.stored()?.data?.[key] ?? "{}")
      // The newest point (999) is skipped as late data.
      expect(entry).toMatchObject({ metricName: "queue.depth", labels: { app: "web" }, value: 7, valid: true })
      expect(provider.served.lookup("QUEUE.DEPTH")).toMatchObject({
        _tag: "Entries",
        entries: [{ value: 7, valid: true, labels: { app: "web" } }]
      })
      expect(provider.served.names()).toEqual(["queue.depth"])
      expect(memory.events.map((e) => e.reason)).toEqual(["Autoscaler is now handled by the Cluster-Agent"])
      const status = yield* provider.status
      expect(status).toMatchObject({ leader: true, total: 1, valid: 1, configMap: "dd/datadog-custom-metrics" })
      expect(status.lastRefresh).toMatchObject({ queries: 1, calls: 1, failedCalls: 0 })

      // Every refresh period, one call for all metrics; batches in between query nothing.
      yield* advance("28 seconds", "1 second")
      expect(dd.state.calls).toBe(1)
      dd.state.value = 9
      yield* advance("2 seconds", "1 second")
      expect(dd.state.calls).toBe(2)
      expect(JSON.parse(memory.stored()?.data?.[key] ?? "{}").value).toBe(9)
      yield* Fiber.interrupt(term)
      expect((yield* provider.status).leader).toBe(false)
    })
  )

  it.effect("serves the last good value while Datadog fails, and turns it invalid once older than max age", () =>
    Effect.gen(function* () {
      const memory = memoryKube()
      const dd = scriptedDatadog()
      const provider = yield* makeProvider({
        config,
        kube: memory.kube,
        datadog: dd.datadog,
        hpas: yield* hpaStore([hpaObject("web", "queue.depth", { app: "web" })])
      })
      yield* Effect.forkChild(provider.term)
      yield* advance("1 second")
      dd.state.fail = true
      // The good point was 30 s old at the first query; max age is 120 s: still served at the
      // refreshes of 30, 60 and 90 s, invalid at the one of 120 s.
      yield* advance("60 seconds", "1 second")
      expect(provider.served.lookup("queue.depth")).toMatchObject({ entries: [{ valid: true, value: 7 }] })
      yield* advance("60 seconds", "1 second")
      const after = provider.served.lookup("queue.depth")
      expect(after).toMatchObject({ entries: [{ valid: false }] })
      expect(after._tag === "Entries" ? after.entries[0]?.reason : "").toContain("429")
      expect(JSON.parse(memory.stored()?.data?.[key] ?? "{}").valid).toBe(false)
    })
  )

  it.effect("drops entries of the older format and of deleted HPAs, and wins a conflict with another writer", () =>
    Effect.gen(function* () {
      const gone = {
        metricName: "old.metric",
        labels: {},
        ts: 1,
        value: 1,
        valid: true,
        reference: { type: "horizontal", name: "gone", namespace: "shop", uid: "uid-gone" }
      } as const
      const memory = memoryKube({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "datadog-custom-metrics", namespace: "dd", resourceVersion: "1" },
        data: {
          "external_metric-shop-web-queue.depth": '{"metricName":"queue.depth","hpa":{"name":"web"}}',
          [configMapKey(gone)]: encodeEntry(gone)
        }
      })
      const dd = scriptedDatadog()
      const provider = yield* makeProvider({
        config,
        kube: memory.kube,
        datadog: dd.datadog,
        hpas: yield* hpaStore([hpaObject("web", "queue.depth", { app: "web" })])
      })
      yield* Effect.forkChild(provider.term)
      yield* advance("1 second")
      expect(Object.keys(memory.stored()?.data ?? {})).toEqual([key])
      memory.bump()
      dd.state.value = 3
      yield* advance("31 seconds", "1 second")
      expect(JSON.parse(memory.stored()?.data?.[key] ?? "{}").value).toBe(3)
    })
  )
})

describe("ExternalMetrics (follower)", () => {
  it.effect("serves the ConfigMap's copy, and nothing once it could not re-read it for twice the refresh rate", () =>
    Effect.gen(function* () {
      const entry = {
        metricName: "queue.depth",
        labels: { app: "web" },
        ts: 0,
        value: 4,
        valid: true,
        reference: { type: "horizontal", name: "web", namespace: "shop", uid: "uid-web" }
      } as const
      const memory = memoryKube({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "datadog-custom-metrics", namespace: "dd", resourceVersion: "1" },
        data: { [key]: encodeEntry(entry) }
      })
      let readable = true
      const kube = {
        ...memory.kube,
        getConfigMap: (ns: string, name: string) =>
          readable
            ? memory.kube.getConfigMap(ns, name)
            : Effect.fail(new KubeError({ reason: "Forbidden", verb: "GET", path: "/cm", status: 403, detail: "no" }))
      }
      const provider = yield* makeProvider({
        config,
        kube,
        datadog: scriptedDatadog().datadog,
        hpas: yield* hpaStore([])
      })
      expect(provider.served.lookup("queue.depth")._tag).toBe("Unavailable")
      yield* Effect.forkChild(provider.followLoop)
      yield* advance("1 second")
      expect(provider.served.lookup("queue.depth")).toMatchObject({ entries: [{ value: 4, valid: true }] })
      // Last read at 0 s; the copy is served until it is 60 s old.
      readable = false
      yield* advance("58 seconds", "1 second")
      expect(provider.served.lookup("queue.depth")._tag).toBe("Entries")
      yield* advance("2 seconds", "1 second")
      const stale = provider.served.lookup("queue.depth")
      expect(stale).toMatchObject({ _tag: "Unavailable", reason: expect.stringContaining("limit 60 s") })
      expect((yield* provider.status).storeError).toContain(
        "needs get, update on configmaps named datadog-custom-metrics"
      )
    })
  )
})
