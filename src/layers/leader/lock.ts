// The two locks the elector can hold, over KubeClient: a coordination.k8s.io/v1 Lease, or the
// original agent's ConfigMap with the record in an annotation (so a rollout next to a running
// original elects one leader between both). One request per call; retrying, timing and the
// rules of the election are the elector's (decide.ts).
//
// Optimistic concurrency: `update` PUTs the object it was given, resourceVersion included,
// so a write that lost a race fails with 409 Conflict instead of overwriting the winner.
// `get` answers undefined for a 404, which the elector turns into a create.
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import type { WatchRequest } from "../../streams/request.ts"
import type { KubeClientShape } from "../KubeClient.ts"
import type { KubeError } from "../kube/errors.ts"
import * as Paths from "../kube/paths.ts"
import * as Schemas from "../kube/schemas.ts"
import { decodeObjectResult, type WireSchema } from "../kube/schemas.ts"
import type { ConfigMap, KubeObject, Lease, ResourceRef } from "../kube/types.ts"
import type { Snapshot } from "./decide.ts"
import {
  decodeAnnotation,
  encodeAnnotation,
  type LeaderRecord,
  leaderAnnotation,
  leaseRecordText,
  leaseSpecWith,
  precisionMillis,
  recordFromLeaseSpec
} from "./record.ts"

export type LockKind = "Lease" | "ConfigMap"

/** The stored object a snapshot carries back to `update`. */
export type LockObject = Lease | ConfigMap

export type LockSnapshot = Snapshot<LockObject>

export interface Lock {
  readonly kind: LockKind
  readonly namespace: string
  readonly name: string
  /** For logs: `Lease default/datadog-leader-election`. */
  readonly description: string
  /** Milliseconds the record's times are stored in. */
  readonly precision: number
  /** The current record; undefined when the object does not exist. */
  readonly get: Effect.Effect<LockSnapshot | undefined, KubeError>
  /** Creates the object with `record`; 409 when someone created it first. */
  readonly create: (record: LeaderRecord) => Effect.Effect<LockSnapshot, KubeError>
  /** Writes `record` over `held`; 409 when the object changed since `held` was read. */
  readonly update: (held: LockSnapshot, record: LeaderRecord) => Effect.Effect<LockSnapshot, KubeError>
  /**
   * The lock object through the shared watch layer (a field selector on its name), so that a
   * follower sees each renewal as it happens instead of at its next poll. An object that cannot
   * be decoded is undefined here (the elector's own reads report it).
   */
  readonly watchRequest: WatchRequest<LockSnapshot | undefined>
}

const watched =
  <T extends LockObject>(
    schema: WireSchema<T>,
    resource: ResourceRef,
    name: string,
    snapshot: (o: T) => LockSnapshot
  ) =>
  (o: KubeObject): LockSnapshot | undefined => {
    const decoded = decodeObjectResult(schema, "WATCH", Paths.objectPath(resource, name), o)
    return Result.isSuccess(decoded) ? snapshot(decoded.success) : undefined
  }

const lockWatch = <T extends LockObject>(
  schema: WireSchema<T>,
  resource: ResourceRef,
  name: string,
  snapshot: (o: T) => LockSnapshot
): WatchRequest<LockSnapshot | undefined> => ({
  name: "leader-lock",
  resource,
  fieldSelector: `metadata.name=${name}`,
  strip: watched(schema, resource, name, snapshot)
})

const orAbsent = <A>(effect: Effect.Effect<A, KubeError>): Effect.Effect<A | undefined, KubeError> =>
  Effect.catchIf(
    effect,
    (e) => e.reason === "NotFound",
    () => Effect.succeed(undefined)
  )

const versionOf = (object: LockObject, recordText: string): string =>
  `${object.metadata?.resourceVersion ?? ""}\n${recordText}`

const leaseSnapshot = (lease: Lease): LockSnapshot => ({
  ...recordFromLeaseSpec(lease.spec),
  version: versionOf(lease, leaseRecordText(lease.spec)),
  object: lease
})

export const leaseLock = (kube: KubeClientShape, namespace: string, name: string): Lock => ({
  kind: "Lease",
  namespace,
  name,
  description: `Lease ${namespace}/${name}`,
  precision: precisionMillis.Lease,
  get: orAbsent(Effect.map(kube.getLease(namespace, name), leaseSnapshot)),
  watchRequest: lockWatch(Schemas.Lease, Paths.leases(namespace), name, leaseSnapshot),
  create: (record) =>
    Effect.map(
      kube.createLease(namespace, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace },
        spec: leaseSpecWith(undefined, record)
      }),
      leaseSnapshot
    ),
  update: (held, record) => {
    const lease = held.object as Lease
    return Effect.map(
      kube.replaceLease(namespace, { ...lease, spec: leaseSpecWith(lease.spec, record) }),
      leaseSnapshot
    )
  }
})

const configMapSnapshot = (configMap: ConfigMap): LockSnapshot => {
  const text = configMap.metadata?.annotations?.[leaderAnnotation]
  return { ...decodeAnnotation(text), version: versionOf(configMap, text ?? ""), object: configMap }
}

export const configMapLock = (kube: KubeClientShape, namespace: string, name: string): Lock => ({
  kind: "ConfigMap",
  namespace,
  name,
  description: `ConfigMap ${namespace}/${name}`,
  precision: precisionMillis.ConfigMap,
  get: orAbsent(Effect.map(kube.getConfigMap(namespace, name), configMapSnapshot)),
  watchRequest: lockWatch(Schemas.ConfigMap, Paths.configMaps(namespace), name, configMapSnapshot),
  create: (record) =>
    Effect.map(
      kube.createConfigMap(namespace, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace, annotations: { [leaderAnnotation]: encodeAnnotation(record) } }
      }),
      configMapSnapshot
    ),
  update: (held, record) => {
    const configMap = held.object as ConfigMap
    const metadata = configMap.metadata ?? {}
    const annotations = { ...metadata.annotations, [leaderAnnotation]: encodeAnnotation(record) }
    return Effect.map(
      kube.replaceConfigMap(namespace, { ...configMap, metadata: { ...metadata, annotations } }),
      configMapSnapshot
    )
  }
})

export const makeLock = (kube: KubeClientShape, kind: LockKind, namespace: string, name: string): Lock =>
  kind === "Lease" ? leaseLock(kube, namespace, name) : configMapLock(kube, namespace, name)

/** What DD_LEADER_ELECTION_DEFAULT_RESOURCE asks for; "" asks to discover. */
export type LockChoice = LockKind | "Discover"

export const lockChoiceOf = (setting: string): LockChoice => {
  switch (setting.trim().toLowerCase()) {
    case "lease":
    case "leases":
      return "Lease"
    case "configmap":
    case "configmaps":
      return "ConfigMap"
  }
  return "Discover"
}

/**
 * Whether the API server serves `resource`, from a GET of one name: an answer, or the 404 of a
 * missing object (its Status says `<resource> "<name>" not found`), means served; a 404 for
 * the path itself (a Status "the server could not find the requested resource" for an unknown
 * resource or version of a served group, a bare "404 page not found" for an unknown group)
 * means not served. Unlike a LIST or the discovery documents, this needs no right beyond the
 * `get` the lock needs anyway.
 */
export const isServed = (
  kube: KubeClientShape,
  resource: ResourceRef,
  name: string
): Effect.Effect<boolean, KubeError> =>
  kube.get(resource, name).pipe(
    Effect.as(true),
    Effect.catchIf(
      (e) => e.reason === "NotFound",
      (e) => Effect.succeed(e.apiReason === "NotFound" && e.detail.includes(`${JSON.stringify(name)} not found`))
    )
  )

/** The lock kind for "": a Lease when the API server serves coordination.k8s.io/v1 leases, else the ConfigMap. */
export const discoverLockKind = (
  kube: KubeClientShape,
  namespace: string,
  name: string
): Effect.Effect<LockKind, KubeError> =>
  Effect.map(isServed(kube, Paths.leases(namespace), name), (served) => (served ? "Lease" : "ConfigMap"))
