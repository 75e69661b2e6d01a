/** A fixed MetadataMapper for tests of the command port that don't need a cluster. */
import type { MetadataMapperShape } from "../../src/services/MetadataMapper.ts"

export const fakeMapper: MetadataMapperShape = {
  enabled: true,
  nodePodsJson: (node) =>
    Buffer.from(
      node === "node-a"
        ? '{"Nodes":{"node-a":{"services":{"shop":{"web-1":{"web":{}}}}}}}'
        : `{"Warnings":["Node ${node} could not be added to the metadata map bundle: the key agent/KubernetesMetadataMapping/${node} was not found in the cache"]}`
    ),
  allNodesJson: () => '{"Nodes":{"node-a":{"services":{"shop":{"web-1":{"web":{}}}}}}}',
  podTagsJson: (node, ns, pod) =>
    node === "node-a" && ns === "shop" && pod === "web-1" ? '["kube_service:web"]' : "null",
  nodeLabels: (node) => (node === "node-a" ? { "kubernetes.io/hostname": "node-a" } : undefined),
  nodeAnnotations: (node) => (node === "node-a" ? { "cluster.k8s.io/machine": "machine-17" } : undefined),
  namespace: (name) =>
    name === "shop" ? { name: "shop", labels: { env: "prod" }, annotations: { team: "payments" } } : undefined,
  stats: () => undefined
}

export const clusterToken = "ClusterTokenClusterTokenClusterToken0001"
export const localToken = "a".repeat(64)
export const clusterUid = "3f1c9e2a-7b4d-4e8f-9a10-2c3d4e5f6a7b"
