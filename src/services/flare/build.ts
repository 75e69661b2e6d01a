// Builds a flare archive from its sources: what the running agent knows (status, metadata map,
// recent logs, the external metrics provider, the RBAC self-check) or, for a local flare made by
// the CLI while the agent is down, what can be read from the outside (configuration, conf.d,
// environment). A source that fails costs its file only: the reason goes to
// `flare_creation.log`, as with the original. Loaded only when a flare is made (it brings the zip
// library and the YAML parser), from the agent's `POST /flare` and from the CLI.
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { renderConfig } from "../../cli/configText.ts"
import type { ClusterAgentConfigShape, Env } from "../../layers/Config.ts"
import { nodeHttp } from "../../lib/builtins.ts"
import { archiveDir, archiveName, type FlareFile, hostnameDir, writeArchive, zipFlare } from "./archive.ts"
import { renderEnvVars } from "./envvars.ts"
import { FlareError } from "./FlareError.ts"
import { type PermissionInfo, renderPermissions, statPermissions } from "./permissions.ts"
import { makeScrubber } from "./scrubber.ts"
import type { KnownSecret } from "./secrets.ts"

/** Where each file of the archive comes from; absent sources are left out. */
export interface FlareSources {
  /** A local flare (made by the CLI): adds the empty `local` marker, as the original does. */
  readonly local: boolean
  readonly config: ClusterAgentConfigShape
  /** The environment the configuration was read from (for `envvars.log`). */
  readonly env: Env
  /** Secrets scrubbed by value, whatever their format (tokens, keys). */
  readonly secrets: ReadonlyArray<KnownSecret>
  readonly status?: Effect.Effect<string, Error> | undefined
  readonly metamap?: Effect.Effect<string, Error> | undefined
  readonly logs?: Effect.Effect<ReadonlyArray<string>, Error> | undefined
  readonly telemetry?: Effect.Effect<string, Error> | undefined
  /** Undefined content: the provider is off (no file, as the original). */
  readonly customMetrics?: Effect.Effect<string | undefined, Error> | undefined
  readonly rbac?: Effect.Effect<string, Error> | undefined
  /** Where the archive goes; default the OS temporary directory. */
  readonly dir?: string | undefined
}

/** The archive's files, by name, in the order they are written; for documentation and tests. */
export const flareFileNames = {
  local: "local",
  status: "cluster-agent-status.log",
  metamap: "cluster-agent-metadatamapper.log",
  config: "etc/datadog-cluster-agent-config.log",
  confd: "etc/confd/",
  envvars: "envvars.log",
  logs: "logs/cluster-agent.log",
  telemetry: "telemetry.log",
  customMetrics: "custommetricsprovider.log",
  permissions: "permissions.log",
  creation: "flare_creation.log"
} as const

/** How long one source may take before its file is given up. */
const sourceTimeout = Duration.seconds(15)

const yamlFile = /\.ya?ml/i

/** Whether conf.d's `path` is copied: YAML by its extension or the one before it, `.example` skipped. */
export const isConfdFile = (path: string): boolean => {
  const ext = Path.extname(path)
  if (ext === ".example") return false
  const first = Path.extname(path.slice(0, path.length - ext.length))
  return yamlFile.test(ext) || yamlFile.test(first)
}

interface Confd {
  readonly files: ReadonlyArray<FlareFile>
  readonly permissions: ReadonlyArray<PermissionInfo>
  readonly errors: ReadonlyArray<string>
}

/**
 * The YAML files of conf.d, under `etc/confd/`. Folders starting with `..` (the timestamped copies
 * of a mounted ConfigMap) are skipped, as the image's entrypoint skips them: their files are the
 * ones the links at the top point at.
 */
export const readConfd = (root: string): Confd => {
  const files: Array<FlareFile> = []
  const permissions: Array<PermissionInfo> = [statPermissions(root)]
  const errors: Array<string> = []
  const walk = (dir: string) => {
    let entries: Array<Fs.Dirent>
    try {
      entries = Fs.readdirSync(dir, { withFileTypes: true })
    } catch (e) {
      errors.push(`error walking dir '${dir}': ${(e as Error).message}`)
      return
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = Path.join(dir, entry.name)
      if (entry.isDirectory()) {
        if (!entry.name.startsWith("..")) walk(path)
        continue
      }
      if (!(entry.isFile() || entry.isSymbolicLink()) || !isConfdFile(path)) continue
      const relative = Path.relative(root, path).split(Path.sep).join("/")
      try {
        if (!Fs.statSync(path).isFile()) continue
        files.push({ name: `${flareFileNames.confd}${relative}`, content: Fs.readFileSync(path, "utf8") })
        permissions.push(statPermissions(path))
      } catch (e) {
        errors.push(
          `error reading file '${path}' to be copy to '${flareFileNames.confd}${relative}': ${(e as Error).message}`
        )
      }
    }
  }
  walk(root)
  return { files, permissions, errors }
}

/** GET `http://127.0.0.1:<port>/metrics`, as the original's `telemetry.log` does. */
export const fetchTelemetry = (port: number): Effect.Effect<string, Error> =>
  Effect.callback<string, Error>((resume, signal) => {
    const req = nodeHttp().get({ host: "127.0.0.1", port, path: "/metrics", signal, timeout: 5_000 }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (d: string) => {
        body += d
      })
      res.on("end", () =>
        resume(
          res.statusCode === 200
            ? Effect.succeed(body)
            : Effect.fail(new Error(`GET /metrics on port ${port}: HTTP ${res.statusCode}`))
        )
      )
    })
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")))
    req.on("error", (e) => {
      if (!signal.aborted) resume(Effect.fail(new Error(`GET http://127.0.0.1:${port}/metrics: ${e.message}`)))
    })
  })

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Collects every file, builds the zip and writes it; resolves with the archive's path. */
export const buildFlare = Effect.fn("Flare.build")(function* (sources: FlareSources) {
  const now = new Date(yield* Clock.currentTimeMillis)
  const files: Array<FlareFile> = []
  const errors: Array<string> = []
  const { config } = sources

  /** Runs one source; a failure (or a source taking too long) is written to flare_creation.log. */
  const collect = <A>(name: string, source: Effect.Effect<A, Error> | undefined) =>
    source === undefined
      ? Effect.succeed(undefined)
      : source.pipe(
          Effect.timeoutOrElse({
            duration: sourceTimeout,
            orElse: () => Effect.fail(new Error(`no answer within ${Duration.format(sourceTimeout)}`))
          }),
          Effect.catchCause((cause) =>
            Effect.sync(() => {
              errors.push(`error collecting data for '${name}': ${describe(Cause.squash(cause))}`)
              return undefined
            })
          )
        )

  if (sources.local) files.push({ name: flareFileNames.local, content: "" })
  const status = yield* collect(flareFileNames.status, sources.status)
  if (status !== undefined) files.push({ name: flareFileNames.status, content: status })
  const metamap = yield* collect(flareFileNames.metamap, sources.metamap)
  if (metamap !== undefined) files.push({ name: flareFileNames.metamap, content: metamap })

  files.push({ name: flareFileNames.config, content: `${renderConfig(config)}\n` })
  const confd = readConfd(config.confdPath)
  files.push(...confd.files)
  errors.push(...confd.errors)
  files.push({ name: flareFileNames.envvars, content: renderEnvVars(sources.env) })

  const logs = yield* collect(flareFileNames.logs, sources.logs)
  if (logs !== undefined) files.push({ name: flareFileNames.logs, content: logs.map((l) => `${l}\n`).join("") })
  const telemetry = yield* collect(flareFileNames.telemetry, sources.telemetry)
  if (telemetry !== undefined) files.push({ name: flareFileNames.telemetry, content: telemetry })
  const customMetrics = yield* collect(flareFileNames.customMetrics, sources.customMetrics)
  if (customMetrics !== undefined) files.push({ name: flareFileNames.customMetrics, content: customMetrics })

  const rbac = yield* collect(`${flareFileNames.permissions} (RBAC self-check)`, sources.rbac)
  files.push({
    name: flareFileNames.permissions,
    content: `${renderPermissions(confd.permissions)}${rbac === undefined ? "" : `\n${rbac}`}`
  })
  files.push({ name: flareFileNames.creation, content: errors.map((e) => `${e}\n`).join("") })

  const scrubber = makeScrubber(sources.secrets)
  const name = archiveName(now, config.logLevel)
  return yield* Effect.try({
    try: () =>
      writeArchive(
        sources.dir ?? archiveDir(),
        name,
        zipFlare(hostnameDir(config.effectiveHostname), files, scrubber, now)
      ),
    catch: (e) => new FlareError({ detail: `cannot write the flare archive ${name}: ${describe(e)}` })
  })
})
