/**
 * The demo (`npm run demo`) as a person runs it: `node scripts/demo.ts` as a process, from its
 * start to the lines that say how to query it, then Ctrl-C (SIGINT). It runs its own control plane
 * (about 10 s), not the shared one: the demo registers the cluster's only
 * v1beta1.external.metrics.k8s.io APIService, which test/integration/externalMetrics.test.ts holds
 * on the shared cluster, and its agents watch every namespace and record events on every HPA.
 *
 * Checked: the agents run as the shipped ServiceAccount with only the shipped RBAC, a healthy
 * `status` of the leader (every feature working, every right granted), a non-empty metamap, events
 * and service checks at the fake Datadog API, the HPA scaling up and down, the printed `curl` of
 * the node-agent API working with the printed token, and after Ctrl-C: exit 0, every process gone,
 * every file removed.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { httpsRequest } from "../../dev/controlPlane/http.ts"
import { isProcessAlive } from "../../dev/controlPlane/processes.ts"
import { clusterAvailable } from "../support/cluster.ts"
import { waitFor } from "../support/waitFor.ts"

const script = fileURLToPath(new URL("../../scripts/demo.ts", import.meta.url))
const repoRoot = fileURLToPath(new URL("../../", import.meta.url))

let child: ChildProcess | undefined
let stdout = ""
let stderr = ""

const section = (title: string): string => {
  const start = stdout.indexOf(`=== ${title}`)
  if (start < 0) return ""
  const end = stdout.indexOf("\n=== ", start + 1) // the next banner's title
  return stdout.slice(start, end < 0 ? undefined : end)
}

const httpsGet = (url: string, token: string): Promise<{ status: number; body: string }> =>
  httpsRequest(url, "insecure", { headers: { authorization: `Bearer ${token}` } })

afterAll(() => {
  if (child?.exitCode === null) child.kill("SIGKILL") // its watchdogs then clean up
})

describe.runIf(clusterAvailable)("npm run demo", () => {
  it("runs the agents against a sample workload, prints what they do, and Ctrl-C cleans up", async () => {
    const demo = spawn(process.execPath, [script], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    child = demo
    demo.stdout?.setEncoding("utf8").on("data", (d: string) => {
      stdout += d
    })
    demo.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d
    })
    const exited = new Promise<number | null>((resolve) => demo.on("close", (code) => resolve(code)))
    const output = () => `\n--- stdout:\n${stdout.slice(-6000)}\n--- stderr:\n${stderr.slice(-3000)}`

    await waitFor(
      () => {
        if (demo.exitCode !== null) throw new Error(`the demo exited with ${demo.exitCode}`)
        return stdout.includes("Ctrl-C stops the agents")
      },
      { timeoutMs: 110_000, intervalMs: 200, what: "the demo's query lines" }
    ).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}${output()}`)
    })

    // Setup, with a progress line per step.
    expect(stdout).toMatch(/\[demo \d+:\d\d\] control plane ready in .*: Kubernetes v1\.\d+/)
    expect(stdout).toMatch(/the EndpointSlice controller made \d+ slices: .*shop\/frontend \(2\)/)
    expect(stdout).toContain(
      "the agents run as the ServiceAccount datadog/datadog-cluster-agent with only the shipped RBAC"
    )
    expect(stdout).toMatch(/APIService v1beta1\.external\.metrics\.k8s\.io → agent-\d .*: Available/)
    const pids = [...stdout.matchAll(/agent-\d \(pid (\d+), (leader|follower)\)/g)]
    expect(pids.map((m) => m[2]).sort()).toEqual(["follower", "leader"])

    // A healthy status: `datadog-cluster-agent status` of the leader, every feature working.
    const status = section("datadog-cluster-agent status (agent-")
    expect(status, output()).toMatch(/Datadog Cluster Agent \(v\d+\.\d+\.\d+\)/)
    expect(status).toMatch(/Status: Connected \(Kubernetes v1\.\d+/)
    expect(status).toMatch(/Leader Election Status: +Running/)
    expect(status).toMatch(/This replica: agent-\d \(leader\)/)
    expect(status).toMatch(/Metadata Mapper\n=+\n {2}Status: Synced/)
    expect(status).toMatch(/Kubernetes Events\n=+\n {2}Status: Running on this replica/)
    expect(status).toContain("/readyz: OK")
    expect(status).toMatch(/Total: 1\n +Valid: 1/)
    expect(status).toMatch(/API Key \**\w+: Valid/)
    const rbac = /RBAC Self-Check\n=+\n([\s\S]*?)\n\n/.exec(status)?.[1] ?? ""
    expect(
      rbac.split("\n").filter((l) => !l.includes("Checked:") && !l.endsWith(": OK")),
      rbac
    ).toEqual([])
    expect(status).toMatch(/Configuration Warnings\n=+\n {2}None/)

    // A non-empty metamap.
    const metamap = section("datadog-cluster-agent metamap")
    expect(metamap, output()).toContain("Node detected: demo-node-a")
    expect(metamap).toMatch(/- Pod: frontend-0\n\s+Services: \[frontend web\]/)

    // What reached the fake Datadog API.
    const received = section("what the fake Datadog API received")
    expect(Number(/\nEvents: (\d+)/.exec(received)?.[1] ?? 0), received).toBeGreaterThan(0)
    expect(received).toContain("Events from the Pod")
    expect(Number(/\nService checks: (\d+)/.exec(received)?.[1] ?? 0), received).toBeGreaterThan(0)
    expect(received).toContain('kube_apiserver_controlplane.up OK "ok"')
    expect(received).toContain("avg:demo.queue.depth{app:queue-worker}.rollup(30)")

    // The HPA, up and down.
    const hpa = section("the HPA shop/queue-worker")
    expect(hpa, output()).toMatch(/demo\.queue\.depth = 42 +served 42 +replicas 1 → 5/)
    expect(hpa).toMatch(/demo\.queue\.depth = 15 +served 15 +replicas 5 → 2/)

    // The printed node-agent call works as printed.
    const curl =
      /curl -sk -H "Authorization: Bearer (\w+)" (https:\/\/127\.0\.0\.1:\d+\/api\/v1\/tags\/pod\/demo-node-a)/.exec(
        stdout
      )
    expect(curl, output()).not.toBeNull()
    const answer = await httpsGet(curl?.[2] ?? "", curl?.[1] ?? "")
    expect(answer.status, answer.body).toBe(200)
    expect(JSON.parse(answer.body)).toMatchObject({ Nodes: { "demo-node-a": {} } })
    expect(answer.body).toContain("frontend-0")
    const fake = /curl -s (http:\/\/127\.0\.0\.1:\d+\/fake\/requests)/.exec(stdout)?.[1] ?? ""
    expect(((await (await fetch(fake)).json()) as Array<unknown>).length).toBeGreaterThan(0)
    const kubeconfig = /kubectl --kubeconfig (\S+) get --raw/.exec(stdout)?.[1] ?? ""
    expect(existsSync(kubeconfig)).toBe(true)
    const demoDir = /tail -f (\S+)\/agent-0\.log/.exec(stdout)?.[1] ?? ""
    expect(existsSync(demoDir)).toBe(true)

    // Ctrl-C: everything stops, everything is removed.
    demo.kill("SIGINT")
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("no exit within 30 s"), 30_000))
    ])
    expect(code, output()).toBe(0)
    expect(stdout).toContain(`removed ${demoDir}`)
    expect(existsSync(demoDir)).toBe(false)
    expect(existsSync(dirname(kubeconfig))).toBe(false) // the control plane's temp dir
    for (const [, pid] of pids) expect(isProcessAlive(Number(pid)), `agent pid ${pid}`).toBe(false)
    expect(stderr).toBe("")
  }, 150_000)
})
