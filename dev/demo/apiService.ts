/**
 * The shipped APIService (deploy/external-metrics/apiservice.yaml) pointed at an agent process on
 * this machine: its Service becomes `type: ExternalName` to `localhost`, which kube-apiserver's
 * aggregator (without `--enable-aggregator-routing`, as dev/controlPlane starts it) dials as
 * `localhost:<port>`, and the APIService's port becomes the agent's
 * DD_EXTERNAL_METRICS_PROVIDER_PORT. Everything else is as shipped.
 *
 * Used by the demo (dev/demo/) and test/integration/externalMetricsHpa.test.ts. Only one APIService
 * of this name can exist per cluster.
 */
import { readFileSync } from "node:fs"
import { ApiregistrationV1Api, CoreV1Api, type KubeConfig, type V1APIService } from "@kubernetes/client-node"
import { load } from "js-yaml"

export const apiServiceFile = new URL("../../deploy/external-metrics/apiservice.yaml", import.meta.url)
export const apiServiceName = "v1beta1.external.metrics.k8s.io"

const statusOf = (error: unknown): number | undefined => (error as { code?: number } | null)?.code

/** The shipped APIService, as YAML reads it. */
export const shippedApiService = (): V1APIService => load(readFileSync(apiServiceFile, "utf8")) as V1APIService

/** Pure: the shipped APIService with its Service's port set to `port`. */
export const apiServiceForPort = (shipped: V1APIService, port: number): V1APIService => {
  const service = shipped.spec?.service
  if (shipped.spec === undefined || service === undefined)
    throw new Error(`${apiServiceFile.pathname}: no spec.service`)
  return { ...shipped, spec: { ...shipped.spec, service: { ...service, port } } }
}

/**
 * Creates the APIService's Service (ExternalName to localhost) if missing, and creates or
 * replaces the APIService so that the aggregator sends external.metrics.k8s.io to
 * `localhost:<port>`. The Service's namespace must exist. Returns the APIService written.
 */
export const pointApiServiceAt = async (kc: KubeConfig, port: number): Promise<V1APIService> => {
  const apiService = apiServiceForPort(shippedApiService(), port)
  const { name = "", namespace = "" } = apiService.spec?.service ?? {}
  const core = kc.makeApiClient(CoreV1Api)
  await core.readNamespacedService({ name, namespace }).catch(async (error: unknown) => {
    if (statusOf(error) !== 404) throw error
    await core.createNamespacedService({
      namespace,
      body: { metadata: { name }, spec: { type: "ExternalName", externalName: "localhost" } }
    })
  })
  const registration = kc.makeApiClient(ApiregistrationV1Api)
  const existing = await registration.readAPIService({ name: apiServiceName }).catch((error: unknown) => {
    if (statusOf(error) === 404) return undefined
    throw error
  })
  if (existing === undefined) return registration.createAPIService({ body: apiService })
  const resourceVersion = existing.metadata?.resourceVersion
  return registration.replaceAPIService({
    name: apiServiceName,
    body: { ...apiService, metadata: { ...apiService.metadata, ...(resourceVersion ? { resourceVersion } : {}) } }
  })
}

/** The APIService's `Available` condition: `{ available, message }` (message from the aggregator). */
export const apiServiceAvailability = async (kc: KubeConfig): Promise<{ available: boolean; message: string }> => {
  const current = await kc.makeApiClient(ApiregistrationV1Api).readAPIService({ name: apiServiceName })
  const condition = current.status?.conditions?.find((c) => c.type === "Available")
  return {
    available: condition?.status === "True",
    message: condition === undefined ? "no Available condition yet" : `${condition.reason}: ${condition.message ?? ""}`
  }
}
