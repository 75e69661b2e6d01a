// Discovery and OpenAPI documents (kubernetes-notes C2/C3). The resource list is never empty:
// an APIService with no resources breaks kubectl's discovery cache on every command
// (field-lessons 1D), so a generic `externalmetrics` entry is always listed next to one entry per
// known metric name. The aggregator only needs the OpenAPI documents to be valid and small.
import { group, groupVersion, version } from "./requestInfo.ts"

const versionRef = { groupVersion, version }

export const apiGroup = {
  kind: "APIGroup",
  apiVersion: "v1",
  name: group,
  versions: [versionRef],
  preferredVersion: versionRef
}

export const apiGroupList = {
  kind: "APIGroupList",
  apiVersion: "v1",
  groups: [{ name: group, versions: [versionRef], preferredVersion: versionRef }]
}

/** The entry that is always there, whatever metrics are known. */
export const genericResourceName = "externalmetrics"

const resource = (name: string) => ({
  name,
  singularName: "",
  namespaced: true,
  kind: "ExternalMetricValueList",
  verbs: ["get"]
})

/** Pure: the APIResourceList for the known metric names (deduplicated, sorted). */
export const apiResourceList = (names: ReadonlyArray<string>) => ({
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion,
  resources: [genericResourceName, ...[...new Set(names)].filter((n) => n !== genericResourceName).sort()].map(resource)
})

/** A minimal valid Swagger 2.0 document. */
export const openApiV2 = {
  swagger: "2.0",
  info: { title: "Datadog Cluster Agent external metrics", version: versionRef.groupVersion },
  paths: {}
}

/** The OpenAPI v3 index: no per-group documents. */
export const openApiV3 = { paths: {} }
