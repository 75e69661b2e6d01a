/**
 * The shipped manifests (deploy/) as plain objects, read the way `kubectl apply -k deploy/` reads
 * them: the base kustomization's `resources` (deploy/base/), every YAML document of each file; for
 * the tests, the image check and the demo. Parsed raw with js-yaml, because client-node's own
 * loader maps objects onto its models and would silently drop a misspelt field.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { loadAll } from "js-yaml"
import type { ApiCall, HttpResponse } from "../controlPlane/http.ts"

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url))
export const deployDir = `${repoRoot}deploy/`
/** The base kustomization (`deploy/` applies it; overlays such as deploy/external-metrics/ build on it). */
export const baseDir = `${deployDir}base/`

/** A Kubernetes object as written in YAML (only the parts the tests read are typed). */
export interface Manifest {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown }
  readonly [k: string]: unknown
}

export interface EnvVar {
  readonly name: string
  readonly value?: string
  readonly valueFrom?: {
    readonly secretKeyRef?: { readonly name: string; readonly key: string }
    readonly fieldRef?: { readonly fieldPath: string }
  }
}

export interface ContainerPort {
  readonly name?: string
  readonly containerPort: number
  readonly protocol?: string
}

export interface HttpProbe {
  readonly httpGet: { readonly path: string; readonly port: number | string; readonly scheme?: string }
}

export interface Container {
  readonly name: string
  readonly image: string
  readonly imagePullPolicy?: string
  readonly ports: ReadonlyArray<ContainerPort>
  readonly env: ReadonlyArray<EnvVar>
  readonly startupProbe: HttpProbe
  readonly livenessProbe: HttpProbe
  readonly readinessProbe: HttpProbe
  readonly resources: {
    readonly requests?: Readonly<Record<string, string>>
    readonly limits?: Readonly<Record<string, string>>
  }
  readonly securityContext: {
    readonly runAsNonRoot?: boolean
    readonly runAsUser?: number
    readonly readOnlyRootFilesystem?: boolean
    readonly allowPrivilegeEscalation?: boolean
    readonly capabilities?: { readonly drop?: ReadonlyArray<string>; readonly add?: ReadonlyArray<string> }
    readonly seccompProfile?: { readonly type: string }
  }
  readonly volumeMounts: ReadonlyArray<{ readonly name: string; readonly mountPath: string }>
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>
}

export interface WeightedPodAffinityTerm {
  readonly weight: number
  readonly podAffinityTerm: { readonly topologyKey: string; readonly labelSelector: LabelSelector }
}

export interface PodTemplate {
  readonly metadata: {
    readonly labels: Readonly<Record<string, string>>
    readonly annotations: Readonly<Record<string, string>>
  }
  readonly spec: {
    readonly serviceAccountName: string
    readonly containers: ReadonlyArray<Container>
    readonly volumes: ReadonlyArray<{ readonly name: string; readonly emptyDir?: unknown }>
    readonly affinity?: {
      readonly podAntiAffinity?: {
        readonly preferredDuringSchedulingIgnoredDuringExecution?: ReadonlyArray<WeightedPodAffinityTerm>
        readonly requiredDuringSchedulingIgnoredDuringExecution?: ReadonlyArray<unknown>
      }
    }
  }
}

export interface Deployment extends Manifest {
  readonly spec: {
    readonly replicas: number
    readonly strategy?: unknown
    readonly selector: LabelSelector
    readonly template: PodTemplate
  }
}

export interface PodDisruptionBudget extends Manifest {
  readonly spec: {
    readonly maxUnavailable?: number | string
    readonly minAvailable?: number | string
    readonly unhealthyPodEvictionPolicy?: string
    readonly selector: LabelSelector
  }
}

export interface Service extends Manifest {
  readonly spec: {
    readonly type?: string
    readonly selector: Readonly<Record<string, string>>
    readonly ports: ReadonlyArray<{
      readonly name?: string
      readonly port: number
      readonly targetPort?: number | string
      readonly protocol?: string
    }>
  }
}

/** One rule of a ClusterRole or Role. */
export interface PolicyRule {
  readonly apiGroups?: ReadonlyArray<string>
  readonly resources?: ReadonlyArray<string>
  readonly resourceNames?: ReadonlyArray<string>
  readonly nonResourceURLs?: ReadonlyArray<string>
  readonly verbs: ReadonlyArray<string>
}

export interface RbacRole extends Manifest {
  readonly rules: ReadonlyArray<PolicyRule>
}

export interface Kustomization {
  readonly apiVersion: string
  readonly kind: string
  readonly namespace: string
  readonly resources: ReadonlyArray<string>
}

const isManifest = (doc: unknown): doc is Manifest =>
  typeof doc === "object" &&
  doc !== null &&
  typeof (doc as { apiVersion?: unknown }).apiVersion === "string" &&
  typeof (doc as { kind?: unknown }).kind === "string" &&
  typeof (doc as { metadata?: { name?: unknown } }).metadata?.name === "string"

export const readKustomization = (): Kustomization => {
  const [doc] = loadAll(readFileSync(`${baseDir}kustomization.yaml`, "utf8"))
  return doc as Kustomization
}

/** Every object of one file; a document that is not a Kubernetes object throws. */
export const readManifests = (file: string, dir: string = baseDir): ReadonlyArray<Manifest> =>
  loadAll(readFileSync(`${dir}${file}`, "utf8"))
    .filter((doc) => doc !== null && doc !== undefined)
    .map((doc, i) => {
      if (!isManifest(doc)) throw new Error(`${file}: document ${i + 1} is not a Kubernetes object`)
      return doc
    })

/** Every object kustomization.yaml lists, with the file it came from. */
export const allManifests = (): ReadonlyArray<{ readonly file: string; readonly object: Manifest }> =>
  readKustomization().resources.flatMap((file) => readManifests(file).map((object) => ({ file, object })))

export const findObject = <T extends Manifest>(kind: string, name: string): T => {
  const found = allManifests().find((m) => m.object.kind === kind && m.object.metadata.name === name)
  if (found === undefined) throw new Error(`deploy/ has no ${kind} ${name}`)
  return found.object as T
}

export const clusterScopedKinds: ReadonlySet<string> = new Set(["ClusterRole", "ClusterRoleBinding"])

/** The kinds that make the agent's identity: its ServiceAccount and the RBAC that grants it rights. */
export const identityKinds: ReadonlySet<string> = new Set([
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding"
])

/**
 * The collection path of an object, from the API server's discovery (so an unknown kind fails
 * here, as does a namespace on a cluster-scoped kind or none on a namespaced one).
 */
export const collectionPath = async (call: ApiCall, object: Manifest): Promise<string> => {
  const base = object.apiVersion.includes("/") ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`
  const discovery = await call("GET", base)
  if (discovery.status !== 200) {
    throw new Error(`discovery of ${object.apiVersion}: ${discovery.status} ${discovery.body}`)
  }
  const resources = (
    JSON.parse(discovery.body) as { resources: Array<{ name: string; kind: string; namespaced: boolean }> }
  ).resources
  const resource = resources.find((r) => r.kind === object.kind && !r.name.includes("/"))
  if (resource === undefined) throw new Error(`${object.apiVersion} has no kind ${object.kind}`)
  const ns = object.metadata.namespace
  if (resource.namespaced !== (ns !== undefined)) {
    throw new Error(`${object.kind} ${object.metadata.name}: namespaced=${resource.namespaced}, namespace=${ns}`)
  }
  return resource.namespaced ? `${base}/namespaces/${ns}/${resource.name}` : `${base}/${resource.name}`
}

/** POSTs the object exactly as given, with strict field validation (a misspelt field fails); the answer as is. */
export const createObject = async (call: ApiCall, object: Manifest, dryRun = false): Promise<HttpResponse> =>
  call("POST", `${await collectionPath(call, object)}?fieldValidation=Strict${dryRun ? "&dryRun=All" : ""}`, object)

/**
 * Creates each object exactly as given (createObject), in order; fails at the first the API server
 * does not answer 201, naming it. `created` hears of each one created.
 */
export const createEach = async (
  call: ApiCall,
  objects: ReadonlyArray<Manifest>,
  created: (object: Manifest) => void = () => {}
): Promise<void> => {
  for (const object of objects) {
    const answer = await createObject(call, object)
    if (answer.status !== 201) {
      throw new Error(`creating ${object.kind} ${object.metadata.name}: HTTP ${answer.status}: ${answer.body}`)
    }
    created(object)
  }
}

/**
 * The object as it is created in a test: namespaced objects move from `datadog` to `namespace`;
 * cluster-scoped ones get `-<suffix>` so parallel runs don't collide, and bindings follow both.
 */
export const forTest = (object: Manifest, namespace: string, suffix: string): Manifest => {
  const copy = structuredClone(object) as Manifest & {
    metadata: { name: string; namespace?: string }
    roleRef?: { kind: string; name: string }
    subjects?: Array<{ kind: string; name: string; namespace?: string }>
  }
  if (clusterScopedKinds.has(copy.kind)) copy.metadata.name = `${copy.metadata.name}-${suffix}`
  else copy.metadata.namespace = namespace
  if (copy.roleRef?.kind === "ClusterRole") copy.roleRef.name = `${copy.roleRef.name}-${suffix}`
  for (const subject of copy.subjects ?? []) {
    if (subject.kind === "ServiceAccount") subject.namespace = namespace
  }
  return copy
}

/** What the kubelet would set for the container's environment, with the given Secret values. */
export const containerEnv = (
  container: Container,
  pod: { readonly namespace: string; readonly name: string },
  secrets: Readonly<Record<string, string>>
): Record<string, string> =>
  Object.fromEntries(
    container.env.map((e): [string, string] => {
      if (e.value !== undefined) return [e.name, e.value]
      const secret = e.valueFrom?.secretKeyRef
      if (secret !== undefined) {
        const value = secrets[`${secret.name}/${secret.key}`]
        if (value === undefined) throw new Error(`${e.name}: no test value for Secret ${secret.name} key ${secret.key}`)
        return [e.name, value]
      }
      const field = e.valueFrom?.fieldRef?.fieldPath
      if (field === "metadata.namespace") return [e.name, pod.namespace]
      if (field === "metadata.name") return [e.name, pod.name]
      throw new Error(`${e.name}: unsupported env source ${JSON.stringify(e.valueFrom)}`)
    })
  )

/** The port number a probe or Service targets, resolving a named container port. */
export const resolvePort = (container: Container, port: number | string | undefined): number | undefined => {
  if (typeof port === "number") return port
  return container.ports.find((p) => p.name === port)?.containerPort
}

/**
 * The verbs `role` grants on one object: rules of `group`/`resource` that name it or no object
 * at all (what the RBAC authorizer matches, without wildcards: the shipped rules have none).
 */
export const verbsOn = (role: RbacRole, group: string, resource: string, name: string): ReadonlyArray<string> =>
  role.rules
    .filter(
      (r) =>
        (r.apiGroups ?? []).includes(group) &&
        (r.resources ?? []).includes(resource) &&
        (r.resourceNames === undefined || r.resourceNames.length === 0 || r.resourceNames.includes(name))
    )
    .flatMap((r) => r.verbs)
