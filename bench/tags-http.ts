// The command-port benchmark of issue 4: GET /api/v1/tags/pod/{node} over TLS keep-alive.
//   node bench/tags-http.ts [--runs 3] [--rate 2000] [--seconds 15] [--connections 20]
// For each run and each server (ours, then bare node:https returning the same bytes, each in
// its own process): a fixed-rate phase at --rate requests/s from an open-loop generator
// (latency percentiles from when each request was due, errors), then a saturation phase with
// autocannon (maximum requests/s over the same number of connections). Prints medians and the
// ratio ours/bare, measured in the same run because the machine is shared and noisy.
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"
import autocannon from "autocannon"
import { openLoop } from "./open-loop.ts"
import { benchToken } from "./tags-shared.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : Number(process.argv[i + 1])
}
const runs = arg("runs", 3)
const rate = arg("rate", 2000)
const seconds = arg("seconds", 15)
const connections = arg("connections", 20)

interface Started {
  readonly child: ChildProcess
  readonly port: number
  readonly path: string
  readonly bytes: number
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const address = s.address()
      s.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

const startServer = (kind: "ours" | "bare") =>
  new Promise<Started>((resolve, reject) => {
    const script = fileURLToPath(new URL("./tags-server.ts", import.meta.url))
    void freePort().then((port) => {
      // Servers get the second core to themselves when `taskset` exists (run the driver with
      // `taskset -c 0`), so the load generator does not steal the server's CPU.
      const pinned = process.env.BENCH_SERVER_CPU
      const [command, args] =
        pinned === undefined
          ? [process.execPath, [script, kind]]
          : ["taskset", ["-c", pinned, process.execPath, script, kind]]
      const child = spawn(command, args, {
        env: { ...process.env, BENCH_PORT: String(port) },
        stdio: ["ignore", "pipe", "inherit"]
      })
      let out = ""
      child.stdout?.setEncoding("utf8").on("data", (d: string) => {
        out += d
        const line = out.split("\n").find((l) => l.startsWith("{"))
        if (line !== undefined)
          resolve({ child, ...(JSON.parse(line) as { port: number; path: string; bytes: number }) })
      })
      child.on("exit", (code) => reject(new Error(`${kind} server exited with ${code}`)))
    })
  })

const load = (server: Started, options: Partial<autocannon.Options>) =>
  autocannon({
    url: `https://127.0.0.1:${server.port}${server.path}`,
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${benchToken}`, "x-real-ip": "" },
    ...options
  })

interface RunResult {
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly errors: number
  readonly non2xx: number
  readonly sent: number
  readonly saturated: number
}

const measure = async (kind: "ours" | "bare"): Promise<RunResult> => {
  const server = await startServer(kind)
  try {
    await load(server, { duration: 3 }) // warm-up: JIT, TLS sessions
    const fixed = await openLoop({
      url: `https://127.0.0.1:${server.port}${server.path}`,
      headers: { authorization: `Bearer ${benchToken}`, "x-real-ip": "" },
      rate,
      seconds,
      connections
    })
    const max = await load(server, {})
    return {
      p50: fixed.p50,
      p99: fixed.p99,
      max: fixed.max,
      errors: fixed.errors + max.errors + max.timeouts,
      non2xx: max.non2xx,
      sent: fixed.sent,
      saturated: max.requests.average
    }
  } finally {
    server.child.kill("SIGTERM")
  }
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? Number.NaN
}

const results: Record<"ours" | "bare", Array<RunResult>> = { ours: [], bare: [] }
for (let i = 0; i < runs; i++) {
  for (const kind of ["ours", "bare"] as const) {
    const r = await measure(kind)
    results[kind].push(r)
    console.log(`run ${i + 1} ${kind}: ${JSON.stringify(r)}`)
  }
}

const summary = (kind: "ours" | "bare") => {
  const rs = results[kind]
  return {
    p50: median(rs.map((r) => r.p50)),
    p99: median(rs.map((r) => r.p99)),
    errors: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    saturated: median(rs.map((r) => r.saturated))
  }
}
const ours = summary("ours")
const bare = summary("bare")
console.log(`\n${runs} runs, ${rate} req/s for ${seconds} s over ${connections} keep-alive TLS connections; medians:`)
console.log("| server | p50 ms | p99 ms | errors + non-2xx | saturated req/s |")
console.log("|---|---|---|---|---|")
for (const [name, s] of [
  ["ours (NodeAgentApi)", ours],
  ["bare node:https", bare]
] as const) {
  console.log(`| ${name} | ${s.p50} | ${s.p99} | ${s.errors} | ${Math.round(s.saturated)} |`)
}
console.log(`\nthroughput ratio ours/bare: ${(ours.saturated / bare.saturated).toFixed(2)}`)
