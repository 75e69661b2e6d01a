// The flare archive as the original lays it out (`dda: comp/core/flare/helpers/builder.go`): a zip
// named `datadog-agent-<UTC RFC 3339, ':' as '-'>-<log level>.zip` in the OS temporary directory,
// every entry under a folder named after the host. Every file passes through the scrubber (YAML
// mode for names holding `.yaml`) — logs too, which the original copies unscrubbed. The zip is
// written by fflate, created in a private directory (0700) and moved next to it once complete, mode
// 0600, so other users never read a flare, nor a half-written one.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { strToU8, type Zippable, zipSync } from "fflate"
import type { Scrubber } from "./scrubber.ts"

export interface FlareFile {
  /** Path inside the host folder, `/`-separated. */
  readonly name: string
  readonly content: string
}

/** Pure: the host folder's name (`CleanHostnameDir`): runs of other characters as `_`, 32 at most. */
export const hostnameDir = (hostname: string): string => {
  const cleaned = hostname.replace(/[^a-zA-Z0-9_-]+/g, "_").slice(0, 32)
  return cleaned === "" ? "unknown" : cleaned
}

/** Pure: the archive's file name at `now` (UTC, to the second). */
export const archiveName = (now: Date, logLevel?: string): string => {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replaceAll(":", "-")
  return `datadog-agent-${stamp}${logLevel === undefined || logLevel === "" ? "" : `-${logLevel}`}.zip`
}

/** Pure: the zip bytes of the scrubbed files under `folder`. */
export const zipFlare = (
  folder: string,
  files: ReadonlyArray<FlareFile>,
  scrubber: Scrubber,
  mtime: Date
): Uint8Array => {
  const entries: Zippable = {}
  for (const file of files) {
    entries[`${folder}/${file.name}`] = strToU8(scrubber.file(file.name, file.content))
  }
  return zipSync(entries, { level: 6, mtime })
}

/** Writes `bytes` as `<dir>/<name>` (mode 0600) through a private temporary directory; returns the path. */
export const writeArchive = (dir: string, name: string, bytes: Uint8Array): string => {
  const work = Fs.mkdtempSync(Path.join(dir, "dca-flare-"))
  try {
    const tmp = Path.join(work, name)
    Fs.writeFileSync(tmp, bytes, { mode: 0o600 })
    const final = Path.join(dir, name)
    Fs.renameSync(tmp, final)
    return final
  } finally {
    Fs.rmSync(work, { recursive: true, force: true })
  }
}

/** The OS temporary directory (TMPDIR), where the original leaves its archives. */
export const archiveDir = (): string => Os.tmpdir()
