// Removes the comments from the JavaScript of the given packages, in place, for the image:
//
//   node docker/slim-modules.ts node_modules/effect node_modules/@effect/platform-node ...
//
// V8 keeps the whole source text of every loaded module for the life of the process (lazy
// compilation and Function.prototype.toString need it). effect's files are mostly JSDoc with
// examples (Schema.js: 360 KB, and held as two-byte strings where a comment has a non-Latin-1
// character), so the ~300 modules the agent loads keep about 8 MB of comments in the heap.
//
// The build stage's TypeScript compiler re-emits each file with `removeComments` (`allowJs`,
// `noCheck`, target and module syntax preserved): the same program, token for token, without
// comments (checked by parsing both and comparing the trees). Needs the dev dependencies, so it
// runs before `npm prune`.
import { spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, parse, relative, resolve } from "node:path"

/** Every .js/.mjs file under `dir`, leaving out nested node_modules. */
export const javaScriptFiles = (dir: string): Array<string> => {
  const out: Array<string> = []
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) {
      if (entry !== "node_modules") out.push(...javaScriptFiles(path))
    } else if (entry.endsWith(".js") || entry.endsWith(".mjs")) out.push(path)
  }
  return out
}

export interface SlimResult {
  readonly files: number
  readonly bytesBefore: number
  readonly bytesAfter: number
}

/** Strips the comments of every JavaScript file under `dirs`, in place; `tsc` is TypeScript's bin/tsc. */
export const slimModules = (dirs: ReadonlyArray<string>, tsc: string): SlimResult => {
  const files = dirs.flatMap((d) => javaScriptFiles(resolve(d)))
  // Emitted under out/ at their absolute paths: the dirs need not share a parent.
  const root = parse(resolve(".")).root
  if (files.length === 0) throw new Error(`no JavaScript under ${dirs.join(", ")}`)
  const work = mkdtempSync(join(tmpdir(), "slim-modules-"))
  try {
    const out = join(work, "out")
    const tsconfig = join(work, "tsconfig.json")
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: {
          allowJs: true,
          removeComments: true,
          noCheck: true,
          noResolve: true,
          target: "esnext",
          module: "preserve",
          types: [],
          declaration: false,
          sourceMap: false,
          rootDir: root,
          outDir: out
        },
        files
      })
    )
    const run = spawnSync(process.execPath, [tsc, "-p", tsconfig], { encoding: "utf8" })
    if (run.status !== 0) throw new Error(`tsc failed (${run.status}):\n${run.stdout}${run.stderr}`)
    let bytesBefore = 0
    let bytesAfter = 0
    for (const file of files) {
      const emitted = join(out, relative(root, file))
      if (!existsSync(emitted)) throw new Error(`tsc wrote no ${emitted}`)
      bytesBefore += statSync(file).size
      bytesAfter += statSync(emitted).size
      copyFileSync(emitted, file)
    }
    return { files: files.length, bytesBefore, bytesAfter }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const dirs = process.argv.slice(2)
  if (dirs.length === 0) throw new Error("usage: node docker/slim-modules.ts <package dir>...")
  const tsc = resolve(process.env.TSC ?? "node_modules/typescript/bin/tsc")
  const r = slimModules(dirs, tsc)
  const mb = (b: number) => (b / 1048576).toFixed(1)
  process.stdout.write(`slim-modules: ${r.files} files, ${mb(r.bytesBefore)} MB -> ${mb(r.bytesAfter)} MB\n`)
}
