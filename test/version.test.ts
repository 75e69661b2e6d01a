// The version node agents read from GET /version (contract §1.5: the Go `version.Version`
// struct, capitalised keys) and gate features on (§1.6: Major 7, Minor >= 55 for the bulk pod
// endpoint). The version comes from package.json.
import * as Fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { parseVersion, version, versionString } from "../src/version.ts"

const packageJson = JSON.parse(Fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string
}

describe("parseVersion", () => {
  it.each([
    ["7.72.0", { Major: 7, Minor: 72, Patch: 0, Pre: "", Meta: "" }],
    ["7.60.1-rc.2", { Major: 7, Minor: 60, Patch: 1, Pre: "rc.2", Meta: "" }],
    ["7.60.1+git.42.abc", { Major: 7, Minor: 60, Patch: 1, Pre: "", Meta: "git.42.abc" }],
    ["7.72.0-rc.1+meta", { Major: 7, Minor: 72, Patch: 0, Pre: "rc.1", Meta: "meta" }],
    ["10.200.3000-beta-1+a.b-c", { Major: 10, Minor: 200, Patch: 3000, Pre: "beta-1", Meta: "a.b-c" }],
    ["0.0.0", { Major: 0, Minor: 0, Patch: 0, Pre: "", Meta: "" }]
  ])("%s", (text, expected) => {
    expect(parseVersion(text, "a1b2c3d")).toEqual({ ...expected, Commit: "a1b2c3d" })
  })

  it.each(["", "7", "7.72", "7.72.0.1", "v7.72.0", "7.x.0", " 7.72.0", "7.72.0 ", "7.-1.0"])(
    "%j is refused",
    (text) => {
      expect(() => parseVersion(text, "")).toThrow(/is not semver/)
    }
  )

  it("keys are those of Go's version.Version, in its field order", () => {
    expect(Object.keys(parseVersion("7.1.2", "c"))).toEqual(["Major", "Minor", "Patch", "Pre", "Meta", "Commit"])
  })
})

describe("versionString", () => {
  it("writes `-pre` and `+meta` only when present", () => {
    const base = { Major: 7, Minor: 72, Patch: 0, Pre: "", Meta: "", Commit: "x" }
    expect(versionString(base)).toBe("7.72.0")
    expect(versionString({ ...base, Pre: "rc.1" })).toBe("7.72.0-rc.1")
    expect(versionString({ ...base, Meta: "m" })).toBe("7.72.0+m")
    expect(versionString({ ...base, Pre: "rc.1", Meta: "m" })).toBe("7.72.0-rc.1+m")
  })

  it("round-trips with parseVersion for any semver text", () => {
    const ident = fc.stringMatching(/^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/)
    const semver = fc
      .tuple(
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 10_000 }),
        fc.nat({ max: 10_000 }),
        fc.option(ident),
        fc.option(ident)
      )
      .map(([a, b, c, pre, meta]) => `${a}.${b}.${c}${pre === null ? "" : `-${pre}`}${meta === null ? "" : `+${meta}`}`)
    fc.assert(
      fc.property(semver, fc.stringMatching(/^[0-9a-f]{0,40}$/), (text, commit) => {
        const v = parseVersion(text, commit)
        expect(versionString(v)).toBe(text)
        expect(v.Commit).toBe(commit)
      })
    )
  })
})

describe("version", () => {
  it("is package.json's version", () => {
    expect(versionString(version)).toBe(packageJson.version)
    expect(versionString()).toBe(packageJson.version)
  })

  it("selects the node agents' newest code paths: Major 7 and Minor >= 55 (contract §1.6)", () => {
    expect(version.Major).toBe(7)
    expect(version.Minor).toBeGreaterThanOrEqual(55)
  })

  it("serialises to the /version JSON shape", () => {
    const json = JSON.parse(JSON.stringify(version)) as Record<string, unknown>
    expect(Object.keys(json)).toEqual(["Major", "Minor", "Patch", "Pre", "Meta", "Commit"])
    for (const k of ["Major", "Minor", "Patch"]) expect(Number.isInteger(json[k])).toBe(true)
    for (const k of ["Pre", "Meta", "Commit"]) expect(typeof json[k]).toBe("string")
  })
})
