// The Datadog "source" of a Kubernetes event: `source_type_name` of what we send, the `source`
// label of both event counters, and the key of the built-in default list (filters.ts). It is
// always `kubernetes` unless `kubernetes_events_source_detection.enabled`, which maps the
// reporting controller, else the source component, to the integration that owns it.
// (dda: kubernetesapiserver/events_common.go, controllerToIntegration and getEventSource.)

/** Controller or component name → integration. Copied as the original has it, including the
 * spelling "datadog operator" that the default list (filters.ts) keys as "datadog-operator". */
const controllerToIntegration: ReadonlyMap<string, string> = new Map(
  Object.entries({
    targetgroupbinding: "amazon elb",
    "cilium-sidekick": "cilium",
    datadogagent: "datadog operator",
    ExtendedDaemonSet: "datadog operator",
    "datadog-operator-manager": "datadog operator",
    "source-controller": "fluxcd",
    "kustomize-controller": "fluxcd",
    karpenter: "karpenter",
    "deployment-controller": "kubernetes",
    "job-controller": "kubernetes",
    "node-controller": "kubernetes",
    PodTemplate: "kubernetes",
    "taint-controller": "kubernetes",
    "cronjob-controller": "kubernetes",
    draino: "kubernetes",
    "attachdetach-controller": "kubernetes",
    "horizontal-pod-autoscaler": "kubernetes",
    "daemonset-controller": "kubernetes",
    "cloud-node-controller": "kubernetes",
    "service-controller": "kubernetes",
    "taint-eviction-controller": "kubernetes",
    "cloud-controller-manager": "kubernetes",
    wpa_controller: "kubernetes",
    "workflow-controller": "kubernetes",
    "persistentvolume-controller": "kubernetes",
    "compute-diagnostics": "kubernetes",
    "disruption-budget-manager": "kubernetes",
    "vpa-updater": "kubernetes",
    "serviceaccount-token-controller": "kubernetes",
    "endpoints-controller": "kubernetes",
    "endpointslice-controller": "kubernetes",
    "endpointslice-mirroring-controller": "kubernetes",
    "replicationcontroller-controller": "kubernetes",
    "pod-garbage-collector-controller": "kubernetes",
    "resourcequota-controller": "kubernetes",
    "namespace-controller": "kubernetes",
    "serviceaccount-controller": "kubernetes",
    "garbage-collector-controller": "kubernetes",
    "horizontal-pod-autoscaler-controller": "kubernetes",
    "disruption-controller": "kubernetes",
    "statefulset-controller": "kubernetes",
    "certificatesigningrequest-signing-controller": "kubernetes",
    "certificatesigningrequest-approving-controller": "kubernetes",
    "certificatesigningrequest-cleaner-controller": "kubernetes",
    "ttl-controller": "kubernetes",
    "bootstrap-signer-controller": "kubernetes",
    "token-cleaner-controller": "kubernetes",
    "node-ipam-controller": "kubernetes",
    "node-lifecycle-controller": "kubernetes",
    "persistentvolume-binder-controller": "kubernetes",
    "persistentvolume-attach-detach-controller": "kubernetes",
    "persistentvolume-expander-controller": "kubernetes",
    "clusterrole-aggregation-controller": "kubernetes",
    "persistentvolumeclaim-protection-controller": "kubernetes",
    "persistentvolume-protection-controller": "kubernetes",
    "ttl-after-finished-controller": "kubernetes",
    "storageversion-garbage-collector-controller": "kubernetes",
    "resourceclaim-controller": "kubernetes",
    "legacy-serviceaccount-token-cleaner-controller": "kubernetes",
    "validatingadmissionpolicy-status-controller": "kubernetes",
    "service-cidr-controller": "kubernetes",
    "storage-version-migrator-controller": "kubernetes",
    kubelet: "kubernetes",
    "cluster-autoscaler": "kubernetes cluster autoscaler",
    "endpoint-controller": "kubernetes controller manager",
    "endpoint-slice-controller": "kubernetes controller manager",
    "replicaset-controller": "kubernetes controller manager",
    "kube-controller-manager": "kubernetes controller manager",
    "default-scheduler": "kube_scheduler",
    "spark-operator": "spark",
    vaultd: "vault"
  })
)

/** The source of every event when detection is off, and of unknown controllers when it is on. */
export const kubernetesSource = "kubernetes"

/** Pure: the source of an event from its reporting controller, else its source component. */
export const eventSource = (reportingController: string, sourceComponent: string, detection: boolean): string =>
  detection
    ? (controllerToIntegration.get(reportingController) ??
      controllerToIntegration.get(sourceComponent) ??
      kubernetesSource)
    : kubernetesSource
