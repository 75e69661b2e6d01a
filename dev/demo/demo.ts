/**
 * The demo (`npm run demo`, `bash scripts/demo.sh`): the whole agent working on this machine,
 * without a cluster or a Datadog key of one's own. It starts a local control plane
 * (dev/controlPlane, building its binaries on first use) and the fake Datadog API
 * (dev/fakeDatadog), creates a sample workload (dev/demo/workload.ts) that a fake kubelet runs
 * (dev/demo/fakeKubelet.ts), starts two agent replicas with every feature on (dev/demo/agents.ts),
 * points the external metrics APIService at one of them (dev/demo/apiService.ts), and prints
 * `status`, `metamap`, what the fake Datadog API received and an HPA scaling on a fake metric.
 * Then it runs until Ctrl-C, saying how to query it; Ctrl-C stops everything and removes its files.
 *
 * Resources are scoped: on Ctrl-C (or a failure) the agents stop first, then the fake kubelet,
 * the fake Datadog API and the control plane, then the demo's temp dir goes. Should the demo
 * itself be killed with SIGKILL, watchdogs (dev/controlPlane/watchdog.ts) kill the agents and the
 * control plane and remove their files.
 */
import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { CoordinationV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import { ensureBinaries } from "../controlPlane/binaries.ts"
import { type ControlPlane, startControlPlane } from "../controlPlane/controlPlane.ts"
import { apiCaller, httpRequest, httpsRequest } from "../controlPlane/http.ts"
import { logTail } from "../controlPlane/processes.ts"
import { startWatchdog } from "../controlPlane/watchdog.ts"
import { allManifests, createEach, deployDir, identityKinds, readManifests } from "../deploy/manifests.ts"
import { type FakeDatadog, startFakeDatadog } from "../fakeDatadog/index.ts"
import { awaitShippedBindings, serviceAccountKubeconfig, serviceAccountName } from "../serviceAccount.ts"
import { type Agent, type AgentSettings, agentPorts, CHECK_CONF, runCli, startAgent } from "./agents.ts"
import { apiServiceAvailability, apiServiceName, pointApiServiceAt } from "./apiService.ts"
import { startFakeKubelet } from "./fakeKubelet.ts"
import { banner, datadogReport, queryHints } from "./report.ts"
import {
  AGENT_NAMESPACE,
  createHpa,
  createWorkload,
  deploymentReplicas,
  endpointSlices,
  HPA,
  hpaLabelSelector,
  hpaQuery,
  NAMESPACES,
  NODES
} from "./workload.ts"

export class DemoError extends Data.TaggedError("DemoError")<{ readonly message: string }> {}

const LEASE = "datadog-leader-election"
/** The HPA's steps: the fake metric's value, and the replicas that makes (ceil(value / 10)). */
const STEPS: ReadonlyArray<readonly [number, number]> = [
  [8, 1],
  [42, 5],
  [15, 2]
]

const started = Date.now()
const clock = () => {
  const s = Math.floor((Date.now() - started) / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`
}
const say = (line: string) => Effect.sync(() => console.log(`[demo ${clock()}] ${line}`))
const print = (text: string) => Effect.sync(() => console.log(text))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** A promise as an effect whose failure is a DemoError naming what was being done. */
const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new DemoError({ message: `${what}: ${messageOf(e)}` }) })

/** Polls `check` every 250 ms until it gives a value other than undefined/false. */
const poll = <A>(what: string, timeoutMs: number, check: () => Promise<A | undefined | false>) =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    let last = ""
    for (;;) {
      const value = yield* Effect.promise(() =>
        check().catch((e: unknown) => {
          last = messageOf(e)
          return undefined
        })
      )
      if (value !== undefined && value !== false) return value
      if (Date.now() > deadline) {
        return yield* new DemoError({
          message: `timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? ` (last error: ${last})` : ""}`
        })
      }
      yield* Effect.sleep("250 millis")
    }
  })

/** Where scripts/control-plane/build.sh keeps the binaries. */
const buildCache = () =>
  process.env.DCA_CONTROL_PLANE_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "datadog-cluster-agent", "control-plane")

/** The control-plane binaries, with a progress line every 30 s while the first build runs. */
const binaries = Effect.gen(function* () {
  yield* say("control-plane binaries (etcd, kube-apiserver, kube-controller-manager): scripts/control-plane/build.sh")
  const begin = Date.now()
  const ticker = yield* Effect.forkChild(
    Effect.gen(function* () {
      yield* Effect.sleep("3 seconds")
      yield* say(
        "not built yet: building them from Go modules, once (about 7 minutes on a fresh 2-core machine, more on a slow one); " +
          `later runs reuse the cache in ${buildCache()}`
      )
      for (;;) {
        yield* Effect.sleep("30 seconds")
        yield* say(`still building the control plane (${Math.round((Date.now() - begin) / 1000)} s so far) ...`)
      }
    })
  )
  const found = yield* Effect.tryPromise({
    try: () => ensureBinaries(),
    // The build's own lines (what went wrong, what to install) were shown as they came.
    catch: (e) => new DemoError({ message: `building the control plane: ${messageOf(e).split("\n")[0]}` })
  })
  yield* Fiber.interrupt(ticker)
  const took = Date.now() - begin
  yield* say(took < 3_000 ? `binaries cached in ${found.dir}` : `built in ${seconds(took)} into ${found.dir}`)
  return found
})

const controlPlane = Effect.gen(function* () {
  const found = yield* binaries
  yield* say("starting etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 ...")
  const begin = Date.now()
  const plane = yield* Effect.acquireRelease(
    attempt("starting the control plane", () => startControlPlane({ binaries: found })),
    (p) => Effect.promise(() => p.stop())
  )
  const version = yield* Effect.promise(() =>
    httpsRequest(`${plane.server}/version`, { caPem: plane.caPem, ...plane.admin }).then(
      (r) => (JSON.parse(r.body) as { gitVersion?: string }).gitVersion ?? "?",
      () => "?"
    )
  )
  yield* say(`control plane ready in ${seconds(Date.now() - begin)}: Kubernetes ${version} at ${plane.server}`)
  return plane
})

const startAgents = (kubeconfigPath: string, datadog: FakeDatadog, dir: string) =>
  Effect.gen(function* () {
    const confd = join(dir, "conf.d")
    mkdirSync(join(confd, "kubernetes_apiserver.d"), { recursive: true })
    writeFileSync(join(confd, "kubernetes_apiserver.d", "conf.yaml"), CHECK_CONF)
    const clusterToken = randomBytes(20).toString("hex")
    // Kills the agents should this process die without stopping them (SIGKILL).
    const watchdog = yield* Effect.acquireRelease(
      attempt("starting the agents' watchdog", () => startWatchdog(join(dir, "agent-pids"), dir)),
      (w) => Effect.promise(() => w.dismiss())
    )
    const agents: Array<Agent> = []
    for (const name of ["agent-0", "agent-1"]) {
      const settings: AgentSettings = {
        name,
        ports: yield* Effect.promise(agentPorts),
        kubeconfigPath,
        datadogUrl: datadog.url,
        clusterToken,
        authTokenFile: join(dir, name, "auth_token"),
        confdPath: confd
      }
      mkdirSync(join(dir, name), { recursive: true })
      const agent = yield* Effect.acquireRelease(
        attempt(`starting ${name}`, () => startAgent(settings, dir)),
        (a) => Effect.promise(() => a.stop())
      )
      agents.push(agent)
      yield* Effect.promise(() => watchdog.setPids(agents.map((a) => a.pid)))
    }
    return { agents, clusterToken }
  })

/**
 * The agents' identity as deploy/ ships it: the ServiceAccount and the RBAC of deploy/base and
 * deploy/external-metrics, created as is; the agents then authenticate with a TokenRequest token of
 * that ServiceAccount (as the kubelet gives a pod one), so they have these rights and nothing more.
 */
const agentIdentity = (plane: ControlPlane, kc: KubeConfig, dir: string) =>
  Effect.gen(function* () {
    const objects = [
      ...allManifests().map((m) => m.object),
      ...readManifests("rbac.yaml", `${deployDir}external-metrics/`)
    ].filter((o) => identityKinds.has(o.kind))
    const call = apiCaller(plane.server, { caPem: plane.caPem, ...plane.admin })
    yield* attempt("creating the agents' ServiceAccount and RBAC from deploy/", () => createEach(call, objects))
    yield* attempt("waiting for the shipped RBAC to take effect", () =>
      awaitShippedBindings(kc, AGENT_NAMESPACE, { clusterRoleBinding: true, roleBinding: true, externalMetrics: true })
    )
    const kubeconfig = yield* attempt("getting a token for the agents' ServiceAccount", () =>
      // A week: the demo runs until Ctrl-C, and the agents read their kubeconfig once.
      serviceAccountKubeconfig(kc.makeApiClient(CoreV1Api), plane, AGENT_NAMESPACE, {
        dir,
        expirationSeconds: 7 * 24 * 3600
      })
    )
    yield* say(
      `the agents run as the ServiceAccount ${AGENT_NAMESPACE}/${serviceAccountName} with only the shipped RBAC ` +
        `(${objects.length - 1} roles and bindings of deploy/base/rbac.yaml and deploy/external-metrics/rbac.yaml)`
    )
    return kubeconfig
  })

const tailOf = (agents: ReadonlyArray<Agent>) => async () => {
  const tails = await Promise.all(agents.map(async (a) => `\n--- ${a.logPath}:\n${await logTail(a.logPath, 15)}`))
  return tails.join("")
}

const leaseHolder = (kc: KubeConfig) => async () => {
  const lease = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: LEASE, namespace: AGENT_NAMESPACE })
  return lease.spec?.holderIdentity ?? ""
}

/** `datadog-cluster-agent status` of the leader (the replica that runs every feature). */
const printStatus = (leader: Agent) =>
  Effect.gen(function* () {
    const result = yield* Effect.promise(() => runCli(leader.settings, ["status"]))
    yield* print(banner(`datadog-cluster-agent status (${leader.settings.name}, the leader)`))
    yield* print(
      result.code === 0
        ? result.stdout.trimEnd()
        : `status failed (exit ${result.code}):\n${result.stdout}${result.stderr}`.trimEnd()
    )
  })

const externalMetricPath = `/apis/external.metrics.k8s.io/v1beta1/namespaces/${HPA.namespace}/${HPA.metric}?labelSelector=${encodeURIComponent(hpaLabelSelector)}`

/** The value the API server serves for the HPA's metric (through the aggregator), or why not. */
const servedValue = (plane: ControlPlane) => async () => {
  const res = await httpsRequest(`${plane.server}${externalMetricPath}`, { caPem: plane.caPem, ...plane.admin })
  const body = JSON.parse(res.body) as { items?: Array<{ value: string }>; message?: string }
  return res.status === 200 ? (body.items?.[0]?.value ?? "none") : `${res.status} ${body.message ?? ""}`
}

const setMetric = (datadog: FakeDatadog, value: number) =>
  datadog.setSeries(hpaQuery, (_q, _from, to) => [
    [(to - 60) * 1000, value],
    [(to - 30) * 1000, value],
    [to * 1000, value]
  ])

/** Steps the fake metric up and down and prints the Deployment's replicas as the HPA follows. */
const scaleHpa = (kc: KubeConfig, plane: ControlPlane, datadog: FakeDatadog, agents: ReadonlyArray<Agent>) =>
  Effect.gen(function* () {
    yield* print(banner(`the HPA ${HPA.namespace}/${HPA.name} scaling on the fake metric ${HPA.metric}`))
    yield* print(
      `target: AverageValue ${HPA.averageValue} of ${HPA.metric}{${hpaLabelSelector.replace("=", ":")}}, so replicas = ceil(value / ${HPA.averageValue}) ` +
        `(min ${HPA.minReplicas}, max ${HPA.maxReplicas}); the leader queries the fake every 2 s, the HPA controller syncs every 2 s`
    )
    for (const [value, expected] of STEPS) {
      const begin = Date.now()
      setMetric(datadog, value)
      const seen: Array<number> = [(yield* attempt("reading the Deployment", () => deploymentReplicas(kc))).replicas]
      const served = yield* poll(`the API server to serve ${HPA.metric} = ${value}`, 60_000, async () => {
        const now = await servedValue(plane)()
        return now === String(value) ? now : undefined
      })
      yield* poll(
        `${expected} replicas of ${HPA.namespace}/${HPA.name} (so far: ${seen.join(" → ")})`,
        90_000,
        async () => {
          const { replicas, ready } = await deploymentReplicas(kc)
          if (seen.at(-1) !== replicas) seen.push(replicas)
          return replicas === expected && ready === expected
        }
      ).pipe(
        Effect.catch((e) =>
          Effect.andThen(Effect.promise(tailOf(agents)), (t) => new DemoError({ message: e.message + t }))
        )
      )
      yield* print(
        `  ${HPA.metric} = ${String(value).padEnd(3)} served ${served.padEnd(3)} replicas ${seen.join(" → ")}  ` +
          `(${expected} ready after ${seconds(Date.now() - begin)})`
      )
    }
  })

/** While the demo runs: says when the leader changes, a replica exits or the HPA rescales. */
const monitor = (kc: KubeConfig, agents: ReadonlyArray<Agent>, firstLeader: string) =>
  Effect.gen(function* () {
    let leader = firstLeader
    const exited = new Set<string>()
    let replicas = -1
    for (;;) {
      yield* Effect.sleep("1 second")
      for (const a of agents) {
        if (a.hasExited() && !exited.has(a.settings.name)) {
          exited.add(a.settings.name)
          const how = yield* Effect.promise(() => a.exited)
          yield* say(`${a.settings.name} (pid ${a.pid}) exited (${how.signal ?? `code ${how.code}`}); log ${a.logPath}`)
        }
      }
      const holder = yield* Effect.promise(() => leaseHolder(kc)().catch(() => leader))
      if (holder !== leader) {
        leader = holder
        yield* say(`leader is now ${holder || "nobody"}`)
      }
      const now = yield* Effect.promise(() => deploymentReplicas(kc).catch(() => undefined))
      if (now !== undefined && now.replicas !== replicas) {
        if (replicas >= 0) yield* say(`${HPA.namespace}/${HPA.name}: ${replicas} → ${now.replicas} replicas`)
        replicas = now.replicas
      }
    }
  })

/** On a terminal: a number typed and Enter sets the fake metric. */
const metricFromKeyboard = (datadog: FakeDatadog) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      if (!process.stdin.isTTY) return undefined
      const rl = createInterface({ input: process.stdin, terminal: false })
      rl.on("line", (line) => {
        const value = Number(line.trim())
        if (line.trim() === "" || !Number.isFinite(value) || value < 0) {
          console.log(`[demo ${clock()}] type a number (the new value of ${HPA.metric}) and Enter`)
          return
        }
        setMetric(datadog, value)
        console.log(
          `[demo ${clock()}] ${HPA.metric} = ${value}: the HPA aims at ${Math.min(HPA.maxReplicas, Math.max(HPA.minReplicas, Math.ceil(value / HPA.averageValue)))} replicas`
        )
      })
      return rl
    }),
    (rl) => Effect.sync(() => rl?.close())
  )

export const demo: Effect.Effect<never, DemoError, Scope.Scope> = Effect.gen(function* () {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "dca-demo-"))),
    (d) =>
      Effect.andThen(
        Effect.sync(() => rmSync(d, { recursive: true, force: true })),
        say(`stopped everything it started (agents, fake kubelet, fake Datadog API, control plane); removed ${d}`)
      )
  )
  yield* Effect.addFinalizer(() => say("stopping ..."))

  const plane = yield* controlPlane
  const kc = new KubeConfig()
  kc.loadFromFile(plane.kubeconfigPath)
  yield* Effect.forkScoped(
    Effect.gen(function* () {
      const exit = yield* Effect.promise(() => plane.unexpectedExit)
      // A Ctrl-C in the terminal reaches the components too: then the demo is stopping (and this
      // fiber interrupted) within the second.
      yield* Effect.sleep("1 second")
      yield* say(`${exit.component} exited unexpectedly (code ${exit.code}, signal ${exit.signal}); press Ctrl-C`)
    })
  )

  const datadog = yield* Effect.acquireRelease(
    attempt("starting the fake Datadog API", () => startFakeDatadog()),
    (d) => Effect.promise(() => d.close())
  )
  setMetric(datadog, STEPS[0]?.[0] ?? 0)
  yield* say(`fake Datadog API at ${datadog.url} (any key accepted; ${hpaQuery} scripted)`)

  const workload = yield* attempt("creating the sample workload", () => createWorkload(kc))
  yield* say(
    `sample workload: namespaces ${NAMESPACES.join(", ")}; Node objects ${NODES.join(", ")} (no kubelet); ` +
      `${workload.pods} pods, ${workload.services} Services, ${workload.events} events, Deployment ${HPA.namespace}/${HPA.name}`
  )
  const core = kc.makeApiClient(CoreV1Api)
  yield* Effect.acquireRelease(
    Effect.sync(() => startFakeKubelet({ core, namespaces: NAMESPACES, nodes: NODES })),
    (k) => Effect.promise(() => k.stop())
  )
  const slices = yield* poll("EndpointSlices with the pods in them", 60_000, async () => {
    const found = await endpointSlices(kc)
    return found.length > 0 && found.every(([, n]) => n > 0) ? found : undefined
  })
  yield* say(
    `fake kubelet: pods Running and Ready with IPs; the EndpointSlice controller made ${slices.length} slices: ` +
      slices.map(([s, n]) => `${s} (${n})`).join(", ")
  )

  const agentKubeconfig = yield* agentIdentity(plane, kc, dir)
  yield* say(
    "starting 2 agent replicas with leader election, event collection, the control-plane check and the external metrics provider ..."
  )
  const begin = Date.now()
  const { agents, clusterToken } = yield* startAgents(agentKubeconfig, datadog, dir)
  const tails = tailOf(agents)
  for (const a of agents) {
    yield* poll(`${a.settings.name} to be ready (/ready)`, 90_000, async () => {
      if (a.hasExited()) throw new Error(`${a.settings.name} exited`)
      return (await httpRequest(`http://127.0.0.1:${a.settings.ports.health}/ready`)).status === 200
    }).pipe(
      Effect.catch((e) => Effect.andThen(Effect.promise(tails), (t) => new DemoError({ message: e.message + t })))
    )
  }
  const holder = yield* poll("a leader", 60_000, leaseHolder(kc))
  const leader = agents.find((a) => a.settings.name === holder) ?? (agents[0] as Agent)
  const follower = agents.find((a) => a !== leader) ?? leader
  yield* say(
    `agents ready in ${seconds(Date.now() - begin)}: ` +
      agents.map((a) => `${a.settings.name} (pid ${a.pid}, ${a === leader ? "leader" : "follower"})`).join(", ")
  )

  yield* attempt("registering the APIService", () => pointApiServiceAt(kc, follower.settings.ports.externalMetrics))
  const availability = yield* poll(`APIService ${apiServiceName} Available`, 60_000, async () => {
    const a = await apiServiceAvailability(kc)
    return a.available ? a : undefined
  })
  yield* say(
    `APIService ${apiServiceName} → ${follower.settings.name} (the follower, serving the leader's ConfigMap): Available (${availability.message.trim()})`
  )

  yield* attempt("creating the HPA", () => createHpa(kc))
  yield* say(`HPA ${HPA.namespace}/${HPA.name} created on the External metric ${HPA.metric}`)

  yield* attempt("waiting for the fake Datadog API", () =>
    datadog.waitFor(() => datadog.events().length > 0 && datadog.serviceChecks().length > 0, {
      timeoutMs: 60_000,
      what: "events and service checks from the leader"
    })
  )
  yield* say(`the leader sent its first events and service checks to the fake Datadog API`)

  yield* printStatus(leader)

  const metamap = yield* Effect.promise(() => runCli(leader.settings, ["metamap"]))
  yield* print(banner("datadog-cluster-agent metamap"))
  yield* print(
    metamap.code === 0 ? metamap.stdout.trimEnd() : `metamap failed (exit ${metamap.code}): ${metamap.stderr}`
  )

  yield* print(banner(`what the fake Datadog API received`))
  yield* print(
    datadogReport({
      url: datadog.url,
      requests: datadog.requests(),
      events: datadog.events(),
      serviceChecks: datadog.serviceChecks(),
      metricQueries: datadog.metricQueries()
    })
  )

  yield* scaleHpa(kc, plane, datadog, agents)

  const interactive = process.stdin.isTTY === true
  yield* print(banner("the demo runs until Ctrl-C"))
  yield* print(
    queryHints({
      clusterToken,
      cmdPort: leader.settings.ports.cmd,
      metricsPort: leader.settings.ports.metrics,
      healthPort: leader.settings.ports.health,
      node: NODES[0],
      namespace: HPA.namespace,
      kubeconfig: plane.kubeconfigPath,
      externalMetricPath,
      datadogUrl: datadog.url,
      cliEnv: `DD_CLUSTER_AGENT_CMD_PORT=${leader.settings.ports.cmd} DD_AUTH_TOKEN_FILE_PATH=${leader.settings.authTokenFile}`,
      logs: agents.map((a) => a.logPath),
      leaderPid: leader.pid,
      interactive
    })
  )
  yield* print("")
  yield* metricFromKeyboard(datadog)
  yield* Effect.forkScoped(monitor(kc, agents, holder))
  return yield* Effect.never
})
