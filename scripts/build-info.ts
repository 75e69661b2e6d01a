// After the bundle (scripts/bundle.ts): writes dist/build-info.json with the commit the build came
// from (GIT_COMMIT, else git) and makes the entry point executable.
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
// The bin entry: runnable as ./dist/main.js (npm sets this on install; a plain build does not).
Fs.chmodSync("dist/main.js", 0o755)
