/**
 * The shipped ServiceAccount and RBAC in a test cluster: created from deploy/, and awaited until
 * the authorizer applies them. The ServiceAccount's tokens and reviews are in dev/serviceAccount.ts
 * (scripts/image/check.ts uses them too).
 */
import { AuthorizationV1Api, type KubeConfig, type V1ResourceAttributes } from "@kubernetes/client-node"
import type { ApiCall } from "../../dev/controlPlane/http.ts"
import {
  allManifests,
  clusterScopedKinds,
  collectionPath,
  createEach,
  forTest,
  identityKinds,
  type Manifest
} from "../../dev/deploy/manifests.ts"
import { serviceAccountAllowed } from "../../dev/serviceAccount.ts"
import { waitFor } from "./waitFor.ts"

export {
  serviceAccountAllowed,
  serviceAccountKubeconfig,
  serviceAccountToken,
  serviceAccountUser
} from "../../dev/serviceAccount.ts"

/** The ServiceAccount and RBAC objects of deploy/base, as created in a test in `namespace` (forTest). */
export const shippedIdentity = (namespace: string): ReadonlyArray<Manifest> =>
  allManifests()
    .map((m) => m.object)
    .filter((o) => identityKinds.has(o.kind))
    .map((o) => forTest(o, namespace, namespace))

/**
 * Creates the identity objects among `objects` (ServiceAccount and RBAC) exactly as given, each
 * answered 201. What a test namespace's deletion does not remove (cluster-scoped objects, objects
 * in kube-system) is deleted by a cleanup pushed onto `cleanups`.
 */
export const createIdentity = (
  call: ApiCall,
  objects: ReadonlyArray<Manifest>,
  cleanups?: Array<() => Promise<unknown>>
): Promise<void> =>
  createEach(
    call,
    objects.filter((o) => identityKinds.has(o.kind)),
    (object) => {
      if (clusterScopedKinds.has(object.kind) || object.metadata.namespace === "kube-system") {
        cleanups?.push(async () => call("DELETE", `${await collectionPath(call, object)}/${object.metadata.name}`))
      }
    }
  )

/**
 * Waits until the authorizer grants the ServiceAccount of `namespace` one rule: bindings reach
 * its cache asynchronously, and a role's rules arrive together, so one rule per binding is enough.
 */
export const awaitGranted = (
  kubeConfig: KubeConfig,
  namespace: string,
  attributes: V1ResourceAttributes | { readonly path: string },
  what: string
): Promise<true> =>
  waitFor(() => serviceAccountAllowed(kubeConfig.makeApiClient(AuthorizationV1Api), namespace, attributes), { what })

/**
 * Waits until the authorizer applies the shipped bindings in `namespace` (those created): one
 * rule of the ClusterRole's and one of the Role's, so every other rule is proven by what follows.
 */
export const awaitShippedBindings = async (
  kubeConfig: KubeConfig,
  namespace: string,
  created: { readonly clusterRoleBinding: boolean; readonly roleBinding: boolean } = {
    clusterRoleBinding: true,
    roleBinding: true
  }
): Promise<void> => {
  if (created.clusterRoleBinding) {
    await awaitGranted(
      kubeConfig,
      namespace,
      { verb: "watch", resource: "pods" },
      "the ClusterRoleBinding to take effect"
    )
  }
  if (created.roleBinding) {
    await awaitGranted(
      kubeConfig,
      namespace,
      { verb: "get", resource: "configmaps", namespace, name: "datadog-cluster-id" },
      "the RoleBinding to take effect"
    )
  }
}
