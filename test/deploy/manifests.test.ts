/**
 * The shipped manifests (deploy/): statically (the Service node agents find, the agent's own
 * configuration read from the Deployment's env, probes, hardening, image) and against the real
 * API server: every object passes a strict server-side dry run, and the real agent process runs
 * with exactly the ServiceAccount and RBAC shipped, leading, collecting events and checking the
 * control plane (and fails visibly without the ClusterRoleBinding, or the RoleBinding, so the
 * test can fail).
 */
import { spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { AuthorizationV1Api, CoreV1Api, type V1ResourceAttributes } from "@kubernetes/client-node"
import { Option } from "effect"
import { loadAll } from "js-yaml"
import { afterAll, describe, expect, it } from "vitest"
import { apiCaller, type HttpResponse, httpRequest, httpsRequest } from "../../dev/controlPlane/http.ts"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import {
  allManifests,
  baseDir,
  type Container,
  clusterScopedKinds,
  containerEnv,
  createObject,
  type Deployment,
  deployDir,
  findObject,
  forTest,
  type Manifest,
  type PodDisruptionBudget,
  type RbacRole,
  readKustomization,
  repoRoot,
  resolvePort,
  type Service,
  verbsOn
} from "../../dev/deploy/manifests.ts"
import { type FakeDatadog, startFakeDatadog } from "../../dev/fakeDatadog/index.ts"
import { beginMarker, endMarker } from "../../scripts/config-reference.ts"
import { ConfigError, resolve } from "../../src/layers/Config.ts"
import { lockChoiceOf } from "../../src/layers/leader/lock.ts"
import { jsonLines, messageOf, type Running, startCli } from "../support/agentProcess.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import {
  awaitShippedBindings,
  createIdentity as createIdentityObjects,
  serviceAccountAllowed,
  shippedIdentity,
  serviceAccountKubeconfig as tokenKubeconfig
} from "../support/serviceAccount.ts"
import { waitFor } from "../support/waitFor.ts"

const deployment = findObject<Deployment>("Deployment", "datadog-cluster-agent")
const service = findObject<Service>("Service", "datadog-cluster-agent")
const pod = deployment.spec.template
const container = ((): Container => {
  const [only, ...rest] = pod.spec.containers
  if (only === undefined || rest.length > 0) throw new Error("the Deployment must run exactly one container")
  return only
})()
const portNamed = (name: string) => container.ports.find((p) => p.name === name)?.containerPort

/** Test values of the Secret the Deployment reads (README: 64 hex characters for the token). */
const apiKey = "0123456789abcdef0123456789abcdef"
const clusterToken = "c0ffee".repeat(11).slice(0, 64)
const secretValues = { "datadog-secret/api-key": apiKey, "datadog-secret/token": clusterToken }

/** The agent's configuration as it would be in the pod (service-account namespace file present). */
const inPodConfig = (namespace = "datadog", name = "datadog-cluster-agent-7d9f8b6c5-x2x4z") => {
  const config = resolve(containerEnv(container, { namespace, name }, secretValues), {
    hostname: name,
    serviceAccountNamespace: Option.some(namespace)
  })
  if (config instanceof ConfigError) throw new Error(`the agent rejects the Deployment's env: ${config.message}`)
  return config
}

describe("deploy/ (static)", () => {
  it("base/kustomization.yaml lists every manifest file, in namespace datadog", () => {
    const k = readKustomization()
    expect(k.apiVersion).toBe("kustomize.config.k8s.io/v1beta1")
    expect(k.kind).toBe("Kustomization")
    expect(k.namespace).toBe("datadog")
    const yamlFiles = readdirSync(baseDir).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
    expect([...k.resources].sort()).toEqual(yamlFiles.sort())
    // No Secret is shipped: a placeholder token would be a known token (README says how to make them).
    expect(allManifests().map((m) => m.object.kind)).not.toContain("Secret")
    for (const { file, object } of allManifests()) {
      if (clusterScopedKinds.has(object.kind)) expect(object.metadata.namespace, file).toBeUndefined()
      else expect(object.metadata.namespace, `${file} ${object.kind}`).toBe("datadog")
      for (const s of (object.subjects ?? []) as ReadonlyArray<{ namespace?: string }>) {
        expect(s.namespace, `${file} ${object.kind} subject`).toBe("datadog")
      }
    }
  })

  it("the Service's first (and only) port is 5005, the agent's command port, and selects the pods", () => {
    expect(service.spec.type ?? "ClusterIP").toBe("ClusterIP")
    expect(service.spec.ports).toHaveLength(1)
    const [first] = service.spec.ports
    expect(first?.port).toBe(5005)
    expect(first?.name).toBe("agentport")
    expect(resolvePort(container, first?.targetPort ?? first?.port)).toBe(inPodConfig().cmdPort)
    expect(pod.metadata.labels).toMatchObject(service.spec.selector)
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels)
    // Node agents derive DATADOG_CLUSTER_AGENT_SERVICE_HOST/PORT from this name.
    expect(service.metadata.name).toBe(inPodConfig().serviceName)
  })

  it("the Deployment's env names are all in README.md's configuration reference", () => {
    const readme = readFileSync(`${repoRoot}README.md`, "utf8")
    const block = readme.slice(readme.indexOf(beginMarker), readme.indexOf(endMarker))
    const documented = new Set([...block.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]))
    for (const e of container.env) expect(documented, e.name).toContain(e.name)
  })

  it("the agent accepts the Deployment's env and listens where the manifests say", () => {
    const config = inPodConfig("datadog", "dca-pod-1")
    expect(portNamed("agentport")).toBe(config.cmdPort)
    expect(portNamed("agentmetrics")).toBe(config.metricsPort)
    expect(portNamed("health")).toBe(config.healthPort)
    expect(config.healthPort).toBe(5556)
    expect(config.effectiveNamespace).toBe("datadog")
    expect(config.podNamespace).toBe("datadog")
    expect(config.identity).toBe("dca-pod-1")
    // The Secrets' values reach the agent (and not a literal in the manifest).
    for (const name of ["DD_API_KEY", "DD_CLUSTER_AGENT_AUTH_TOKEN"]) {
      const e = container.env.find((v) => v.name === name)
      expect(e?.value, name).toBeUndefined()
      expect(e?.valueFrom?.secretKeyRef, name).toBeDefined()
    }
    expect(container.env.find((e) => e.name === "DD_API_KEY")?.valueFrom?.secretKeyRef).toEqual({
      name: "datadog-secret",
      key: "api-key"
    })
    // One Secret for both (node agents read both too), created by the user: none is shipped.
    expect(container.env.find((e) => e.name === "DD_CLUSTER_AGENT_AUTH_TOKEN")?.valueFrom?.secretKeyRef).toEqual({
      name: "datadog-secret",
      key: "token"
    })
    // Token files land on a writable volume (the root filesystem is read-only).
    const mounts = container.volumeMounts.map((m) => m.mountPath)
    expect(mounts.some((m) => config.authTokenFilePath.startsWith(`${m}/`))).toBe(true)
    expect(mounts.some((m) => config.clusterTokenFilePath.startsWith(`${m}/`))).toBe(true)
  })

  it("elects a leader with a Lease and collects events, with rights on exactly the names the agent uses", () => {
    const config = inPodConfig("datadog", "dca-pod-1")
    // On by default (the original's Helm defaults), so a Deployment scaled up has one collector.
    expect(config.leaderElection).toBe(true)
    expect(lockChoiceOf(config.leaderElectionResource)).toBe("Lease")
    expect(config.collectEvents).toBe(true)
    // Each replica writes its own pod name in the lock.
    expect(container.env.find((e) => e.name === "DD_POD_NAME")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name")
    expect(config.identity).toBe("dca-pod-1")
    const sorted = (verbs: ReadonlyArray<string>) => [...new Set(verbs)].sort()
    const role = findObject<RbacRole>("Role", "datadog-cluster-agent")
    // The lock, a Lease or (DD_LEADER_ELECTION_DEFAULT_RESOURCE=configmap) a ConfigMap: read,
    // followed with a field selector on its name (list/watch), renewed.
    const lockVerbs = ["create", "get", "list", "update", "watch"]
    expect(sorted(verbsOn(role, "coordination.k8s.io", "leases", config.leaderLeaseName))).toEqual(lockVerbs)
    expect(sorted(verbsOn(role, "", "configmaps", config.leaderLeaseName))).toEqual(lockVerbs)
    // The event cursor and the cluster ID.
    for (const name of [config.tokenName, "datadog-cluster-id"]) {
      expect(sorted(verbsOn(role, "", "configmaps", name)), name).toEqual(["create", "get", "update"])
    }
    expect(sorted(verbsOn(role, "", "configmaps", "other"))).toEqual(["create"])
    expect(sorted(verbsOn(role, "coordination.k8s.io", "leases", "other"))).toEqual(["create"])
    // Only the lock is listed and watched, by name; nothing in the namespace is patched or deleted.
    for (const rule of role.rules) {
      if (rule.verbs.includes("list") || rule.verbs.includes("watch")) {
        expect(rule.resourceNames, JSON.stringify(rule)).toEqual([config.leaderLeaseName])
      }
      for (const verb of ["patch", "delete", "deletecollection", "*"]) expect(rule.verbs).not.toContain(verb)
    }
    const clusterRole = findObject<RbacRole>("ClusterRole", "datadog-cluster-agent")
    expect(sorted(verbsOn(clusterRole, "", "events", ""))).toEqual(["get", "list", "watch"])
    expect(sorted(verbsOn(clusterRole, "", "componentstatuses", ""))).toEqual(["get", "list"])
    expect(clusterRole.rules.flatMap((r) => r.nonResourceURLs ?? [])).toContain("/readyz")
    expect(clusterRole.rules.flatMap((r) => r.resources ?? [])).not.toContain("configmaps")
    expect(clusterRole.rules.flatMap((r) => r.resources ?? [])).not.toContain("leases")
  })

  it("probes /startup, /live and /ready over HTTP on the health port", () => {
    const healthPort = inPodConfig().healthPort
    for (const [probe, path] of [
      [container.startupProbe, "/startup"],
      [container.livenessProbe, "/live"],
      [container.readinessProbe, "/ready"]
    ] as const) {
      expect(probe.httpGet.path).toBe(path)
      expect(probe.httpGet.scheme ?? "HTTP").toBe("HTTP")
      expect(resolvePort(container, probe.httpGet.port)).toBe(healthPort)
    }
  })

  it("runs non-root on a read-only root filesystem, with writable emptyDirs where the agent writes", () => {
    const sc = container.securityContext
    expect(sc.runAsNonRoot).toBe(true)
    expect(sc.runAsUser).toBe(10001)
    expect(sc.readOnlyRootFilesystem).toBe(true)
    expect(sc.allowPrivilegeEscalation).toBe(false)
    expect(sc.capabilities?.drop).toEqual(["ALL"])
    expect(sc.capabilities?.add).toBeUndefined()
    expect(sc.seccompProfile?.type).toBe("RuntimeDefault")
    const emptyDirs = new Set(pod.spec.volumes.filter((v) => v.emptyDir !== undefined).map((v) => v.name))
    const mounted = new Map(container.volumeMounts.map((m) => [m.mountPath, m.name]))
    for (const path of ["/etc/datadog-agent", "/tmp"]) expect(emptyDirs).toContain(mounted.get(path))
    expect(pod.spec.serviceAccountName).toBe("datadog-cluster-agent")
  })

  it("runs two replicas with leader election, kept on different nodes when it can and never both evicted", () => {
    expect(deployment.spec.replicas).toBe(2)
    expect(inPodConfig().leaderElection).toBe(true)
    // A rolling update never goes below the two ready replicas.
    expect(deployment.spec.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
    })
    // Preferred (a one-node cluster still runs both), by hostname, on the pods' own labels.
    const anti = pod.spec.affinity?.podAntiAffinity
    expect(anti?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined()
    const [term, ...others] = anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []
    expect(others).toEqual([])
    expect(term?.weight).toBe(100)
    expect(term?.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname")
    expect(pod.metadata.labels).toMatchObject(term?.podAffinityTerm.labelSelector.matchLabels ?? { none: "" })
    expect(term?.podAffinityTerm.labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels)
    // One voluntary eviction at a time: with two replicas one stays; with one, a drain still passes.
    const pdb = findObject<PodDisruptionBudget>("PodDisruptionBudget", "datadog-cluster-agent")
    expect(pdb.apiVersion).toBe("policy/v1")
    expect(pdb.spec.maxUnavailable).toBe(1)
    expect(pdb.spec.minAvailable).toBeUndefined()
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe("AlwaysAllow")
    expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels)
    expect(deployment.spec.replicas - Number(pdb.spec.maxUnavailable)).toBeGreaterThanOrEqual(1)
  })

  it("sizes the container from the measurements its comment cites, which are in docs/", () => {
    expect(container.resources.requests).toEqual({ cpu: "100m", memory: "256Mi" })
    expect(container.resources.limits).toEqual({ memory: "512Mi" })
    expect(container.resources.limits?.cpu).toBeUndefined()
    const text = readFileSync(`${baseDir}deployment.yaml`, "utf8")
    const comment = text.slice(text.indexOf("# From our own measurements"), text.indexOf("resources:\n"))
    const docs = ["BENCHMARKS.md", "IMAGE.md"].map((f) => readFileSync(`${repoRoot}docs/${f}`, "utf8")).join("\n")
    const figures = [...comment.matchAll(/(\d[\d,.]*)(?:-(\d[\d,.]*))? MB/g)].flatMap((m) => [m[1], m[2]])
    expect(figures.length).toBeGreaterThanOrEqual(8)
    for (const figure of figures) if (figure !== undefined) expect(docs, `${figure} MB`).toContain(figure)
    // Request ≥ the mid-size peak, limit ≥ the full-scale peak plus a draining event backlog.
    const mib = (q: string | undefined) => Number((q ?? "0").replace(/Mi$/, "")) * 1.048576
    expect(mib(container.resources.requests?.memory)).toBeGreaterThan(219)
    expect(mib(container.resources.limits?.memory)).toBeGreaterThan(371 + 100)
  })

  it("the image EXPOSEs every container port but the health port (off by default in the image)", () => {
    const dockerfile = readFileSync(`${repoRoot}Dockerfile`, "utf8")
    const finalStage = dockerfile.split(/^FROM /m).at(-1) ?? ""
    const exposed = new Set(
      [...finalStage.matchAll(/^EXPOSE\s+(.+)$/gm)].flatMap((m) => (m[1] ?? "").trim().split(/\s+/).map(Number))
    )
    expect(exposed.size).toBeGreaterThan(0)
    const healthPort = inPodConfig().healthPort
    for (const p of container.ports) {
      if (p.containerPort !== healthPort) expect(exposed, `${p.name}`).toContain(p.containerPort)
    }
  })

  it("asks the node agent to scrape the metrics port with the prometheus check (sample's annotations)", () => {
    const prefix = `ad.datadoghq.com/${container.name}.`
    const annotations = pod.metadata.annotations
    expect(JSON.parse(annotations[`${prefix}check_names`] ?? "")).toEqual(["prometheus"])
    expect(JSON.parse(annotations[`${prefix}init_configs`] ?? "")).toEqual([{}])
    const instances = JSON.parse(annotations[`${prefix}instances`] ?? "") as ReadonlyArray<Record<string, unknown>>
    expect(instances).toEqual([
      {
        prometheus_url: `http://%%host%%:${inPodConfig().metricsPort}/metrics`,
        namespace: "datadog.cluster_agent",
        metrics: ["*"]
      }
    ])
  })

  it("deploy/README.md covers every file, the Secret's two keys and kubectl apply -k", () => {
    const readme = readFileSync(`${deployDir}README.md`, "utf8")
    for (const file of readKustomization().resources) expect(readme).toContain(file)
    expect(readme).toContain("kubectl create namespace datadog")
    expect(readme).toContain("kubectl apply -k deploy/")
    // One `kubectl create secret` with both keys the Deployment reads, the token random.
    const create = readme.match(/kubectl -n datadog create secret generic datadog-secret\b[^`]*/)?.[0] ?? ""
    for (const e of container.env) {
      const ref = e.valueFrom?.secretKeyRef
      if (ref !== undefined) {
        expect(ref.name).toBe("datadog-secret")
        expect(create, ref.key).toContain(`--from-literal=${ref.key}=`)
      }
    }
    expect(create).toContain("/dev/urandom")
  })

  const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" }).status === 0
  it.runIf(kubectl)("kubectl kustomize renders the same objects (when kubectl is installed)", () => {
    const out = spawnSync("kubectl", ["kustomize", deployDir], { encoding: "utf8" })
    expect(out.status, out.stderr).toBe(0)
    const key = (o: Manifest) => `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`
    const rendered = (loadAll(out.stdout) as ReadonlyArray<Manifest>).map(key).sort()
    expect(rendered).toEqual(
      allManifests()
        .map((m) => key(m.object))
        .sort()
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Against the real API server

type Answer = HttpResponse

/** The agent process with its ports, stopped by `stop` (SIGTERM, then its exit). */
interface Agent {
  readonly running: Running
  readonly healthPort: number
  readonly cmdPort: number
}

const plainGet = (port: number, path: string): Promise<Answer> => httpRequest(`http://127.0.0.1:${port}${path}`)

/** GET as a node agent does: Bearer cluster token, certificate not verified. */
const nodeAgentGet = (port: number, path: string): Promise<Answer> =>
  httpsRequest(`https://127.0.0.1:${port}${path}`, "insecure", {
    timeoutMs: 10_000,
    headers: { authorization: `Bearer ${clusterToken}`, "x-real-ip": "" }
  })

/** What the tests read of an object from the API server. */
interface KubeObjectJson {
  readonly metadata?: { readonly resourceVersion?: string; readonly annotations?: Readonly<Record<string, string>> }
  readonly spec?: { readonly holderIdentity?: string }
  readonly data?: Readonly<Record<string, string>>
}

/** Every message the agent logged. */
const messages = (stdout: string): ReadonlyArray<string> => jsonLines(stdout).map(messageOf)

/** A log line that reports an authorization failure from the API server. */
const isForbiddenLine = (line: string) => /forbidden|: 403 /i.test(line)

/** The ServiceAccount's bearer token (a JWT) must never reach the logs. */
const serviceAccountJwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/

describe.runIf(clusterAvailable)("deploy/ against the API server", () => {
  const cluster = useCluster()
  const cleanups: Array<() => Promise<unknown>> = []
  const agents: Array<Running> = []

  afterAll(async () => {
    for (const a of agents) if (a.child.exitCode === null) a.child.kill("SIGKILL")
    await Promise.allSettled(cleanups.map((c) => c()))
  })

  /** A raw request as cluster admin: the body goes out exactly as parsed from the YAML. */
  const admin = (method: string, path: string, body?: unknown) =>
    apiCaller(cluster.server, cluster.adminTls)(method, path, body)

  const create = (object: Manifest, dryRun: boolean): Promise<Answer> => createObject(admin, object, dryRun)

  /**
   * Creates the ServiceAccount and RBAC objects of deploy/ in `namespace` (cluster-scoped ones are
   * removed after the file), and waits until the authorizer applies the bindings.
   */
  const createIdentity = async (
    namespace: string,
    options: { withClusterBinding: boolean; withRoleBinding?: boolean }
  ) => {
    const omitted = new Set([
      ...(options.withClusterBinding ? [] : ["ClusterRoleBinding"]),
      ...(options.withRoleBinding === false ? ["RoleBinding"] : [])
    ])
    await createIdentityObjects(
      admin,
      shippedIdentity(namespace).filter((o) => !omitted.has(o.kind)),
      cleanups
    )
    await awaitShippedBindings(cluster.kubeConfig, namespace, {
      clusterRoleBinding: !omitted.has("ClusterRoleBinding"),
      roleBinding: !omitted.has("RoleBinding")
    })
  }

  /** A kubeconfig that authenticates as the ServiceAccount with a TokenRequest token. */
  const serviceAccountKubeconfig = (namespace: string): Promise<string> =>
    tokenKubeconfig(cluster.kubeConfig.makeApiClient(CoreV1Api), cluster, namespace)

  /**
   * The real agent, with the Deployment's env (Secrets filled in), off-cluster ports and files,
   * and `extra` (the fake Datadog's URL, a setting a test changes).
   */
  const startAgent = async (
    namespace: string,
    kubeconfigPath: string,
    extra: Readonly<Record<string, string>> = {}
  ): Promise<Agent> => {
    const [cmdPort = 0, metricsPort = 0, healthPort = 0] = await freePorts(3)
    const running = startCli(["start"], {
      ...containerEnv(container, { namespace, name: `${namespace}-pod` }, secretValues),
      DD_KUBERNETES_KUBECONFIG_PATH: kubeconfigPath,
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_METRICS_PORT: String(metricsPort),
      DD_HEALTH_PORT: String(healthPort),
      DD_AUTH_TOKEN_FILE_PATH: join(mkdtempSync(join(tmpdir(), "dca-deploy-")), "auth_token"),
      ...extra
    })
    agents.push(running)
    const agent = { running, healthPort, cmdPort }
    await withAgentLog(
      agent,
      waitFor(() => plainGet(healthPort, "/live").then((r) => r.status === 200), {
        timeoutMs: 30_000,
        what: "the agent's health port"
      })
    )
    return agent
  }

  /** `waiting`, with the agent's latest warnings and errors added to a failure. */
  const withAgentLog = <A>(agent: Agent, waiting: Promise<A>): Promise<A> =>
    waiting.catch((e: unknown) => {
      const complaints = agent.running
        .stdout()
        .split("\n")
        .filter((l) => /"level":"(WARN|ERROR|FATAL)"/.test(l))
        .slice(-5)
      throw new Error(
        `${(e as Error).message}\nagent's last warnings:\n${complaints.join("\n")}\n${agent.running.stderr()}`
      )
    })

  const awaitReady = (agent: Agent) =>
    withAgentLog(
      agent,
      waitFor(
        async () => {
          const r = await plainGet(agent.healthPort, "/ready")
          return r.status === 200 ? r : undefined
        },
        { timeoutMs: 45_000, what: "/ready to answer 200" }
      )
    )

  const stop = async (agent: Agent) => {
    agent.running.child.kill("SIGTERM")
    const done = await agent.running.exited
    expect(done.code, done.stdout.slice(-2000)).toBe(0)
    return done
  }

  const report = (answer: Answer) => JSON.parse(answer.body) as { Healthy: Array<string>; Unhealthy: Array<string> }

  /** A fake Datadog API for one test (events and service checks land there), closed after the file. */
  const fakeDatadog = async (): Promise<FakeDatadog> => {
    const fake = await startFakeDatadog()
    cleanups.push(() => fake.close())
    return fake
  }

  /** An object as cluster admin; undefined when it does not exist. */
  const readObject = async (path: string): Promise<KubeObjectJson | undefined> => {
    const answer = await admin("GET", path)
    if (answer.status === 404) return undefined
    expect(answer.status, `GET ${path}: ${answer.body}`).toBe(200)
    return JSON.parse(answer.body) as KubeObjectJson
  }

  const leasePath = (namespace: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/datadog-leader-election`

  /** The holder written in the lock of that kind ("" when released, undefined when absent). */
  const lockHolder = async (namespace: string, kind: "Lease" | "ConfigMap"): Promise<string | undefined> => {
    if (kind === "Lease") {
      const lease = await readObject(leasePath(namespace))
      return lease === undefined ? undefined : (lease.spec?.holderIdentity ?? "")
    }
    const configMap = await readObject(`/api/v1/namespaces/${namespace}/configmaps/datadog-leader-election`)
    const record = configMap?.metadata?.annotations?.["control-plane.alpha.kubernetes.io/leader"]
    return record === undefined ? undefined : (JSON.parse(record) as { holderIdentity?: string }).holderIdentity
  }

  /** The agent holds the lock and says it leads. */
  const awaitLeader = (agent: Agent, namespace: string, kind: "Lease" | "ConfigMap", identity: string) =>
    withAgentLog(
      agent,
      waitFor(
        async () =>
          (await lockHolder(namespace, kind)) === identity &&
          messages(agent.running.stdout()).includes("became leader"),
        { timeoutMs: 30_000, what: `${identity} to hold the ${kind} and lead` }
      )
    )

  /** A core/v1 Event on a Pod (that need not exist) in `namespace`, created as cluster admin. */
  const createEvent = async (namespace: string, pod: string): Promise<{ resourceVersion: string }> => {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z")
    const answer = await admin("POST", `/api/v1/namespaces/${namespace}/events`, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${pod}.${randomUUID().slice(0, 8)}`, namespace },
      involvedObject: { apiVersion: "v1", kind: "Pod", name: pod, namespace, uid: randomUUID() },
      reason: "DeployProbe",
      message: `an event for the manifests test (${pod})`,
      type: "Normal",
      source: { component: "deploy-test" },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1
    })
    expect(answer.status, answer.body).toBe(201)
    return { resourceVersion: (JSON.parse(answer.body) as KubeObjectJson).metadata?.resourceVersion ?? "" }
  }

  it("every object passes a strict server-side dry run, and a misspelt field does not", async () => {
    const namespace = await cluster.newNamespace("deploy-dry")
    const objects = allManifests()
    expect(objects.length).toBeGreaterThanOrEqual(6)
    for (const { file, object } of objects) {
      const answer = await create(forTest(object, namespace, namespace), true)
      expect([200, 201], `${file} ${object.kind} ${object.metadata.name}: ${answer.body}`).toContain(answer.status)
    }
    // The control: strict validation rejects an unknown field, so the loop above can fail.
    const typo = structuredClone(forTest(deployment, namespace, namespace)) as Deployment & {
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } }
    }
    const [first] = typo.spec.template.spec.containers
    if (first !== undefined) first.readinesProbe = first.readinessProbe
    const rejected = await create(typo, true)
    expect(rejected.status).toBe(400)
    expect(JSON.parse(rejected.body).message).toContain(
      'unknown field "spec.template.spec.containers[0].readinesProbe"'
    )
  })

  it("grants exactly the rights the agent uses (SubjectAccessReview)", async () => {
    const namespace = await cluster.newNamespace("deploy-rbac")
    await createIdentity(namespace, { withClusterBinding: true })
    const can = (a: V1ResourceAttributes | { path: string }, authenticated = true) =>
      serviceAccountAllowed(cluster.kubeConfig.makeApiClient(AuthorizationV1Api), namespace, a, { authenticated })
    const grants: ReadonlyArray<V1ResourceAttributes | { path: string }> = [
      ...["pods", "nodes", "services", "endpoints", "namespaces"].flatMap((resource) => [
        { verb: "list", resource },
        { verb: "watch", resource }
      ]),
      { verb: "list", group: "discovery.k8s.io", resource: "endpointslices" },
      { verb: "watch", group: "discovery.k8s.io", resource: "endpointslices" },
      { verb: "get", resource: "namespaces", name: "kube-system" },
      { verb: "create", resource: "configmaps", namespace },
      // The cluster ID, the event cursor, and the configmap lock.
      ...["datadog-cluster-id", "datadogtoken", "datadog-leader-election"].flatMap((name) => [
        { verb: "get", resource: "configmaps", namespace, name },
        { verb: "update", resource: "configmaps", namespace, name }
      ]),
      // The Lease lock. A LIST or WATCH with fieldSelector metadata.name=<name> reaches the
      // authorizer as a request for that name, which is what these reviews ask.
      { verb: "create", group: "coordination.k8s.io", resource: "leases", namespace },
      ...["get", "list", "watch", "update"].map((verb) => ({
        verb,
        group: "coordination.k8s.io",
        resource: "leases",
        namespace,
        name: "datadog-leader-election"
      })),
      // The configmap lock is followed the same way.
      { verb: "list", resource: "configmaps", namespace, name: "datadog-leader-election" },
      { verb: "watch", resource: "configmaps", namespace, name: "datadog-leader-election" },
      // Event collection: every namespace (no namespace = all of them).
      { verb: "list", resource: "events" },
      { verb: "watch", resource: "events" },
      { verb: "get", resource: "events", namespace: "kube-system", name: "any" },
      // Control-plane checks.
      { verb: "list", resource: "componentstatuses" },
      { verb: "get", resource: "componentstatuses", name: "etcd-0" },
      { path: "/version" },
      { path: "/readyz" },
      { path: "/healthz" }
    ]
    // Granted by deploy/ alone; refused with every group the real token carries.
    for (const a of grants) expect(await can(a, false), JSON.stringify(a)).toBe(true)
    const denials: ReadonlyArray<V1ResourceAttributes> = [
      { verb: "get", resource: "namespaces", name: "default" },
      { verb: "create", resource: "configmaps", namespace: "default" },
      { verb: "get", resource: "configmaps", namespace: "kube-system", name: "datadog-cluster-id" },
      { verb: "get", resource: "configmaps", namespace, name: "other" },
      { verb: "update", resource: "configmaps", namespace, name: "other" },
      { verb: "delete", resource: "configmaps", namespace, name: "datadog-cluster-id" },
      { verb: "list", resource: "configmaps", namespace },
      { verb: "get", resource: "secrets", namespace },
      { verb: "list", resource: "secrets" },
      { verb: "get", resource: "configmaps", namespace: "default", name: "datadogtoken" },
      { verb: "update", resource: "configmaps", namespace: "kube-system", name: "datadog-leader-election" },
      { verb: "create", resource: "events", namespace },
      { verb: "delete", resource: "events", namespace },
      { verb: "patch", resource: "events", namespace },
      { verb: "watch", resource: "componentstatuses" },
      // Leases: the one lock, in the agent's namespace only, and never listed or watched.
      { verb: "get", group: "coordination.k8s.io", resource: "leases", namespace, name: "other" },
      { verb: "update", group: "coordination.k8s.io", resource: "leases", namespace, name: "other" },
      { verb: "patch", group: "coordination.k8s.io", resource: "leases", namespace, name: "datadog-leader-election" },
      { verb: "delete", group: "coordination.k8s.io", resource: "leases", namespace, name: "datadog-leader-election" },
      { verb: "list", group: "coordination.k8s.io", resource: "leases", namespace },
      { verb: "watch", group: "coordination.k8s.io", resource: "leases", namespace },
      { verb: "watch", group: "coordination.k8s.io", resource: "leases", namespace, name: "other" },
      { verb: "list", group: "coordination.k8s.io", resource: "leases" },
      { verb: "create", group: "coordination.k8s.io", resource: "leases", namespace: "default" },
      { verb: "create", group: "coordination.k8s.io", resource: "leases" },
      {
        verb: "get",
        group: "coordination.k8s.io",
        resource: "leases",
        namespace: "kube-system",
        name: "datadog-leader-election"
      },
      { verb: "watch", resource: "configmaps", namespace },
      { verb: "list", resource: "configmaps", namespace, name: "datadogtoken" },
      { verb: "watch", resource: "configmaps", namespace, name: "datadog-cluster-id" },
      { verb: "patch", resource: "pods", namespace },
      { verb: "delete", resource: "pods", namespace },
      { verb: "create", group: "authentication.k8s.io", resource: "tokenreviews" }
    ]
    for (const a of denials) expect(await can(a), JSON.stringify(a)).toBe(false)
  })

  it("the real agent runs with exactly these rights: ready, leads, serves the cluster ID, ships events, never forbidden", {
    timeout: 240_000
  }, async () => {
    const namespace = await cluster.newNamespace("deploy-run")
    await createIdentity(namespace, { withClusterBinding: true })
    const kubeconfig = await serviceAccountKubeconfig(namespace)
    const kubeSystemUid = JSON.parse((await admin("GET", "/api/v1/namespaces/kube-system")).body).metadata.uid as string
    expect(kubeSystemUid).toHaveLength(36)
    const datadog = await fakeDatadog()
    const identity = `${namespace}-pod`
    // An Event from before the start (the LIST reads it), and one once the agent leads (the WATCH).
    const listedEvent = await createEvent(namespace, "listed-probe")

    // First start: no objects yet (cluster ID: GET 404 → GET kube-system → CREATE; the Lease and
    // the event token: GET 404 → CREATE, then UPDATEs).
    const agent = await startAgent(namespace, kubeconfig, { DD_DD_URL: datadog.url })
    const ready = await awaitReady(agent)
    expect(report(ready)).toEqual({
      Healthy: ["apiserver", "cluster-agent", "leader-election", "metadata", "rbac"],
      Unhealthy: []
    })
    // deploy/README.md shows this answer.
    expect(readFileSync(`${deployDir}README.md`, "utf8")).toContain(JSON.stringify(report(ready)))
    await awaitLeader(agent, namespace, "Lease", identity)
    const id = await nodeAgentGet(agent.cmdPort, "/api/v1/cluster/id")
    expect(id.status, id.body).toBe(200)
    expect(JSON.parse(id.body)).toBe(kubeSystemUid)
    const stored = await admin("GET", `/api/v1/namespaces/${namespace}/configmaps/datadog-cluster-id`)
    expect(JSON.parse(stored.body).data).toEqual({ id: kubeSystemUid })
    const watchedEvent = await createEvent(namespace, "watched-probe")
    // Both reach Datadog (bundled per involved object), and the cursor moves past them.
    for (const name of ["listed-probe", "watched-probe"]) {
      await withAgentLog(
        agent,
        datadog.waitFor(() => datadog.events().find((e) => e.title === `Events from the Pod ${namespace}/${name}`), {
          timeoutMs: 60_000,
          what: `the Datadog event of ${name}`
        })
      )
    }
    const token = await withAgentLog(
      agent,
      waitFor(
        async () => {
          const data = (await readObject(`/api/v1/namespaces/${namespace}/configmaps/datadogtoken`))?.data
          const cursor = data?.["event.tokenKey"] ?? ""
          return /^\d+$/.test(cursor) && BigInt(cursor) >= BigInt(watchedEvent.resourceVersion) ? data : undefined
        },
        { timeoutMs: 30_000, what: "the event token past the probe events" }
      )
    )
    expect(BigInt(listedEvent.resourceVersion)).toBeLessThan(BigInt(watchedEvent.resourceVersion))
    expect(token?.["event.tokenTimestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    // The control-plane check listed componentstatuses (a refused LIST falls back to /readyz,
    // whose check has no component tag).
    await withAgentLog(
      agent,
      datadog.waitFor(
        () =>
          datadog
            .serviceChecks()
            .find(
              (c) =>
                c.check === "kube_apiserver_controlplane.up" && (c.tags ?? []).some((t) => t.startsWith("component:"))
            ),
        { timeoutMs: 30_000, what: "a kube_apiserver_controlplane.up check per component" }
      )
    )
    const first = await stop(agent)
    expect(first.stdout.split("\n").filter(isForbiddenLine)).toEqual([])
    expect(first.stdout).not.toMatch(serviceAccountJwt)
    // A graceful stop released the Lease (UPDATE) for the next replica.
    expect(messages(first.stdout)).toContain("released the leader lock")
    expect((await readObject(leasePath(namespace)))?.spec?.holderIdentity ?? "").toBe("")

    // Second start, with a damaged cluster-ID ConfigMap (GET → repaired with UPDATE); the Lease
    // and the token exist now (GET → UPDATE, no CREATE), and collection resumes from the token.
    const damaged = await admin("PUT", `/api/v1/namespaces/${namespace}/configmaps/datadog-cluster-id`, {
      ...JSON.parse(stored.body),
      data: { id: "not-a-uid" }
    })
    expect(damaged.status, damaged.body).toBe(200)
    const again = await startAgent(namespace, kubeconfig, { DD_DD_URL: datadog.url })
    const repaired = await nodeAgentGet(again.cmdPort, "/api/v1/cluster/id")
    expect(repaired.status, repaired.body).toBe(200)
    expect(JSON.parse(repaired.body)).toBe(kubeSystemUid)
    const after = await admin("GET", `/api/v1/namespaces/${namespace}/configmaps/datadog-cluster-id`)
    expect(JSON.parse(after.body).data).toEqual({ id: kubeSystemUid })
    await awaitReady(again)
    await awaitLeader(again, namespace, "Lease", identity)
    const resumed = await withAgentLog(
      again,
      waitFor(() => jsonLines(again.running.stdout()).find((l) => messageOf(l) === "collecting Kubernetes events"), {
        what: "event collection to start from the token"
      })
    )
    expect((resumed.annotations as { resumeFrom?: string }).resumeFrom).toMatch(/^\d+$/)
    const second = await stop(again)
    expect(second.stdout.split("\n").filter(isForbiddenLine)).toEqual([])

    // Third start with the configmap lock, which the Role also allows: CREATE the ConfigMap
    // `datadog-leader-election`, then GET and UPDATE it.
    const withConfigMapLock = await startAgent(namespace, kubeconfig, {
      DD_DD_URL: datadog.url,
      DD_LEADER_ELECTION_DEFAULT_RESOURCE: "configmap"
    })
    await awaitReady(withConfigMapLock)
    await awaitLeader(withConfigMapLock, namespace, "ConfigMap", identity)
    const third = await stop(withConfigMapLock)
    expect(third.stdout.split("\n").filter(isForbiddenLine)).toEqual([])
    expect(messages(third.stdout)).toContain("released the leader lock")
  })

  it("the Deployment's two replicas: both ready and serving node agents, one leader; the other takes over when it stops", {
    timeout: 150_000
  }, async () => {
    const namespace = await cluster.newNamespace("deploy-pair")
    await createIdentity(namespace, { withClusterBinding: true })
    const kubeconfig = await serviceAccountKubeconfig(namespace)
    const datadog = await fakeDatadog()
    // Each replica has its own pod name (DD_POD_NAME from the downward API), the lock's identity.
    const replicas = await Promise.all(
      Array.from({ length: deployment.spec.replicas }, (_, i) =>
        startAgent(namespace, kubeconfig, { DD_DD_URL: datadog.url, DD_POD_NAME: `${namespace}-${i}` })
      )
    )
    for (const replica of replicas) {
      expect(report(await awaitReady(replica)).Unhealthy).toEqual([])
      const version = await nodeAgentGet(replica.cmdPort, "/version")
      expect(version.status, version.body).toBe(200)
    }
    const holder = await waitFor(
      async () => {
        const h = await lockHolder(namespace, "Lease")
        return h !== undefined && h !== "" ? h : undefined
      },
      { timeoutMs: 30_000, what: "one replica to hold the Lease" }
    )
    const leaderIndex = replicas.findIndex((_, i) => holder === `${namespace}-${i}`)
    expect(leaderIndex).toBeGreaterThanOrEqual(0)
    const [leader, follower] = [replicas[leaderIndex], replicas[1 - leaderIndex]] as [Agent, Agent]
    await awaitLeader(leader, namespace, "Lease", holder)
    expect(messages(follower.running.stdout())).not.toContain("became leader")
    // A drain evicts the leader (the PodDisruptionBudget allows one at a time): it releases the
    // lock and the other replica, still serving node agents, takes over.
    const stopped = await stop(leader)
    expect(messages(stopped.stdout)).toContain("released the leader lock")
    await awaitLeader(follower, namespace, "Lease", `${namespace}-${1 - leaderIndex}`)
    const still = await nodeAgentGet(follower.cmdPort, "/version")
    expect(still.status).toBe(200)
    const done = await stop(follower)
    for (const out of [stopped.stdout, done.stdout]) expect(out.split("\n").filter(isForbiddenLine)).toEqual([])
  })

  it("control: without the ClusterRoleBinding the agent is never ready and logs Forbidden per kind", {
    timeout: 90_000
  }, async () => {
    const namespace = await cluster.newNamespace("deploy-deny")
    await createIdentity(namespace, { withClusterBinding: false })
    const datadog = await fakeDatadog()
    const agent = await startAgent(namespace, await serviceAccountKubeconfig(namespace), { DD_DD_URL: datadog.url })
    const kinds = ["pods", "nodes", "namespaces", "services", "endpointslices"]
    const forbiddenKinds = () =>
      new Set(
        jsonLines(agent.running.stdout())
          .map((l) => l.annotations as { kind?: string; reason?: string } | undefined)
          .filter((a) => a?.reason === "Forbidden")
          .map((a) => a?.kind)
      )
    const rbacErrorsOf = () =>
      jsonLines(agent.running.stdout())
        .filter((l) => l.level === "ERROR" && messageOf(l).startsWith("RBAC: "))
        .map(messageOf)
    // The watches' warnings and the self-check's errors come in either order: wait for both.
    await withAgentLog(
      agent,
      waitFor(
        () =>
          kinds.every((k) => forbiddenKinds().has(k)) &&
          rbacErrorsOf().some((m) => m.includes("may not list, watch pods; metadata mapper")),
        { timeoutMs: 45_000, what: `Forbidden warnings for ${kinds.join(", ")} and the RBAC self-check's errors` }
      )
    )
    // The RBAC self-check names each refused rule; event collection (the Role alone lets the
    // replica lead, not read events) is not started, so its watch is never refused.
    const rbacErrors = rbacErrorsOf()
    expect(rbacErrors).toContain(
      "RBAC: the agent's ServiceAccount may not list, watch events; event collection: stopped until it is granted (checked again every few minutes). " +
        'To fix it, add to the ClusterRole datadog-cluster-agent the rule {apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}'
    )
    expect(rbacErrors.some((m) => m.includes("may not list, watch pods; metadata mapper"))).toBe(true)
    expect(forbiddenKinds().has("events")).toBe(false)
    // The cluster ID needs the kube-system namespace, a ClusterRole right.
    const id = await nodeAgentGet(agent.cmdPort, "/api/v1/cluster/id")
    expect(id.status).toBe(500)
    const notReady = await plainGet(agent.healthPort, "/ready")
    expect(notReady.status).toBe(500)
    expect(report(notReady).Unhealthy).toEqual(["metadata", "rbac"])
    expect(report(notReady).Healthy).toContain("apiserver")
    // The lock is the Role's: leader election works without the ClusterRoleBinding.
    expect(report(notReady).Healthy).toContain("leader-election")
    const done = await stop(agent)
    expect(done.stdout.split("\n").filter(isForbiddenLine).length).toBeGreaterThanOrEqual(kinds.length)
    expect(done.stdout).not.toMatch(serviceAccountJwt)
  })

  it("control: without the RoleBinding no replica can lead, and readiness says so", { timeout: 90_000 }, async () => {
    const namespace = await cluster.newNamespace("deploy-norole")
    await createIdentity(namespace, { withClusterBinding: true, withRoleBinding: false })
    const datadog = await fakeDatadog()
    const agent = await startAgent(namespace, await serviceAccountKubeconfig(namespace), { DD_DD_URL: datadog.url })
    const refused = await withAgentLog(
      agent,
      waitFor(
        () =>
          jsonLines(agent.running.stdout()).find(
            (l) => messageOf(l) === "leader election attempt failed" && isForbiddenLine(JSON.stringify(l))
          ),
        { timeoutMs: 30_000, what: "a Forbidden leader election attempt" }
      )
    )
    expect(JSON.stringify(refused.annotations)).toContain("leases")
    // Everything else is ready (the ClusterRole's informers listed); the lock alone is not.
    const notReady = await waitFor(
      async () => {
        const r = await plainGet(agent.healthPort, "/ready")
        return report(r).Healthy.includes("metadata") ? r : undefined
      },
      { timeoutMs: 30_000, what: "metadata to be ready" }
    )
    expect(notReady.status).toBe(500)
    expect(report(notReady).Unhealthy).toEqual(["leader-election"])
    expect(await readObject(leasePath(namespace))).toBeUndefined()
    expect(datadog.events().filter((e) => e.title.includes(` ${namespace}/`))).toEqual([])
    const done = await stop(agent)
    expect(done.stdout).not.toContain("became leader")
    expect(done.stdout).not.toMatch(serviceAccountJwt)
  })
})
