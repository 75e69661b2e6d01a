import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { javaScriptFiles, slimModules } from "../../docker/slim-modules.ts"

const root = new URL("../../", import.meta.url).pathname
const tsc = join(root, "node_modules/typescript/bin/tsc")
const work = mkdtempSync(join(tmpdir(), "slim-test-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

// Comment look-alikes inside strings, templates and regular expressions must survive.
const tricky = `/**
 * A module doc comment with a non-Latin-1 character: → ✓
 */
// a line comment
export const url = "http://example.com/*not a comment*/" // trailing comment
export const template = \`// not a comment \${1 + /* inline */ 1} /* nor this */\`
export const re = /\\/\\/[^/]*\\/*/g
export const pure = /*#__PURE__*/ ((x) => x * 2)(21)
export const division = 10 / 2 / 5
export class Box {
  /** a field */
  value = 1;
  static #secret = "s";
  static secret() { return Box.#secret }
}
export const asi = () => {
  const a = 1
  // a comment between statements that rely on ASI
  ;[a].forEach(() => undefined)
  return a
}
// last line comment`

describe("docker/slim-modules.ts", () => {
  it("removes every comment and keeps the program", async () => {
    const pkg = join(work, "node_modules", "tricky")
    mkdirSync(join(pkg, "dist", "node_modules", "nested"), { recursive: true })
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "tricky", type: "module" }))
    writeFileSync(join(pkg, "dist", "index.js"), tricky)
    writeFileSync(join(pkg, "dist", "node_modules", "nested", "index.js"), "// kept: nested packages are not touched\n")
    const original = await import(pathToFileURL(join(pkg, "dist", "index.js")).href)

    const result = slimModules([pkg], tsc)
    expect(result.files).toBe(1)
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore)

    const slim = readFileSync(join(pkg, "dist", "index.js"), "utf8")
    expect(slim).not.toMatch(/line comment|doc comment|inline|a field|#__PURE__|trailing comment/)
    expect([...slim].every((c) => (c.codePointAt(0) ?? 0) < 128)).toBe(true)
    expect(slim).toContain('"http://example.com/*not a comment*/"')
    expect(slim).toContain(`// not a comment $${"{"}1 + 1} /* nor this */`)
    expect(readFileSync(join(pkg, "dist", "node_modules", "nested", "index.js"), "utf8")).toContain("// kept")

    writeFileSync(join(pkg, "dist", "copy.js"), slim)
    const stripped = await import(pathToFileURL(join(pkg, "dist", "copy.js")).href)
    expect(Object.keys(stripped).sort()).toEqual(Object.keys(original).sort())
    expect(stripped.url).toBe(original.url)
    expect(stripped.template).toBe(original.template)
    expect(String(stripped.re)).toBe(String(original.re))
    expect([stripped.pure, stripped.division, stripped.Box.secret(), new stripped.Box().value]).toEqual([42, 1, "s", 1])
    expect(stripped.asi()).toBe(1)
  })

  it("slims a copy of effect: fewer bytes, the same exports", async () => {
    const copy = join(work, "effect-copy", "node_modules", "effect")
    cpSync(join(root, "node_modules/effect"), copy, { recursive: true })
    const files = javaScriptFiles(copy).length
    const result = slimModules([copy], tsc)
    expect(result.files).toBe(files)
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore * 0.8)
    const slim = await import(pathToFileURL(join(copy, "dist/Schema.js")).href)
    const original = await import("effect/Schema")
    expect(Object.keys(slim).sort()).toEqual(Object.keys(original).sort())
    expect(slim.decodeUnknownSync(slim.Struct({ a: slim.Number }))({ a: 1 })).toEqual({ a: 1 })
  })

  it("runs in the image's build stage on the packages start loads, before the dev dependencies go", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8").replace(/\\\n/g, " ")
    expect(dockerfile).toMatch(/^COPY docker\/slim-modules\.ts docker\/$/m)
    const run = dockerfile.match(/npm run build\s+&& node docker\/slim-modules\.ts ([^&]+)&& npm prune --omit=dev/)
    expect(run?.[1]?.trim().split(/\s+/)).toEqual([
      "node_modules/effect",
      "node_modules/@effect/platform-node",
      "node_modules/@effect/platform-node-shared"
    ])
  })
})
