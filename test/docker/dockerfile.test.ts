// No Docker engine runs here, so the image recipe is checked statically: what it copies exists,
// and it keeps the promises the manifests rely on (ports, non-root user, entrypoint, command).
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../", import.meta.url))
const lines = readFileSync(`${root}Dockerfile`, "utf8")
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"))
const stages = lines
  .join("\n")
  .split(/^FROM /m)
  .slice(1)
const final = `FROM ${stages.at(-1) ?? ""}`

describe("Dockerfile", () => {
  it("builds in one stage and ships from a Node 24 runtime stage", () => {
    expect(stages).toHaveLength(2)
    expect(final).toMatch(/^FROM node:24[-\w.]*\n/)
    expect(stages[0]).toContain("npm ci")
    expect(stages[0]).toContain("npm run build")
    expect(stages[0]).toContain("npm prune --omit=dev")
  })

  it("runs as a non-root user with the original's ports, entrypoint and command", () => {
    expect(final).toMatch(/^USER 10001:10001$/m)
    expect(final).toMatch(/^EXPOSE 5005 5000 8443$/m)
    expect(final).toMatch(/^ENTRYPOINT \["\/entrypoint.sh"\]$/m)
    expect(final).toMatch(/^CMD \["datadog-cluster-agent", ?"start"\]$/m)
  })

  it("runs Node with the memory settings of the idle floor and the sync (docs/BENCHMARKS.md)", () => {
    const env = Object.fromEntries(
      [...final.matchAll(/(MALLOC_[A-Z_]+|NODE_OPTIONS)=("[^"]*"|\S+)/g)].map((m) => [
        m[1],
        m[2]?.replace(/^"|"$/g, "")
      ])
    )
    expect(env).toEqual({
      MALLOC_MMAP_THRESHOLD_: "131072",
      MALLOC_ARENA_MAX: "2",
      NODE_OPTIONS: "--max-semi-space-size=16 --expose-gc"
    })
  })

  it("copies only files that exist in the repository", () => {
    const sources = lines
      .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
      .flatMap((l) =>
        l
          .split(/\s+/)
          .slice(1, -1)
          .filter((word) => !word.startsWith("--"))
      )
    expect(sources.length).toBeGreaterThan(3)
    for (const source of sources) expect(existsSync(`${root}${source}`), source).toBe(true)
  })

  it("ships the kubernetes_apiserver check's default file in /conf.d, which the entrypoint copies, not under the /etc/datadog-agent volume", () => {
    const copy = final.split("\n").find((l) => l.startsWith("COPY ") && l.includes("docker/conf.d"))
    expect(copy).toBe("COPY docker/conf.d/ /conf.d/")
    expect(existsSync(`${root}docker/conf.d/kubernetes_apiserver.d/conf.yaml.default`)).toBe(true)
    expect(readFileSync(`${root}.dockerignore`, "utf8").split("\n")).not.toContain("docker")
    // Nothing else lands in /etc/datadog-agent: an emptyDir there (deploy/) would hide it.
    expect(final.split("\n").filter((l) => l.startsWith("COPY ") && l.includes("/etc/datadog-agent"))).toEqual([])
    expect(final).toMatch(/^VOLUME \["\/etc\/datadog-agent", "\/tmp"\]$/m)
  })

  it("the build context leaves out dependencies, outputs and tests", () => {
    const ignored = readFileSync(`${root}.dockerignore`, "utf8").split("\n")
    for (const entry of ["node_modules", "dist", ".git", "test"]) expect(ignored).toContain(entry)
  })
})
