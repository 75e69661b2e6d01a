// Leaves in node_modules only what the bundled agent imports at run time, in place, for the image:
//
//   node docker/runtime-modules.ts [node_modules]
//
// dist/ holds the agent with effect and everything else it uses inlined (scripts/bundle.ts); only
// the packages the bundle keeps external are imported from node_modules, with what they depend on.
// Every other top-level package (effect, @effect/platform-node, the Datadog API client whose types
// the schemas mirror, the dev dependencies) is removed, so the image cannot load a second copy of
// what the bundle holds, and carries no code it never runs. In the packages that stay, the type
// declarations and source maps go too (Node reads neither: 39 MB of client-node's 77 MB). Plain
// Node: runs after `npm prune`.
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { external } from "../scripts/bundle.ts"

interface PackageJson {
  readonly name?: string
  readonly dependencies?: Record<string, string>
  readonly optionalDependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
}

const readPackage = (dir: string): PackageJson =>
  JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson

/** Where Node finds package `name` from a file in `from`: the nearest node_modules/name up the tree, within `root`. */
const resolvePackage = (root: string, from: string, name: string): string | undefined => {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name)
    if (existsSync(join(candidate, "package.json"))) return candidate
    if (dir === root || dirname(dir) === dir) return undefined
  }
}

/**
 * The directories of `roots` and of every package they depend on (dependencies, optional and peer
 * dependencies, as Node resolves them from each package), under the tree that holds `nodeModules`.
 * A missing required dependency is an error: the image would fail at its first import.
 */
export const runtimeClosure = (nodeModules: string, roots: ReadonlyArray<string>): Set<string> => {
  const top = resolve(nodeModules)
  const root = dirname(top)
  const kept = new Set<string>()
  const pending: Array<[string, string, boolean]> = roots.map((name) => [root, name, false])
  while (pending.length > 0) {
    const [from, name, optional] = pending.pop() as [string, string, boolean]
    const dir = resolvePackage(root, from, name)
    if (dir === undefined) {
      if (optional) continue
      throw new Error(`${name}, needed by ${relative(root, from) || "the bundle"}, is not installed`)
    }
    if (kept.has(dir)) continue
    kept.add(dir)
    const pkg = readPackage(dir)
    for (const dep of Object.keys(pkg.dependencies ?? {})) pending.push([dir, dep, false])
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) pending.push([dir, dep, true])
    // Peers are the installer's business; one that is installed is used, one that is not was optional.
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) pending.push([dir, dep, true])
  }
  return kept
}

/** The top-level package names in `nodeModules` (scoped ones as `@scope/name`), hidden entries aside. */
const topLevel = (nodeModules: string): Array<string> =>
  readdirSync(nodeModules)
    .filter((e) => !e.startsWith("."))
    .flatMap((e) => (e.startsWith("@") ? readdirSync(join(nodeModules, e)).map((s) => `${e}/${s}`) : [e]))

export interface PruneResult {
  readonly kept: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
}

/** Removes from `nodeModules` every top-level package outside `runtimeClosure(roots)`, and `.bin`. */
export const pruneToRuntime = (nodeModules: string, roots: ReadonlyArray<string> = external): PruneResult => {
  const top = resolve(nodeModules)
  const closure = runtimeClosure(top, roots)
  // A top-level package stays when it, or anything inside it, is in the closure.
  const keptTop = new Set([...closure].map((dir) => relative(top, dir).split(`${sep}node_modules${sep}`)[0]))
  const kept: Array<string> = []
  const removed: Array<string> = []
  for (const name of topLevel(top)) {
    if (keptTop.has(name.split("/").join(sep))) kept.push(name)
    else {
      rmSync(join(top, name), { recursive: true, force: true })
      removed.push(name)
    }
  }
  for (const entry of readdirSync(top)) {
    if (entry.startsWith("@") && readdirSync(join(top, entry)).length === 0)
      rmSync(join(top, entry), { recursive: true })
  }
  // Links to the commands of removed packages, and npm's record of the tree as installed.
  rmSync(join(top, ".bin"), { recursive: true, force: true })
  rmSync(join(top, ".package-lock.json"), { force: true })
  return { kept: kept.sort(), removed: removed.sort() }
}

/** Files Node never reads at run time: TypeScript declarations and source maps. */
export const isBuildOnlyFile = (name: string): boolean => /\.d\.[cm]?ts$|\.map$/.test(name)

export interface StripResult {
  readonly files: number
  readonly bytes: number
}

/** Removes every build-only file (isBuildOnlyFile) under `nodeModules`, following no links. */
export const stripBuildOnlyFiles = (nodeModules: string): StripResult => {
  let files = 0
  let bytes = 0
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.isFile() && isBuildOnlyFile(entry.name)) {
        bytes += lstatSync(path).size
        rmSync(path)
        files++
      }
    }
  }
  walk(resolve(nodeModules))
  return { files, bytes }
}

if (import.meta.main) {
  const nodeModules = process.argv[2] ?? "node_modules"
  const { kept, removed } = pruneToRuntime(nodeModules)
  const stripped = stripBuildOnlyFiles(nodeModules)
  process.stdout.write(
    `${nodeModules}: kept ${kept.length} packages for ${external.join(", ")}; removed ${removed.length}; ` +
      `removed ${stripped.files} declaration and source-map files (${(stripped.bytes / 1e6).toFixed(1)} MB)\n`
  )
}
