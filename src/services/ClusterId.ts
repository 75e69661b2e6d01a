// The cluster ID node agents read from `GET /api/v1/cluster/id`: the UID of the kube-system
// namespace, kept in the ConfigMap `datadog-cluster-id` (key `id`) of the agent's own namespace,
// as the original does. Created when missing, repaired when not a 36-character UID, cached for
// the life of the process once known. Two replicas racing on the ConfigMap are settled by
// optimistic concurrency (409 → read again).
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Semaphore from "effect/Semaphore"
import { ClusterAgentConfig } from "../layers/Config.ts"
import { KubeClient, type KubeClientShape, type KubeError } from "../layers/KubeClient.ts"
import type { ConfigMap } from "../layers/kube/types.ts"

export const clusterIdConfigMapName = "datadog-cluster-id"
const idKey = "id"

export class ClusterIdError extends Schema.TaggedError<ClusterIdError>()("ClusterIdError", {
  detail: Schema.String
}) {
  override get message(): string {
    return `cannot get the cluster ID: ${this.detail}`
  }
}

const validId = (id: string | undefined): id is string => id !== undefined && id.length === 36

/** Reads the ConfigMap, or creates/repairs it with the kube-system UID; returns the ID. */
export const resolveClusterId = (kube: KubeClientShape, namespace: string): Effect.Effect<string, KubeError> =>
  Effect.gen(function* () {
    const existing = yield* kube.getConfigMap(namespace, clusterIdConfigMapName).pipe(
      Effect.map(Option.some),
      Effect.catchIf(
        (e) => e.reason === "NotFound",
        () => Effect.succeed(Option.none<ConfigMap>())
      )
    )
    const stored = Option.flatMap(existing, (cm) => Option.fromNullishOr(cm.data?.[idKey]))
    if (Option.isSome(stored) && validId(stored.value)) return stored.value
    const uid = (yield* kube.getNamespace("kube-system")).metadata?.uid ?? ""
    if (Option.isNone(existing)) {
      yield* kube.createConfigMap(namespace, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: clusterIdConfigMapName, namespace },
        data: { [idKey]: uid }
      })
    } else {
      const cm = existing.value
      yield* kube.replaceConfigMap(namespace, { ...cm, data: { ...cm.data, [idKey]: uid } })
    }
    return uid
  }).pipe(
    // Another replica wrote it between our read and write: its value is as good as ours.
    Effect.retry({ times: 3, while: (e) => e.reason === "Conflict" })
  )

export class ClusterId extends Context.Service<ClusterId, { readonly get: Effect.Effect<string, ClusterIdError> }>()(
  "dca/ClusterId"
) {
  static readonly layer = Layer.effect(
    ClusterId,
    Effect.gen(function* () {
      const kube = yield* KubeClient
      const config = yield* ClusterAgentConfig
      const cached = yield* Ref.make(Option.none<string>())
      const once = yield* Semaphore.make(1)
      const get = Effect.gen(function* () {
        const known = yield* Ref.get(cached)
        if (Option.isSome(known)) return known.value
        const id = yield* resolveClusterId(kube, config.podNamespace).pipe(
          Effect.mapError((e) => new ClusterIdError({ detail: e.message }))
        )
        if (!validId(id))
          return yield* new ClusterIdError({ detail: `kube-system UID ${JSON.stringify(id)} is not a UID` })
        yield* Ref.set(cached, Option.some(id))
        return id
      })
      return ClusterId.of({ get: once.withPermits(1)(get) })
    })
  )
}
