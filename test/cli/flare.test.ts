// `datadog-cluster-agent flare` when the agent is down: the CLI builds a local flare and says so,
// then uploads it to the fake Datadog API as the original does (case ID, email, the 403 message),
// asking for the email and the confirmation on standard input unless told.
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort } from "../../dev/controlPlane/ports.ts"
import { API_KEY, useFakeDatadog } from "../layers/datadog/support.ts"
import { baseEnv, type Finished, mainScript } from "../support/agentProcess.ts"
import { readZip } from "../support/zip.ts"

/** Runs the CLI with `input` on its standard input (closed after it). */
const cli = (args: ReadonlyArray<string>, env: Record<string, string>, input = ""): Promise<Finished> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainScript, ...args], {
      env: { ...baseEnv(), ...env },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    child.stdin.end(input)
  })

const fake = useFakeDatadog()
const root = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-flare-cli-"))
afterAll(() => Fs.rmSync(root, { recursive: true, force: true }))

const localToken = "0123456789abcdef".repeat(4)
let env: Record<string, string> = {}
let tmp = ""

beforeAll(async () => {
  // Nothing listens on the command port: the agent is "down".
  Fs.writeFileSync(Path.join(root, "auth_token"), localToken)
  Fs.mkdirSync(Path.join(root, "conf.d", "kubernetes_apiserver.d"), { recursive: true })
  Fs.writeFileSync(Path.join(root, "conf.d", "kubernetes_apiserver.d", "conf.yaml"), "instances:\n  - {}\n")
  env = {
    DD_CLUSTER_AGENT_CMD_PORT: String(await freePort()),
    DD_METRICS_PORT: String(await freePort()),
    DD_AUTH_TOKEN_FILE_PATH: Path.join(root, "auth_token"),
    DD_CONFD_PATH: Path.join(root, "conf.d"),
    DD_HOSTNAME: "dca-test-host",
    // No cluster either: the local flare's metadata map (read from the API server) fails, named.
    DD_KUBERNETES_KUBECONFIG_PATH: Path.join(root, "no-kubeconfig"),
    DD_API_KEY: API_KEY
  }
})

/** A fresh TMPDIR per test, so that each test finds only its own archive. */
const withTmp = () => {
  tmp = Fs.mkdtempSync(Path.join(root, "tmp-"))
  return { ...env, TMPDIR: tmp, DD_DD_URL: fake.url }
}
const archives = () => Fs.readdirSync(tmp).filter((f) => f.endsWith(".zip"))

describe("flare with the agent down", () => {
  it("--local builds the archive in this process, says so, and uploads nothing", async () => {
    const r = await cli(["flare", "--local"], withTmp())
    expect(r.code, r.stderr).toBe(0)
    const [name] = archives()
    expect(name).toMatch(/^datadog-agent-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-info\.zip$/)
    const path = Path.join(tmp, name ?? "")
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("Asking the Cluster Agent to build the flare archive.")
    expect(lines[1]).toMatch(/^The agent was unable to make a full flare: connect ECONNREFUSED .*\.$/)
    expect(lines.slice(2)).toEqual([
      "Initiating flare locally, some logs will be missing.",
      `${path} was written; nothing was uploaded (--local).`
    ])
    expect(r.stdout).not.toContain("email")
    const files = readZip(path)
    expect(Object.keys(files)).toEqual([
      "dca-test-host/local",
      "dca-test-host/etc/datadog-cluster-agent-config.log",
      "dca-test-host/etc/confd/kubernetes_apiserver.d/conf.yaml",
      "dca-test-host/envvars.log",
      "dca-test-host/permissions.log",
      "dca-test-host/flare_creation.log"
    ])
    expect(files["dca-test-host/flare_creation.log"]).toMatch(
      /^error collecting data for 'cluster-agent-metadatamapper\.log': cannot read the cluster: .*no-kubeconfig/
    )
    expect(files["dca-test-host/flare_creation.log"]).toContain("error collecting data for 'telemetry.log'")
    const all = Object.values(files).join("\n")
    expect(all).not.toContain(API_KEY)
    expect(all).not.toContain(localToken)
    expect(fake.requests()).toEqual([])
  })

  it("-s uploads the local flare with the case ID and email, and prints the original's success line", async () => {
    const r = await cli(["flare", "98765", "-s", "-e", "me@example.com"], withTmp())
    expect(r.code, r.stderr).toBe(0)
    const [name] = archives()
    expect(r.stdout).toContain(`${Path.join(tmp, name ?? "")} is going to be uploaded to Datadog\n`)
    expect(r.stdout).not.toContain("Are you sure")
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe(
      "Your logs were successfully uploaded. For future reference, your internal case id is 98765"
    )
    const [flare] = fake.flares()
    expect(flare?.pathCaseId).toBe("98765")
    expect(flare?.fields).toMatchObject({
      case_id: "98765",
      email: "me@example.com",
      source: "local",
      hostname: "dca-test-host"
    })
    expect(flare?.fields.agent_version).toMatch(/^\d+\.\d+\.\d+/)
    expect(flare?.file?.filename).toBe(name)
    expect(Object.keys(readZip(Path.join(tmp, name ?? "")))).toContain("dca-test-host/local")
  })

  it("a refused API key: the original's 403 message and exit 1", async () => {
    fake.setAcceptedApiKeys(["ffffffffffffffffffffffffffffffff"])
    const r = await cli(["flare", "-s", "-e", "me@example.com"], withTmp())
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe(
      "Error: HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: bcdef"
    )
    expect(r.stderr).not.toContain(API_KEY)
    expect(fake.flares()).toEqual([])
  })

  it("asks for the email and the confirmation; anything but y aborts and keeps the archive", async () => {
    const r = await cli(["flare"], withTmp(), "me@example.com\nn\n")
    expect(r.code, r.stderr).toBe(0)
    const [name] = archives()
    const path = Path.join(tmp, name ?? "")
    const lines = r.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("Please enter your email: ")
    expect(lines.slice(-2)).toEqual([
      "Are you sure you want to upload a flare? [y/N]",
      `Aborting. (You can still use ${path})`
    ])
    expect(Fs.existsSync(path)).toBe(true)
    expect(fake.requests()).toEqual([])
  })

  it("y uploads, with the email typed in", async () => {
    const r = await cli(["flare"], withTmp(), "me@example.com\ny\n")
    expect(r.code, r.stderr).toBe(0)
    expect(fake.flares()[0]?.fields.email).toBe("me@example.com")
  })

  it("with no input at all (no terminal), the email is empty and the upload is not confirmed", async () => {
    const r = await cli(["flare"], withTmp())
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("Aborting. (You can still use ")
    expect(fake.requests()).toEqual([])
  })
})
