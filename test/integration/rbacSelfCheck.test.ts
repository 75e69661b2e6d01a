/**
 * The RBAC self-check end to end: the real agent process runs as its ServiceAccount (a
 * TokenRequest token, not the admin certificate) against the shared control plane, with the
 * shipped RBAC of deploy/base, leading (a Lease) and collecting events. With every shipped rule
 * the check finds every right and each feature works; with the events rule removed from the
 * ClusterRole it names that rule, and only event collection stops: the replica stays ready,
 * leads, serves node agents and sends the control-plane service checks.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CoreV1Api } from "@kubernetes/client-node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiCaller, httpsRequest } from "../../dev/controlPlane/http.ts"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import type { Manifest, RbacRole } from "../../dev/deploy/manifests.ts"
import { type FakeDatadog, startFakeDatadog } from "../../dev/fakeDatadog/index.ts"
import { decodeStatusJson } from "../../src/services/status/model.ts"
import { jsonLines, messageOf, type Running, runCli, startCli } from "../support/agentProcess.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import {
  awaitShippedBindings,
  createIdentity as createIdentityObjects,
  serviceAccountKubeconfig,
  shippedIdentity
} from "../support/serviceAccount.ts"
import { waitFor } from "../support/waitFor.ts"

const apiKey = "0123456789abcdef0123456789abcdef"
const clusterToken = "ClusterTokenClusterTokenClusterToken42"

interface Agent {
  readonly running: Running
  readonly cmdPort: number
  readonly healthPort: number
  /** The environment the CLI needs to reach this agent. */
  readonly cli: Record<string, string>
}

const get = (url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
  httpsRequest(url, "insecure", { timeoutMs: 10_000, headers })

describe.runIf(clusterAvailable)("RBAC self-check (real control plane, the agent as its ServiceAccount)", () => {
  const cluster = useCluster()
  const agents: Array<Running> = []
  const cleanups: Array<() => Promise<unknown>> = []
  let datadog: FakeDatadog

  beforeAll(async () => {
    datadog = await startFakeDatadog()
  })

  afterAll(async () => {
    for (const a of agents) if (a.child.exitCode === null) a.child.kill("SIGKILL")
    await Promise.allSettled(cleanups.map((c) => c()))
    await datadog?.close()
  })

  /** The ServiceAccount and RBAC of deploy/base in `namespace`, each object through `edit` first. */
  const createIdentity = async (namespace: string, edit: (o: Manifest) => Manifest = (o) => o) => {
    await createIdentityObjects(
      apiCaller(cluster.server, cluster.adminTls),
      shippedIdentity(namespace).map(edit),
      cleanups
    )
    await awaitShippedBindings(cluster.kubeConfig, namespace)
  }

  const startAgent = async (namespace: string): Promise<Agent> => {
    const kubeconfig = await serviceAccountKubeconfig(cluster.kubeConfig.makeApiClient(CoreV1Api), cluster, namespace)
    const [cmdPort = 0, metricsPort = 0, healthPort = 0] = await freePorts(3)
    const cli = {
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_AUTH_TOKEN_FILE_PATH: join(mkdtempSync(join(tmpdir(), "dca-rbac-")), "auth_token")
    }
    const running = startCli(["start"], {
      ...cli,
      DD_API_KEY: apiKey,
      DD_CLUSTER_AGENT_AUTH_TOKEN: clusterToken,
      DD_DD_URL: datadog.url,
      DD_KUBERNETES_KUBECONFIG_PATH: kubeconfig,
      DD_KUBE_RESOURCES_NAMESPACE: namespace,
      DD_LEADER_ELECTION: "true",
      DD_LEADER_ELECTION_DEFAULT_RESOURCE: "lease",
      DD_POD_NAME: `${namespace}-pod`,
      DD_COLLECT_KUBERNETES_EVENTS: "true",
      DD_METRICS_PORT: String(metricsPort),
      DD_HEALTH_PORT: String(healthPort)
    })
    agents.push(running)
    const agent = { running, cmdPort, healthPort, cli }
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${healthPort}/ready`).catch(() => undefined)
        return res?.status === 200
      },
      { what: "the agent to be ready", timeoutMs: 45_000 }
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${running.stdout().slice(-3000)}\n${running.stderr()}`)
    })
    return agent
  }

  const status = async (agent: Agent) => {
    const r = await runCli(["status", "--json"], agent.cli)
    expect(r.code, r.stderr).toBe(0)
    return decodeStatusJson(r.stdout)
  }

  /** Waits until the agent leads and has sent a control-plane service check (leader work ran). */
  const awaitLeaderWork = async (agent: Agent) => {
    await waitFor(async () => (await status(agent)).leaderelection.isLeader, { what: "leadership", timeoutMs: 30_000 })
    await waitFor(
      async () => {
        const run = (await status(agent)).controlPlaneCheck.lastRun
        return run !== undefined && run.submitError === undefined
      },
      { what: "a control-plane check sent to Datadog", timeoutMs: 30_000 }
    )
  }

  const createEvent = async (namespace: string, pod: string) => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    const now = new Date()
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: `${pod}.${randomUUID().slice(0, 8)}`, namespace },
        involvedObject: { apiVersion: "v1", kind: "Pod", name: pod, namespace, uid: randomUUID() },
        reason: "RbacProbe",
        message: `an event for the RBAC test (${pod})`,
        type: "Normal",
        source: { component: "rbac-test" },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1
      }
    })
  }

  const stop = async (agent: Agent) => {
    agent.running.child.kill("SIGTERM")
    const done = await agent.running.exited
    expect(done.code, done.stdout.slice(-2000)).toBe(0)
    return done
  }

  it("with the shipped RBAC: every right granted, nothing logged, and each feature works", {
    timeout: 120_000
  }, async () => {
    const namespace = await cluster.newNamespace("rbac-ok")
    await createIdentity(namespace)
    const agent = await startAgent(namespace)
    await awaitLeaderWork(agent)
    const s = await status(agent)
    expect(s.rbac.features.map((f) => [f.feature, f.state, f.missing.length])).toEqual([
      ["apiServerProbe", "granted", 0],
      ["metadataMapper", "granted", 0],
      ["clusterId", "granted", 0],
      ["leaderElection", "granted", 0],
      ["eventCollection", "granted", 0],
      ["controlPlaneCheck", "granted", 0]
    ])
    expect(s.eventCollection.state).toBe("running")
    await createEvent(namespace, "granted-probe")
    await datadog.waitFor(
      () => datadog.events().find((e) => e.title === `Events from the Pod ${namespace}/granted-probe`),
      { timeoutMs: 60_000, what: "the event in Datadog" }
    )
    const done = await stop(agent)
    expect(jsonLines(done.stdout).filter((l) => messageOf(l).startsWith("RBAC"))).toEqual([])
  })

  it("without the events rule: the check names it, only event collection stops, the rest works", {
    timeout: 120_000
  }, async () => {
    const namespace = await cluster.newNamespace("rbac-noevents")
    // The shipped ClusterRole minus its events rule.
    await createIdentity(namespace, (o) =>
      o.kind === "ClusterRole"
        ? ({ ...o, rules: (o as RbacRole).rules.filter((r) => !(r.resources ?? []).includes("events")) } as Manifest)
        : o
    )
    const agent = await startAgent(namespace)
    // Ready: a missing optional right never takes the replica out of the Service.
    const ready = (await (await fetch(`http://127.0.0.1:${agent.healthPort}/ready`)).json()) as { Unhealthy: [] }
    expect(ready.Unhealthy).toEqual([])
    await awaitLeaderWork(agent)

    // One ERROR line naming the exact rule and the role to add it to.
    const errors = jsonLines(agent.running.stdout()).filter((l) => l.level === "ERROR")
    expect(errors.map(messageOf)).toEqual([
      "RBAC: the agent's ServiceAccount may not list, watch events; event collection: stopped until it is granted (checked again every few minutes). " +
        // The shipped role's name (this test suffixes its copy to keep runs apart).
        'To fix it, add to the ClusterRole datadog-cluster-agent the rule {apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}'
    ])

    // The status says so, in JSON and in text.
    const s = await status(agent)
    const events = s.rbac.features.find((f) => f.feature === "eventCollection")
    expect(events).toMatchObject({
      state: "missing",
      ifMissing: "stopped",
      missing: [
        {
          role: "ClusterRole datadog-cluster-agent",
          rule: '{apiGroups: [""], resources: ["events"], verbs: ["list", "watch"]}',
          refused: "list, watch events"
        }
      ]
    })
    expect(s.rbac.features.filter((f) => f.state !== "granted").map((f) => f.feature)).toEqual(["eventCollection"])
    expect(s.eventCollection.state).toBe("missingRights")
    const text = await runCli(["status"], agent.cli)
    expect(text.stdout).toContain("  event collection: MISSING RIGHTS: no Kubernetes event reaches Datadog\n")
    expect(text.stdout).toContain(
      "Kubernetes Events\n=================\n  Status: Stopped: a Kubernetes right it needs is missing (see RBAC Self-Check)\n"
    )

    // The other features work: it leads (above), checks the control plane (above), serves node agents.
    const auth = { authorization: `Bearer ${clusterToken}` }
    const ns = await get(`https://127.0.0.1:${agent.cmdPort}/api/v1/tags/namespace/${namespace}`, auth)
    expect(ns.status).toBe(200)
    const id = await get(`https://127.0.0.1:${agent.cmdPort}/api/v1/cluster/id`, auth)
    expect(id.status, id.body).toBe(200)
    expect(s.metadataMapper.synced).toBe(true)
    expect(s.leaderelection.status).toBe("Running")

    // Event collection never started: no token written, no events watch refused, nothing sent.
    await createEvent(namespace, "refused-probe")
    expect(s.eventCollection.token).toBeUndefined()
    const done = await stop(agent)
    expect(
      jsonLines(done.stdout).filter((l) => (l.annotations as { kind?: string } | undefined)?.kind === "events")
    ).toEqual([])
    expect(datadog.events().filter((e) => e.title.includes(` ${namespace}/`))).toEqual([])
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api)
    const tokens = await core.listNamespacedConfigMap({ namespace, fieldSelector: "metadata.name=datadogtoken" })
    expect(tokens.items).toEqual([])
  })
})
