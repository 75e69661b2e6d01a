/**
 * deploy/external-metrics/: the base with the external metrics provider on. Statically (what
 * contract §6.5 and the agent's configuration need) and against the real API server (a strict
 * server-side dry run of every object, and the exact rights the provider uses, by
 * SubjectAccessReview). test/integration/externalMetricsHpa.test.ts runs the real agents with
 * these rights only and has real HPAs scale through the shipped APIService.
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { AuthorizationV1Api, type V1ResourceAttributes } from "@kubernetes/client-node"
import { Option } from "effect"
import { loadAll } from "js-yaml"
import { afterAll, describe, expect, it } from "vitest"
import { apiCaller } from "../../dev/controlPlane/http.ts"
import {
  allManifests,
  type Container,
  containerEnv,
  createObject,
  type Deployment,
  deployDir,
  forTest,
  type Manifest,
  readManifests,
  type Service
} from "../../dev/deploy/manifests.ts"
import { ConfigError, resolve } from "../../src/layers/Config.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { createIdentity } from "../support/serviceAccount.ts"

const overlayDir = `${deployDir}external-metrics/`
const overlay = (() => {
  const [doc] = loadAll(readFileSync(`${overlayDir}kustomization.yaml`, "utf8")) as Array<{
    resources: ReadonlyArray<string>
    patches: ReadonlyArray<{ path: string }>
  }>
  if (doc === undefined) throw new Error("deploy/external-metrics/kustomization.yaml is empty")
  return doc
})()
const added = overlay.resources.filter((r) => r !== "../base").flatMap((file) => readManifests(file, overlayDir))
const find = <T extends Manifest>(kind: string, name: string): T => {
  const found = added.find((o) => o.kind === kind && o.metadata.name === name)
  if (found === undefined) throw new Error(`deploy/external-metrics has no ${kind} ${name}`)
  return found as T
}

/** The base's container with the overlay's patch merged as kustomize merges it (by name). */
const patchedContainer = (): Container => {
  const [patch] = readManifests("deployment-patch.yaml", overlayDir) as ReadonlyArray<Deployment>
  const base = allManifests().find((m) => m.object.kind === "Deployment")?.object as Deployment
  const [container] = base.spec.template.spec.containers
  const [extra] = patch?.spec.template.spec.containers ?? []
  if (container === undefined || extra === undefined) throw new Error("no container to patch")
  const byName = <T extends { name?: string | undefined }>(a: ReadonlyArray<T>, b: ReadonlyArray<T>) => [
    ...a.filter((x) => !b.some((y) => y.name === x.name)),
    ...b
  ]
  return {
    ...container,
    env: byName(container.env ?? [], extra.env ?? []),
    ports: byName(container.ports, extra.ports ?? [])
  }
}

describe("deploy/external-metrics (static)", () => {
  it("builds on the base and adds the APIService, its Service and the provider's RBAC", () => {
    expect(overlay.resources).toContain("../base")
    expect(added.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        "APIService/v1beta1.external.metrics.k8s.io",
        "ClusterRole/datadog-cluster-agent-external-metrics",
        "ClusterRole/datadog-cluster-agent-external-metrics-reader",
        "ClusterRoleBinding/datadog-cluster-agent-auth-delegator",
        "ClusterRoleBinding/datadog-cluster-agent-external-metrics",
        "ClusterRoleBinding/datadog-cluster-agent-external-metrics-reader",
        "Role/datadog-cluster-agent-external-metrics",
        "RoleBinding/datadog-cluster-agent-auth-reader",
        "RoleBinding/datadog-cluster-agent-external-metrics",
        "Service/datadog-cluster-agent-metrics-api"
      ].sort()
    )
  })

  it("registers v1beta1.external.metrics.k8s.io on the metrics API Service as the original's chart does (contract §6.5)", () => {
    const apiService = find<Manifest & { spec: Record<string, unknown> }>(
      "APIService",
      "v1beta1.external.metrics.k8s.io"
    )
    expect(apiService.apiVersion).toBe("apiregistration.k8s.io/v1")
    expect(apiService.spec).toEqual({
      group: "external.metrics.k8s.io",
      version: "v1beta1",
      service: { name: "datadog-cluster-agent-metrics-api", namespace: "datadog", port: 8443 },
      insecureSkipTLSVerify: true,
      groupPriorityMinimum: 100,
      versionPriority: 100
    })
    const service = find<Service>("Service", "datadog-cluster-agent-metrics-api")
    expect(service.metadata.namespace).toBe("datadog")
    expect(service.spec.selector).toEqual({ app: "datadog-cluster-agent" })
    expect(service.spec.ports).toEqual([{ name: "metricsapi", port: 8443, targetPort: "metricsapi", protocol: "TCP" }])
  })

  it("turns the provider on, on the port the Service targets, with an application key", () => {
    const container = patchedContainer()
    const config = resolve(
      containerEnv(
        container,
        { namespace: "datadog", name: "dca-0" },
        {
          "datadog-secret/api-key": "0123456789abcdef0123456789abcdef",
          "datadog-secret/app-key": "0123456789abcdef0123456789abcdef01234567",
          "datadog-secret/token": "c0ffee".repeat(11).slice(0, 64)
        }
      ),
      { hostname: "dca-0", serviceAccountNamespace: Option.some("datadog") }
    )
    if (config instanceof ConfigError) throw new Error(config.message)
    expect(config.externalMetricsEnabled).toBe(true)
    expect(container.ports.find((p) => p.name === "metricsapi")?.containerPort).toBe(config.externalMetricsPort)
    expect(container.env?.find((e) => e.name === "DD_APP_KEY")?.valueFrom?.secretKeyRef).toEqual({
      name: "datadog-secret",
      key: "app-key"
    })
    expect(Option.isSome(config.appKey)).toBe(true)
  })

  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0
  it.runIf(kubectl)("kubectl kustomize renders the base and the overlay's objects, the patch applied", () => {
    const out = spawnSync("kubectl", ["kustomize", overlayDir], { encoding: "utf8" })
    expect(out.status, out.stderr).toBe(0)
    const rendered = loadAll(out.stdout) as ReadonlyArray<Manifest>
    const key = (o: Manifest) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`
    expect(rendered.map(key).sort()).toEqual([...allManifests().map((m) => m.object), ...added].map(key).sort())
    const deployment = rendered.find((o) => o.kind === "Deployment") as Deployment
    const [container] = deployment.spec.template.spec.containers
    expect(container?.env?.find((e) => e.name === "DD_EXTERNAL_METRICS_PROVIDER_ENABLED")?.value).toBe("true")
    expect(container?.ports.map((p) => p.name)).toContain("metricsapi")
    expect(container?.env?.some((e) => e.name === "DD_API_KEY")).toBe(true)
  })
})

describe.runIf(clusterAvailable)("deploy/external-metrics against the API server", () => {
  const cluster = useCluster()
  const cleanups: Array<() => Promise<unknown>> = []
  afterAll(async () => {
    await Promise.allSettled(cleanups.map((c) => c()))
  })

  const admin = (method: string, path: string, body?: unknown) =>
    apiCaller(cluster.server, cluster.adminTls)(method, path, body)
  /**
   * The object as created in a test: moved into the test's namespace and suffixed (forTest), except
   * what must stay as it is: the kube-system RoleBinding, built-in roles (system:*), and the HPA
   * controller's ServiceAccount in kube-system, and the APIService (cluster-scoped, and its name is
   * its version and group; the dry run does not store it).
   */
  const adapt = (o: Manifest, namespace: string): Manifest => {
    if (o.kind === "APIService") return o
    type Binding = Manifest & {
      roleRef?: { kind: string; name: string }
      subjects?: Array<{ kind: string; name: string; namespace?: string }>
    }
    const original = o as Binding
    const moved = forTest(o, namespace, namespace) as Binding
    const metadata =
      o.metadata.namespace === "kube-system" ? { ...moved.metadata, namespace: "kube-system" } : moved.metadata
    const roleRef = original.roleRef?.name.startsWith("system:") ? original.roleRef : moved.roleRef
    const subjects = moved.subjects?.map((s, i) =>
      original.subjects?.[i]?.namespace === "kube-system" ? { ...s, namespace: "kube-system" } : s
    )
    return {
      ...moved,
      metadata,
      ...(roleRef === undefined ? {} : { roleRef }),
      ...(subjects === undefined ? {} : { subjects })
    }
  }

  it("every object passes a strict server-side dry run", async () => {
    const namespace = await cluster.newNamespace("em-dry-run")
    for (const object of added) {
      const adapted = adapt(object, namespace)
      const res = await createObject(admin, adapted, true)
      expect(res.status, `${object.kind} ${object.metadata.name}: ${res.body}`).toBe(201)
    }
  })

  it("grants the provider exactly the rights it uses, and the HPA controller the metrics", async () => {
    const namespace = await cluster.newNamespace("em-rbac")
    await createIdentity(
      admin,
      [...allManifests().map((m) => m.object), ...added].map((o) => adapt(o, namespace)),
      cleanups
    )
    const authorization = cluster.kubeConfig.makeApiClient(AuthorizationV1Api)
    const can = async (user: string, groups: ReadonlyArray<string>, attributes: V1ResourceAttributes) => {
      const review = await authorization.createSubjectAccessReview({
        body: { spec: { user, groups: [...groups], resourceAttributes: attributes } }
      })
      return review.status?.allowed === true
    }
    const agent = `system:serviceaccount:${namespace}:datadog-cluster-agent`
    const agentGroups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`]
    const grants: ReadonlyArray<V1ResourceAttributes> = [
      { verb: "list", group: "autoscaling", resource: "horizontalpodautoscalers" },
      { verb: "watch", group: "autoscaling", resource: "horizontalpodautoscalers" },
      { verb: "create", resource: "events", namespace: "default" },
      { verb: "create", resource: "configmaps", namespace },
      { verb: "get", resource: "configmaps", namespace, name: "datadog-custom-metrics" },
      { verb: "update", resource: "configmaps", namespace, name: "datadog-custom-metrics" },
      { verb: "get", resource: "configmaps", namespace: "kube-system", name: "extension-apiserver-authentication" },
      { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" },
      { verb: "create", group: "authorization.k8s.io", resource: "subjectaccessreviews" }
    ]
    for (const a of grants) expect(await can(agent, agentGroups, a), JSON.stringify(a)).toBe(true)
    const denials: ReadonlyArray<V1ResourceAttributes> = [
      { verb: "update", group: "autoscaling", resource: "horizontalpodautoscalers", namespace: "default" },
      { verb: "delete", resource: "events", namespace: "default" },
      { verb: "update", resource: "configmaps", namespace: "kube-system", name: "extension-apiserver-authentication" },
      { verb: "get", resource: "configmaps", namespace: "default", name: "datadog-custom-metrics" },
      { verb: "list", resource: "configmaps", namespace },
      { verb: "get", resource: "secrets", namespace }
    ]
    for (const a of denials) expect(await can(agent, agentGroups, a), JSON.stringify(a)).toBe(false)
    // The HPA controller (kube-controller-manager with --use-service-account-credentials).
    const hpaController = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
    const metric = { group: "external.metrics.k8s.io", resource: "shop.queue.depth", namespace: "default" }
    expect(await can(hpaController, ["system:serviceaccounts"], { ...metric, verb: "list" })).toBe(true)
    expect(await can(hpaController, ["system:serviceaccounts"], { ...metric, verb: "create" })).toBe(false)
  })
})
