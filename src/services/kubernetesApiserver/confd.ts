// Reads the kubernetes_apiserver check's options once at start, from `<DD_CONFD_PATH>`: the
// files instance.ts picks (a `conf.yaml` wins over `conf.yaml.default`), else the defaults.
// A file that is not YAML, or an option of the wrong type, stops the agent at start with one
// line per problem naming the file and the key; unknown keys and extra instances only warn.
// The YAML parser is loaded only for a file that needs it (the shipped default does not).
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { ClusterAgentConfig } from "../../layers/Config.ts"
import {
  type ApiserverCheckInstance,
  blankInstanceCount,
  checkFolder,
  checkName,
  configFiles,
  defaultInstance,
  type FileInstances,
  fileInstances,
  parseInstance
} from "./instance.ts"

export class CheckConfigError extends Schema.TaggedError<CheckConfigError>()("CheckConfigError", {
  /** One line each, starting with the file. */
  problems: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.problems.join("\n")
  }
}

const errnoCode = (e: unknown): string | undefined => (e as { code?: unknown }).code as string | undefined

/** Names in a folder; none when it does not exist. */
const listFolder = (path: string): Effect.Effect<ReadonlyArray<string>, CheckConfigError> =>
  Effect.tryPromise({
    try: async () =>
      (await Fs.readdir(path, { withFileTypes: true })).filter((e) => !e.isDirectory()).map((e) => e.name),
    catch: (e) => e
  }).pipe(
    Effect.catch((e) =>
      errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR"
        ? Effect.succeed([])
        : Effect.fail(new CheckConfigError({ problems: [`${path}: cannot list the folder: ${(e as Error).message}`] }))
    )
  )

/** The top-level files of the check that exist (`kubernetes_apiserver.yaml` and the like). */
const rootFiles = (confd: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.filter(
    [`${checkName}.yaml`, `${checkName}.yml`, `${checkName}.yaml.default`, `${checkName}.yml.default`],
    (name) =>
      Effect.promise(() =>
        Fs.stat(Path.join(confd, name)).then(
          (s) => s.isFile(),
          () => false
        )
      )
  )

const readText = (path: string): Effect.Effect<string, CheckConfigError> =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (e) => new CheckConfigError({ problems: [`${path}: cannot read the file: ${(e as Error).message}`] })
  })

interface YamlDocument {
  readonly document: unknown
  readonly warnings: ReadonlyArray<string>
}

/** The first YAML document of a file, with js-yaml loaded on first use. */
const parseYaml = (path: string, text: string): Effect.Effect<YamlDocument, CheckConfigError> =>
  Effect.tryPromise({
    try: async () => {
      const { loadAll, YAMLException } = await import("js-yaml")
      const warnings: Array<string> = []
      let documents: ReadonlyArray<unknown>
      try {
        documents = loadAll(text, { filename: path })
      } catch (e) {
        // The original warns about a duplicated key and keeps the last value.
        if (!(e instanceof YAMLException) || e.reason !== "duplicated mapping key") throw e
        warnings.push(`${path}: ${describeYamlError(e)}; the last value is used`)
        documents = loadAll(text, { filename: path, json: true })
      }
      if (documents.length > 1) warnings.push(`${path}: ${documents.length} YAML documents; only the first is read`)
      return { document: documents[0], warnings }
    },
    catch: (e) => new CheckConfigError({ problems: [`${path}: not valid YAML: ${describeYamlError(e)}`] })
  })

const describeYamlError = (e: unknown): string => {
  const { reason, mark } = e as { reason?: unknown; mark?: { line?: unknown; column?: unknown } }
  if (typeof reason !== "string") return (e as Error).message
  return typeof mark?.line === "number" && typeof mark.column === "number"
    ? `${reason} (line ${mark.line + 1}, column ${mark.column + 1})`
    : reason
}

interface FileRead {
  readonly path: string
  readonly result: FileInstances
}

/** One file's instances; warnings are logged here. */
const readFile = (path: string): Effect.Effect<FileRead, CheckConfigError> =>
  Effect.gen(function* () {
    const text = yield* readText(path)
    const blank = blankInstanceCount(text)
    if (blank !== undefined) return { path, result: { _tag: "Instances", instances: Array(blank).fill(null) } }
    if (text.trim() === "") return { path, result: { _tag: "NoInstances" } }
    const { document, warnings } = yield* parseYaml(path, text)
    const read = fileInstances(document)
    yield* Effect.forEach([...warnings, ...read.warnings.map((w) => `${path}: ${w}`)], (w) => Effect.logWarning(w), {
      discard: true
    })
    return { path, result: read.result }
  })

/** The first files in `paths` with instances (all of them: the extra instances are reported). */
const instancesFrom = (paths: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const found: Array<{ readonly path: string; readonly instances: ReadonlyArray<unknown> }> = []
    const problems: Array<string> = []
    for (const path of paths) {
      const { result } = yield* readFile(path)
      if (result._tag === "Invalid") problems.push(`${path}: ${result.problem}`)
      else if (result._tag === "NoInstances") {
        yield* Effect.logWarning(`${path}: no instances, file skipped`)
      } else found.push({ path, instances: result.instances })
    }
    if (problems.length > 0) return yield* new CheckConfigError({ problems })
    return found
  })

/** The check's options from a conf.d folder; `collectEvents` is DD_COLLECT_KUBERNETES_EVENTS. */
export const loadApiserverCheckInstance = (
  confdPath: string,
  collectEvents: boolean
): Effect.Effect<ApiserverCheckInstance, CheckConfigError> =>
  Effect.gen(function* () {
    const files = configFiles(yield* listFolder(Path.join(confdPath, checkFolder)), yield* rootFiles(confdPath))
    const absolute = (paths: ReadonlyArray<string>) => paths.map((p) => Path.join(confdPath, p))
    let found = yield* instancesFrom(absolute(files.configs))
    if (found.length === 0) found = yield* instancesFrom(absolute(files.defaults))
    const first = found[0]
    if (first === undefined) {
      yield* Effect.logInfo(`no ${checkName} check configuration found: using the defaults`).pipe(
        Effect.annotateLogs({ confdPath })
      )
      return defaultInstance(collectEvents)
    }
    const extra = found.reduce((n, f) => n + f.instances.length, 0) - 1
    if (extra > 0) {
      yield* Effect.logWarning(
        `${first.path}: ${extra} more ${checkName} instance${extra > 1 ? "s" : ""} configured (${found.map((f) => f.path).join(", ")}); only the first is used`
      )
    }
    const parsed = parseInstance(first.instances[0], { collectEvents, source: first.path, at: "instances[0]" })
    yield* Effect.forEach(parsed.warnings, (w) => Effect.logWarning(`${first.path}: ${w}`), { discard: true })
    if (!parsed.ok) return yield* new CheckConfigError({ problems: parsed.problems.map((p) => `${first.path}: ${p}`) })
    yield* Effect.logInfo(`${checkName} check configuration read`).pipe(Effect.annotateLogs({ file: first.path }))
    return parsed.instance
  }).pipe(Effect.withSpan("ApiserverCheckConfig.load"))

/** The options of the kubernetes_apiserver check (event collection and control-plane checks). */
export class ApiserverCheckConfig extends Context.Service<ApiserverCheckConfig, ApiserverCheckInstance>()(
  "dca/ApiserverCheckConfig"
) {
  /** From DD_CONFD_PATH, read once at start. */
  static readonly layer: Layer.Layer<ApiserverCheckConfig, CheckConfigError, ClusterAgentConfig> = Layer.effect(
    ApiserverCheckConfig,
    Effect.flatMap(ClusterAgentConfig, (config) => loadApiserverCheckInstance(config.confdPath, config.collectEvents))
  )

  /** Explicit options (tests). */
  static readonly layerWith = (instance: ApiserverCheckInstance): Layer.Layer<ApiserverCheckConfig> =>
    Layer.succeed(ApiserverCheckConfig, instance)
}
