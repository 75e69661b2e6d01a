/** The fake Datadog API as its own process (`npm run fake-datadog`, dev/fakeDatadog/main.ts). */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"

const REPO = fileURLToPath(new URL("../..", import.meta.url))
const MAIN = "dev/fakeDatadog/main.ts"

interface Running {
  readonly child: ChildProcess
  /** Resolves with the first stdout line matching `pattern` (already printed or still to come). */
  readonly line: (pattern: RegExp, timeoutMs?: number) => Promise<string>
  readonly output: () => string
}

const running: ChildProcess[] = []

const start = (args: ReadonlyArray<string>): Running => {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] })
  running.push(child)
  let out = ""
  const waiters = new Set<() => void>()
  child.stdout?.setEncoding("utf8")
  child.stdout?.on("data", (chunk: string) => {
    out += chunk
    for (const check of [...waiters]) check()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    out += chunk.toString()
  })
  const line = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = out.split("\n").find((l) => pattern.test(l))
        if (found === undefined) return
        waiters.delete(check)
        clearTimeout(timer)
        resolve(found)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${out}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  return { child, line, output: () => out }
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
})

describe("fake-datadog process", () => {
  it("prints its URL, answers, logs one line per request, lists them at /fake/requests, stops on SIGTERM", async () => {
    const proc = start(["--port", "0", "--api-key", "good-key-1234"])
    const urlLine = await proc.line(/listening on http:\/\//)
    const url = urlLine.replace(/^.*listening on /, "").trim()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)

    const ok = await fetch(`${url}/api/v1/validate`, { headers: { "DD-API-KEY": "good-key-1234" } })
    expect(await ok.json()).toEqual({ valid: true })
    const refused = await fetch(`${url}/api/v1/validate`, { headers: { "DD-API-KEY": "other" } })
    expect(refused.status).toBe(403)
    const posted = await fetch(`${url}/api/v1/events`, {
      method: "POST",
      headers: { "DD-API-KEY": "good-key-1234", "content-type": "application/json" },
      body: JSON.stringify({ title: "hello", text: "world" })
    })
    expect(posted.status).toBe(202)

    await proc.line(/ GET \/api\/v1\/validate 200$/)
    await proc.line(/ GET \/api\/v1\/validate 403$/)
    expect(await proc.line(/ POST \/api\/v1\/events 202/)).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z POST \/api\/v1\/events 202 "hello"$/
    )
    expect(proc.output()).not.toContain("good-key-1234")

    const listed = (await (await fetch(`${url}/fake/requests`)).json()) as Array<{
      path: string
      status: number
      headers: Record<string, string>
    }>
    expect(listed.map((r) => [r.path, r.status])).toEqual([
      ["/api/v1/validate", 200],
      ["/api/v1/validate", 403],
      ["/api/v1/events", 202]
    ])
    expect(listed[0]?.headers["dd-api-key"]).toBe("***1234")

    const exited = once(proc.child, "exit")
    proc.child.kill("SIGTERM")
    const [code, signal] = await exited
    expect([code, signal]).toEqual([0, null])
    expect(proc.output()).toContain("SIGTERM: stopping")
    await expect(fetch(`${url}/api/v1/validate`)).rejects.toThrow(TypeError)
  })

  it("stops on SIGINT too", async () => {
    const proc = start([])
    await proc.line(/listening on/)
    const exited = once(proc.child, "exit")
    proc.child.kill("SIGINT")
    expect(await exited).toEqual([0, null])
  })

  it("refuses a bad --port with exit code 2", () => {
    const result = spawnSync(process.execPath, [MAIN, "--port", "70000"], { cwd: REPO, encoding: "utf8" })
    expect(result.status).toBe(2)
    expect(result.stderr).toContain("--port must be an integer from 0 to 65535")
  })

  it("is the npm script fake-datadog", () => {
    const result = spawnSync("npm", ["run", "--silent", "fake-datadog", "--", "--help"], {
      cwd: REPO,
      encoding: "utf8"
    })
    expect(result.status).toBe(0)
    expect(result.stdout).toContain("Usage: npm run fake-datadog -- [options]")
  })
})
