/**
 * A tiny HTTP endpoint on 127.0.0.1 through which test workers (separate processes) use the
 * one shared control plane owned by vitest's global setup: the control plane starts lazily
 * on the first request, so test runs that need no cluster pay nothing.
 * Requests: `POST <url>/<operation>` with `Authorization: Bearer <token>` and a JSON body.
 */
import { randomBytes } from "node:crypto"
import { createServer, type IncomingMessage } from "node:http"
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "./controlPlane.ts"

/** What vitest's global setup provides to workers (null: control plane disabled). */
export interface ControlEndpoint {
  readonly url: string
  readonly token: string
}

declare module "vitest" {
  export interface ProvidedContext {
    dcaControlPlane: ControlEndpoint | null
  }
}

export interface ClusterInfo {
  readonly server: string
  readonly kubeconfigPath: string
  readonly caPem: string
  readonly etcdUrl: string
}

/** Operation name → [request body, response body]. */
export interface ControlOperations {
  readonly cluster: [Record<string, never>, ClusterInfo]
  readonly "user-kubeconfig": [
    { readonly user: string; readonly groups: ReadonlyArray<string> },
    { kubeconfigPath: string }
  ]
  readonly "compact-etcd": [Record<string, never>, { revision: number }]
  readonly "restart-apiserver": [Record<string, never>, Record<string, never>]
}

export interface ControlServer extends ControlEndpoint {
  /** Stops the shared control plane (if it was started) and the endpoint. */
  readonly close: () => Promise<void>
}

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  let text = ""
  for await (const chunk of req) text += chunk
  return text ? JSON.parse(text) : {}
}

export const startControlServer = async (options: ControlPlaneOptions = {}): Promise<ControlServer> => {
  const token = randomBytes(16).toString("hex")
  let controlPlane: Promise<ControlPlane> | undefined
  const ensure = (): Promise<ControlPlane> => {
    controlPlane ??= startControlPlane(options)
    controlPlane.catch(() => {
      controlPlane = undefined // the next request retries
    })
    return controlPlane
  }
  // Restarts must not overlap each other.
  let restarting: Promise<void> = Promise.resolve()

  const handlers: {
    [K in keyof ControlOperations]: (body: ControlOperations[K][0]) => Promise<ControlOperations[K][1]>
  } = {
    cluster: async () => {
      const cp = await ensure()
      return { server: cp.server, kubeconfigPath: cp.kubeconfigPath, caPem: cp.caPem, etcdUrl: cp.etcdUrl }
    },
    "user-kubeconfig": async ({ user, groups }) => ({
      kubeconfigPath: await (await ensure()).makeUserKubeconfig(user, groups)
    }),
    "compact-etcd": async () => ({ revision: await (await ensure()).compactEtcd() }),
    "restart-apiserver": async () => {
      const cp = await ensure()
      restarting = restarting.then(cp.restartApiServer, cp.restartApiServer)
      await restarting
      return {}
    }
  }

  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    const operation = (req.url ?? "").replace(/^\//, "") as keyof ControlOperations
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: "bad token" })
    if (req.method !== "POST" || !Object.hasOwn(handlers, operation)) return reply(404, { error: "no such operation" })
    readJson(req)
      .then((body) => (handlers[operation] as (body: unknown) => Promise<unknown>)(body))
      .then(
        (result) => reply(200, result),
        (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) })
      )
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address ? address.port : 0

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      const cp = await controlPlane?.catch(() => undefined)
      await cp?.stop()
    }
  }
}

/** Calls an operation of the control endpoint (used by test workers). */
export const callControl = async <K extends keyof ControlOperations>(
  endpoint: ControlEndpoint,
  operation: K,
  body: ControlOperations[K][0]
): Promise<ControlOperations[K][1]> => {
  const res = await fetch(`${endpoint.url}/${operation}`, {
    method: "POST",
    headers: { authorization: `Bearer ${endpoint.token}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  const json = (await res.json()) as ControlOperations[K][1] | { error: string }
  if (!res.ok) throw new Error(`control plane ${operation} failed: ${(json as { error: string }).error}`)
  return json as ControlOperations[K][1]
}
