/**
 * The run check of the built image (`bash scripts/image.sh check`, after `build`): the image is
 * run for real, as its non-root user on a read-only root filesystem, against a local control
 * plane of its own, the way the shipped Deployment runs it in a pod.
 *
 * - The cluster: `startControlPlane()` (etcd, kube-apiserver, kube-controller-manager), the
 *   namespace `datadog`, every object of deploy/ as shipped (the ServiceAccount and exactly its
 *   RBAC, Service, Deployment, PodDisruptionBudget; strict field validation), the Secret the
 *   README has the user create, and a node with a pod behind a Service for the node-agent API.
 * - The container: a fresh `buildah from` of the image, run with `buildah run --isolation chroot`
 *   inside a private mount namespace where the container's root filesystem is bind-mounted
 *   read-only. As in a pod: the image's user (no --user), every capability dropped, tmpfs at
 *   /etc/datadog-agent and /tmp (the Deployment's emptyDirs), the Deployment's env with the
 *   Secret's values and DD_POD_NAME, and the in-cluster service account (a TokenRequest token for
 *   the shipped ServiceAccount, the CA and the namespace at
 *   /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT). Chroot
 *   isolation shares the host's network, so the ports are moved to free ones, and DD_DD_URL goes
 *   to a fake Datadog API.
 * - Checked: /ready; `/version` and `/api/v1/tags/pod/<node>` on the command port with the
 *   cluster token (and 401/403 without it); the process's uid, capabilities and mounts; a write
 *   to the root filesystem fails; the image's conf.yaml.default reached the emptyDir;
 *   `datadog-cluster-agent status` (falls back to `metamap` when this build has no `status`) run
 *   inside the container as `kubectl exec` would (nsenter into its mount namespace and root, as
 *   its user, with its env); no Forbidden in the log; the RSS once idle; SIGTERM → exit 0.
 *
 * Prints a summary and writes it as JSON to $DCA_IMAGE_CHECK_OUT (default
 * $TMPDIR/dca-image-check.json). Exits 1 when a check fails.
 */
import { type ChildProcess, spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node"
import { spawnCollected } from "../../dev/childProcess.ts"
import { type ControlPlane, startControlPlane } from "../../dev/controlPlane/controlPlane.ts"
import { apiCaller, httpsRequest } from "../../dev/controlPlane/http.ts"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import {
  allManifests,
  type Container,
  containerEnv,
  createObject,
  type Deployment,
  type Manifest
} from "../../dev/deploy/manifests.ts"
import { startFakeDatadog } from "../../dev/fakeDatadog/index.ts"
import { serviceAccountToken } from "../../dev/serviceAccount.ts"

const tag = process.env.DCA_IMAGE_TAG ?? "localhost/datadog-cluster-agent-ts:latest"
const storage =
  process.env.DCA_IMAGE_STORAGE ?? join(process.env.HOME ?? "/root", ".cache/datadog-cluster-agent/containers")
const idleSeconds = Number(process.env.DCA_IMAGE_IDLE_SECONDS ?? "60")
const out = process.env.DCA_IMAGE_CHECK_OUT ?? join(tmpdir(), "dca-image-check.json")
const buildah = [
  "buildah",
  "--root",
  join(storage, "root"),
  "--runroot",
  join(storage, "run"),
  "--storage-driver",
  "vfs"
]

const namespace = "datadog"
const nodeName = "image-check-node"
const podName = "datadog-cluster-agent-7d9f8b6c5-image"
const apiKey = "0123456789abcdef0123456789abcdef"
const clusterToken = [...crypto.getRandomValues(new Uint8Array(32))]
  .map((b) => b.toString(16).padStart(2, "0"))
  .join("")

interface Result {
  readonly check: string
  readonly ok: boolean
  readonly detail: string
}
const results: Array<Result> = []
const record = (check: string, ok: boolean, detail: string) => {
  results.push({ check, ok, detail })
  process.stderr.write(`[check] ${ok ? "ok  " : "FAIL"} ${check}: ${detail}\n`)
}
const say = (line: string) => process.stderr.write(`[check] ${line}\n`)

const run = (argv: ReadonlyArray<string>, input?: string) => {
  const [cmd, ...args] = argv as [string, ...Array<string>]
  const r = spawnSync(cmd, args, { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${argv.slice(0, 6).join(" ")} … exited ${r.status}: ${r.stderr}`)
  return r.stdout.trim()
}

// ---------------------------------------------------------------------------------------------
// The cluster

const admin = (cp: ControlPlane) => apiCaller(cp.server, { caPem: cp.caPem, ...cp.admin })

const createAll = async (cp: ControlPlane) => {
  const call = admin(cp)
  const create = async (o: Manifest) => {
    const r = await createObject(call, o)
    if (r.status !== 201) throw new Error(`create ${o.kind} ${o.metadata.name}: ${r.status} ${r.body}`)
  }
  await create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } })
  for (let i = 0; i < 60; i++) {
    if ((await call("GET", `/api/v1/namespaces/${namespace}/serviceaccounts/default`)).status === 200) break
    await sleep(500)
  }
  // The user's step (README): one Secret with the API key and a random cluster token.
  await create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "datadog-secret", namespace },
    type: "Opaque",
    stringData: { "api-key": apiKey, token: clusterToken }
  } as never)
  for (const { object } of allManifests()) await create(object as never)
  // A node, a pod on it and a Service whose EndpointSlice points at the pod.
  await create({ apiVersion: "v1", kind: "Node", metadata: { name: nodeName } })
  await create({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default", labels: { app: "web" } },
    spec: { nodeName, containers: [{ name: "c", image: "registry.invalid/c" }] }
  } as never)
  await create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default" },
    spec: { ports: [{ port: 80 }] }
  } as never)
  await create({
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "web-1", namespace: "default", labels: { "kubernetes.io/service-name": "web" } },
    addressType: "IPv4",
    ports: [{ port: 80, protocol: "TCP" }],
    endpoints: [
      {
        addresses: ["10.1.2.3"],
        nodeName,
        conditions: { ready: true },
        targetRef: { kind: "Pod", name: "web-1", namespace: "default" }
      }
    ]
  } as never)
  // The pod's projected service-account token: a TokenRequest for the shipped ServiceAccount.
  const kc = new KubeConfig()
  kc.loadFromFile(cp.kubeconfigPath)
  return serviceAccountToken(kc.makeApiClient(CoreV1Api), namespace)
}

// ---------------------------------------------------------------------------------------------
// The container

/** GET over TLS without verifying (as node agents do), optionally with the cluster token. */
const get = (port: number, path: string, token?: string) =>
  httpsRequest(`https://127.0.0.1:${port}${path}`, "insecure", {
    timeoutMs: 10_000,
    ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
  })

const plainGet = async (port: number, path: string) => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5_000) })
    return { status: r.status, body: await r.text() }
  } catch {
    return { status: 0, body: "" }
  }
}

/** Pids of `root` and all its descendants, from /proc. */
const descendants = (root: number): ReadonlyArray<number> => {
  const parent = new Map<number, number>()
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8")
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]))
    } catch {}
  }
  const found = [root]
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of parent) if (ppid === found[i]) found.push(pid)
  return found
}

const status = (pid: number) =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .map((l) => l.split(/:\s*/, 2) as [string, string])
  ) as Record<string, string>

const kb = (v: string | undefined) => Number((v ?? "0").replace(/\s*kB$/, ""))

const main = async () => {
  const config = JSON.parse(run([...buildah, "inspect", "--type", "image", tag])) as {
    OCIv1: { config: { User?: string; Env?: Array<string>; Entrypoint?: Array<string>; Cmd?: Array<string> } }
    FromImageID?: string
  }
  const image = config.OCIv1.config
  record("image user", image.User === "10001:10001", `USER ${image.User ?? "(none)"}`)
  const size = run([...buildah, "images", "--format", "{{.Size}}", tag]).split("\n")[0] ?? ""

  const deployment = allManifests().find((m) => m.object.kind === "Deployment")?.object as Deployment
  const container = deployment.spec.template.spec.containers[0] as Container

  say("starting a control plane")
  const cp = await startControlPlane()
  const fake = await startFakeDatadog()
  const work = mkdtempSync(join(tmpdir(), "dca-image-check-"))
  let ctr: string | undefined
  let child: ChildProcess | undefined
  try {
    const saToken = await createAll(cp)
    const sa = join(work, "serviceaccount")
    run(["mkdir", "-p", sa])
    writeFileSync(join(sa, "token"), saToken)
    writeFileSync(join(sa, "ca.crt"), cp.caPem)
    writeFileSync(join(sa, "namespace"), namespace)
    run(["chmod", "-R", "a+rX", sa])

    const [cmdPort = 0, metricsPort = 0, healthPort = 0] = await freePorts(3)
    const env: Record<string, string> = {
      ...containerEnv(
        container,
        { namespace, name: podName },
        { "datadog-secret/api-key": apiKey, "datadog-secret/token": clusterToken }
      ),
      // Host network (chroot isolation): free ports instead of 5005/5000/5556.
      DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
      DD_METRICS_PORT: String(metricsPort),
      DD_HEALTH_PORT: String(healthPort),
      DD_DD_URL: fake.url,
      KUBERNETES_SERVICE_HOST: "127.0.0.1",
      KUBERNETES_SERVICE_PORT: String(new URL(cp.server).port),
      // The stand-in base's trust store is for the build only (scripts/image.sh).
      NODE_EXTRA_CA_CERTS: ""
    }

    ctr = run([...buildah, "from", "--pull=never", "--name", `dca-image-check-${process.pid}`, tag])
    const rootfs = run([...buildah, "mount", ctr])
    // Mount points the runtime makes in the container's root before it goes read-only, as runc does.
    run(["mkdir", "-p", join(rootfs, "var/run/secrets/kubernetes.io/serviceaccount")])
    const script = [
      "set -e",
      `R=${JSON.stringify(rootfs)}`,
      'mount --bind "$R" "$R"',
      'mount -o remount,bind,ro "$R"',
      // buildah run writes and removes /run/.containerenv: a tmpfs there, nothing else writable.
      'mount -t tmpfs -o nosuid,nodev,mode=755,size=1m tmpfs "$R/run"',
      'mkdir -p "$R/run/secrets/kubernetes.io/serviceaccount"',
      `mount --bind -o ro ${JSON.stringify(sa)} "$R/run/secrets/kubernetes.io/serviceaccount"`,
      'exec "$@"'
    ].join("\n")
    const runArgs = [
      ...buildah,
      "run",
      "--isolation",
      "chroot",
      "--cap-drop",
      "ALL",
      "--mount",
      "type=tmpfs,destination=/etc/datadog-agent,tmpfs-size=16m",
      "--mount",
      "type=tmpfs,destination=/tmp,tmpfs-size=64m",
      ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      ctr,
      "--",
      ...(image.Entrypoint ?? []),
      ...(image.Cmd ?? [])
    ]
    say(`running ${[...(image.Entrypoint ?? []), ...(image.Cmd ?? [])].join(" ")} in ${ctr}`)
    const started = Date.now()
    const agent = spawnCollected(
      "unshare",
      ["--mount", "--propagation", "private", "bash", "-c", script, "image-run", ...runArgs],
      { detached: true }
    )
    child = agent.child
    const exited = agent.exited.then((f) => f.code)

    let ready = { status: 0, body: "" }
    while (Date.now() - started < 90_000 && child.exitCode === null) {
      ready = await plainGet(healthPort, "/ready")
      if (ready.status === 200) break
      await sleep(500)
    }
    const readyAfter = (Date.now() - started) / 1000
    record("/ready", ready.status === 200, `${ready.status} ${ready.body} after ${readyAfter.toFixed(1)} s`)
    if (ready.status !== 200)
      throw new Error(`not ready:\n${agent.stdout().slice(-3000)}\n${agent.stderr().slice(-2000)}`)

    // The agent: the node process the entrypoint exec'd (buildah's own processes carry the
    // command in their arguments too).
    const agentPid = descendants(child.pid as number).find((pid) => {
      try {
        return (
          readlinkSync(`/proc/${pid}/exe`).endsWith("/usr/local/bin/node") &&
          readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("datadog-cluster-agent")
        )
      } catch {
        return false
      }
    })
    if (agentPid === undefined) throw new Error("no agent process under buildah run")
    const st = status(agentPid)
    record(
      "non-root, no capabilities",
      st.Uid?.split(/\s+/)[0] === "10001" &&
        st.Gid?.split(/\s+/)[0] === "10001" &&
        /^0+$/.test(st.CapEff ?? "") &&
        /^0+$/.test(st.CapPrm ?? ""),
      `Uid ${st.Uid}, Gid ${st.Gid}, CapEff ${st.CapEff}, CapPrm ${st.CapPrm}, CapBnd ${st.CapBnd}, NoNewPrivs ${st.NoNewPrivs}, Seccomp ${st.Seccomp}`
    )
    const mounts = readFileSync(`/proc/${agentPid}/mountinfo`, "utf8").split("\n")
    // The last mount at a path is the one on top, the one the process sees (a runtime may mount
    // over a directory of the host's: here /tmp's ext4 came first, the tmpfs over it).
    const mountOf = (path: string) => mounts.findLast((l) => l.split(" ")[4] === path)
    const rootMount = mountOf("/")
    record(
      "read-only root, tmpfs volumes",
      (rootMount?.split(" ")[5] ?? "").split(",").includes("ro") &&
        (mountOf("/etc/datadog-agent") ?? "").includes(" - tmpfs ") &&
        (mountOf("/tmp") ?? "").includes(" - tmpfs "),
      `/ ${rootMount?.split(" ")[5]}; /etc/datadog-agent ${mountOf("/etc/datadog-agent")?.split(" - ")[1]}; /tmp ${mountOf("/tmp")?.split(" - ")[1]}`
    )

    /** A command inside the container, as `kubectl exec` runs it: its mount namespace, root, user, env. */
    const exec = (argv: ReadonlyArray<string>) =>
      spawnSync(
        "nsenter",
        [
          "--target",
          String(agentPid),
          "--mount",
          "--root",
          "--wdns=/opt/datadog-agent",
          "--setuid",
          "10001",
          "--setgid",
          "10001",
          "--",
          "/usr/bin/env",
          "-i",
          ...(image.Env ?? []).filter((e) => !e.startsWith("NODE_EXTRA_CA_CERTS=")),
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          ...argv
        ],
        { encoding: "utf8", timeout: 60_000 }
      )
    const write = exec([
      "sh",
      "-c",
      "touch /opt/datadog-agent/probe 2>&1; echo rc=$?; touch /etc/datadog-agent/probe && echo volume=ok"
    ])
    record(
      "root filesystem not writable",
      /Read-only file system/.test(write.stdout) && /volume=ok/.test(write.stdout),
      write.stdout.trim().replace(/\n/g, "; ")
    )
    const confd = exec(["ls", "-l", "/etc/datadog-agent", "/etc/datadog-agent/conf.d/kubernetes_apiserver.d"])
    record(
      "conf.yaml.default in the emptyDir",
      /conf\.yaml\.default/.test(confd.stdout),
      confd.stdout
        .trim()
        .split("\n")
        .filter((l) => l.includes("conf") || l.includes("token"))
        .join("; ")
    )

    const version = await get(cmdPort, "/version", clusterToken)
    record(
      "/version with the cluster token",
      version.status === 200 && /"Major"/.test(version.body),
      `${version.status} ${version.body.slice(0, 160)}`
    )
    const refused = await get(cmdPort, "/version")
    record("/version without a token is refused", refused.status === 401 || refused.status === 403, `${refused.status}`)
    // The node's pods and the services in front of them: default/web-1 behind `web`.
    const mapsWeb = (body: string) => {
      try {
        const nodes = (
          JSON.parse(body) as {
            Nodes?: Record<string, { services?: Record<string, Record<string, Record<string, unknown>>> }>
          }
        ).Nodes
        return nodes?.[nodeName]?.services?.default?.["web-1"]?.web !== undefined
      } catch {
        return false
      }
    }
    let tags = { status: 0, body: "" }
    for (let i = 0; i < 40; i++) {
      tags = await get(cmdPort, `/api/v1/tags/pod/${nodeName}`, clusterToken)
      if (tags.status === 200 && mapsWeb(tags.body)) break
      await sleep(500)
    }
    record(
      `/api/v1/tags/pod/${nodeName}`,
      tags.status === 200 && mapsWeb(tags.body),
      `${tags.status} ${tags.body.slice(0, 200)}`
    )

    // `status`, as an operator runs it in the pod; builds from before `status` have `metamap` only.
    const help = exec(["datadog-cluster-agent", "--help"])
    const hasStatus = /\bstatus\b/.test(help.stdout)
    const cli = exec(hasStatus ? ["datadog-cluster-agent", "status"] : ["datadog-cluster-agent", "metamap"])
    record(
      hasStatus
        ? "datadog-cluster-agent status (inside)"
        : "datadog-cluster-agent metamap (inside; this build has no status)",
      cli.status === 0 && cli.stdout.length > 0,
      `exit ${cli.status}; ${cli.stdout.trim().split("\n").slice(0, 8).join(" | ").slice(0, 400)}${cli.stderr.trim() === "" ? "" : ` | stderr: ${cli.stderr.trim().slice(0, 300)}`}`
    )
    const cliText = cli.stdout

    // Idle: sample the RSS until `idleSeconds` after ready; the agent's idle GC runs in that time.
    say(`idle for ${idleSeconds} s`)
    const samples: Array<number> = []
    while ((Date.now() - started) / 1000 < readyAfter + idleSeconds) {
      samples.push(kb(status(agentPid).VmRSS))
      await sleep(1_000)
    }
    const final = status(agentPid)
    const rssMb = kb(final.VmRSS) / 1024
    const hwmMb = kb(final.VmHWM) / 1024
    record("idle RSS", rssMb > 0, `${rssMb.toFixed(1)} MB after ${idleSeconds} s idle (VmHWM ${hwmMb.toFixed(1)} MB)`)

    const forbidden = agent
      .stdout()
      .split("\n")
      .filter((l) => /forbidden|: 403 /i.test(l))
    record(
      "no Forbidden in the log (shipped RBAC)",
      forbidden.length === 0,
      forbidden.length === 0 ? "none" : forbidden.slice(0, 3).join(" | ")
    )
    const leader = (
      await admin(cp)("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/datadog-leader-election`)
    ).body
    record(
      "holds the Lease as DD_POD_NAME",
      leader.includes(`"holderIdentity":"${podName}"`),
      (leader.match(/"holderIdentity":"[^"]*"/) ?? ["no holder"])[0]
    )

    process.kill(agentPid, "SIGTERM")
    const code = await Promise.race([exited, sleep(30_000).then(() => "timeout" as const)])
    record(
      "SIGTERM → exit 0",
      code === 0,
      `buildah run exited ${code}; last log: ${agent.stdout().trim().split("\n").at(-1)?.slice(0, 160)}`
    )
    if (code !== 0) say(`stderr: ${agent.stderr().slice(-2000)}`)
    child = undefined

    const summary = {
      tag,
      size,
      measuredAt: new Date().toISOString(),
      readyAfterSeconds: readyAfter,
      idleSeconds,
      idleRssMb: Number(rssMb.toFixed(1)),
      vmHwmMb: Number(hwmMb.toFixed(1)),
      rssSamplesMb: samples.filter((_, i) => i % 10 === 0).map((k) => Number((k / 1024).toFixed(1))),
      cli: hasStatus ? "status" : "metamap",
      cliOutput: cliText,
      results
    }
    writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`)
    say(
      `image ${tag}: ${size}; idle RSS ${rssMb.toFixed(1)} MB; ${results.filter((r) => !r.ok).length} failed of ${results.length}; ${out}`
    )
  } finally {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid, "SIGKILL")
    if (ctr !== undefined) spawnSync(buildah[0] as string, [...buildah.slice(1), "rm", ctr], { encoding: "utf8" })
    await fake.close()
    await cp.stop()
    rmSync(work, { recursive: true, force: true })
  }
  if (results.some((r) => !r.ok)) process.exitCode = 1
}

main().catch((e: unknown) => {
  process.stderr.write(`[check] FAIL: ${(e as Error).stack ?? String(e)}\n`)
  process.exitCode = 1
})
