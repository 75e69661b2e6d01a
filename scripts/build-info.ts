// Writes dist/build-info.json with the commit the build came from (GIT_COMMIT, else git).
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"

const fromGit = (): string => {
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { encoding: "utf8", stdio: "pipe" }).trim()
  } catch {
    return ""
  }
}

const commit = process.env.GIT_COMMIT?.trim() || fromGit()
Fs.mkdirSync("dist", { recursive: true })
Fs.writeFileSync("dist/build-info.json", `${JSON.stringify({ commit })}\n`)
