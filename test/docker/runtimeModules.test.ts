// docker/runtime-modules.ts on made-up node_modules trees: what Node would resolve from the roots
// stays (hoisted or nested, scoped or not, optional and peer dependencies when installed), the
// rest goes.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"
import { isBuildOnlyFile, pruneToRuntime, runtimeClosure, stripBuildOnlyFiles } from "../../docker/runtime-modules.ts"
import { external } from "../../scripts/bundle.ts"

interface Pkg {
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
}

/** Writes `packages` (path under node_modules → package.json fields) into a fresh tree; returns its node_modules. */
const tree = (packages: Record<string, Pkg>): string => {
  const nodeModules = join(mkdtempSync(join(tmpdir(), "dca-runtime-modules-")), "node_modules")
  for (const [path, pkg] of Object.entries(packages)) {
    const dir = join(nodeModules, path)
    mkdirSync(dir, { recursive: true })
    const name = path.split("/node_modules/").at(-1)
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", ...pkg }))
    writeFileSync(join(dir, "index.js"), "export {}\n")
  }
  return nodeModules
}

const names = (nodeModules: string, dirs: Iterable<string>) => [...dirs].map((d) => relative(nodeModules, d)).sort()

describe("runtime-modules", () => {
  it("keeps the roots and what they depend on, as Node resolves it (nested before hoisted)", () => {
    const nm = tree({
      "@k/client": { dependencies: { ws: "^8", "@s/util": "^1", yaml: "^2" }, optionalDependencies: { gone: "^1" } },
      "@k/client/node_modules/yaml": { dependencies: { argparse: "^2" } },
      yaml: { dependencies: { unused: "^1" } },
      ws: { peerDependencies: { bufferutil: "^4", "utf-8-validate": "^6" } },
      bufferutil: {},
      "@s/util": {},
      "@s/other": {},
      argparse: {},
      unused: {},
      effect: {}
    })
    expect(names(nm, runtimeClosure(nm, ["@k/client"]))).toEqual([
      "@k/client",
      "@k/client/node_modules/yaml",
      "@s/util",
      "argparse",
      "bufferutil",
      "ws"
    ])
  })

  it("removes every other top-level package, empty scopes and .bin", () => {
    const nm = tree({
      "@k/client": { dependencies: { ws: "^8" } },
      ws: {},
      "@effect/platform-node": { dependencies: { ws: "^8" } },
      effect: {}
    })
    mkdirSync(join(nm, ".bin"))
    writeFileSync(join(nm, ".package-lock.json"), "{}")
    expect(pruneToRuntime(nm, ["@k/client"])).toEqual({
      kept: ["@k/client", "ws"],
      removed: ["@effect/platform-node", "effect"]
    })
    expect(readdirSync(nm).sort()).toEqual(["@k", "ws"])
    expect(existsSync(join(nm, "@k/client/index.js"))).toBe(true)
  })

  it("strips TypeScript declarations and source maps, and nothing Node loads", () => {
    const nm = tree({ "@k/client": {}, "@types/ws": {} })
    const files = {
      "@k/client/dist/api.js": "export {}\n",
      "@k/client/dist/api.d.ts": "export {}\n",
      "@k/client/dist/api.js.map": "{}",
      "@k/client/dist/api.d.ts.map": "{}",
      "@k/client/dist/esm/index.mjs": "export {}\n",
      "@k/client/dist/esm/index.d.mts": "export {}\n",
      "@k/client/dist/cjs/index.cjs": "module.exports = {}\n",
      "@k/client/dist/cjs/index.d.cts": "export {}\n",
      "@k/client/dist/data.json": "{}",
      "@k/client/src/api.ts": "export {}\n",
      "@types/ws/index.d.ts": "export {}\n"
    }
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(nm, path, ".."), { recursive: true })
      writeFileSync(join(nm, path), text)
    }
    const removed = Object.keys(files).filter((f) => isBuildOnlyFile(f.split("/").at(-1) as string))
    expect(removed.sort()).toEqual([
      "@k/client/dist/api.d.ts",
      "@k/client/dist/api.d.ts.map",
      "@k/client/dist/api.js.map",
      "@k/client/dist/cjs/index.d.cts",
      "@k/client/dist/esm/index.d.mts",
      "@types/ws/index.d.ts"
    ])
    expect(stripBuildOnlyFiles(nm).files).toBe(removed.length)
    for (const path of Object.keys(files)) expect(existsSync(join(nm, path)), path).toBe(!removed.includes(path))
    // package.json files stay (Node resolves packages by them).
    expect(existsSync(join(nm, "@types/ws/package.json"))).toBe(true)
  })

  it("fails on a required dependency that is not installed, naming who needs it", () => {
    const nm = tree({ "@k/client": { dependencies: { missing: "^1" } } })
    expect(() => runtimeClosure(nm, ["@k/client"])).toThrow(
      "missing, needed by node_modules/@k/client, is not installed"
    )
    expect(() => runtimeClosure(nm, ["absent"])).toThrow("absent, needed by the bundle, is not installed")
  })

  it("finds everything the bundle's externals need in this repository's node_modules", () => {
    const closure = names("node_modules", runtimeClosure("node_modules", external))
    expect(closure).toContain("@kubernetes/client-node")
    // The bundle holds effect; the image must not carry a second copy Node could load.
    for (const bundled of ["effect", "@effect/platform-node", "@effect/platform-node-shared"])
      expect(closure).not.toContain(bundled)
  })
})
