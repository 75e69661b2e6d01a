import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Result, Schedule } from "effect"
import { CoreEvent, HorizontalPodAutoscaler } from "../../src/layers/kube/schemas.ts"
import type { KubeObject } from "../../src/layers/kube/types.ts"
import { decodedStrip } from "../../src/streams/decoded.ts"
import type { WatchRequest } from "../../src/streams/request.ts"
import { makeWatches } from "../../src/streams/Watches.ts"
import { fakeCluster } from "../support/fakeCluster.ts"

const options = {
  pageSize: 500,
  watchTimeout: Duration.seconds(60),
  idleTimeout: Duration.seconds(150),
  backoff: Schedule.spaced("1 second")
}

// The two kinds the next features add, each as one request with one stripper.
const hpaResource = { group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" }
const decodeHpa = decodedStrip(hpaResource, HorizontalPodAutoscaler, (hpa) => ({
  maxReplicas: hpa.spec.maxReplicas,
  external: (hpa.spec.metrics ?? []).flatMap((m) => (m.external === undefined ? [] : [m.external.metric.name]))
}))
const autoscalers: WatchRequest<{ readonly autoscaler: ReturnType<typeof decodeHpa> }> = {
  name: "horizontalpodautoscalers",
  resource: hpaResource,
  strip: (o) => ({ autoscaler: decodeHpa(o) })
}
const eventResource = { group: "", version: "v1", resource: "events" }
const decodeEvent = decodedStrip(eventResource, CoreEvent, (e) => ({ reason: e.reason ?? "", count: e.count ?? 1 }))
const events: WatchRequest<{ readonly event: ReturnType<typeof decodeEvent> }> = {
  name: "events",
  resource: eventResource,
  strip: (o) => ({ event: decodeEvent(o) })
}

const hpa = (name: string, maxReplicas: unknown): KubeObject => ({
  metadata: { name, namespace: "shop" },
  spec: {
    scaleTargetRef: { kind: "Deployment", name: "web" },
    maxReplicas,
    metrics: [
      { type: "External", external: { metric: { name: "nginx.net.request_per_s" }, target: { type: "Value" } } }
    ]
  }
})

describe("decoded strippers", () => {
  it.effect(
    "an HPA and an Event kind are each one request plus one stripper; a malformed object is a Decode error in the store",
    () =>
      Effect.gen(function* () {
        const cluster = yield* fakeCluster
        cluster.seed("horizontalpodautoscalers", hpa("good", 10))
        cluster.seed("horizontalpodautoscalers", hpa("bad", "ten"))
        cluster.seed("events", {
          metadata: { name: "e1", namespace: "shop" },
          involvedObject: { kind: "Pod" },
          reason: "Killing",
          count: 2
        })
        const watches = yield* makeWatches(cluster.kube, options, Duration.minutes(5), [autoscalers, events])
        const hpas = yield* watches.reflect(autoscalers)
        const evs = yield* watches.reflect(events)
        yield* hpas.synced
        yield* evs.synced

        expect(hpas.store.get("shop/good")?.autoscaler).toEqual(
          Result.succeed({ maxReplicas: 10, external: ["nginx.net.request_per_s"] })
        )
        const bad = hpas.store.get("shop/bad")?.autoscaler
        expect(bad !== undefined && Result.isFailure(bad) ? bad.failure.reason : undefined).toBe("Decode")
        expect(bad !== undefined && Result.isFailure(bad) ? bad.failure.message : "").toContain("spec.maxReplicas")
        expect(bad !== undefined && Result.isFailure(bad) ? bad.failure.path : "").toBe(
          "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/bad"
        )
        expect(evs.store.get("shop/e1")?.event).toEqual(Result.succeed({ reason: "Killing", count: 2 }))
      })
  )

  it("never throw, whatever JSON they get", () => {
    for (const value of [null, 1, "x", [], {}, { metadata: 3 }, { spec: null }, { involvedObject: [] }]) {
      expect(Result.isFailure(decodeHpa(value as KubeObject))).toBe(true)
      expect(Result.isFailure(decodeEvent(value as KubeObject))).toBe(true)
    }
  })
})
