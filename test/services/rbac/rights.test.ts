// The rights table: which features the configuration turns on, and exactly the rules each one
// needs (the same as the comments of deploy/base/rbac.yaml and deploy/external-metrics/rbac.yaml).
import { describe, expect, it } from "@effect/vitest"
import { defaultInstance } from "../../../src/services/kubernetesApiserver/instance.ts"
import { refusedText } from "../../../src/services/rbac/review.ts"
import { type FeatureRights, featureRights } from "../../../src/services/rbac/rights.ts"
import { podConfig } from "../../support/podConfig.ts"

const configOf = podConfig

/** Each feature's rights in words, with the role that grants them. */
const described = (table: ReadonlyArray<FeatureRights>) =>
  Object.fromEntries(
    table.map((f) => [
      f.feature,
      f.rights.map(
        (r) =>
          `${refusedText(r.rule, r.rule.verbs)} <- ${r.grant.kind} ${r.grant.name}${r.fallback === undefined ? "" : " (optional)"}`
      )
    ])
  )

describe("featureRights", () => {
  it("the defaults: API server probe, metadata mapper, cluster ID and the control-plane check", () => {
    const table = featureRights(configOf(), defaultInstance(false))
    expect(described(table)).toEqual({
      apiServerProbe: [
        "get /version <- ClusterRole datadog-cluster-agent",
        "get /readyz <- ClusterRole datadog-cluster-agent"
      ],
      metadataMapper: [
        "list, watch pods <- ClusterRole datadog-cluster-agent",
        "list, watch nodes <- ClusterRole datadog-cluster-agent",
        "list, watch namespaces <- ClusterRole datadog-cluster-agent",
        "list, watch services <- ClusterRole datadog-cluster-agent",
        "list, watch endpointslices.discovery.k8s.io <- ClusterRole datadog-cluster-agent"
      ],
      clusterId: [
        "get namespaces named kube-system <- ClusterRole datadog-cluster-agent",
        "get, update configmaps named datadog-cluster-id in namespace datadog <- Role datadog-cluster-agent",
        "create configmaps in namespace datadog <- Role datadog-cluster-agent"
      ],
      controlPlaneCheck: [
        "list componentstatuses <- ClusterRole datadog-cluster-agent (optional)",
        "get /readyz <- ClusterRole datadog-cluster-agent"
      ]
    })
    expect(table.map((f) => [f.feature, f.ifMissing])).toEqual([
      ["apiServerProbe", "reported"],
      ["metadataMapper", "notReady"],
      ["clusterId", "reported"],
      ["controlPlaneCheck", "stopped"]
    ])
  })

  it("every feature of the shipped Deployment, with the names and namespaces the agent uses", () => {
    const config = configOf({
      DD_LEADER_ELECTION: "true",
      DD_LEADER_ELECTION_DEFAULT_RESOURCE: "lease",
      DD_LEADER_LEASE_NAME: "my-lock",
      DD_CLUSTER_AGENT_TOKEN_NAME: "my-token",
      DD_COLLECT_KUBERNETES_EVENTS: "true",
      DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
      DD_APP_KEY: "fedcba9876543210fedcba9876543210fedcba98",
      DD_HPA_CONFIGMAP_NAME: "my-metrics",
      DD_KUBE_RESOURCES_NAMESPACE: "dd"
    })
    const rights = described(featureRights(config, { ...defaultInstance(true), useComponentStatus: false }))
    expect(rights.leaderElection).toEqual([
      "create leases.coordination.k8s.io in namespace dd <- Role datadog-cluster-agent",
      "get, list, watch, update leases.coordination.k8s.io named my-lock in namespace dd <- Role datadog-cluster-agent"
    ])
    expect(rights.eventCollection).toEqual([
      "list, watch events <- ClusterRole datadog-cluster-agent",
      "get, update configmaps named my-token in namespace dd <- Role datadog-cluster-agent",
      "create configmaps in namespace dd <- Role datadog-cluster-agent"
    ])
    expect(rights.controlPlaneCheck).toEqual(["get /readyz <- ClusterRole datadog-cluster-agent"])
    // The cluster ID lives in the pod's own namespace (the service account's), not the resources one.
    expect(rights.clusterId?.[1]).toBe(
      "get, update configmaps named datadog-cluster-id in namespace datadog <- Role datadog-cluster-agent"
    )
    expect(rights.externalMetrics).toEqual([
      "list, watch horizontalpodautoscalers.autoscaling <- ClusterRole datadog-cluster-agent-external-metrics",
      "create events <- ClusterRole datadog-cluster-agent-external-metrics",
      "get, update configmaps named my-metrics in namespace dd <- Role datadog-cluster-agent-external-metrics",
      "create configmaps in namespace dd <- Role datadog-cluster-agent",
      "get configmaps named extension-apiserver-authentication in namespace kube-system <- Role extension-apiserver-authentication-reader",
      "create tokenreviews.authentication.k8s.io <- ClusterRole system:auth-delegator",
      "create subjectaccessreviews.authorization.k8s.io <- ClusterRole system:auth-delegator"
    ])
  })

  it("the configmap lock asks for the ConfigMap of that name; features turned off ask for nothing", () => {
    const config = configOf({
      DD_LEADER_ELECTION: "true",
      DD_KUBERNETES_COLLECT_METADATA_TAGS: "false"
    })
    const table = featureRights(config, defaultInstance(false))
    expect(described(table).leaderElection).toEqual([
      "create configmaps in namespace datadog <- Role datadog-cluster-agent",
      "get, list, watch, update configmaps named datadog-leader-election in namespace datadog <- Role datadog-cluster-agent"
    ])
    expect(table.map((f) => f.feature)).toEqual(["apiServerProbe", "clusterId", "leaderElection", "controlPlaneCheck"])
  })
})
