// The shipped build, after tsc: build/main.js and everything it imports, tree-shaken by rolldown
// into dist/main.js plus one chunk per dynamic import, so what `start` does not take stays unloaded
// (the CLI, client-node's kubeconfig support; node:http2 is loaded on the first h2 connection).
//
//   node scripts/bundle.ts [--from build] [--out dist]        (npm run build runs it)
//
// Why a bundler: the idle floor (docs/BENCHMARKS.md, "Idle floor (issue 7)"). Tree-shaking drops
// the two thirds of effect the agent never calls, and a dozen files instead of ~300 modules mean
// far less module bookkeeping and source text held by V8: 66.6 MB idle instead of 81.6 (Node alone:
// 54.3), heapUsed 10.8 instead of 18.3 MB.
//
// Comments go (effect's are mostly JSDoc, which V8 would keep as source text); whitespace and
// names stay, so stack traces point at readable lines (removing whitespace measured no gain).
// Node's builtins stay imports, and so do the packages in `external`, resolved from node_modules
// at run time: the image keeps them, and only them (docker/runtime-modules.ts).
import { existsSync, rmSync } from "node:fs"
import { join, resolve } from "node:path"

/**
 * Packages the bundle leaves to node_modules. @kubernetes/client-node is loaded only for a
 * kubeconfig file (never in a pod: the in-cluster service account needs no library). It is
 * CommonJS-heavy (ws, form-data, openid-client, tar-fs) and runs exec/OIDC auth plugins, so it
 * runs as its authors ship it rather than re-bundled.
 */
export const external: ReadonlyArray<string> = ["@kubernetes/client-node"]

const isExternal = (id: string): boolean =>
  id.startsWith("node:") || external.some((pkg) => id === pkg || id.startsWith(`${pkg}/`))

export interface BundleResult {
  /** The files written, relative to the output directory. */
  readonly files: ReadonlyArray<string>
  /** The bare imports left in the output, builtins aside: a subset of `external`. */
  readonly externalImports: ReadonlyArray<string>
}

/** Bundles `from`/main.js (tsc's output) into `out` (emptied first): main.js and its chunks. */
export const bundle = async (from: string, out: string): Promise<BundleResult> => {
  // A dev dependency, imported here so that reading `external` (docker/runtime-modules.ts, after
  // the dev dependencies are gone) does not need it.
  const { build } = await import("rolldown")
  const dir = resolve(out)
  rmSync(dir, { recursive: true, force: true })
  const result = await build({
    input: join(resolve(from), "main.js"),
    platform: "node",
    external: isExternal,
    logLevel: "warn",
    // An import that does not resolve must fail the build, not become an external the image lacks.
    onLog: (level, log, handler) => handler(log.code === "UNRESOLVED_IMPORT" ? "error" : level, log),
    output: {
      dir,
      format: "esm",
      entryFileNames: "main.js",
      chunkFileNames: "[name]-[hash].js",
      comments: false
    }
  })
  const files: Array<string> = []
  const externalImports = new Set<string>()
  for (const chunk of result.output) {
    files.push(chunk.fileName)
    if (chunk.type !== "chunk") continue
    for (const id of [...chunk.imports, ...chunk.dynamicImports])
      if (!id.startsWith("node:") && !existsSync(join(dir, id))) externalImports.add(id)
  }
  return { files: files.sort(), externalImports: [...externalImports].sort() }
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const flag = (name: string, fallback: string) => {
    const i = argv.indexOf(`--${name}`)
    return i < 0 ? fallback : (argv[i + 1] ?? fallback)
  }
  const from = flag("from", "build")
  const out = flag("out", "dist")
  const { files, externalImports } = await bundle(from, out)
  console.log(
    `bundled ${from}/main.js into ${out}/ (${files.length} files); left to node_modules: ${externalImports.join(" ") || "none"}`
  )
}
