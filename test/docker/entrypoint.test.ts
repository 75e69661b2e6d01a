import { execFile } from "node:child_process"
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { loadApiserverCheckInstance } from "../../src/services/kubernetesApiserver/confd.ts"

const entrypoint = fileURLToPath(new URL("../../docker/entrypoint.sh", import.meta.url))
const shippedDefault = fileURLToPath(
  new URL("../../docker/conf.d/kubernetes_apiserver.d/conf.yaml.default", import.meta.url)
)

const run = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      "bash",
      [entrypoint, ...args],
      { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number((error as { code?: number }).code ?? 1), stdout, stderr })
    )
  })

const dirs = () => {
  const root = mkdtempSync(join(tmpdir(), "dca-entrypoint-"))
  const src = join(root, "conf.d")
  const dst = join(root, "etc")
  mkdirSync(src)
  mkdirSync(dst)
  return { src, dst, env: { DD_ENTRYPOINT_CONFD_SOURCE: src, DD_ENTRYPOINT_CONFD_TARGET: dst } }
}

describe("docker/entrypoint.sh", () => {
  it("exits 1 with the original's message when DD_API_KEY is empty", async () => {
    const { env } = dirs()
    for (const key of [{}, { DD_API_KEY: "" }]) {
      const r = await run(["echo", "started"], { ...env, ...key })
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(r.stderr.trim()).toBe(
        "You must set an DD_API_KEY environment variable to run the Datadog Cluster Agent container"
      )
    }
  })

  it("execs the command with its arguments when the API key is set", async () => {
    const { env } = dirs()
    const r = await run(["sh", "-c", 'printf "%s|" "$0" "$1" "$DD_API_KEY"', "a b", "c"], {
      ...env,
      DD_API_KEY: "k".repeat(32)
    })
    expect(r).toEqual({ code: 0, stdout: `a b|c|${"k".repeat(32)}|`, stderr: "" })
  })

  it("accepts a readable DD_API_KEY_FILE", async () => {
    const { src, env } = dirs()
    const file = join(src, "..", "api_key")
    writeFileSync(file, `${"f".repeat(32)}\n`)
    const r = await run(["sh", "-c", 'echo "$DD_API_KEY"'], { ...env, DD_API_KEY_FILE: file })
    expect(r.stdout).toBe(`${"f".repeat(32)}\n`)
  })

  it("copies *.yaml and *.yaml.default from /conf.d/<rel> to /etc/datadog-agent/conf.d/<rel>, skipping ConfigMap timestamp folders", async () => {
    const { src, dst, env } = dirs()
    mkdirSync(join(src, "kubernetes_apiserver.d"))
    writeFileSync(join(src, "kubernetes_apiserver.d", "conf.yaml.default"), "instances: [{}]\n")
    writeFileSync(join(src, "datadog-cluster.yaml"), "log_level: debug\n")
    writeFileSync(join(src, "notes.txt"), "not configuration\n")
    // A ConfigMap volume: files are links into a `..<timestamp>` folder.
    mkdirSync(join(src, "..2026_11_27_00_00_00.1"))
    writeFileSync(join(src, "..2026_11_27_00_00_00.1", "custom.yaml"), "a: 1\n")
    symlinkSync(join(src, "..2026_11_27_00_00_00.1", "custom.yaml"), join(src, "custom.yaml"))
    const r = await run(["true"], { ...env, DD_API_KEY: "k" })
    expect(r.code).toBe(0)
    // Where the original's `cp --parents /conf.d/<rel> /etc/datadog-agent/` puts them.
    const confd = join(dst, "conf.d")
    expect(readFileSync(join(confd, "kubernetes_apiserver.d", "conf.yaml.default"), "utf8")).toBe("instances: [{}]\n")
    expect(readFileSync(join(confd, "datadog-cluster.yaml"), "utf8")).toBe("log_level: debug\n")
    expect(readFileSync(join(confd, "custom.yaml"), "utf8")).toBe("a: 1\n")
    expect(existsSync(join(confd, "notes.txt"))).toBe(false)
    expect(existsSync(join(confd, "..2026_11_27_00_00_00.1"))).toBe(false)
    expect(readdirSync(dst)).toEqual(["conf.d"])
  })

  /** The image's /conf.d (docker/conf.d), copied into `src`. */
  const imageConfd = (src: string) => cpSync(dirname(dirname(shippedDefault)), src, { recursive: true })
  const instanceIn = (dst: string) =>
    Effect.runPromise(loadApiserverCheckInstance(join(dst, "conf.d"), false).pipe(Effect.provide(Logger.layer([]))))

  it("the image's default reaches an empty /etc/datadog-agent (the Deployment's emptyDir) and the agent reads it", async () => {
    const { src, dst, env } = dirs()
    imageConfd(src)
    expect(readdirSync(dst)).toEqual([])
    expect((await run(["true"], { ...env, DD_API_KEY: "k" })).code).toBe(0)
    const copied = join(dst, "conf.d", "kubernetes_apiserver.d", "conf.yaml.default")
    expect(readFileSync(copied, "utf8")).toBe(readFileSync(shippedDefault, "utf8"))
    expect(await instanceIn(dst)).toMatchObject({ source: copied })
  })

  it("a conf.yaml mounted at /conf.d/kubernetes_apiserver.d/ (a ConfigMap, replacing the folder) overrides the default", async () => {
    const { src, dst, env } = dirs()
    imageConfd(src)
    // The ConfigMap volume hides the image's folder: its files are links into `..data`.
    const folder = join(src, "kubernetes_apiserver.d")
    rmSync(folder, { recursive: true })
    mkdirSync(join(folder, "..2026_12_02_00_00_00.1"), { recursive: true })
    writeFileSync(
      join(folder, "..2026_12_02_00_00_00.1", "conf.yaml"),
      "init_config:\ninstances:\n  - use_component_status: false\n    tags: [team:core]\n"
    )
    symlinkSync("..2026_12_02_00_00_00.1", join(folder, "..data"))
    symlinkSync(join("..data", "conf.yaml"), join(folder, "conf.yaml"))
    expect((await run(["true"], { ...env, DD_API_KEY: "k" })).code).toBe(0)
    expect(await instanceIn(dst)).toMatchObject({
      useComponentStatus: false,
      tags: ["team:core"],
      source: join(dst, "conf.d", "kubernetes_apiserver.d", "conf.yaml")
    })
  })

  it("a conf.yaml mounted beside the default (subPath) wins over it", async () => {
    const { src, dst, env } = dirs()
    imageConfd(src)
    writeFileSync(join(src, "kubernetes_apiserver.d", "conf.yaml"), "init_config:\ninstances:\n  - tags: [a:b]\n")
    expect((await run(["true"], { ...env, DD_API_KEY: "k" })).code).toBe(0)
    expect(readdirSync(join(dst, "conf.d", "kubernetes_apiserver.d")).sort()).toEqual([
      "conf.yaml",
      "conf.yaml.default"
    ])
    expect(await instanceIn(dst)).toMatchObject({ tags: ["a:b"] })
  })

  it("exits 1 naming the folder when /etc/datadog-agent is not writable (read-only root, no volume)", async () => {
    const { src, env } = dirs()
    imageConfd(src)
    // A regular file where the folder should be: no mkdir, even as root.
    const blocked = join(src, "..", "not-a-dir")
    writeFileSync(blocked, "")
    const r = await run(["echo", "started"], { ...env, DD_ENTRYPOINT_CONFD_TARGET: blocked, DD_API_KEY: "k" })
    expect(r.code).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim()).toBe(
      `Cannot write to ${blocked}/conf.d: with a read-only root filesystem, mount a writable volume (an emptyDir) at ${blocked}`
    )
  })
})
