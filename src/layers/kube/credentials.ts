// Where the agent's Kubernetes credentials come from, in the original's order:
// 1. DD_KUBERNETES_KUBECONFIG_PATH, when set: that kubeconfig file, nothing else;
// 2. in a pod: the service account (token file + KUBERNETES_SERVICE_HOST/PORT), like client-go's
//    InClusterConfig (always https, the token file re-read as the kubelet rotates it);
// 3. otherwise KUBECONFIG or ~/.kube/config (a convenience for running outside a cluster).
// client-node parses kubeconfig files (YAML, merging, relative paths, exec plugins); we keep
// only what a request needs: the server URL, TLS material read once, and an auth method.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { KubeConfig, User } from "@kubernetes/client-node"
import { KubeConfigError } from "./errors.ts"

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

/** Where the credentials are read from. */
export type CredentialsSource =
  | { readonly _tag: "KubeconfigPath"; readonly path: string }
  | { readonly _tag: "InCluster"; readonly host: string; readonly port: string; readonly dir: string }
  | { readonly _tag: "KubeconfigEnv"; readonly paths: ReadonlyArray<string> }
  | { readonly _tag: "HomeKubeconfig"; readonly path: string }
  | { readonly _tag: "None" }

export interface SourceInput {
  /** `DD_KUBERNETES_KUBECONFIG_PATH`, "" when unset. */
  readonly kubeconfigPath: string
  readonly env: Readonly<Record<string, string | undefined>>
  readonly exists: (path: string) => boolean
  readonly home: string | undefined
  /** The service-account directory (tests point it elsewhere). */
  readonly serviceAccountDir?: string
}

/** Pure given `exists`: which source applies. */
export const chooseSource = (input: SourceInput): CredentialsSource => {
  if (input.kubeconfigPath !== "") return { _tag: "KubeconfigPath", path: input.kubeconfigPath }
  const dir = input.serviceAccountDir ?? serviceAccountDir
  const host = input.env.KUBERNETES_SERVICE_HOST ?? ""
  const port = input.env.KUBERNETES_SERVICE_PORT ?? ""
  if (host !== "" && port !== "" && input.exists(Path.join(dir, "token"))) {
    return { _tag: "InCluster", host, port, dir }
  }
  const kubeconfig = (input.env.KUBECONFIG ?? "").split(Path.delimiter).filter((p) => p !== "")
  if (kubeconfig.length > 0) return { _tag: "KubeconfigEnv", paths: kubeconfig }
  if (input.home !== undefined && input.home !== "") {
    const path = Path.join(input.home, ".kube", "config")
    if (input.exists(path)) return { _tag: "HomeKubeconfig", path }
  }
  return { _tag: "None" }
}

/** Pure: how a source is named in errors and logs. */
export const describeSource = (source: CredentialsSource): string => {
  switch (source._tag) {
    case "KubeconfigPath":
      return `DD_KUBERNETES_KUBECONFIG_PATH=${source.path}`
    case "InCluster":
      return "in-cluster service account"
    case "KubeconfigEnv":
      return `KUBECONFIG=${source.paths.join(Path.delimiter)}`
    case "HomeKubeconfig":
      return source.path
    case "None":
      return ""
  }
}

export interface TlsSettings {
  readonly ca?: Buffer
  readonly cert?: Buffer
  readonly key?: Buffer
  /** false only with insecure-skip-tls-verify. */
  readonly rejectUnauthorized?: boolean
  /** tls-server-name: the name to verify (and send as SNI) instead of the URL's host. */
  readonly servername?: string
}

/** How requests authenticate, beyond the client certificate in `tls`. */
export type Auth =
  | { readonly _tag: "None" }
  /** A fixed Authorization header value (bearer token, basic auth). */
  | { readonly _tag: "Header"; readonly value: string }
  /** A bearer token in a file that is rotated underneath us (service account, kubeconfig tokenFile). */
  | { readonly _tag: "TokenFile"; readonly path: string }
  /** exec plugins and auth providers, run by client-node (it caches until the credential expires). */
  | { readonly _tag: "Plugin"; readonly kubeConfig: KubeConfig; readonly kind: string }

export interface Credentials {
  /** Where they came from, for logs. */
  readonly source: string
  /** The API server base URL, without a trailing slash. */
  readonly server: string
  readonly tls: TlsSettings
  readonly auth: Auth
  /** `as:` of the kubeconfig user: sent as Impersonate-User. */
  readonly impersonate?: string
}

const fileProblem = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException
  switch (err.code) {
    case "ENOENT":
      return "file not found"
    case "EACCES":
    case "EPERM":
      return "permission denied"
    case "EISDIR":
      return "is a directory, not a file"
  }
  return err.message
}

// A typed escape from the nested reading steps: becomes the KubeConfigError of the source.
class Problem {
  readonly problem: string
  constructor(problem: string) {
    this.problem = problem
  }
}

/** Reads a text file; a failure reads `<lead><problem>`, e.g. "cannot read token /p: file not found". */
const readText = (path: string, lead: string): string => {
  try {
    return Fs.readFileSync(path, "utf8")
  } catch (e) {
    throw new Problem(`${lead}${fileProblem(e)}`)
  }
}

const readBytes = (path: string, what: string): Buffer => {
  try {
    return Fs.readFileSync(path)
  } catch (e) {
    throw new Problem(`cannot read ${what} ${path}: ${fileProblem(e)}`)
  }
}

interface RawKubeconfig {
  readonly path: string
  readonly doc: { readonly users?: unknown }
}

/**
 * @kubernetes/client-node, loaded only when a kubeconfig file is read: in a cluster (the service
 * account) it is never needed, and importing it costs about 70 MB of memory for good.
 */
export type ClientNode = typeof import("@kubernetes/client-node")
export const importClientNode = (): Promise<ClientNode> => import("@kubernetes/client-node")

const parseKubeconfig = (
  lib: ClientNode,
  path: string,
  text: string,
  label: string
): { kc: KubeConfig; raw: RawKubeconfig } => {
  const where = label === "" ? "" : `${label}: `
  let doc: unknown
  try {
    doc = lib.loadYaml<unknown>(text)
  } catch (e) {
    throw new Problem(`${where}invalid kubeconfig: ${(e as Error).message.split("\n")[0]}`)
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new Problem(`${where}invalid kubeconfig: not a YAML mapping`)
  }
  const kc = new lib.KubeConfig()
  try {
    kc.loadFromString(text)
  } catch (e) {
    throw new Problem(`${where}invalid kubeconfig: ${(e as Error).message}`)
  }
  kc.makePathsAbsolute(Path.dirname(path))
  return { kc, raw: { path, doc: doc as RawKubeconfig["doc"] } }
}

const rawUser = (raws: ReadonlyArray<RawKubeconfig>, name: string) => {
  for (const raw of raws) {
    const users = Array.isArray(raw.doc.users) ? (raw.doc.users as Array<unknown>) : []
    for (const u of users) {
      const entry = u as { name?: unknown; user?: Record<string, unknown> }
      if (entry?.name === name) return { raw, user: entry.user ?? {} }
    }
  }
  return undefined
}

const authOf = (kc: KubeConfig, user: User | null, raws: ReadonlyArray<RawKubeconfig>): Auth => {
  if (user === null) return { _tag: "None" }
  // client-go: when both token and tokenFile are set, the file wins and is re-read periodically.
  // client-node reads `token-file` once at load, so we look the file up in the YAML ourselves.
  const found = rawUser(raws, user.name)
  const tokenFile = found?.user.tokenFile ?? found?.user["token-file"]
  if (typeof tokenFile === "string" && tokenFile !== "" && found !== undefined) {
    const path = Path.isAbsolute(tokenFile) ? tokenFile : Path.join(Path.dirname(found.raw.path), tokenFile)
    readText(path, `cannot read tokenFile ${path}: `)
    return { _tag: "TokenFile", path }
  }
  const providerTokenFile = user.authProvider?.config?.tokenFile
  if (typeof providerTokenFile === "string" && providerTokenFile !== "") {
    readText(providerTokenFile, `cannot read tokenFile ${providerTokenFile}: `)
    return { _tag: "TokenFile", path: providerTokenFile }
  }
  if (user.exec) return { _tag: "Plugin", kubeConfig: kc, kind: "exec" }
  if (user.authProvider) return { _tag: "Plugin", kubeConfig: kc, kind: `auth-provider ${user.authProvider.name}` }
  if (user.token) return { _tag: "Header", value: `Bearer ${user.token.trim()}` }
  if (user.username) {
    const basic = Buffer.from(`${user.username}:${user.password ?? ""}`).toString("base64")
    return { _tag: "Header", value: `Basic ${basic}` }
  }
  return { _tag: "None" }
}

const fromKubeConfig = (kc: KubeConfig, raws: ReadonlyArray<RawKubeconfig>, source: string): Credentials => {
  const contextName = kc.getCurrentContext()
  if (!contextName) throw new Problem("no current-context set")
  const context = kc.getContextObject(contextName)
  if (context === null) throw new Problem(`current-context "${contextName}" is not defined under contexts`)
  const cluster = kc.getCluster(context.cluster)
  if (cluster === null) {
    throw new Problem(`context "${contextName}" names cluster "${context.cluster}", which is not defined`)
  }
  if (!cluster.server) throw new Problem(`cluster "${cluster.name}" has no server`)
  let url: URL
  try {
    url = new URL(cluster.server)
  } catch {
    throw new Problem(`cluster "${cluster.name}": server "${cluster.server}" is not a URL`)
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Problem(`cluster "${cluster.name}": server "${cluster.server}" must be an http or https URL`)
  }
  if (cluster.proxyUrl) {
    throw new Problem(`cluster "${cluster.name}": proxy-url is not supported`)
  }
  let user: User | null = null
  if (context.user) {
    user = kc.getUser(context.user)
    if (user === null) throw new Problem(`context "${contextName}" names user "${context.user}", which is not defined`)
  }
  const ca = cluster.caFile
    ? readBytes(cluster.caFile, "certificate-authority")
    : cluster.caData
      ? Buffer.from(cluster.caData, "base64")
      : undefined
  const cert = user?.certFile
    ? readBytes(user.certFile, "client-certificate")
    : user?.certData
      ? Buffer.from(user.certData, "base64")
      : undefined
  const key = user?.keyFile
    ? readBytes(user.keyFile, "client-key")
    : user?.keyData
      ? Buffer.from(user.keyData, "base64")
      : undefined
  if ((cert === undefined) !== (key === undefined)) {
    throw new Problem(`user "${user?.name}": client-certificate and client-key must be given together`)
  }
  const tls: TlsSettings = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
    ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {})
  }
  return {
    source,
    server: cluster.server.replace(/\/+$/, ""),
    tls,
    auth: authOf(kc, user, raws),
    ...(user?.impersonateUser ? { impersonate: user.impersonateUser } : {})
  }
}

const loadFiles = (lib: ClientNode | undefined, paths: ReadonlyArray<string>, source: string): Credentials => {
  if (lib === undefined) throw new Problem("reading a kubeconfig needs @kubernetes/client-node, which was not loaded")
  // With several files, each problem names its file; with one, the source already does.
  const label = (path: string) => (paths.length > 1 ? path : "")
  const loaded = paths.map((path) =>
    parseKubeconfig(lib, path, readText(path, label(path) === "" ? "" : `${path}: `), label(path))
  )
  const [first, ...rest] = loaded
  if (first === undefined) throw new Problem("no kubeconfig file")
  // Like KUBECONFIG handling in client-node: the first file's current-context, the others merged in.
  for (const other of rest) {
    try {
      first.kc.mergeConfig(other.kc, true)
    } catch (e) {
      throw new Problem(`${other.raw.path}: ${(e as Error).message}`)
    }
  }
  return fromKubeConfig(
    first.kc,
    loaded.map((l) => l.raw),
    source
  )
}

const inCluster = (host: string, port: string, dir: string, source: string): Credentials => {
  const tokenPath = Path.join(dir, "token")
  readText(tokenPath, `cannot read token ${tokenPath}: `)
  const ca = readBytes(Path.join(dir, "ca.crt"), "service account CA")
  // client-go's InClusterConfig: https://host:port, IPv6 literals bracketed.
  const hostPart = host.includes(":") ? `[${host}]` : host
  return { source, server: `https://${hostPart}:${port}`, tls: { ca }, auth: { _tag: "TokenFile", path: tokenPath } }
}

/** Whether reading a source needs client-node (kubeconfig files do; the service account does not). */
export const needsClientNode = (source: CredentialsSource): boolean =>
  source._tag === "KubeconfigPath" || source._tag === "KubeconfigEnv" || source._tag === "HomeKubeconfig"

/** Reads the credentials of a source; the error names the source and what is wrong. */
export const loadCredentials = (
  source: CredentialsSource,
  lib: ClientNode | undefined
): Credentials | KubeConfigError => {
  const name = describeSource(source)
  try {
    switch (source._tag) {
      case "KubeconfigPath":
        return loadFiles(lib, [source.path], name)
      case "InCluster":
        return inCluster(source.host, source.port, source.dir, name)
      case "KubeconfigEnv":
        return loadFiles(lib, source.paths, name)
      case "HomeKubeconfig":
        return loadFiles(lib, [source.path], name)
      case "None":
        return new KubeConfigError({
          source: "",
          problem:
            "no kubeconfig: not in a cluster (no service account token) and no KUBECONFIG or ~/.kube/config; set DD_KUBERNETES_KUBECONFIG_PATH"
        })
    }
  } catch (e) {
    if (e instanceof Problem) return new KubeConfigError({ source: name, problem: e.problem })
    return new KubeConfigError({ source: name, problem: (e as Error).message })
  }
}

/** Chooses the source from the process environment and reads it. */
export const credentialsFromEnvironment = async (kubeconfigPath: string): Promise<Credentials | KubeConfigError> => {
  const source = chooseSource({
    kubeconfigPath,
    env: process.env,
    exists: (p) => Fs.existsSync(p),
    home: process.env.HOME ?? Os.homedir()
  })
  return loadCredentials(source, needsClientNode(source) ? await importClientNode() : undefined)
}
