import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import {
  type Credentials,
  type CredentialsSource,
  chooseSource,
  importClientNode,
  loadCredentials
} from "../../../src/layers/kube/credentials.ts"
import { KubeConfigError } from "../../../src/layers/kube/errors.ts"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-credentials-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

let n = 0
const file = (contents: string, name = `file-${++n}`): string => {
  const path = Path.join(dir, name)
  Fs.writeFileSync(path, contents)
  return path
}

const kubeconfig = (user: string, cluster = 'server: "https://127.0.0.1:6443"'): string =>
  [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: c",
    "  cluster:",
    `    ${cluster}`,
    "users:",
    "- name: u",
    "  user:",
    ...user.split("\n").map((l) => `    ${l}`),
    "contexts:",
    "- name: ctx",
    "  context: { cluster: c, user: u }",
    "current-context: ctx",
    ""
  ].join("\n")

const clientNode = await importClientNode()

const load = (source: CredentialsSource): Credentials => {
  const result = loadCredentials(source, clientNode)
  if (result instanceof KubeConfigError) throw new Error(`unexpected: ${result.message}`)
  return result
}

const problem = (source: CredentialsSource): string => {
  const result = loadCredentials(source, clientNode)
  if (!(result instanceof KubeConfigError)) throw new Error("expected a KubeConfigError")
  return result.message
}

const byPath = (path: string): CredentialsSource => ({ _tag: "KubeconfigPath", path })

describe("chooseSource", () => {
  const saDir = "/sa"
  const base = { env: {}, exists: () => false, home: "/home/dd", serviceAccountDir: saDir }
  const inClusterEnv = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" }

  it("DD_KUBERNETES_KUBECONFIG_PATH wins over everything", () => {
    expect(
      chooseSource({
        ...base,
        kubeconfigPath: "/etc/k",
        env: { ...inClusterEnv, KUBECONFIG: "/x" },
        exists: () => true
      })
    ).toEqual({ _tag: "KubeconfigPath", path: "/etc/k" })
  })

  it("then the service account, when its token exists and the service env is set", () => {
    expect(chooseSource({ ...base, kubeconfigPath: "", env: inClusterEnv, exists: (p) => p === "/sa/token" })).toEqual({
      _tag: "InCluster",
      host: "10.0.0.1",
      port: "443",
      dir: saDir
    })
    // A token without the service variables is not a cluster.
    expect(chooseSource({ ...base, kubeconfigPath: "", exists: (p) => p === "/sa/token" })._tag).toBe("None")
  })

  it("then KUBECONFIG (all its files), then ~/.kube/config", () => {
    expect(
      chooseSource({ ...base, kubeconfigPath: "", env: { KUBECONFIG: `/a${Path.delimiter}${Path.delimiter}/b` } })
    ).toEqual({
      _tag: "KubeconfigEnv",
      paths: ["/a", "/b"]
    })
    expect(chooseSource({ ...base, kubeconfigPath: "", exists: (p) => p === "/home/dd/.kube/config" })).toEqual({
      _tag: "HomeKubeconfig",
      path: "/home/dd/.kube/config"
    })
    expect(chooseSource({ ...base, kubeconfigPath: "" })).toEqual({ _tag: "None" })
  })
})

describe("loadCredentials: clear errors", () => {
  it("names a missing DD_KUBERNETES_KUBECONFIG_PATH file", () => {
    const path = Path.join(dir, "nope")
    expect(problem(byPath(path))).toBe(`DD_KUBERNETES_KUBECONFIG_PATH=${path}: file not found`)
  })

  it("names a directory given as the kubeconfig", () => {
    expect(problem(byPath(dir))).toBe(`DD_KUBERNETES_KUBECONFIG_PATH=${dir}: is a directory, not a file`)
  })

  it("reports invalid YAML with the parser's first line", () => {
    const path = file("clusters: [\n  - name: a\n  cluster: {")
    expect(problem(byPath(path))).toMatch(new RegExp(`^DD_KUBERNETES_KUBECONFIG_PATH=${path}: invalid kubeconfig: .+`))
  })

  it("reports a YAML document that is not a mapping", () => {
    const path = file("- just\n- a list\n")
    expect(problem(byPath(path))).toBe(`DD_KUBERNETES_KUBECONFIG_PATH=${path}: invalid kubeconfig: not a YAML mapping`)
    expect(problem(byPath(file("")))).toMatch(/: invalid kubeconfig: .*empty/)
  })

  it("reports a missing current-context, context, cluster, user or server", () => {
    expect(problem(byPath(file(kubeconfig("token: t").replace("current-context: ctx", ""))))).toMatch(
      /: no current-context set$/
    )
    expect(
      problem(byPath(file(kubeconfig("token: t").replace("current-context: ctx", "current-context: other"))))
    ).toMatch(/: current-context "other" is not defined under contexts$/)
    expect(problem(byPath(file(kubeconfig("token: t").replace("{ cluster: c,", "{ cluster: d,"))))).toMatch(
      /: context "ctx" names cluster "d", which is not defined$/
    )
    expect(problem(byPath(file(kubeconfig("token: t").replace("user: u }", "user: v }"))))).toMatch(
      /: context "ctx" names user "v", which is not defined$/
    )
    expect(problem(byPath(file(kubeconfig("token: t", 'server: ""'))))).toMatch(
      /: invalid kubeconfig: clusters\[0\].cluster.server is missing$/
    )
    expect(problem(byPath(file(kubeconfig("token: t", 'server: "ftp://x"'))))).toMatch(
      /: cluster "c": server "ftp:\/\/x" must be an http or https URL$/
    )
  })

  it("names unreadable TLS files, resolved against the kubeconfig's folder", () => {
    const path = file(kubeconfig("token: t", 'server: "https://k:6443"\n    certificate-authority: certs/ca.crt'))
    expect(problem(byPath(path))).toBe(
      `DD_KUBERNETES_KUBECONFIG_PATH=${path}: cannot read certificate-authority ${Path.join(dir, "certs/ca.crt")}: file not found`
    )
  })

  it("refuses a client certificate without its key", () => {
    expect(problem(byPath(file(kubeconfig("client-certificate-data: Zm9v"))))).toMatch(
      /: user "u": client-certificate and client-key must be given together$/
    )
  })

  it("says where it looked when there is nothing", () => {
    expect(problem({ _tag: "None" })).toBe(
      "no kubeconfig: not in a cluster (no service account token) and no KUBECONFIG or ~/.kube/config; set DD_KUBERNETES_KUBECONFIG_PATH"
    )
  })

  it("names the failing file among several KUBECONFIG files", () => {
    const good = file(kubeconfig("token: t"))
    const missing = Path.join(dir, "missing")
    expect(problem({ _tag: "KubeconfigEnv", paths: [good, missing] })).toBe(
      `KUBECONFIG=${good}${Path.delimiter}${missing}: ${missing}: file not found`
    )
  })

  it("refuses a proxy-url rather than silently bypassing the proxy", () => {
    expect(
      problem(byPath(file(kubeconfig("token: t", 'server: "https://k"\n    proxy-url: "http://proxy:3128"'))))
    ).toMatch(/proxy-url is not supported$/)
  })
})

describe("loadCredentials: what requests use", () => {
  it("a static bearer token, TLS flags and impersonation", () => {
    const path = file(
      kubeconfig(
        "token: abc\nas: someone",
        'server: "https://k:6443/prefix/"\n    insecure-skip-tls-verify: true\n    tls-server-name: kubernetes'
      )
    )
    const c = load(byPath(path))
    expect(c.server).toBe("https://k:6443/prefix")
    expect(c.auth).toEqual({ _tag: "Header", value: "Bearer abc" })
    expect(c.tls).toEqual({ rejectUnauthorized: false, servername: "kubernetes" })
    expect(c.impersonate).toBe("someone")
    expect(c.source).toBe(`DD_KUBERNETES_KUBECONFIG_PATH=${path}`)
  })

  it("basic auth", () => {
    const c = load(byPath(file(kubeconfig("username: admin\npassword: secret"))))
    expect(c.auth).toEqual({ _tag: "Header", value: `Basic ${Buffer.from("admin:secret").toString("base64")}` })
  })

  it("a tokenFile (relative to the kubeconfig) that is re-read, winning over token", () => {
    file("t0k3n\n", "token-a")
    const c = load(byPath(file(kubeconfig("token: stale\ntokenFile: token-a"))))
    expect(c.auth).toEqual({ _tag: "TokenFile", path: Path.join(dir, "token-a") })
  })

  it("a missing tokenFile is an error at load", () => {
    expect(problem(byPath(file(kubeconfig("tokenFile: /nonexistent/token"))))).toMatch(
      /: cannot read tokenFile \/nonexistent\/token: file not found$/
    )
  })

  it("client certificate data and CA data, decoded", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64")
    const c = load(
      byPath(
        file(
          kubeconfig(
            `client-certificate-data: ${b64("CERT")}\nclient-key-data: ${b64("KEY")}`,
            `server: "https://k"\n    certificate-authority-data: ${b64("CA")}`
          )
        )
      )
    )
    expect(c.tls.ca?.toString()).toBe("CA")
    expect(c.tls.cert?.toString()).toBe("CERT")
    expect(c.tls.key?.toString()).toBe("KEY")
    expect(c.auth).toEqual({ _tag: "None" })
  })

  it("exec plugins are left to client-node", () => {
    const c = load(
      byPath(file(kubeconfig("exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: get-token")))
    )
    expect(c.auth._tag).toBe("Plugin")
  })

  it("the in-cluster service account", () => {
    const sa = Fs.mkdtempSync(Path.join(dir, "sa-"))
    Fs.writeFileSync(Path.join(sa, "token"), "sa-token")
    Fs.writeFileSync(Path.join(sa, "ca.crt"), "CA")
    const c = load({ _tag: "InCluster", host: "fd00::1", port: "443", dir: sa })
    expect(c).toMatchObject({
      source: "in-cluster service account",
      server: "https://[fd00::1]:443",
      auth: { _tag: "TokenFile", path: Path.join(sa, "token") }
    })
    expect(c.tls.ca?.toString()).toBe("CA")
    Fs.rmSync(Path.join(sa, "ca.crt"))
    expect(problem({ _tag: "InCluster", host: "10.0.0.1", port: "443", dir: sa })).toBe(
      `in-cluster service account: cannot read service account CA ${Path.join(sa, "ca.crt")}: file not found`
    )
  })
})
