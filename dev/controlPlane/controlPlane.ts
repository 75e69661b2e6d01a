/**
 * A real Kubernetes control plane as local processes (no Docker, no kubelet):
 * etcd + kube-apiserver (RBAC, aggregation layer) + kube-controller-manager.
 * Binaries come from scripts/control-plane/build.sh (built from Go modules, cached).
 */
import { rmSync } from "node:fs"
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type Binaries, ensureBinaries } from "./binaries.ts"
import { registerForCleanup } from "./cleanup.ts"
import { httpsRequest, type TlsClient } from "./http.ts"
import { writeKubeconfig } from "./kubeconfig.ts"
import { ADMIN_USER, type ClientCredentials, createPki, type Pki } from "./pki.ts"
import { freePorts } from "./ports.ts"
import { type ExitStatus, logTail, type ManagedProcess, spawnManaged } from "./processes.ts"
import { startWatchdog } from "./watchdog.ts"

/** kube-controller-manager controllers the tests rely on (names from `--help` of v1.34). */
export const DEFAULT_CONTROLLERS: ReadonlyArray<string> = [
  "deployment-controller",
  "replicaset-controller",
  "horizontal-pod-autoscaler-controller",
  "endpoints-controller",
  "endpointslice-controller",
  "endpointslice-mirroring-controller",
  "namespace-controller",
  "garbage-collector-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "root-ca-certificate-publisher-controller"
]

export interface ControlPlaneOptions {
  /** Default: whatever scripts/control-plane/build.sh provides. */
  readonly binaries?: Binaries
  /** Parent of the temp dir; default os.tmpdir(). */
  readonly tempRoot?: string
  readonly controllers?: ReadonlyArray<string>
  /**
   * kube-apiserver `--enable-aggregator-routing`. Default false: the aggregator then dials an
   * APIService's Service by ClusterIP, or for `type: ExternalName` directly
   * `<externalName>:<port>`, which is how tests reach an extension server on localhost.
   * With true it dials EndpointSlice addresses instead, and ExternalName is rejected
   * ("unsupported service type") while loopback endpoint IPs fail validation.
   */
  readonly enableAggregatorRouting?: boolean
  /**
   * kube-apiserver `--watch-cache`. Default true (like real clusters; needed for watch
   * bookmarks). See `compactEtcd` for its effect on 410 Gone.
   */
  readonly watchCache?: boolean
  /** Extra kube-apiserver flags, appended last (they win over the defaults). */
  readonly apiServerFlags?: ReadonlyArray<string>
  /** Per-component readiness deadline; default 120 s. */
  readonly startTimeoutMs?: number
}

export interface ControlPlanePorts {
  readonly etcdClient: number
  readonly etcdPeer: number
  readonly apiServer: number
  readonly controllerManager: number
}

export type Component = "etcd" | "kube-apiserver" | "kube-controller-manager"

export interface ComponentExit extends ExitStatus {
  readonly component: Component
}

export interface ControlPlane {
  /** `https://127.0.0.1:<port>` */
  readonly server: string
  /** Admin kubeconfig (CN=dca-test-admin, O=system:masters), self-contained. */
  readonly kubeconfigPath: string
  readonly caPem: string
  readonly admin: ClientCredentials
  /** `http://127.0.0.1:<port>`: etcd's client URL (v3 JSON gateway under /v3/). */
  readonly etcdUrl: string
  readonly tempDir: string
  readonly ports: ControlPlanePorts
  /** Pids of the running components and the watchdog (changes after restartApiServer). */
  readonly pids: ReadonlyArray<number>
  readonly logs: Readonly<Record<Component, string>>
  readonly binaries: Binaries
  /** Resolves if a component exits on its own (not through stop/restart). */
  readonly unexpectedExit: Promise<ComponentExit>
  /** Signs a client cert (CN = user, O = groups) and writes a kubeconfig for it; returns its path. */
  readonly makeUserKubeconfig: (user: string, groups?: ReadonlyArray<string>) => Promise<string>
  /**
   * Compacts etcd up to its current revision (physically) and returns that revision.
   * Afterwards anything that reads etcd at an older resourceVersion gets 410 Gone: watches
   * served by etcd (`watchCache: false`: an ERROR event with code 410), lists with
   * `resourceVersionMatch=Exact`, stale `continue` tokens. With the watch cache on (the
   * default) a WATCH from an old resourceVersion is still served from the cache's in-memory
   * window and does NOT fail; `restartApiServer()` then yields 410 (the new cache starts at
   * the current revision), with or without compaction.
   */
  readonly compactEtcd: () => Promise<number>
  /** Stops kube-apiserver and starts it again on the same port with the same etcd. */
  readonly restartApiServer: () => Promise<void>
  /** Stops every process and removes the temp dir. Idempotent. */
  readonly stop: () => Promise<void>
}

const STOP_TIMEOUT_MS = 15_000

export const startControlPlane = async (options: ControlPlaneOptions = {}): Promise<ControlPlane> => {
  const binaries = options.binaries ?? (await ensureBinaries())
  const startTimeoutMs = options.startTimeoutMs ?? 120_000
  const tempDir = await mkdtemp(join(options.tempRoot ?? tmpdir(), "dca-control-plane-"))
  const logDir = join(tempDir, "logs")
  await mkdir(logDir)
  const watchdog = await startWatchdog(join(tempDir, "pids"), tempDir)

  const processes = new Map<Component, ManagedProcess>()
  const intentional = new Set<ManagedProcess>()
  let reportUnexpected: (exit: ComponentExit) => void = () => {}
  const unexpectedExit = new Promise<ComponentExit>((resolve) => {
    reportUnexpected = resolve
  })
  const livePids = () => [...processes.values()].filter((p) => !p.hasExited()).map((p) => p.pid)

  const terminateSync = () => {
    for (const pid of livePids()) {
      try {
        process.kill(pid, "SIGTERM")
      } catch {
        // already gone
      }
    }
  }
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const order: Component[] = ["kube-controller-manager", "kube-apiserver", "etcd"]
      for (const component of order) {
        const proc = processes.get(component)
        if (!proc) continue
        intentional.add(proc)
        await proc.stop(STOP_TIMEOUT_MS)
      }
      await watchdog.dismiss()
      await rm(tempDir, { recursive: true, force: true })
      unregister()
    })()
    return stopping
  }
  const unregister = registerForCleanup({ stop, terminateSync })

  const launch = async (component: Component, command: string, args: ReadonlyArray<string>) => {
    const proc = await spawnManaged({ name: component, command, args, logPath: join(logDir, `${component}.log`) })
    if (stopping) {
      // stop() ran meanwhile (e.g. during restartApiServer): do not leave this one behind.
      intentional.add(proc)
      await proc.stop(STOP_TIMEOUT_MS)
      throw new Error(`control plane stopped while starting ${component}`)
    }
    processes.set(component, proc)
    await watchdog.setPids(livePids())
    void proc.exited.then((status) => {
      if (!intentional.has(proc)) reportUnexpected({ component, ...status })
    })
    return proc
  }

  /** Polls `ready` until it holds; fails early (with the log tail) if the process exits. */
  const waitReady = async (proc: ManagedProcess, what: string, ready: () => Promise<boolean>) => {
    const deadline = Date.now() + startTimeoutMs
    let last = "not ready"
    for (;;) {
      if (proc.hasExited()) {
        const status = await proc.exited
        throw new Error(
          `${proc.name} exited (code ${status.code}, signal ${status.signal}) before ${what}; ` +
            `log ${proc.logPath}:\n${await logTail(proc.logPath)}`
        )
      }
      try {
        if (await ready()) return
      } catch (error) {
        last = error instanceof Error ? error.message : String(error)
      }
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${startTimeoutMs} ms waiting for ${what} (${last}); ` +
            `log ${proc.logPath}:\n${await logTail(proc.logPath)}`
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  try {
    const [etcdClient = 0, etcdPeer = 0, apiServerPort = 0, controllerManagerPort = 0] = await freePorts(4)
    const ports: ControlPlanePorts = {
      etcdClient,
      etcdPeer,
      apiServer: apiServerPort,
      controllerManager: controllerManagerPort
    }
    const etcdUrl = `http://127.0.0.1:${ports.etcdClient}`
    const server = `https://127.0.0.1:${ports.apiServer}`
    const pki: Pki = await createPki(join(tempDir, "pki"))
    const adminTls: TlsClient = { caPem: pki.caPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem }
    const kubeconfigPath = join(tempDir, "admin.kubeconfig")
    await writeKubeconfig(kubeconfigPath, {
      server,
      caPem: pki.caPem,
      user: ADMIN_USER,
      certPem: pki.admin.certPem,
      keyPem: pki.admin.keyPem
    })

    // etcd ------------------------------------------------------------------------------
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`
    const etcd = await launch("etcd", binaries.etcd, [
      "--name=dca-test",
      `--data-dir=${join(tempDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=dca-test=${peerUrl}`,
      "--unsafe-no-fsync", // tests do not need durability; fsync dominates latency otherwise
      "--quota-backend-bytes=8589934592",
      "--log-level=warn"
    ])
    await waitReady(etcd, "etcd /health", async () => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2_000) })
      return res.ok && ((await res.json()) as { health?: string }).health === "true"
    })

    // kube-apiserver --------------------------------------------------------------------
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.apiServer}`,
      `--tls-cert-file=${pki.servingCertPath}`,
      `--tls-private-key-file=${pki.servingKeyPath}`,
      `--client-ca-file=${pki.caCertPath}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.serviceAccountPublicKeyPath}`,
      `--service-account-signing-key-file=${pki.serviceAccountPrivateKeyPath}`,
      // Aggregation layer (front proxy), as kubeadm configures it.
      `--requestheader-client-ca-file=${pki.frontProxyCaPath}`,
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      `--proxy-client-cert-file=${pki.frontProxyClientCertPath}`,
      `--proxy-client-key-file=${pki.frontProxyClientKeyPath}`,
      `--enable-aggregator-routing=${options.enableAggregatorRouting ?? false}`,
      `--watch-cache=${options.watchCache ?? true}`,
      // On SIGTERM, drain in-flight requests, then close the listener with a 2 s HTTP shutdown
      // timeout. The default waits up to --request-timeout (60 s) for open watches to end.
      "--shutdown-send-retry-after=true",
      "--profiling=false",
      ...(options.apiServerFlags ?? [])
    ]
    const readyz = async () => {
      const res = await httpsRequest(`${server}/readyz`, adminTls)
      return res.status === 200 && res.body === "ok"
    }
    const startApiServer = async () => {
      const proc = await launch("kube-apiserver", binaries.kubeApiServer, apiServerArgs)
      await waitReady(proc, "kube-apiserver /readyz", readyz)
    }
    await startApiServer()

    // kube-controller-manager -----------------------------------------------------------
    const controllers = options.controllers ?? DEFAULT_CONTROLLERS
    const controllerManager = await launch("kube-controller-manager", binaries.kubeControllerManager, [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      "--leader-elect=false",
      `--controllers=${controllers.join(",")}`,
      `--service-account-private-key-file=${pki.serviceAccountPrivateKeyPath}`,
      `--root-ca-file=${pki.caCertPath}`,
      "--use-service-account-credentials=false",
      "--horizontal-pod-autoscaler-sync-period=2s",
      "--bind-address=127.0.0.1",
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(tempDir, "kube-controller-manager")}`,
      "--profiling=false"
    ])
    await waitReady(controllerManager, "kube-controller-manager /healthz", async () => {
      const res = await httpsRequest(`https://127.0.0.1:${ports.controllerManager}/healthz`, "insecure")
      return res.status === 200
    })
    // The ServiceAccount admission plugin rejects pods until the "default" ServiceAccount of
    // their namespace exists; wait for it here so "default" is usable right away.
    if (controllers.includes("serviceaccount-controller")) {
      await waitReady(controllerManager, "ServiceAccount default/default", async () => {
        const res = await httpsRequest(`${server}/api/v1/namespaces/default/serviceaccounts/default`, adminTls)
        return res.status === 200
      })
    }

    let userCount = 0
    const controlPlane: ControlPlane = {
      server,
      kubeconfigPath,
      caPem: pki.caPem,
      admin: pki.admin,
      etcdUrl,
      tempDir,
      ports,
      get pids() {
        return [...livePids(), watchdog.pid]
      },
      logs: {
        etcd: etcd.logPath,
        "kube-apiserver": join(logDir, "kube-apiserver.log"),
        "kube-controller-manager": controllerManager.logPath
      },
      binaries,
      unexpectedExit,
      makeUserKubeconfig: async (user, groups = []) => {
        const credentials = pki.issueClientCert(user, groups)
        const dir = join(tempDir, "kubeconfigs")
        await mkdir(dir, { recursive: true })
        const path = join(dir, `${user.replace(/[^A-Za-z0-9_.-]/g, "_")}-${++userCount}.kubeconfig`)
        await writeKubeconfig(path, { server, caPem: pki.caPem, user, ...credentials })
        return path
      },
      compactEtcd: () => compactEtcd(etcdUrl),
      restartApiServer: async () => {
        const current = processes.get("kube-apiserver")
        if (current) {
          intentional.add(current)
          await current.stop(STOP_TIMEOUT_MS)
        }
        await startApiServer()
      },
      stop
    }
    return controlPlane
  } catch (error) {
    await stop().catch(() => {})
    rmSync(tempDir, { recursive: true, force: true })
    throw error
  }
}

interface EtcdHeader {
  readonly header?: { readonly revision?: string }
}

const etcdPost = async <A>(etcdUrl: string, path: string, body: unknown): Promise<A> => {
  const res = await fetch(`${etcdUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`etcd ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as A
}

/**
 * Compacts etcd through its v3 JSON gateway; returns the compaction revision.
 *
 * It first writes a marker key outside the apiserver's `/registry` prefix and compacts at
 * the revision of that write. Compacting at the revision of the last Kubernetes write
 * instead would leave that write watchable while its previous value is gone: the apiserver
 * then answers a watch from the RV just before it with a 500 ("etcd event received with
 * PrevKv=nil") rather than 410. With the marker, every RV older than the newest object
 * state gets 410, and the newest RV itself stays watchable.
 */
export const compactEtcd = async (etcdUrl: string): Promise<number> => {
  const put = await etcdPost<EtcdHeader>(etcdUrl, "/v3/kv/put", {
    key: Buffer.from("/dca-test/compaction-marker").toString("base64"),
    value: Buffer.from(new Date().toISOString()).toString("base64")
  })
  const revision = put.header?.revision
  if (!revision) throw new Error(`etcd put returned no revision: ${JSON.stringify(put)}`)
  await etcdPost(etcdUrl, "/v3/kv/compaction", { revision, physical: true })
  return Number(revision)
}
