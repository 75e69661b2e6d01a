import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import { jsonLines, runCli, startCli } from "../support/agentProcess.ts"
import { useCluster } from "../support/cluster.ts"
import { parsePrometheus, sampleValue } from "../support/prometheus.ts"
import { waitFor } from "../support/waitFor.ts"

const secrets = {
  DD_API_KEY: "0123456789abcdef0123456789abcdef",
  DD_APP_KEY: "fedcba9876543210fedcba9876543210fedcba98",
  DD_CLUSTER_AGENT_AUTH_TOKEN: "ClusterTokenClusterTokenClusterToken42",
  DD_EXTERNAL_METRICS_PROVIDER_APP_KEY: "AppKeyForMetricsAppKeyForMetrics12345678"
}

const tempDir = () => mkdtempSync(join(tmpdir(), "dca-cli-"))

describe("version", () => {
  it("prints the version line and the /version JSON node agents read", async () => {
    const r = await runCli(["version"])
    expect(r.code).toBe(0)
    const [line, json] = r.stdout.trim().split("\n")
    expect(line).toMatch(/^Cluster Agent v7\.\d+\.\d+ - Commit: \S+ - Node\.js v\d+/)
    const version = JSON.parse(json ?? "") as Record<string, unknown>
    expect(Object.keys(version)).toEqual(["Major", "Minor", "Patch", "Pre", "Meta", "Commit"])
    expect(version.Major).toBe(7)
    expect(version.Minor).toBeGreaterThanOrEqual(55)
  })

  it("--json prints only the JSON", async () => {
    const r = await runCli(["version", "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ Major: 7 })
  })
})

describe("config", () => {
  it("prints every variable with its source, secrets masked", async () => {
    const r = await runCli(["config"], { ...secrets, DD_SITE: "datadoghq.eu" })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^DD_SITE\s+datadoghq\.eu\s+env$/m)
    expect(r.stdout).toMatch(/^DD_CLUSTER_AGENT_CMD_PORT\s+5005\s+default$/m)
    expect(r.stdout).toMatch(/^DD_API_KEY\s+\*{8}\s+env$/m)
    for (const value of Object.values(secrets)) expect(r.stdout + r.stderr).not.toContain(value)
  })

  it("--json gives each value and its source", async () => {
    // DD_DD_URL empty (unset): the site's default API shows.
    const r = await runCli(["config", "--json"], { ...secrets, HTTP_PROXY: "http://proxy.local:3128", DD_DD_URL: "" })
    expect(r.code).toBe(0)
    const doc = JSON.parse(r.stdout) as {
      settings: Array<{ variable: string; value: string; source: string; from?: string }>
      effective: Record<string, string>
    }
    expect(doc.settings.find((s) => s.variable === "DD_PROXY_HTTP")).toEqual({
      variable: "DD_PROXY_HTTP",
      value: "http://proxy.local:3128",
      source: "env",
      from: "HTTP_PROXY",
      secret: false
    })
    expect(doc.settings.find((s) => s.variable === "DD_METRICS_PORT")).toMatchObject({
      value: "5000",
      source: "default"
    })
    expect(doc.effective["Datadog API"]).toBe("https://api.datadoghq.com")
    for (const value of Object.values(secrets)) expect(r.stdout).not.toContain(value)
  })

  it("fails naming every bad variable, without echoing secrets", async () => {
    const r = await runCli(["config"], {
      DD_CLUSTER_AGENT_AUTH_TOKEN: "short",
      DD_METRICS_PORT: "http",
      DD_LOG_LEVEL: "verbose"
    })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    const lines = r.stderr.trim().split("\n")
    expect(lines).toEqual([
      'configuration error: DD_LOG_LEVEL: invalid value "verbose": must be one of trace, debug, info, warn, error, critical, off',
      "configuration error: DD_CLUSTER_AGENT_AUTH_TOKEN: invalid value (hidden, 5 characters): must be at least 32 characters, letters A-Z a-z and digits 0-9 only",
      'configuration error: DD_METRICS_PORT: invalid value "http": must be a port number from 1 to 65535'
    ])
    expect(r.stderr).not.toContain("short")
  })
})

describe("--help", () => {
  it.each([[[]], [["start"]], [["version"]], [["config"]]])(
    "%j --help exits 0 and describes the command",
    async (args) => {
      const r = await runCli([...args, "--help"])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain("USAGE")
      expect(r.stdout).toContain(`datadog-cluster-agent${args.length > 0 ? ` ${args[0]}` : ""}`)
    }
  )

  it("lists the subcommands", async () => {
    const r = await runCli(["--help"])
    for (const name of ["start", "version", "config"]) expect(r.stdout).toMatch(new RegExp(`^\\s+${name}\\s`, "m"))
  })

  it("an unknown command fails", async () => {
    const r = await runCli(["frobnicate"])
    expect(r.code).not.toBe(0)
    expect(r.stdout + r.stderr).toContain('Unknown subcommand "frobnicate"')
  })
})

describe("start", () => {
  const cluster = useCluster()

  it("without DD_API_KEY exits non-zero with the original's message", async () => {
    const dir = tempDir()
    const r = await runCli(["start"], { DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token") })
    expect(r.code).toBe(1)
    const errors = jsonLines(r.stdout).filter((l) => l.level === "ERROR")
    expect(errors.map((l) => l.message)).toEqual(["no API key configured, exiting"])
  })

  // Exactly `start` runs the agent without the CLI (src/main.ts); any other command line that
  // selects `start` goes through the CLI's command, which runs the same effect.
  it("through the CLI parser says and exits the same as the image's plain `start`", async () => {
    const dir = tempDir()
    const env = { DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token"), DD_SITE: "not a site" }
    const [plain, parsed] = await Promise.all([runCli(["start"], env), runCli(["start", "--log-level", "info"], env)])
    const messages = (stdout: string) => jsonLines(stdout).map((l) => [l.level, l.message])
    expect(parsed.code).toBe(1)
    expect(plain.code).toBe(1)
    expect(messages(parsed.stdout)).toEqual(messages(plain.stdout))
    expect(messages(plain.stdout)).toEqual([
      [
        "ERROR",
        'configuration error: DD_SITE: invalid value "not a site": must be a Datadog site domain such as datadoghq.com or datadoghq.eu'
      ]
    ])
    expect(parsed.stderr).toBe(plain.stderr)
  })

  it("with bad configuration logs every problem and exits 1", async () => {
    const r = await runCli(["start"], {
      DD_API_KEY: secrets.DD_API_KEY,
      DD_HEALTH_PORT: "99999",
      DD_SITE: "not a site"
    })
    expect(r.code).toBe(1)
    const messages = jsonLines(r.stdout).map((l) => l.message)
    expect(messages).toEqual([
      'configuration error: DD_SITE: invalid value "not a site": must be a Datadog site domain such as datadoghq.com or datadoghq.eu',
      'configuration error: DD_HEALTH_PORT: invalid value "99999": must be 0 (off) or a port number from 1 to 65535'
    ])
  })

  it("with a missing kubeconfig exits 1 saying which file", async () => {
    const dir = tempDir()
    const r = await runCli(["start"], {
      DD_API_KEY: secrets.DD_API_KEY,
      DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token"),
      DD_KUBERNETES_KUBECONFIG_PATH: join(dir, "missing-kubeconfig")
    })
    expect(r.code).toBe(1)
    const errors = jsonLines(r.stdout).filter((l) => l.level === "ERROR")
    expect(errors).toHaveLength(1)
    expect(String(errors[0]?.message)).toContain(`DD_KUBERNETES_KUBECONFIG_PATH=${join(dir, "missing-kubeconfig")}`)
  })

  it("stops with exit 0 on SIGINT too", async () => {
    const dir = tempDir()
    const [cmdPort, metricsPort, healthPort] = await freePorts(3)
    const agent = startCli(["start"], {
      DD_API_KEY: secrets.DD_API_KEY,
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_METRICS_PORT: String(metricsPort),
      DD_HEALTH_PORT: String(healthPort),
      DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token"),
      DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath
    })
    try {
      await waitFor(() => fetch(`http://127.0.0.1:${healthPort}/live`).then((r) => r.status === 200), {
        what: "/live",
        timeoutMs: 20_000
      })
    } finally {
      agent.child.kill("SIGINT")
    }
    const done = await agent.exited
    expect(done.code).toBe(0)
    expect(jsonLines(done.stdout).map((l) => l.message)).toContain("stopping cluster agent")
  })

  it("serves /metrics and the probes until SIGTERM, then exits 0; secrets never reach the logs", async () => {
    const dir = tempDir()
    const [cmdPort, metricsPort, healthPort] = await freePorts(3)
    const agent = startCli(["start"], {
      ...secrets,
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_METRICS_PORT: String(metricsPort),
      DD_HEALTH_PORT: String(healthPort),
      DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token"),
      DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath,
      DD_LOG_LEVEL: "debug"
    })
    try {
      const ready = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${healthPort}/ready`)
          return res.status === 200 ? ((await res.json()) as unknown) : undefined
        },
        { what: "/ready to answer 200", timeoutMs: 20_000 }
      )
      expect(ready).toEqual({ Healthy: ["apiserver", "cluster-agent", "metadata", "rbac"], Unhealthy: [] })
      for (const probe of ["live", "startup"]) {
        const res = await fetch(`http://127.0.0.1:${healthPort}/${probe}`)
        expect(res.status).toBe(200)
        expect(await res.json()).toEqual({ Healthy: ["cluster-agent"], Unhealthy: [] })
      }
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
      const exposition = parsePrometheus(await metrics.text())
      expect(sampleValue(exposition, "process_resident_memory_bytes")).toBeGreaterThan(0)
      expect(exposition.types.get("process_cpu_seconds_total")).toBe("counter")
      // No debug or profiling endpoints on the telemetry port.
      for (const path of ["/debug/pprof/", "/debug/vars"]) {
        expect((await fetch(`http://127.0.0.1:${metricsPort}${path}`)).status).toBe(404)
      }
    } finally {
      agent.child.kill("SIGTERM")
    }
    const done = await agent.exited
    expect(done.code).toBe(0)
    const logs = jsonLines(done.stdout)
    expect(logs.map((l) => l.message)).toContain("stopping cluster agent")
    expect(logs.find((l) => l.message === "connected to the API server")?.annotations).toMatchObject({
      server: cluster.server
    })
    const startLine = logs.find((l) => String(l.message).startsWith("starting Datadog Cluster Agent"))
    expect(startLine?.annotations).toMatchObject({ config: { DD_API_KEY: "********", DD_LOG_LEVEL: "debug" } })
    for (const value of Object.values(secrets)) expect(done.stdout + done.stderr).not.toContain(value)
    // The local token file was created for the CLI, private to the agent's user; the cluster
    // token came from the environment, so no cluster token file was made.
    const local = join(dir, "auth_token")
    expect(statSync(local).mode & 0o777).toBe(0o600)
    expect(readFileSync(local, "utf8")).toMatch(/^[0-9a-f]{64}$/)
    expect(existsSync(join(dir, "cluster_agent.auth_token"))).toBe(false)
  })
})
