// The shipped build, run for real. The other tests run src/main.ts; the image runs dist/, the
// bundle `npm run build` makes (scripts/bundle.ts) with node_modules cut down to the bundle's
// externals (docker/runtime-modules.ts). Here the same steps run in a temporary directory laid
// out like the image's /opt/datadog-agent, and the bundled agent is started from it: a bad
// configuration fails fast with the expected line, and against the real control plane (a
// kubeconfig, so client-node is imported from that node_modules) it serves /metrics and the
// probes until SIGTERM. A preload records every file the process loads, so the test also sees
// that what `start` does not take (the CLI) stays unloaded, and that nothing but the externals
// comes from node_modules.
import { type ChildProcess, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { isBuiltin } from "node:module"
import { tmpdir } from "node:os"
import { basename, join, relative, sep } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawnCollected } from "../../dev/childProcess.ts"
import { freePorts } from "../../dev/controlPlane/ports.ts"
import { pruneToRuntime, runtimeClosure, stripBuildOnlyFiles } from "../../docker/runtime-modules.ts"
import { type BundleResult, bundle, external } from "../../scripts/bundle.ts"
import { baseEnv, jsonLines } from "../support/agentProcess.ts"
import { clusterAvailable, useCluster } from "../support/cluster.ts"
import { parsePrometheus, sampleValue } from "../support/prometheus.ts"
import { waitFor } from "../support/waitFor.ts"

const repo = fileURLToPath(new URL("../../", import.meta.url))
const apiKey = "0123456789abcdef0123456789abcdef"

/** tsc's output, beside a link to the repository's node_modules, which the bundler reads. */
let build: string
/** The image's /opt/datadog-agent, apart: Node must find nothing above it but what the image has. */
let work: string
let image: string
let bundled: BundleResult

beforeAll(async () => {
  build = mkdtempSync(join(tmpdir(), "dca-bundled-build-"))
  symlinkSync(join(repo, "node_modules"), join(build, "node_modules"))
  work = mkdtempSync(join(tmpdir(), "dca-bundled-"))
  image = join(work, "opt/datadog-agent")
  // tsc as `npm run build` runs it. It emits even when a file elsewhere in src/ does not
  // type-check (that is the typecheck's job); the bundle needs main.js.
  const tsc = spawnSync(
    process.execPath,
    [
      join(repo, "node_modules/typescript/bin/tsc"),
      "-p",
      join(repo, "tsconfig.build.json"),
      "--outDir",
      join(build, "build")
    ],
    { encoding: "utf8" }
  )
  if (!existsSync(join(build, "build/main.js"))) throw new Error(`tsc wrote no main.js:\n${tsc.stdout}${tsc.stderr}`)
  bundled = await bundle(join(build, "build"), join(image, "dist"))
  cpSync(join(repo, "package.json"), join(image, "package.json"))
  // The image's node_modules: the packages the externals need, copied (so that nothing resolves
  // from the repository's node_modules), then pruned as the Dockerfile prunes.
  for (const dir of runtimeClosure(join(repo, "node_modules"), external)) {
    const top = relative(join(repo, "node_modules"), dir).split(`${sep}node_modules${sep}`)[0] as string
    if (!existsSync(join(image, "node_modules", top)))
      cpSync(join(repo, "node_modules", top), join(image, "node_modules", top), { recursive: true })
  }
  expect(pruneToRuntime(join(image, "node_modules")).removed).toEqual([])
  expect(stripBuildOnlyFiles(join(image, "node_modules")).files).toBeGreaterThan(0)
}, 180_000)

afterAll(() => {
  for (const dir of [build, work]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

/** A preload that writes every URL the process loads to `out`, on exit (and on SIGUSR2). */
const loadList = (out: string): string => {
  const file = join(work, `loads-${basename(out)}.mjs`)
  writeFileSync(
    file,
    `import { registerHooks } from "node:module"
import { writeFileSync } from "node:fs"
const seen = []
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context) } })
process.on("exit", () => writeFileSync(${JSON.stringify(out)}, seen.join("\\n")))
`
  )
  return file
}

interface Run {
  readonly child: ChildProcess
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string; loaded: ReadonlyArray<string> }>
}

/** Runs `node <image>/dist/main.js ...args` from the image's directory, with exactly `env` (and PATH, HOME). */
const runBundled = (name: string, args: ReadonlyArray<string>, env: Record<string, string>): Run => {
  const list = join(work, `${name}.loaded`)
  const { child, exited } = spawnCollected(
    process.execPath,
    ["--import", pathToFileURL(loadList(list)).href, join(image, "dist/main.js"), ...args],
    { cwd: image, env: { ...baseEnv(), ...env } }
  )
  return {
    child,
    exited: exited.then(({ code, stdout, stderr }) => ({
      code,
      stdout,
      stderr,
      loaded: existsSync(list)
        ? readFileSync(list, "utf8")
            .split("\n")
            .filter((l) => l !== "")
        : []
    }))
  }
}

/** The loaded files by where they come from: the bundle's files by name, packages by name. */
const origins = (loaded: ReadonlyArray<string>) => {
  const dist = pathToFileURL(join(image, "dist")).href
  const nodeModules = pathToFileURL(join(image, "node_modules")).href
  const files = loaded.filter((u) => u.startsWith(dist)).map((u) => u.slice(dist.length + 1))
  const packages = new Set(
    loaded
      .filter((u) => u.startsWith(nodeModules))
      .map((u) => (u.slice(nodeModules.length + 1).match(/^(@[^/]+\/[^/]+|[^/]+)/)?.[1] as string) ?? u)
  )
  const elsewhere = loaded.filter((u) => !u.startsWith(dist) && !u.startsWith(nodeModules) && !u.startsWith("node:"))
  return { files, packages: [...packages].sort(), elsewhere }
}

/** Chunks of the CLI: `start` in the image must not load them. */
const cliChunk = /^(root|Command|NodeServices|Terminal)-/

describe("the bundled agent (the image's dist/ and node_modules)", () => {
  it("is main.js and its chunks, leaving only the declared externals to node_modules", () => {
    expect(bundled.files).toContain("main.js")
    expect(bundled.files.some((f) => cliChunk.test(f))).toBe(true)
    // Node's builtins imported without `node:` (fflate's `import { createRequire } from "module"`)
    // are not packages: the image needs nothing for them.
    for (const id of bundled.externalImports) if (!isBuiltin(id)) expect(external).toContain(id)
    expect(readFileSync(join(image, "dist/main.js"), "utf8")).toMatch(/^#!\/usr\/bin\/env node\n/)
    expect(existsSync(join(image, "node_modules/effect"))).toBe(false)
  })

  it("`version` runs the CLI chunk", async () => {
    const r = await runBundled("version", ["version"], {}).exited
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Cluster Agent v7\.\d+\.\d+ - Commit: \S+ - Node\.js v\d+/)
  })

  it("`start` with a bad configuration says which variable and exits 1, without loading the CLI", async () => {
    const r = await runBundled("bad-config", ["start"], { DD_API_KEY: apiKey, DD_METRICS_PORT: "http" }).exited
    expect(r.code).toBe(1)
    expect(jsonLines(r.stdout).map((l) => [l.level, l.message])).toEqual([
      ["ERROR", 'configuration error: DD_METRICS_PORT: invalid value "http": must be a port number from 1 to 65535']
    ])
    const { files, packages, elsewhere } = origins(r.loaded)
    expect(files).toContain("main.js")
    expect(files.filter((f) => cliChunk.test(f))).toEqual([])
    expect(packages).toEqual([])
    expect(elsewhere).toEqual([])
  })

  describe.runIf(clusterAvailable)("against the real control plane", () => {
    const cluster = useCluster()

    it("serves /metrics and the probes until SIGTERM, then exits 0", async () => {
      const [cmdPort, metricsPort, healthPort] = await freePorts(3)
      const tokens = join(work, "tokens")
      mkdirSync(tokens, { recursive: true })
      const agent = runBundled("start", ["start"], {
        DD_API_KEY: apiKey,
        DD_CLUSTER_AGENT_CMD_PORT: String(cmdPort),
        DD_METRICS_PORT: String(metricsPort),
        DD_HEALTH_PORT: String(healthPort),
        DD_AUTH_TOKEN_FILE_PATH: join(tokens, "auth_token"),
        DD_KUBERNETES_KUBECONFIG_PATH: cluster.kubeconfigPath
      })
      try {
        const ready = await waitFor(
          async () => {
            const res = await fetch(`http://127.0.0.1:${healthPort}/ready`)
            return res.status === 200
              ? ((await res.json()) as { Healthy: Array<string>; Unhealthy: Array<string> })
              : undefined
          },
          { what: "/ready to answer 200", timeoutMs: 30_000 }
        )
        expect(ready.Healthy).toEqual(expect.arrayContaining(["apiserver", "cluster-agent"]))
        expect(ready.Unhealthy).toEqual([])
        const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
        expect(metrics.status).toBe(200)
        expect(sampleValue(parsePrometheus(await metrics.text()), "process_resident_memory_bytes")).toBeGreaterThan(0)
      } finally {
        agent.child.kill("SIGTERM")
      }
      const done = await agent.exited
      expect(done.code).toBe(0)
      const messages = jsonLines(done.stdout).map((l) => l.message)
      expect(messages).toContain("cluster agent started")
      expect(messages).toContain("stopping cluster agent")
      // The kubeconfig was read by client-node, imported from the image's node_modules; the CLI
      // chunks stayed unloaded, and nothing came from outside the image.
      const { files, packages, elsewhere } = origins(done.loaded)
      expect(packages).toContain("@kubernetes/client-node")
      expect(packages).not.toContain("effect")
      expect(files.filter((f) => cliChunk.test(f))).toEqual([])
      expect(elsewhere).toEqual([])
    })
  })
})

describe("the image builds what this test runs", () => {
  const dockerfile = readFileSync(join(repo, "Dockerfile"), "utf8").replace(/\\\n/g, " ")
  const buildStage = dockerfile.slice(0, dockerfile.lastIndexOf("\nFROM "))
  const scripts = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts

  it("`npm run build` is tsc, then the bundle into dist/, then the build info", () => {
    expect(scripts.build).toBe("tsc -p tsconfig.build.json && node scripts/bundle.ts && node scripts/build-info.ts")
    expect(scripts.start).toBe("node dist/main.js start")
  })

  it("the build stage builds, prunes, then keeps only the bundle's externals in node_modules", () => {
    expect(buildStage).toMatch(
      /npm run build\s+&& npm prune --omit=dev\s+&& node docker\/runtime-modules\.ts node_modules/
    )
    for (const file of ["scripts/bundle.ts", "docker/runtime-modules.ts", "tsconfig.build.json"])
      expect(buildStage).toContain(file.split("/").pop() as string)
  })
})
