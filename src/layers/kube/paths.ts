// Pure: REST paths and query strings of the Kubernetes API.
import type { ResourceRef } from "./types.ts"

/** `/api/v1` for the core group, else `/apis/<group>/<version>`. */
export const groupVersionPath = (group: string, version: string): string =>
  group === "" ? `/api/${version}` : `/apis/${group}/${version}`

/** The collection path: `/api/v1/namespaces/ns/configmaps`, `/apis/g/v/leases`, ... */
export const collectionPath = (ref: ResourceRef): string => {
  const ns =
    ref.namespace === undefined || ref.namespace === "" ? "" : `/namespaces/${encodeURIComponent(ref.namespace)}`
  return `${groupVersionPath(ref.group, ref.version)}${ns}/${ref.resource}`
}

/** The path of one named object of the collection. */
export const objectPath = (ref: ResourceRef, name: string): string =>
  `${collectionPath(ref)}/${encodeURIComponent(name)}`

/** Query parameters; undefined and empty-string values are left out, booleans become "true"/"false". */
export type QueryValue = string | number | boolean | undefined

export const withQuery = (path: string, query: Readonly<Record<string, QueryValue>>): string => {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === "") continue
    params.set(key, String(value))
  }
  const qs = params.toString()
  return qs === "" ? path : `${path}?${qs}`
}

export const core = (resource: string, namespace?: string): ResourceRef => ({
  group: "",
  version: "v1",
  resource,
  namespace
})

export const configMaps = (namespace: string): ResourceRef => core("configmaps", namespace)
export const namespaces: ResourceRef = core("namespaces")
export const componentStatuses: ResourceRef = core("componentstatuses")
export const events = (namespace: string): ResourceRef => core("events", namespace)
export const leases = (namespace: string): ResourceRef => ({
  group: "coordination.k8s.io",
  version: "v1",
  resource: "leases",
  namespace
})
export const tokenReviews: ResourceRef = {
  group: "authentication.k8s.io",
  version: "v1",
  resource: "tokenreviews"
}
export const subjectAccessReviews: ResourceRef = {
  group: "authorization.k8s.io",
  version: "v1",
  resource: "subjectaccessreviews"
}
export const selfSubjectAccessReviews: ResourceRef = {
  group: "authorization.k8s.io",
  version: "v1",
  resource: "selfsubjectaccessreviews"
}
