/**
 * The demo's agent replicas: `datadog-cluster-agent start` (from the sources, as the tests run
 * it) with every feature on, the Datadog API being the fake, each with its own ports and token
 * file and its JSON log in a file. Also how to call the CLI against one of them.
 */
import { execFile, spawn } from "node:child_process"
import { closeSync, openSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freePorts } from "../controlPlane/ports.ts"
import { AGENT_NAMESPACE } from "./workload.ts"

export const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url))

/** Keys the fake Datadog API accepts; no real key is ever needed. */
export const FAKE_API_KEY = "demo0123456789abcdef0123456789ab"
export const FAKE_APP_KEY = "demo0123456789abcdef0123456789abcdef0123"

export interface AgentPorts {
  readonly cmd: number
  readonly metrics: number
  readonly health: number
  readonly externalMetrics: number
}

export interface AgentSettings {
  readonly name: string
  readonly ports: AgentPorts
  readonly kubeconfigPath: string
  readonly datadogUrl: string
  /** Node agents' token, shared by the replicas. */
  readonly clusterToken: string
  readonly authTokenFile: string
  readonly confdPath: string
}

/**
 * Pure: the environment of one replica. Every feature on; periods shortened so that the demo
 * shows results within seconds (a lease of 15 s, Datadog queried every 2 s, HPA changes batched
 * for 1 s, the followers' copy re-read every second, events and checks every 5 s via the confd).
 */
export const agentEnv = (s: AgentSettings): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  DD_API_KEY: FAKE_API_KEY,
  DD_APP_KEY: FAKE_APP_KEY,
  DD_DD_URL: s.datadogUrl,
  DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: s.datadogUrl,
  DD_HOSTNAME: s.name,
  DD_POD_NAME: s.name,
  DD_CLUSTER_NAME: "demo",
  DD_KUBERNETES_KUBECONFIG_PATH: s.kubeconfigPath,
  DD_KUBE_RESOURCES_NAMESPACE: AGENT_NAMESPACE,
  DD_CLUSTER_AGENT_AUTH_TOKEN: s.clusterToken,
  DD_AUTH_TOKEN_FILE_PATH: s.authTokenFile,
  DD_CLUSTER_AGENT_CMD_PORT: String(s.ports.cmd),
  DD_METRICS_PORT: String(s.ports.metrics),
  DD_HEALTH_PORT: String(s.ports.health),
  DD_LEADER_ELECTION: "true",
  DD_LEADER_ELECTION_DEFAULT_RESOURCE: "lease",
  DD_LEADER_LEASE_DURATION: "15",
  DD_COLLECT_KUBERNETES_EVENTS: "true",
  DD_CONFD_PATH: s.confdPath,
  DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
  DD_EXTERNAL_METRICS_PROVIDER_PORT: String(s.ports.externalMetrics),
  DD_EXTERNAL_METRICS_PROVIDER_REFRESH_PERIOD: "2",
  DD_EXTERNAL_METRICS_PROVIDER_BATCH_WINDOW: "1",
  DD_EXTERNAL_METRICS_PROVIDER_LOCAL_COPY_REFRESH_RATE: "1"
})

/**
 * The kubernetes_apiserver check file: events and the control-plane check every 5 s. The check
 * reads `/readyz`, since componentstatuses would probe a scheduler (none runs) and a
 * controller-manager on its default port (it listens on another one here).
 */
export const CHECK_CONF = [
  "init_config:",
  "instances:",
  "  - collect_events: true",
  "    min_collection_interval: 5",
  "    use_component_status: false",
  "    tags:",
  "      - env:demo",
  ""
].join("\n")

export interface Agent {
  readonly settings: AgentSettings
  readonly pid: number
  readonly logPath: string
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly hasExited: () => boolean
  /** SIGTERM, SIGKILL after 10 s; resolves once it is gone. */
  readonly stop: () => Promise<void>
}

export const agentPorts = async (): Promise<AgentPorts> => {
  const [cmd = 0, metrics = 0, health = 0, externalMetrics = 0] = await freePorts(4)
  return { cmd, metrics, health, externalMetrics }
}

export const startAgent = (settings: AgentSettings, logDir: string): Promise<Agent> =>
  new Promise((resolve, reject) => {
    const logPath = join(logDir, `${settings.name}.log`)
    const log = openSync(logPath, "a")
    const child = spawn(process.execPath, [MAIN, "start"], {
      env: agentEnv(settings),
      stdio: ["ignore", log, log]
    })
    closeSync(log)
    let done = false
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
      child.once("exit", (code, signal) => {
        done = true
        resolveExit({ code, signal })
      })
    })
    child.once("error", (error) => reject(new Error(`could not start ${settings.name}: ${error.message}`)))
    child.once("spawn", () =>
      resolve({
        settings,
        pid: child.pid ?? 0,
        logPath,
        exited,
        hasExited: () => done,
        stop: async () => {
          if (done) return
          child.kill("SIGTERM")
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
          await exited
          clearTimeout(timer)
        }
      })
    )
  })

/** The environment the CLI needs to reach a running replica (its command port and local token). */
export const cliEnv = (s: AgentSettings): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  DD_CLUSTER_AGENT_CMD_PORT: String(s.ports.cmd),
  DD_AUTH_TOKEN_FILE_PATH: s.authTokenFile
})

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs `datadog-cluster-agent <args>` against a replica. */
export const runCli = (s: AgentSettings, args: ReadonlyArray<string>): Promise<CliResult> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: cliEnv(s), timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
  })
