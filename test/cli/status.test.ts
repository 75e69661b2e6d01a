// `datadog-cluster-agent status`: the text page from a fixed status object (golden file), the
// JSON and its schema, and the CLI against a running agent, including an unreachable one.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, freePorts } from "../../dev/controlPlane/ports.ts"
import { type FakeDatadog, startFakeDatadog } from "../../dev/fakeDatadog/index.ts"
import { AgentUnreachable } from "../../src/cli/agentClient.ts"
import { failureAdvice } from "../../src/cli/status.ts"
import { AgentStatus, decodeStatusJson, statusJson } from "../../src/services/status/model.ts"
import { renderStatusText } from "../../src/services/status/render.ts"
import { type Running, runCli, startCli } from "../support/agentProcess.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { sampleStatus } from "../support/sampleStatus.ts"
import { banners, normalised } from "../support/statusText.ts"
import { waitFor } from "../support/waitFor.ts"

const goldenDir = new URL("./golden/", import.meta.url)

/** Compares with a golden file; UPDATE_GOLDEN=1 (re)writes it. A missing file fails. */
const expectGolden = (name: string, actual: string) => {
  const path = new URL(name, goldenDir)
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(path, actual)
  expect(existsSync(path), `${path.pathname} is missing: run with UPDATE_GOLDEN=1 to write it`).toBe(true)
  expect(actual).toBe(readFileSync(path, "utf8"))
}

describe("status text (fixed status object)", () => {
  it("renders every section like the golden file", () => {
    expectGolden("status.txt", renderStatusText(sampleStatus))
  })

  it("the Leader Election section is the original's layout (contract §4)", () => {
    const text = renderStatusText(sampleStatus)
    expect(text).toContain(
      [
        "===============",
        "Leader Election",
        "===============",
        "  Leader Election Status:  Running",
        "  Leader Name is: dca-7c9d-abcde",
        "  Last Acquisition of the lease: Wed, 01 May 2024 11:00:05 UTC",
        "  Renewed leadership: Wed, 01 May 2024 12:05:20 UTC",
        "  Number of leader transitions: 3 transitions"
      ].join("\n")
    )
    const failing = renderStatusText({
      ...sampleStatus,
      leaderelection: { status: "Failing", error: "leases is forbidden", identity: "dca-0", isLeader: false }
    })
    expect(failing).toContain("  Leader Election Status:  Failing\n  Error: leases is forbidden\n")
  })

  it("a disabled custom metrics server says Disabled; one kept off by RBAC says why", () => {
    const off = { ...sampleStatus.customMetrics, state: "disabled" as const }
    expect(renderStatusText({ ...sampleStatus, customMetrics: off })).toContain(
      "=====================\nCustom Metrics Server\n=====================\n  Disabled\n"
    )
    expect(renderStatusText({ ...sampleStatus, customMetrics: { ...off, state: "missingRights" } })).toContain(
      "  Not started: a Kubernetes right it needs is missing (see RBAC Self-Check)"
    )
  })
})

describe("status --json (schema)", () => {
  it("the JSON decodes with the status schema, and back to the same object", () => {
    const json = statusJson(sampleStatus)
    expect(decodeStatusJson(json)).toEqual(sampleStatus)
    expect(JSON.parse(statusJson(sampleStatus, true))).toEqual(JSON.parse(json))
    expect(Object.keys(JSON.parse(json))).toEqual([
      "version",
      "collectedAt",
      "startedAt",
      "pid",
      "hostname",
      "node",
      "logLevel",
      "apiServer",
      "watches",
      "leaderelection",
      "metadataMapper",
      "eventCollection",
      "controlPlaneCheck",
      "customMetrics",
      "datadogApi",
      "rbac",
      "warnings"
    ])
  })

  it("a wrong shape is refused, naming the field", () => {
    const broken = { ...JSON.parse(statusJson(sampleStatus)), apiServer: { server: 1 } }
    expect(() => decodeStatusJson(JSON.stringify(broken))).toThrow(/apiServer/)
    expect(Schema.is(AgentStatus)(sampleStatus)).toBe(true)
  })
})

describe("status without a running agent", () => {
  it("says which address and token file it tried and what to check, and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dca-status-"))
    const tokenFile = join(dir, "auth_token")
    writeFileSync(tokenFile, "f".repeat(64))
    const port = await freePort()
    const r = await runCli(["status"], { DD_CLUSTER_AGENT_CMD_PORT: String(port), DD_AUTH_TOKEN_FILE_PATH: tokenFile })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("Getting the status from the agent.\n\n")
    expect(r.stderr).toContain(
      `Could not reach the agent at https://localhost:${port}/status?format=json: connect ECONNREFUSED`
    )
    expect(r.stderr).toContain(`(local token file: ${tokenFile})`)
    expect(r.stderr).toContain(`DD_CLUSTER_AGENT_CMD_PORT (${port}) is the port it listens on`)
    expect(r.stderr).toContain(`DD_AUTH_TOKEN_FILE_PATH (${tokenFile}) names the local token file it created`)
    expect(r.stderr).not.toContain("f".repeat(64))
  })

  it("without the token file: names the file and the variable, and exits 1", async () => {
    const missing = join(mkdtempSync(join(tmpdir(), "dca-status-")), "auth_token")
    const r = await runCli(["status", "--json"], {
      DD_CLUSTER_AGENT_CMD_PORT: String(await freePort()),
      DD_AUTH_TOKEN_FILE_PATH: missing
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain(`Could not read the local token to call the agent at https://localhost:`)
    expect(r.stderr).toContain(`${missing} (DD_AUTH_TOKEN_FILE_PATH): cannot read`)
  })

  it("a refused token and an agent error are told apart", () => {
    const config = { cmdPort: 5005, authTokenFilePath: "/etc/datadog-agent/auth_token" }
    const url = "https://localhost:5005/status?format=json"
    expect(failureAdvice(config, new AgentUnreachable({ url, detail: "no answer within 10000 ms" }))).toMatch(
      /^Could not reach the agent at https:\/\/localhost:5005\/status\?format=json: no answer within 10000 ms\n/
    )
  })
})

describe.runIf(clusterAvailable)("status against a running agent (real control plane)", () => {
  const cluster = useCluster()
  let agent: Running
  let datadog: FakeDatadog
  let env: Record<string, string>

  beforeAll(async () => {
    datadog = await startFakeDatadog()
    const dir = mkdtempSync(join(tmpdir(), "dca-status-"))
    const [cmdPort = 0, metricsPort = 0, healthPort = 0] = await freePorts(3)
    env = {
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token")
    }
    agent = startCli(["start"], {
      ...env,
      DD_API_KEY: "0123456789abcdef0123456789abcdef",
      DD_CLUSTER_AGENT_AUTH_TOKEN: "ClusterTokenClusterTokenClusterToken42",
      DD_DD_URL: datadog.url,
      DD_METRICS_PORT: String(metricsPort),
      DD_HEALTH_PORT: String(healthPort),
      DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath,
      DD_KUBE_RESOURCES_NAMESPACE: await cluster.newNamespace("status"),
      DD_COLLECT_KUBERNETES_EVENTS: "true"
    })
    await waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${healthPort}/ready`).catch(() => undefined)
        return res?.status === 200
      },
      { what: "the agent to be ready", timeoutMs: 30_000 }
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${agent.stdout().slice(-3000)}\n${agent.stderr()}`)
    })
  }, 60_000)

  afterAll(async () => {
    agent?.child.kill("SIGTERM")
    await agent?.exited
    await datadog?.close()
  })

  it("prints the page: title, then every section, in order", async () => {
    const r = await runCli(["status"], env)
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout.startsWith("Getting the status from the agent.\n\n")).toBe(true)
    const page = normalised(r.stdout)
    expect(banners(page)).toEqual([
      "Datadog Cluster Agent (v<version>)",
      "API Server",
      "Watches",
      "Leader Election",
      "Metadata Mapper",
      "Kubernetes Events",
      "Control Plane Check",
      "Custom Metrics Server",
      "Datadog API",
      "RBAC Self-Check",
      "Configuration Warnings"
    ])
    expect(page).toContain(`  Server: ${cluster.server}\n  Status: Connected (Kubernetes v1.`)
    expect(page).toContain("  Leader Election Status:  Disabled\n")
    expect(page).toMatch(/^ {2}pods +\d+ +yes +1 +\d+ +/m)
    expect(page).toContain("  Status: Synced\n")
    expect(page).toContain("=====================\nCustom Metrics Server\n=====================\n  Disabled\n")
    // Event collection runs (leader election off: always the leader), from a token it created.
    expect(page).toContain("Kubernetes Events\n=================\n  Status: Running on this replica\n")
    expect(page).toContain(`  API: ${datadog.url}`)
    // The admin credentials of the test cluster may do everything.
    expect(page).toContain("  event collection: OK\n")
    expect(page).toContain("  - event collection runs with leader election off")
  })

  it("--json prints JSON that the schema accepts; -p indents it; -o writes the text to a file", async () => {
    const json = await runCli(["status", "--json"], env)
    expect(json.code).toBe(0)
    const status = decodeStatusJson(json.stdout)
    expect(status.apiServer).toMatchObject({ server: cluster.server, connected: true })
    expect(status.watches.map((w) => w.kind).sort()).toEqual(
      ["endpointslices", "events", "namespaces", "nodes", "pods", "services"].sort()
    )
    expect(status.watches.filter((w) => w.kind !== "events").every((w) => w.synced === true)).toBe(true)
    expect(status.leaderelection).toMatchObject({ status: "Disabled", isLeader: true })
    expect(status.metadataMapper).toMatchObject({ enabled: true, synced: true })
    expect(status.eventCollection.state).toBe("running")
    expect(status.rbac.features.map((f) => [f.feature, f.state])).toEqual([
      ["apiServerProbe", "granted"],
      ["metadataMapper", "granted"],
      ["clusterId", "granted"],
      ["eventCollection", "granted"],
      ["controlPlaneCheck", "granted"]
    ])
    expect(json.stdout.trim().split("\n")).toHaveLength(1)

    const pretty = await runCli(["status", "-p"], env)
    expect(pretty.code).toBe(0)
    expect(pretty.stdout.startsWith('{\n  "version": ')).toBe(true)
    expect(decodeStatusJson(pretty.stdout).version).toBe(status.version)

    const file = join(mkdtempSync(join(tmpdir(), "dca-status-")), "status.txt")
    const written = await runCli(["status", "-o", file], env)
    expect(written.code).toBe(0)
    expect(written.stdout).toBe("Getting the status from the agent.\n\n")
    expect(readFileSync(file, "utf8")).toMatch(/^=+\nDatadog Cluster Agent \(v[^)]+\)\n=+\n/)
  })

  it("GET /status?format=text serves the same page to other clients with the local token", async () => {
    const token = readFileSync(env.DD_AUTH_TOKEN_FILE_PATH ?? "", "utf8").trim()
    const res = await runCli(["status"], env)
    expect(res.code).toBe(0)
    const https = await import("node:https")
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(
          `https://localhost:${env.DD_CLUSTER_AGENT_CMD_PORT}/status?format=text`,
          { rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } },
          (r) => {
            let text = ""
            r.setEncoding("utf8").on("data", (d: string) => {
              text += d
            })
            r.on("end", () => resolve(text))
          }
        )
        .on("error", reject)
    })
    expect(normalised(body).split("\n").slice(0, 12)).toEqual(
      normalised(res.stdout.replace("Getting the status from the agent.\n\n", "")).split("\n").slice(0, 12)
    )
  })
})
