/**
 * The shipped ServiceAccount and RBAC in a test cluster, created from deploy/. The ServiceAccount's
 * tokens, reviews and the wait for its bindings are in dev/serviceAccount.ts (the image check and
 * the demo use them too).
 */
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

export {
  awaitGranted,
  awaitShippedBindings,
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
