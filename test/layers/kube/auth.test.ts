// The Authorization header of Kubernetes requests, per credential kind. The end-to-end token
// rotation over a real connection is in transport.test.ts; here the authorizers themselves:
// when a token file is re-read, what survives a rotation gap, and what errors say.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, afterEach, describe, expect, it, vi } from "@effect/vitest"
import { KubeConfig } from "@kubernetes/client-node"
import { makeAuthorizer, tokenFileAuthorizer } from "../../../src/layers/kube/auth.ts"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-kube-auth-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))
afterEach(() => {
  vi.restoreAllMocks()
})

let files = 0
const tokenFile = (contents: string): string => {
  const path = Path.join(dir, `token-${files++}`)
  Fs.writeFileSync(path, contents)
  return path
}

/** Replaces the file the way the kubelet does: a new file renamed over it (a new inode). */
const rotate = (path: string, contents: string) => {
  Fs.writeFileSync(`${path}.new`, contents)
  Fs.renameSync(`${path}.new`, path)
}

/** A clock the test moves, in milliseconds. */
const manualClock = () => {
  let t = 1_000
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const countReads = () => vi.spyOn(Fs.promises, "readFile")

describe("tokenFileAuthorizer", () => {
  it("sends the file's token, trimmed, as a bearer token", async () => {
    const authorize = tokenFileAuthorizer(tokenFile("  abc.def-ghi\n\n"))
    expect(await authorize()).toBe("Bearer abc.def-ghi")
  })

  it("does not re-read an unchanged file within 10 s, and re-reads it after", async () => {
    const clock = manualClock()
    const authorize = tokenFileAuthorizer(tokenFile("t1"), clock.now)
    const reads = countReads()
    expect(await authorize()).toBe("Bearer t1")
    expect(reads).toHaveBeenCalledTimes(1)
    clock.advance(9_999)
    expect(await authorize()).toBe("Bearer t1")
    expect(await authorize()).toBe("Bearer t1")
    expect(reads).toHaveBeenCalledTimes(1)
    clock.advance(1)
    expect(await authorize()).toBe("Bearer t1")
    expect(reads).toHaveBeenCalledTimes(2)
  })

  it("uses a rotated token at once, without waiting for the 10 s bound", async () => {
    const clock = manualClock()
    const path = tokenFile("before")
    const authorize = tokenFileAuthorizer(path, clock.now)
    expect(await authorize()).toBe("Bearer before")
    rotate(path, "after")
    expect(await authorize()).toBe("Bearer after")
    // A rewrite in place that changes the size is seen at once too.
    Fs.writeFileSync(path, "after-and-longer")
    expect(await authorize()).toBe("Bearer after-and-longer")
  })

  it("keeps the last good token while the file is missing or empty mid-rotation", async () => {
    const clock = manualClock()
    const path = tokenFile("good")
    const authorize = tokenFileAuthorizer(path, clock.now)
    expect(await authorize()).toBe("Bearer good")
    Fs.rmSync(path)
    expect(await authorize()).toBe("Bearer good")
    Fs.writeFileSync(path, "")
    expect(await authorize()).toBe("Bearer good")
    Fs.writeFileSync(path, " \n")
    clock.advance(60_000)
    expect(await authorize()).toBe("Bearer good")
    rotate(path, "next")
    expect(await authorize()).toBe("Bearer next")
  })

  it("without a good token yet, a missing file fails naming the file and the error code", async () => {
    const path = Path.join(dir, "does-not-exist")
    await expect(tokenFileAuthorizer(path)()).rejects.toThrow(`cannot read token file ${path}: ENOENT`)
  })

  it("without a good token yet, an empty file fails without showing any content", async () => {
    const path = tokenFile(" \n\t")
    await expect(tokenFileAuthorizer(path)()).rejects.toThrow(`cannot read token file ${path}: the file is empty`)
  })

  it("a directory is not a token file", async () => {
    const sub = Fs.mkdtempSync(Path.join(dir, "sub-"))
    await expect(tokenFileAuthorizer(sub)()).rejects.toThrow(`cannot read token file ${sub}: EISDIR`)
  })

  it("recovers once the file appears", async () => {
    const path = Path.join(dir, "later")
    const authorize = tokenFileAuthorizer(path)
    await expect(authorize()).rejects.toThrow(/ENOENT/)
    Fs.writeFileSync(path, "arrived")
    expect(await authorize()).toBe("Bearer arrived")
  })
})

/** A stand-in for client-node's KubeConfig: only what the Plugin authorizer calls. */
const pluginConfig = (apply: (opts: { headers?: Record<string, unknown> }) => Promise<void>): KubeConfig =>
  ({ applyToHTTPSOptions: apply }) as unknown as KubeConfig

describe("makeAuthorizer", () => {
  it("None sends no header", async () => {
    expect(await makeAuthorizer({ _tag: "None" })()).toBeUndefined()
  })

  it("Header sends the fixed value every time", async () => {
    const authorize = makeAuthorizer({ _tag: "Header", value: "Basic YWRtaW46c2VjcmV0" })
    expect(await authorize()).toBe("Basic YWRtaW46c2VjcmV0")
    expect(await authorize()).toBe("Basic YWRtaW46c2VjcmV0")
  })

  it("TokenFile reads the file", async () => {
    const path = tokenFile("from-file")
    expect(await makeAuthorizer({ _tag: "TokenFile", path })()).toBe("Bearer from-file")
  })

  it("Plugin sends the Authorization header the plugin produced, asking it on each request", async () => {
    let calls = 0
    const authorize = makeAuthorizer({
      _tag: "Plugin",
      kind: "exec",
      kubeConfig: pluginConfig(async (opts) => {
        calls++
        opts.headers = { ...opts.headers, Authorization: `Bearer plugin-${calls}` }
      })
    })
    expect(await authorize()).toBe("Bearer plugin-1")
    expect(await authorize()).toBe("Bearer plugin-2")
  })

  it("Plugin without an Authorization header (e.g. a client certificate only) sends none", async () => {
    const none = makeAuthorizer({ _tag: "Plugin", kind: "exec", kubeConfig: pluginConfig(async () => {}) })
    expect(await none()).toBeUndefined()
    const notText = makeAuthorizer({
      _tag: "Plugin",
      kind: "exec",
      kubeConfig: pluginConfig(async (opts) => {
        opts.headers = { Authorization: ["a", "b"] }
      })
    })
    expect(await notText()).toBeUndefined()
  })

  it("a failing plugin is reported with its kind and message", async () => {
    const authorize = makeAuthorizer({
      _tag: "Plugin",
      kind: "auth-provider oidc",
      kubeConfig: pluginConfig(async () => {
        throw new Error("refresh token expired")
      })
    })
    await expect(authorize()).rejects.toThrow("auth-provider oidc credentials failed: refresh token expired")
  })

  it("Plugin runs a real exec plugin through client-node", async () => {
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "exec-token" }
    })
    const script = Path.join(dir, "plugin.mjs")
    Fs.writeFileSync(script, `process.stdout.write(${JSON.stringify(credential)})\n`)
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [{ name: "c", server: "https://127.0.0.1:6443", skipTLSVerify: true }],
      users: [
        {
          name: "u",
          exec: {
            apiVersion: "client.authentication.k8s.io/v1",
            command: process.execPath,
            args: [script],
            interactiveMode: "Never"
          }
        }
      ],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x"
    })
    expect(await makeAuthorizer({ _tag: "Plugin", kind: "exec", kubeConfig: kc })()).toBe("Bearer exec-token")
  })
})
