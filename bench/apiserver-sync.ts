// The metadata sync end to end against a REAL API server: starts a local control plane
// (dev/controlPlane), creates the synthetic cluster of bench/synthetic.ts in it, then
// runs `ours-apiserver` of bench/metadata-sync.ts in a child process (the real KubeClient over
// HTTPS, paginated LISTs, real WATCHes) and reports its sync time, memory and checks.
//
//   node bench/apiserver-sync.ts [--scale small|medium|full] [--runs 3] [--page-size 500]
//        [--keep | --reuse KUBECONFIG]
//
// `--keep` leaves the populated control plane running until Ctrl-C, so that `--reuse KUBECONFIG`
// (from another shell) can measure again without populating.
//
// Full scale works on a large machine (the API server's watch cache holds every object; creating
// 150,000 pods takes minutes).
//
// No scheduler and no kubelet run: pods are created with spec.nodeName set (and stay Pending);
// services have no selector and their EndpointSlices are created by hand with
// `endpointslice.kubernetes.io/managed-by: bench`, so no controller touches them. Owner
// references are dropped (the garbage collector would delete objects whose owners don't exist),
// as are server-set fields (uid, resourceVersion, managedFields...) and cluster IPs.
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Duration, Effect, Schedule } from "effect"
import { startControlPlane } from "../dev/controlPlane/controlPlane.ts"
import { KubeClient, type KubeError } from "../src/layers/KubeClient.ts"
import { importClientNode, loadCredentials } from "../src/layers/kube/credentials.ts"
import type { KubeObject, ListPage, ResourceRef } from "../src/layers/kube/types.ts"
import { defaultDataDir, ensureDataSet, type KindFile, pageFile, parseArgs, scaleOf } from "./synthetic.ts"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const { flags } = parseArgs(process.argv.slice(2))
const scale = scaleOf(flags.get("scale"))
const runs = Number(flags.get("runs") ?? "3")
const seed = Number(flags.get("seed") ?? "1")
const dir = defaultDataDir(scale, seed)
const manifest = ensureDataSet(scale, seed, dir)

const resources: Readonly<Record<KindFile, ResourceRef>> = {
  namespaces: { group: "", version: "v1", resource: "namespaces" },
  nodes: { group: "", version: "v1", resource: "nodes" },
  services: { group: "", version: "v1", resource: "services" },
  endpointslices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices" },
  pods: { group: "", version: "v1", resource: "pods" }
}

type Json = Record<string, unknown>
const serverSet = ["uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences", "generation"]

/** The object as a client would send it for `kind`. */
const forCreate = (kind: KindFile, o: KubeObject): Json => {
  const metadata: Json = { ...(o.metadata as Json) }
  for (const k of serverSet) delete metadata[k]
  const out: Json = { ...o, metadata }
  delete out.status
  if (kind === "pods") {
    const spec: Json = { ...(o.spec as Json) }
    // The generator's DaemonSet service accounts don't exist; priority is the admission's to set.
    spec.serviceAccountName = "default"
    spec.serviceAccount = "default"
    delete spec.priority
    delete spec.preemptionPolicy
    out.spec = spec
  }
  if (kind === "services") {
    const spec: Json = { ...(o.spec as Json) }
    const headless = spec.clusterIP === "None"
    delete spec.clusterIP
    delete spec.clusterIPs
    delete spec.selector // selector-less: the EndpointSlice controller leaves the slices to us
    if (headless) spec.clusterIP = "None"
    out.spec = spec
  }
  if (kind === "endpointslices") {
    const labels = { ...((metadata.labels as Json | undefined) ?? {}) }
    labels["endpointslice.kubernetes.io/managed-by"] = "bench"
    metadata.labels = labels
  }
  return out
}

const create = (kube: import("../src/layers/KubeClient.ts").KubeClientShape, kind: KindFile, o: KubeObject) => {
  const namespace = o.metadata?.namespace
  const resource = namespace === undefined ? resources[kind] : { ...resources[kind], namespace }
  const attempt: Effect.Effect<unknown, KubeError> = kube.create(resource, forCreate(kind, o))
  return attempt.pipe(
    // The namespace's "default" ServiceAccount appears shortly after the namespace; retry then.
    Effect.retry({
      times: 20,
      schedule: Schedule.spaced("250 millis"),
      while: (e) => e.reason !== "Invalid" && e.reason !== "Conflict" && e.apiReason !== "AlreadyExists"
    }),
    Effect.catchIf(
      (e) => e.apiReason === "AlreadyExists",
      () => Effect.void
    ),
    Effect.tapError((e) => Effect.sync(() => console.error(`create ${kind} ${o.metadata?.name}: ${e.message}`)))
  )
}

const populate = (kubeconfigPath: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const credentials = loadCredentials(
        { _tag: "KubeconfigPath", path: kubeconfigPath },
        yield* Effect.promise(importClientNode)
      )
      if (!("server" in credentials)) return yield* Effect.die(credentials)
      const kube = yield* KubeClient.make({ credentials, timeout: Duration.seconds(30) })
      for (const kind of ["namespaces", "nodes", "services", "endpointslices", "pods"] as const) {
        const started = performance.now()
        let count = 0
        for (let i = 0; i < manifest.kinds[kind].pages; i++) {
          const page = JSON.parse(
            (yield* Effect.promise(() => readFile(pageFile(dir, kind, i)))).toString("utf8")
          ) as ListPage
          const items =
            kind === "namespaces" ? page.items.filter((n) => n.metadata?.name !== "kube-system") : page.items
          yield* Effect.forEach(items, (o) => create(kube, kind, o), { concurrency: 16, discard: true })
          count += items.length
        }
        console.error(`created ${count} ${kind} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      }
    })
  )

// ---------------------------------------------------------------------------------------------

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
const cpuOf = (pid: number): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? []
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

const reuse = flags.get("reuse")
const cp =
  reuse === undefined
    ? await startControlPlane({
        // Room for 10,000 services (the harness's default /24 holds 254).
        apiServerFlags: ["--service-cluster-ip-range=10.96.0.0/16"]
      })
    : undefined
const kubeconfigPath = cp?.kubeconfigPath ?? (reuse as string)
try {
  if (cp !== undefined) {
    console.error(`control plane at ${cp.server}`)
    const setupStarted = performance.now()
    await Effect.runPromise(populate(cp.kubeconfigPath))
    console.error(`populated in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`)
  }
  const controlPlaneCpu = () => (cp === undefined ? Number.NaN : cp.pids.reduce((sum, pid) => sum + cpuOf(pid), 0))

  const results: Array<Record<string, unknown>> = []
  for (let round = 0; round < runs; round++) {
    const cpuBefore = controlPlaneCpu()
    const child = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        join(repo, "bench/metadata-sync.ts"),
        "ours-apiserver",
        "--scale",
        scale,
        "--seed",
        String(seed),
        "--kubeconfig",
        kubeconfigPath,
        "--page-size",
        flags.get("page-size") ?? "500"
      ],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }
    )
    const line = child.stdout.split("\n").find((l) => l.startsWith("RESULT "))
    if (line === undefined)
      throw new Error(`ours-apiserver failed (exit ${child.status}):\n${child.stderr.slice(-3000)}`)
    const controlPlaneCpuSeconds = controlPlaneCpu() - cpuBefore
    const r = JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown> & {
      syncSeconds: number
      cpuSeconds: number
      after: { rssMB: number; heapUsedMB: number }
      ok: boolean
      problems: ReadonlyArray<string>
      sizes: unknown
    }
    console.error(
      `round ${round + 1}: sync ${r.syncSeconds.toFixed(2)} s (agent CPU ${r.cpuSeconds.toFixed(1)} s, control plane CPU ${controlPlaneCpuSeconds.toFixed(1)} s during the whole child run), rss ${r.after.rssMB} MB, heapUsed ${r.after.heapUsedMB} MB, ok ${r.ok} ${r.problems.join("; ")}`
    )
    results.push({ ...r, controlPlaneCpuSeconds })
  }
  const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const syncs = results.map((r) => r.syncSeconds as number)
  console.log(
    `RESULT ${JSON.stringify({
      scale,
      runs,
      medianSyncSeconds: median([...syncs]),
      syncSeconds: syncs,
      pageSize: Number(flags.get("page-size") ?? "500"),
      agentCpuSeconds: results.map((r) => r.cpuSeconds),
      controlPlaneCpuSeconds: results.map((r) => r.controlPlaneCpuSeconds),
      medianRssMB: median(results.map((r) => (r.after as { rssMB: number }).rssMB)),
      ok: results.every((r) => r.ok === true),
      sizes: results[0]?.sizes,
      problems: results.flatMap((r) => r.problems as Array<string>)
    })}`
  )
  if (cp !== undefined && flags.has("keep")) {
    // The control plane lives as long as this process: wait for Ctrl-C (or SIGTERM), then stop it.
    console.error(
      `kept; in another shell: node bench/apiserver-sync.ts --reuse ${cp.kubeconfigPath} …; Ctrl-C here stops it`
    )
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve)
      process.once("SIGTERM", resolve)
    })
  }
} finally {
  await cp?.stop()
}
