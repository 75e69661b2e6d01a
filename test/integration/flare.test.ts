// The flare of a real agent (`datadog-cluster-agent start` against the shared control plane) with
// secrets in its environment, its configuration and conf.d: the archive the agent builds for
// `datadog-cluster-agent flare` holds the documented files and none of the secrets, and uploads
// to the fake Datadog API with the case ID and email.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, freePorts } from "../../dev/controlPlane/ports.ts"
import { API_KEY, useFakeDatadog } from "../layers/datadog/support.ts"
import { type Running, runCli, startCli } from "../support/agentProcess.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { waitFor } from "../support/waitFor.ts"
import { readZip } from "../support/zip.ts"

const appKey = "fedcba9876543210fedcba9876543210fedcba98"
const metricsApiKey = "abcdef0123456789abcdef0123456789"
// Not hexadecimal: only the scrubbing by value can know it is a secret.
const clusterToken = "NodeAgentsShareThisClusterTokenQwErTy42"
const proxyPassword = "Pr0xy-Passw0rd-Sekret"
const confdPassword = "pg-Sup3r-Secret-Value"
const confdBearer = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.s1gnature"

describe.runIf(clusterAvailable)("flare of a running agent (real control plane)", () => {
  const cluster = useCluster()
  const fake = useFakeDatadog()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-flare-it-"))
  const tmp = Path.join(dir, "tmp")
  let agent: Running
  let env: Record<string, string>
  let localToken = ""

  beforeAll(async () => {
    Fs.mkdirSync(tmp)
    Fs.mkdirSync(Path.join(dir, "conf.d", "postgres.d"), { recursive: true })
    Fs.writeFileSync(
      Path.join(dir, "conf.d", "postgres.d", "conf.yaml"),
      [
        "init_config:",
        "instances:",
        "  - host: db.shop.svc",
        "    username: datadog",
        `    password: ${confdPassword}`,
        "    headers:",
        `      Authorization: Bearer ${confdBearer}`,
        ""
      ].join("\n")
    )
    const [cmdPort = 0, metricsPort = 0, healthPort = 0, externalMetricsPort = 0] = await freePorts(4)
    env = {
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_AUTH_TOKEN_FILE_PATH: Path.join(dir, "auth_token"),
      DD_METRICS_PORT: String(metricsPort),
      DD_HOSTNAME: "dca-flare-it",
      // Where both the agent and the CLI put archives.
      TMPDIR: tmp
    }
    agent = startCli(["start"], {
      ...env,
      DD_API_KEY: API_KEY,
      DD_APP_KEY: appKey,
      DD_EXTERNAL_METRICS_PROVIDER_API_KEY: metricsApiKey,
      DD_CLUSTER_AGENT_AUTH_TOKEN: clusterToken,
      DD_PROXY_HTTPS: `http://flare-user:${proxyPassword}@127.0.0.1:9`,
      DD_CONFD_PATH: Path.join(dir, "conf.d"),
      DD_DD_URL: fake.url,
      DD_HEALTH_PORT: String(healthPort),
      DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
      DD_EXTERNAL_METRICS_PROVIDER_PORT: String(externalMetricsPort),
      DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: fake.url,
      DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath,
      DD_KUBE_RESOURCES_NAMESPACE: await cluster.newNamespace("flare")
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
    localToken = Fs.readFileSync(env.DD_AUTH_TOKEN_FILE_PATH ?? "", "utf8").trim()
  }, 60_000)

  afterAll(async () => {
    agent?.child.kill("SIGTERM")
    await agent?.exited
    Fs.rmSync(dir, { recursive: true, force: true })
  })

  /** The CLI with only what it needs to reach the agent (and upload), like `kubectl exec`. */
  const flare = (args: ReadonlyArray<string>) =>
    runCli(["flare", ...args], { ...env, DD_API_KEY: API_KEY, DD_DD_URL: fake.url }, 60_000)

  it("the agent builds it: the documented files, and none of the secrets", async () => {
    const r = await flare(["--local"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("Asking the Cluster Agent to build the flare archive.")
    const path = lines[1]?.replace(/ was written; nothing was uploaded \(--local\)\.$/, "") ?? ""
    expect(Path.dirname(path)).toBe(tmp)
    expect(Path.basename(path)).toMatch(/^datadog-agent-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-info\.zip$/)
    const files = readZip(path)
    expect(Object.keys(files)).toEqual(
      [
        "cluster-agent-status.log",
        "cluster-agent-metadatamapper.log",
        "etc/datadog-cluster-agent-config.log",
        "etc/confd/postgres.d/conf.yaml",
        "envvars.log",
        "logs/cluster-agent.log",
        "telemetry.log",
        "custommetricsprovider.log",
        "permissions.log",
        "flare_creation.log"
      ].map((f) => `dca-flare-it/${f}`)
    )
    const file = (name: string) => files[`dca-flare-it/${name}`] ?? ""
    expect(file("custommetricsprovider.log")).toMatch(
      /^Custom Metrics Provider\n=======================\nExternal Metrics\n================\n {2}ConfigMap name: flare-[0-9a-f]+\/datadog-custom-metrics\n/
    )
    expect(file("flare_creation.log")).toBe("")
    expect(file("cluster-agent-status.log")).toMatch(/^=+\nDatadog Cluster Agent \(v\d+\.\d+\.\d+\)\n=+\n/)
    expect(file("cluster-agent-metadatamapper.log")).toMatch(/^===============\nMetadata Mapper\n===============/)
    expect(file("etc/datadog-cluster-agent-config.log")).toContain("DD_CONFD_PATH")
    expect(file("etc/confd/postgres.d/conf.yaml")).toContain("host: db.shop.svc")
    expect(file("envvars.log")).toContain(" -  DD_HOSTNAME=dca-flare-it")
    expect(file("logs/cluster-agent.log")).toContain('"message":"Making a flare"')
    expect(file("logs/cluster-agent.log")).toContain('"message":"cluster agent started"')
    expect(file("telemetry.log")).toMatch(/^datadog_requests\{/m)
    expect(file("telemetry.log")).toMatch(/^kube_watch_/m)
    expect(file("permissions.log")).toContain("RBAC self-check")
    expect(file("permissions.log")).toContain(`${Path.join(dir, "conf.d", "postgres.d", "conf.yaml")}`)

    const all = Object.values(files).join("\n")
    for (const secret of [
      API_KEY,
      appKey,
      metricsApiKey,
      clusterToken,
      localToken,
      proxyPassword,
      confdPassword,
      confdBearer
    ]) {
      expect(all).not.toContain(secret)
    }
    // API keys keep their last five characters, for identification.
    expect(file("cluster-agent-status.log")).toContain(`${"*".repeat(27)}${API_KEY.slice(-5)}`)
  })

  it("with the agent out of reach, the CLI's local flare reads the metadata map from the API server", async () => {
    const r = await runCli(
      ["flare", "--local"],
      {
        ...env,
        DD_CLUSTER_AGENT_CMD_PORT: String(await freePort()),
        DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath,
        DD_CONFD_PATH: Path.join(dir, "conf.d"),
        DD_CLUSTER_AGENT_AUTH_TOKEN: clusterToken
      },
      60_000
    )
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("Initiating flare locally, some logs will be missing.")
    const path = r.stdout.match(/^(\S+\.zip) was written/m)?.[1] ?? ""
    const files = readZip(path)
    expect(Object.keys(files)).toEqual(
      [
        "local",
        "cluster-agent-metadatamapper.log",
        "etc/datadog-cluster-agent-config.log",
        "etc/confd/postgres.d/conf.yaml",
        "envvars.log",
        // The agent itself still runs here: its metrics port answers.
        "telemetry.log",
        "permissions.log",
        "flare_creation.log"
      ].map((f) => `dca-flare-it/${f}`)
    )
    expect(files["dca-flare-it/cluster-agent-metadatamapper.log"]).toMatch(/^===============\nMetadata Mapper\n/)
    const all = Object.values(files).join("\n")
    for (const secret of [API_KEY, clusterToken, localToken, confdPassword, confdBearer])
      expect(all).not.toContain(secret)
  })

  it("and it uploads: case ID, email, the agent's archive", async () => {
    const r = await flare(["31337", "--send", "--email", "ops@example.com"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain("Initiating flare locally")
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(
      "Your logs were successfully uploaded. For future reference, your internal case id is 31337"
    )
    const [upload] = fake.flares()
    expect(upload?.fields).toMatchObject({ case_id: "31337", email: "ops@example.com", hostname: "dca-flare-it" })
    const zip = Path.join(tmp, "uploaded.zip")
    Fs.writeFileSync(zip, upload?.file?.bytes ?? Buffer.alloc(0))
    const names = Object.keys(readZip(zip))
    expect(names).toContain("dca-flare-it/cluster-agent-status.log")
    expect(names).not.toContain("dca-flare-it/local")
  })
})
