/**
 * Stand-ins for the external metrics provider's Kubernetes side, for unit tests on the TestClock
 * and for bench/external-metrics.ts: autoscaling/v2 HPAs with one External metric, a reflected
 * HPA store holding them (synced, no changes), and one ConfigMap in memory with resourceVersions
 * and 409s like the API server's (plus the HPA events the leader records).
 */
import { Effect, Stream } from "effect"
import { KubeError } from "../src/layers/KubeClient.ts"
import type { ConfigMap, CoreEvent } from "../src/layers/kube/schemas.ts"
import { hpaWatch } from "../src/services/externalMetrics/hpa.ts"
import { reflect } from "../src/streams/reflector.ts"
import { fakeKubeClient } from "./fakeKubeClient.ts"

/** An HPA of `namespace` (default "shop") scaling a Deployment of its name on one External metric. */
export const hpaObject = (name: string, metric: string, labels: Record<string, string>, namespace = "shop") => ({
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name, namespace, uid: `uid-${name}` },
  spec: {
    scaleTargetRef: { kind: "Deployment", name },
    maxReplicas: 5,
    metrics: [
      {
        type: "External",
        external: { metric: { name: metric, selector: { matchLabels: labels } }, target: { type: "Value", value: "1" } }
      }
    ]
  }
})

/** A reflected HPA store holding `objects`: one LIST, then a watch that stays quiet. */
export const hpaStore = (objects: ReadonlyArray<ReturnType<typeof hpaObject>>) =>
  reflect(
    "horizontalpodautoscalers",
    Stream.concat(
      Stream.fromIterable([
        { _tag: "Init" } as const,
        {
          _tag: "InitPage",
          objects: objects.map((o) => ({
            key: `${o.metadata.namespace}/${o.metadata.name}`,
            object: hpaWatch.strip(o)
          }))
        } as const,
        { _tag: "InitDone" } as const
      ]),
      Stream.never
    ),
    "1 hour"
  )

/** One ConfigMap in memory, with resourceVersions and 409s like the API server's. */
export const memoryKube = (initial?: ConfigMap) => {
  let stored: ConfigMap | undefined = initial
  let version = 1
  const events: Array<CoreEvent> = []
  const error = (reason: KubeError["reason"], status: number, apiReason?: string) =>
    new KubeError({ reason, verb: "X", path: "/cm", status, detail: reason, ...(apiReason ? { apiReason } : {}) })
  const kube = fakeKubeClient({
    getConfigMap: () => (stored === undefined ? Effect.fail(error("NotFound", 404)) : Effect.succeed(stored)),
    createConfigMap: (_ns, cm) => {
      if (stored !== undefined) return Effect.fail(error("Conflict", 409, "AlreadyExists"))
      stored = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(++version) } }
      return Effect.succeed(stored)
    },
    replaceConfigMap: (_ns, cm) => {
      if (stored === undefined) return Effect.fail(error("NotFound", 404))
      if (cm.metadata?.resourceVersion !== stored.metadata?.resourceVersion) {
        return Effect.fail(error("Conflict", 409))
      }
      stored = { ...cm, metadata: { ...cm.metadata, resourceVersion: String(++version) } }
      return Effect.succeed(stored)
    },
    createEvent: (_ns, e) => {
      if (events.some((x) => x.metadata?.name === e.metadata?.name)) {
        return Effect.fail(error("Conflict", 409, "AlreadyExists"))
      }
      events.push(e)
      return Effect.succeed(e)
    }
  })
  return {
    kube,
    events,
    stored: () => stored,
    /** Another writer (an old leader) bumps the object. */
    bump: () => {
      if (stored) stored = { ...stored, metadata: { ...stored.metadata, resourceVersion: String(++version) } }
    }
  }
}
