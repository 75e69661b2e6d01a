// Pure: the Kubernetes rights each enabled feature uses, as a function of the configuration: what
// the code does against the API server (the comments at the top of deploy/base/rbac.yaml and
// deploy/external-metrics/rbac.yaml say the same, rule by rule), with the shipped Role or
// ClusterRole that grants each, so that a missing right can be named as the rule to add.
// Watched kinds come from the features' own watch requests, the objects from the same names and
// namespaces the features use.
import type { ClusterAgentConfigShape } from "../../layers/Config.ts"
import * as Paths from "../../layers/kube/paths.ts"
import type { ResourceRef } from "../../layers/kube/types.ts"
import { lockChoiceOf } from "../../layers/leader/lock.ts"
import type { WatchRequest } from "../../streams/request.ts"
import { clusterIdConfigMapName } from "../ClusterId.ts"
import { eventsResource } from "../events/view.ts"
import { hpaWatch } from "../externalMetrics/hpa.ts"
import { authConfigMapName, authConfigMapNamespace } from "../externalMetricsApi/authConfig.ts"
import type { ApiserverCheckInstance } from "../kubernetesApiserver/instance.ts"
import { metadataWatches } from "../metadata/objects.ts"

export type Feature =
  | "metadataMapper"
  | "clusterId"
  | "apiServerProbe"
  | "leaderElection"
  | "eventCollection"
  | "controlPlaneCheck"
  | "externalMetrics"

/** Where a right is granted in the shipped manifests (deploy/). */
export interface Grant {
  readonly kind: "ClusterRole" | "Role"
  readonly name: string
  /** A Role's namespace. */
  readonly namespace?: string | undefined
  /** A role Kubernetes ships (bind it, don't edit it). */
  readonly builtIn?: boolean | undefined
}

export type Rule =
  | {
      readonly _tag: "Resource"
      readonly group: string
      readonly resource: string
      readonly verbs: ReadonlyArray<string>
      /** Absent: cluster-scoped, or every namespace. */
      readonly namespace?: string | undefined
      /** One object (a LIST/WATCH of it is one with a field selector on its name). */
      readonly name?: string | undefined
    }
  | { readonly _tag: "NonResource"; readonly path: string; readonly verbs: ReadonlyArray<string> }

export interface Right {
  readonly rule: Rule
  readonly grant: Grant
  /** What the feature does instead without it; absent: the feature needs it. */
  readonly fallback?: string | undefined
}

/**
 * What happens to a feature whose needed right is missing:
 * - notReady: the replica is not ready (node agents go elsewhere); it recovers by itself once granted
 * - stopped: the feature is stopped, and starts again at the check that finds the right granted
 * - notStarted: the feature is not started; it starts at the next agent start once granted
 * - reported: the feature keeps trying (its own errors name the right) and the check reports it
 */
export type IfMissing = "notReady" | "stopped" | "notStarted" | "reported"

export interface FeatureRights {
  readonly feature: Feature
  /** For people: "event collection". */
  readonly title: string
  readonly ifMissing: IfMissing
  /** What a missing right costs, in a few words. */
  readonly consequence: string
  readonly rights: ReadonlyArray<Right>
}

/** The shipped roles (deploy/base/rbac.yaml, deploy/external-metrics/rbac.yaml). */
export const shippedRoles = {
  cluster: { kind: "ClusterRole", name: "datadog-cluster-agent" },
  own: (namespace: string): Grant => ({ kind: "Role", name: "datadog-cluster-agent", namespace }),
  metricsCluster: { kind: "ClusterRole", name: "datadog-cluster-agent-external-metrics" },
  metricsOwn: (namespace: string): Grant => ({
    kind: "Role",
    name: "datadog-cluster-agent-external-metrics",
    namespace
  }),
  authReader: {
    kind: "Role",
    name: "extension-apiserver-authentication-reader",
    namespace: authConfigMapNamespace,
    builtIn: true
  },
  authDelegator: { kind: "ClusterRole", name: "system:auth-delegator", builtIn: true }
} as const satisfies Record<string, Grant | ((namespace: string) => Grant)>

const on = (
  ref: ResourceRef,
  verbs: ReadonlyArray<string>,
  grant: Grant,
  scope: { readonly namespace?: string; readonly name?: string } = {}
): Right => ({
  rule: {
    _tag: "Resource",
    group: ref.group,
    resource: ref.resource,
    verbs,
    namespace: scope.namespace ?? (ref.namespace === "" ? undefined : ref.namespace),
    name: scope.name
  },
  grant
})

const path = (p: string, grant: Grant = shippedRoles.cluster): Right => ({
  rule: { _tag: "NonResource", path: p, verbs: ["get"] },
  grant
})

/** LIST + WATCH of each watched kind, cluster-wide. */
const watched = (requests: ReadonlyArray<WatchRequest<unknown>>, grant: Grant): ReadonlyArray<Right> =>
  requests.map((r) => on(r.resource, ["list", "watch"], grant))

/** The rights of every feature the configuration turns on, in the order the status shows them. */
export const featureRights = (
  config: ClusterAgentConfigShape,
  instance: ApiserverCheckInstance
): ReadonlyArray<FeatureRights> => {
  const own = config.effectiveNamespace
  const table: Array<FeatureRights> = []
  table.push({
    feature: "apiServerProbe",
    title: "API server probe",
    ifMissing: "reported",
    consequence: "the apiserver readiness component stays unhealthy",
    rights: [path("/version"), path("/readyz")]
  })
  if (config.collectMetadataTags && config.useMetadataMapper) {
    table.push({
      feature: "metadataMapper",
      title: "metadata mapper",
      ifMissing: "notReady",
      consequence: "node agents get no pod tags from this replica, which is kept out of the Service (not ready)",
      rights: watched(metadataWatches, shippedRoles.cluster)
    })
  }
  table.push({
    feature: "clusterId",
    title: "cluster ID",
    ifMissing: "reported",
    consequence: "GET /api/v1/cluster/id answers 500",
    rights: [
      on(Paths.namespaces, ["get"], shippedRoles.cluster, { name: "kube-system" }),
      on(Paths.configMaps(config.podNamespace), ["get", "update"], shippedRoles.own(config.podNamespace), {
        name: clusterIdConfigMapName
      }),
      on(Paths.configMaps(config.podNamespace), ["create"], shippedRoles.own(config.podNamespace))
    ]
  })
  if (config.leaderElection) {
    const lock = lockChoiceOf(config.leaderElectionResource) === "ConfigMap" ? Paths.configMaps(own) : Paths.leases(own)
    table.push({
      feature: "leaderElection",
      title: "leader election",
      ifMissing: "reported",
      consequence: "no replica can lead: event collection, control-plane checks and metric queries do not run",
      rights: [
        on(lock, ["create"], shippedRoles.own(own)),
        on(lock, ["get", "list", "watch", "update"], shippedRoles.own(own), { name: config.leaderLeaseName })
      ]
    })
  }
  if (instance.collectEvents) {
    table.push({
      feature: "eventCollection",
      title: "event collection",
      ifMissing: "stopped",
      consequence: "no Kubernetes event reaches Datadog",
      rights: [
        on(eventsResource, ["list", "watch"], shippedRoles.cluster),
        on(Paths.configMaps(own), ["get", "update"], shippedRoles.own(own), { name: config.tokenName }),
        on(Paths.configMaps(own), ["create"], shippedRoles.own(own))
      ]
    })
  }
  table.push({
    feature: "controlPlaneCheck",
    title: "control-plane check",
    ifMissing: "stopped",
    consequence: "no kube_apiserver_controlplane.up service check reaches Datadog",
    rights: instance.useComponentStatus
      ? [
          {
            ...on(Paths.componentStatuses, ["list"], shippedRoles.cluster),
            fallback: "the check reports /readyz instead of each component"
          },
          path("/readyz")
        ]
      : [path("/readyz")]
  })
  if (config.externalMetricsEnabled) {
    table.push({
      feature: "externalMetrics",
      title: "external metrics provider",
      ifMissing: "notStarted",
      consequence: "HPAs get no Datadog metric from this agent",
      rights: [
        ...watched([hpaWatch], shippedRoles.metricsCluster),
        on(eventsResource, ["create"], shippedRoles.metricsCluster),
        on(Paths.configMaps(own), ["get", "update"], shippedRoles.metricsOwn(own), { name: config.hpaConfigMapName }),
        on(Paths.configMaps(own), ["create"], shippedRoles.own(own)),
        on(Paths.configMaps(authConfigMapNamespace), ["get"], shippedRoles.authReader, { name: authConfigMapName }),
        on(Paths.tokenReviews, ["create"], shippedRoles.authDelegator),
        on(Paths.subjectAccessReviews, ["create"], shippedRoles.authDelegator)
      ]
    })
  }
  return table
}
