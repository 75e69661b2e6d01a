// `permissions.log`: the owner, group and mode of every file and folder the flare copied, in the
// original's table (`dda: comp/core/flare/helpers/perm_info_nix.go`), followed by the RBAC
// self-check when the agent has one: "what could it read, and what may it do" in one place.
import * as Fs from "node:fs"
import * as Os from "node:os"

export interface PermissionInfo {
  readonly path: string
  readonly mode: string
  readonly owner: string
  readonly group: string
  readonly error: string
}

/** Pure: Go's `FileMode.String()` for the common cases: type letter, then rwx triplets. */
export const modeString = (mode: number, kind: "file" | "dir" | "symlink" | "other"): string => {
  const type = kind === "dir" ? "d" : kind === "symlink" ? "L" : kind === "other" ? "?" : "-"
  let out = type
  for (const shift of [6, 3, 0]) {
    const bits = (mode >> shift) & 7
    out += `${bits & 4 ? "r" : "-"}${bits & 2 ? "w" : "-"}${bits & 1 ? "x" : "-"}`
  }
  return out
}

/** The owner as the original shows it: the user name when known (only the current user's is, here), else the id. */
const ownerName = (uid: number): string => {
  try {
    const me = Os.userInfo()
    if (me.uid === uid) return me.username
  } catch {
    // no passwd entry for the current user (containers running as a bare uid)
  }
  return String(uid)
}

export const statPermissions = (path: string): PermissionInfo => {
  try {
    const st = Fs.statSync(path)
    const kind = st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "symlink" : "other"
    return { path, mode: modeString(st.mode, kind), owner: ownerName(st.uid), group: String(st.gid), error: "" }
  } catch (e) {
    return { path, mode: "", owner: "", group: "", error: `could not stat file ${path}: ${(e as Error).message}` }
  }
}

const row = (cells: ReadonlyArray<string>) =>
  `${(cells[0] ?? "").padEnd(50)} | ${(cells[1] ?? "").padEnd(5)} | ${(cells[2] ?? "").padEnd(10)} | ${(cells[3] ?? "").padEnd(10)} | ${(cells[4] ?? "").padEnd(10)}|\n`

/** Pure: the original's table. */
export const renderPermissions = (infos: ReadonlyArray<PermissionInfo>): string => {
  const header = row(["File path", "mode", "owner", "group", "error"])
  return [
    header,
    `${"-".repeat(header.length)}\n`,
    ...infos.map((i) => row([i.path, i.mode, i.owner, i.group, i.error]))
  ].join("")
}
