// The agent's version, as node agents read it from GET /version. Node agents gate features on it:
// Major 7 with Minor >= 55 selects the bulk pod endpoint and namespace metadata (contract §1.6).
import * as Fs from "node:fs"

export interface VersionInfo {
  readonly Major: number
  readonly Minor: number
  readonly Patch: number
  readonly Pre: string
  readonly Meta: string
  readonly Commit: string
}

const readJson = (relative: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(Fs.readFileSync(new URL(relative, import.meta.url), "utf8")) as Record<string, unknown>
  } catch {
    return undefined
  }
}

/** Pure: parses `7.72.0-rc.1+meta` into the Go `version.Version` shape. */
export const parseVersion = (text: string, commit: string): VersionInfo => {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([^+]*))?(?:\+(.*))?$/.exec(text)
  if (m === null) throw new Error(`package.json version ${JSON.stringify(text)} is not semver`)
  return {
    Major: Number(m[1]),
    Minor: Number(m[2]),
    Patch: Number(m[3]),
    Pre: m[4] ?? "",
    Meta: m[5] ?? "",
    Commit: commit
  }
}

// package.json sits one level above both src/ and dist/; build-info.json is written into dist/
// by `npm run build` (the commit is unknown when running from sources).
const packageVersion = String(readJson("../package.json")?.version ?? "0.0.0")
const commit = String(readJson("./build-info.json")?.commit ?? "")

export const version: VersionInfo = parseVersion(packageVersion, commit)

export const versionString = (v: VersionInfo = version): string =>
  `${v.Major}.${v.Minor}.${v.Patch}${v.Pre === "" ? "" : `-${v.Pre}`}${v.Meta === "" ? "" : `+${v.Meta}`}`
