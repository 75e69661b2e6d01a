// Runs the sync/memory scenarios of bench/metadata-sync.ts as child processes, N rounds, each
// round measuring every variant (ours and the baseline in the same round, so ratios compare
// like with like on a noisy machine), and prints medians and ratios as a Markdown table.
//
//   node bench/run-metadata-sync.ts [--scale full|medium|small] [--runs 3]
//        [--variants ours,ours-tuned,ours-lean-tuned,ours-lean-capped,baseline,baseline-tuned,baseline-typed,empty,empty-plain,empty-baseline,empty-node,empty-node-shipped]
//        [--ts] [--baseline-heap MB] [--breakdown] [--out results.json] [--unbundled] [--agent-main dist/main.js]
//
// By default the scenario runs as JavaScript compiled by tsc into a temp dir (as the agent runs
// in production: `node dist/main.js`); `--ts` runs the .ts sources directly, which adds Node's
// type stripper (~30–40 MB of RSS) to every variant. A baseline that runs out of heap is run
// again with --max-old-space-size=16384, and the table says so.
//
// The idle floor (issue 7): `empty` is the agent as the image runs it (the Dockerfile's MALLOC_*
// and NODE_OPTIONS; the bundle that `npm run build` makes, here of the working tree: tsc's output
// bundled by scripts/bundle.ts) against an empty API server started here (bench/idle-floor.ts);
// `empty-plain` is the same without those settings; `empty-node-shipped` is Node alone with them.
// `--unbundled` runs the agent as tsc compiled it (src/main.ts, before bundling) instead;
// `--agent-main PATH` runs another build of the entry point.
import { spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { agentEnv, type EmptyApiServer, serviceAccountPreload, shippedEnv, startEmptyApiServer } from "./idle-floor.ts"
import { median } from "./stats.ts"
import { defaultDataDir, ensureDataSet, parseArgs, scaleOf } from "./synthetic.ts"

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const { flags } = parseArgs(process.argv.slice(2))
const scale = scaleOf(flags.get("scale"))
const runs = Number(flags.get("runs") ?? "3")
const seed = Number(flags.get("seed") ?? "1")

/** Deployment knobs, no code change: a capped young generation and glibc's mmap threshold pinned. */
const tunedFlags = ["--max-semi-space-size=16"]
const tunedEnv = { MALLOC_MMAP_THRESHOLD_: "131072" }

interface Variant {
  readonly name: string
  readonly scenario: string
  readonly nodeFlags: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
}
const allVariants: ReadonlyArray<Variant> = [
  { name: "ours", scenario: "ours", nodeFlags: [], env: {} },
  { name: "ours-tuned", scenario: "ours", nodeFlags: tunedFlags, env: tunedEnv },
  { name: "ours-lean-tuned", scenario: "ours-lean", nodeFlags: tunedFlags, env: tunedEnv },
  // The same with an old-space cap, which bounds the transient peak of the LISTs.
  {
    name: "ours-lean-capped",
    scenario: "ours-lean",
    nodeFlags: [...tunedFlags, "--max-old-space-size=256"],
    env: tunedEnv
  },
  { name: "baseline", scenario: "baseline", nodeFlags: [], env: {} },
  { name: "baseline-tuned", scenario: "baseline", nodeFlags: tunedFlags, env: tunedEnv },
  { name: "baseline-typed", scenario: "baseline-typed", nodeFlags: [], env: {} },
  // The agent itself against the empty API server (its environment is filled in below).
  { name: "empty", scenario: "empty", nodeFlags: [], env: shippedEnv() },
  { name: "empty-plain", scenario: "empty", nodeFlags: [], env: {} },
  { name: "empty-baseline", scenario: "empty-baseline", nodeFlags: [], env: {} },
  { name: "empty-node", scenario: "empty-node", nodeFlags: [], env: {} },
  { name: "empty-node-shipped", scenario: "empty-node", nodeFlags: [], env: shippedEnv() }
]
const wanted = (flags.get("variants") ?? allVariants.map((v) => v.name).join(",")).split(",")
const chosen = wanted.map((name) => {
  const v = allVariants.find((x) => x.name === name)
  if (v === undefined) throw new Error(`unknown variant ${name}; known: ${allVariants.map((x) => x.name).join(", ")}`)
  return v
})
// The agent variants run against one empty API server, in its own process, for the whole run.
const apiServer: EmptyApiServer | undefined = chosen.some((v) => v.scenario === "empty")
  ? await startEmptyApiServer()
  : undefined
const agentWork = mkdtempSync(join(tmpdir(), "dca-bench-agent-"))
const variants: ReadonlyArray<Variant> =
  apiServer === undefined
    ? chosen
    : await Promise.all(
        chosen.map(async (v) =>
          v.scenario !== "empty"
            ? v
            : {
                ...v,
                nodeFlags: [...v.nodeFlags, "--import", pathToFileURL(serviceAccountPreload()).href],
                env: { ...(await agentEnv(apiServer, agentWork)), ...v.env }
              }
        )
      )
const baselineHeap = flags.get("baseline-heap")

/** Compiles bench/metadata-sync.ts (and what it imports) to JavaScript; returns the entry point. */
const compile = (): string => {
  const out = join(tmpdir(), "dca-bench-js")
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  // Bare imports (effect, @kubernetes/client-node) and @types resolve from the repository's node_modules.
  symlinkSync(join(repo, "node_modules"), join(out, "node_modules"))
  const tsconfig = join(out, "tsconfig.bench.json")
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(repo, "tsconfig.json"),
      compilerOptions: { noEmit: false, outDir: out, rootDir: repo, sourceMap: false },
      files: [join(repo, "bench/metadata-sync.ts")],
      include: []
    })
  )
  const tsc = spawnSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", tsconfig], {
    encoding: "utf8"
  })
  const entry = join(out, "bench/metadata-sync.js")
  if (!existsSync(entry)) throw new Error(`tsc produced no ${entry}:\n${tsc.stdout}${tsc.stderr}`)
  if (tsc.status !== 0) console.error(`tsc reported problems (emitted anyway):\n${tsc.stdout}${tsc.stderr}`)
  return entry
}

type Result = Record<string, unknown> & {
  after?: { rssMB: number; heapUsedMB: number; maxRssMB: number }
  syncSeconds?: number
  ok?: boolean
  heapLimitMB?: number
}

/** The agent's entry point for the `empty` variants (bench/metadata-sync.ts imports it); unset: src/main.ts. */
let agentMain: string | undefined = flags.has("agent-main") ? resolve(flags.get("agent-main") as string) : undefined

const runOne = (entry: string, v: Variant, heapMB?: string): Result => {
  const args = [
    "--expose-gc",
    ...v.nodeFlags,
    ...(heapMB === undefined ? [] : [`--max-old-space-size=${heapMB}`]),
    entry,
    v.scenario,
    "--scale",
    scale,
    "--seed",
    String(seed)
  ]
  const started = performance.now()
  const child = spawnSync(process.execPath, args, {
    encoding: "utf8",
    env: {
      ...process.env,
      ...v.env,
      ...(v.scenario === "empty" && agentMain ? { DCA_BENCH_AGENT_MAIN: agentMain } : {})
    },
    maxBuffer: 64 * 1024 * 1024
  })
  const wall = (performance.now() - started) / 1000
  const line = child.stdout.split("\n").find((l) => l.startsWith("RESULT "))
  if (child.status !== 0 || line === undefined) {
    const oom = /heap out of memory|Reached heap limit/i.test(child.stderr)
    return {
      variant: v.name,
      failed: oom ? "out of heap" : `exit ${child.status}`,
      stderr: child.stderr.slice(-2000),
      wall
    }
  }
  return { variant: v.name, ...(JSON.parse(line.slice("RESULT ".length)) as Result), wall }
}

// ---------------------------------------------------------------------------------------------

const manifest = ensureDataSet(scale, seed, defaultDataDir(scale, seed))
const entry = flags.has("ts") ? join(repo, "bench/metadata-sync.ts") : compile()
/**
 * The shipped build of the compiled agent (src/main.js in the bench's tsc output), bundled as
 * `npm run build` bundles it (scripts/bundle.ts) into a tree laid out like the image's
 * /opt/datadog-agent (dist/, package.json, node_modules); returns its dist/main.js.
 */
const bundledAgent = (): string => {
  const compiled = dirname(dirname(entry))
  const tree = `${compiled}-agent`
  rmSync(tree, { recursive: true, force: true })
  // In a child: rolldown would grow this process, and a child's peak RSS starts from its parent's.
  const run = spawnSync(
    process.execPath,
    [join(repo, "scripts/bundle.ts"), "--from", join(compiled, "src"), "--out", join(tree, "dist")],
    { encoding: "utf8" }
  )
  if (run.status !== 0) throw new Error(`scripts/bundle.ts failed:\n${run.stdout}${run.stderr}`)
  cpSync(join(repo, "package.json"), join(tree, "package.json"))
  symlinkSync(join(repo, "node_modules"), join(tree, "node_modules"))
  return join(tree, "dist/main.js")
}
if (
  agentMain === undefined &&
  !flags.has("unbundled") &&
  !flags.has("ts") &&
  variants.some((v) => v.scenario === "empty")
)
  agentMain = bundledAgent()
console.error(
  `scale ${scale}: ${manifest.size.nodes} nodes, ${manifest.kinds.pods.items} pods, ${manifest.kinds.services.items} services, ${manifest.kinds.endpointslices.items} slices; pod JSON mean ${manifest.itemBytes.pods.mean} B; running ${entry}${agentMain === undefined ? "" : `; the agent: ${agentMain}`}`
)

const rounds: Array<Array<Result>> = []
for (let round = 0; round < runs; round++) {
  const results: Array<Result> = []
  // Rotate the order from round to round, so no variant always runs first (or after the heaviest).
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant)
  for (const v of order) {
    const isBaseline = v.scenario.startsWith("baseline")
    const watchesBefore = apiServer?.watches() ?? 0
    let r = runOne(entry, v, isBaseline ? baselineHeap : undefined)
    if (v.scenario === "empty" && r.failed === undefined) {
      // The agent must have listed and opened its WATCHes, or it measured a stuck agent.
      await new Promise((ok) => setTimeout(ok, 200))
      const watches = (apiServer?.watches() ?? 0) - watchesBefore
      r = { ...r, watches, ok: r.ok === true && watches > 0 }
    }
    if (r.failed === "out of heap" && isBaseline) {
      console.error(`  ${v.name}: out of heap with the default limit; again with --max-old-space-size=16384`)
      r = { ...runOne(entry, v, "16384"), retriedAfterOom: true }
    }
    console.error(
      `round ${round + 1} ${v.name}: ${r.failed ?? `rss ${r.after?.rssMB} MB, heapUsed ${r.after?.heapUsedMB} MB, peak ${r.after?.maxRssMB} MB, sync ${r.syncSeconds?.toFixed(1) ?? "-"} s, ok ${r.ok}`}`
    )
    results.push(r)
  }
  rounds.push(results)
}

let breakdown: Result | undefined
if (flags.has("breakdown")) {
  breakdown = runOne(entry, { name: "breakdown", scenario: "breakdown", nodeFlags: ["--no-flush-bytecode"], env: {} })
  console.error(`breakdown: ${JSON.stringify(breakdown)}`)
}

// ---------------------------------------------------------------------------------------------
// The table: medians over rounds; ratios per round against that round's baseline, then median.

const of = (round: ReadonlyArray<Result>, name: string) => round.find((r) => r.variant === name)
const fmt = (x: number, digits = 1) => (Number.isNaN(x) ? "–" : x.toFixed(digits))
const rows = variants.map((v) => {
  const rs = rounds.map((round) => of(round, v.name)).filter((r): r is Result => r?.after !== undefined)
  const ratio = (against: string) =>
    median(
      rounds.flatMap((round) => {
        const mine = of(round, v.name)?.after?.rssMB
        const base = of(round, against)?.after?.rssMB
        return mine === undefined || base === undefined ? [] : [mine / base]
      })
    )
  const failed = rounds.map((round) => of(round, v.name)?.failed).find((f) => f !== undefined)
  const retried = rounds.some((round) => of(round, v.name)?.retriedAfterOom === true)
  return {
    variant: v.name,
    runs: rs.length,
    rssMB: median(rs.map((r) => r.after?.rssMB ?? Number.NaN)),
    heapUsedMB: median(rs.map((r) => r.after?.heapUsedMB ?? Number.NaN)),
    peakRssMB: median(rs.map((r) => r.after?.maxRssMB ?? Number.NaN)),
    syncSeconds: median(rs.filter((r) => r.syncSeconds !== undefined).map((r) => r.syncSeconds as number)),
    vsBaseline: ratio("baseline"),
    vsBaselineTuned: ratio("baseline-tuned"),
    vsEmptyNode: ratio("empty-node"),
    heapLimitMB: median(rs.map((r) => r.heapLimitMB ?? Number.NaN)),
    ok: rs.every((r) => r.ok === true) && failed === undefined,
    note: [failed, retried ? "retried with a 16 GB heap after running out" : undefined].filter(Boolean).join("; ")
  }
})

const header =
  "| variant | runs | RSS after sync (MB) | heapUsed (MB) | peak RSS (MB) | sync (s) | RSS ÷ baseline | RSS ÷ baseline-tuned | RSS ÷ empty-node | heap limit (MB) | checks |"
console.log(
  `\nscale ${scale}, ${runs} rounds, medians (${flags.has("ts") ? "TypeScript sources" : "compiled JavaScript"})\n`
)
console.log(header)
console.log(
  `|${header
    .split("|")
    .slice(1, -1)
    .map(() => "---")
    .join("|")}|`
)
for (const r of rows) {
  console.log(
    `| ${r.variant} | ${r.runs} | ${fmt(r.rssMB)} | ${fmt(r.heapUsedMB)} | ${fmt(r.peakRssMB)} | ${fmt(r.syncSeconds)} | ${fmt(r.vsBaseline, 3)} | ${fmt(r.vsBaselineTuned, 3)} | ${fmt(r.vsEmptyNode, 2)} | ${fmt(r.heapLimitMB, 0)} | ${r.ok ? "ok" : "FAILED"}${r.note === "" ? "" : ` (${r.note})`} |`
  )
}

apiServer?.stop()
rmSync(agentWork, { recursive: true, force: true })

const out = flags.get("out") ?? join(tmpdir(), `dca-bench-metadata-sync-${scale}-${Date.now()}.json`)
writeFileSync(out, JSON.stringify({ scale, seed, runs, manifest, rows, rounds, breakdown }, null, 2))
console.log(`\nall results: ${out}`)
