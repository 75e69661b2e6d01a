// Reading the kubernetes_apiserver check's options from a real conf.d folder: which file wins,
// what happens with files without instances, and the errors and warnings at start.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer } from "effect"
import { ClusterAgentConfig } from "../../../src/layers/Config.ts"
import {
  ApiserverCheckConfig,
  CheckConfigError,
  loadApiserverCheckInstance
} from "../../../src/services/kubernetesApiserver/confd.ts"
import { defaultInstance } from "../../../src/services/kubernetesApiserver/instance.ts"
import { captureLogs } from "../../support/effectTest.ts"

const shippedDefault = new URL("../../../docker/conf.d/kubernetes_apiserver.d/conf.yaml.default", import.meta.url)

/** A conf.d folder with these files (paths relative to it). */
const confd = (files: Readonly<Record<string, string>> = {}): string => {
  const root = mkdtempSync(join(tmpdir(), "dca-confd-"))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), text)
  }
  return root
}

const folder = "kubernetes_apiserver.d"

const load = (root: string, collectEvents = false) => {
  const logs = captureLogs()
  return Effect.map(loadApiserverCheckInstance(root, collectEvents).pipe(Effect.provide(logs.layer)), (instance) => ({
    instance,
    warnings: logs.lines.filter((l) => l.level === "Warn").map((l) => l.message)
  }))
}

const failure = (root: string) =>
  Effect.flip(loadApiserverCheckInstance(root, false).pipe(Effect.provide(captureLogs().layer)))

describe("loadApiserverCheckInstance", () => {
  it.effect("no folder, or an empty one: the defaults, from no file", () =>
    Effect.gen(function* () {
      for (const root of [join(confd(), "missing"), confd(), confd({ [`${folder}/notes.txt`]: "x" })]) {
        const { instance, warnings } = yield* load(root, true)
        expect(instance).toEqual(defaultInstance(true))
        expect(instance.source).toBe("")
        expect(warnings).toEqual([])
      }
    })
  )

  it.effect("the shipped default file: the defaults, from that file", () =>
    Effect.gen(function* () {
      const root = confd({ [`${folder}/conf.yaml.default`]: "" })
      writeFileSync(join(root, folder, "conf.yaml.default"), yield* Effect.promise(() => readText(shippedDefault)))
      const { instance, warnings } = yield* load(root)
      expect(instance).toEqual({ ...defaultInstance(false), source: join(root, folder, "conf.yaml.default") })
      expect(warnings).toEqual([])
    })
  )

  it.effect("a conf.yaml wins over conf.yaml.default, which is then not even read", () =>
    Effect.gen(function* () {
      const root = confd({
        [`${folder}/conf.yaml`]: "init_config:\ninstances:\n  - use_component_status: false\n    tags: [a:b]\n",
        [`${folder}/conf.yaml.default`]: "instances: [ this is not YAML\n",
        [`${folder}/conf.yaml.example`]: "instances: [ nor this\n"
      })
      const { instance } = yield* load(root)
      expect(instance).toMatchObject({
        useComponentStatus: false,
        tags: ["a:b"],
        source: join(root, folder, "conf.yaml")
      })
    })
  )

  it.effect("a ConfigMap volume mounted as the folder (files are links into a ..timestamp folder)", () =>
    Effect.gen(function* () {
      const root = confd({ [`${folder}/..2026_01_01/conf.yaml`]: "instances:\n  - max_events_per_run: 42\n" })
      symlinkSync("..2026_01_01", join(root, folder, "..data"))
      symlinkSync("..data/conf.yaml", join(root, folder, "conf.yaml"))
      const { instance, warnings } = yield* load(root)
      expect(instance).toMatchObject({ maxEventsPerRun: 42, source: join(root, folder, "conf.yaml") })
      expect(warnings).toEqual([])
    })
  )

  it.effect("any *.yaml of the folder counts: the first by name is used, the other instances are reported", () =>
    Effect.gen(function* () {
      const root = confd({
        [`${folder}/conf.yaml`]: "instances:\n  - max_events_per_run: 2\n  - max_events_per_run: 3\n",
        [`${folder}/a.yml`]: "instances:\n  - max_events_per_run: 1\n"
      })
      const { instance, warnings } = yield* load(root)
      expect(instance).toMatchObject({ maxEventsPerRun: 1, source: join(root, folder, "a.yml") })
      expect(warnings).toEqual([
        `${join(root, folder, "a.yml")}: 2 more kubernetes_apiserver instances configured (${join(root, folder, "a.yml")}, ${join(root, folder, "conf.yaml")}); only the first is used`
      ])
    })
  )

  it.effect("a top-level kubernetes_apiserver.yaml counts too", () =>
    Effect.gen(function* () {
      const root = confd({
        "kubernetes_apiserver.yaml": "instances:\n  - collect_events: true\n",
        [`${folder}/conf.yaml.default`]: "instances:\n  -\n"
      })
      const { instance } = yield* load(root)
      expect(instance).toMatchObject({ collectEvents: true, source: join(root, "kubernetes_apiserver.yaml") })
    })
  )

  it.effect(
    "a conf.yaml without instances is skipped with a warning, and the default applies (as in the original)",
    () =>
      Effect.gen(function* () {
        const root = confd({
          [`${folder}/conf.yaml`]: "# everything commented out\ninit_config:\n",
          [`${folder}/empty.yaml`]: "",
          [`${folder}/conf.yaml.default`]: "instances:\n  - min_collection_interval: 20\n"
        })
        const { instance, warnings } = yield* load(root)
        expect(instance).toMatchObject({
          minCollectionInterval: Duration.seconds(20),
          source: join(root, folder, "conf.yaml.default")
        })
        expect(warnings).toEqual([
          `${join(root, folder, "conf.yaml")}: no instances, file skipped`,
          `${join(root, folder, "empty.yaml")}: no instances, file skipped`
        ])
      })
  )

  it.effect("not YAML: an error naming the file, the line and the column", () =>
    Effect.gen(function* () {
      const root = confd({ [`${folder}/conf.yaml`]: "instances:\n  - tags: [a\n    collect_events: true\n" })
      const e = yield* failure(root)
      expect(e).toBeInstanceOf(CheckConfigError)
      expect(e.problems).toHaveLength(1)
      expect(e.problems[0]).toMatch(
        new RegExp(`^${join(root, folder, "conf.yaml")}: not valid YAML: .+ \\(line 3, column \\d+\\)$`)
      )
    })
  )

  it.effect("wrongly typed options: one line per problem, naming the file and the key", () =>
    Effect.gen(function* () {
      const root = confd({
        [`${folder}/conf.yaml`]: 'instances:\n  - collect_events: maybe\n    max_events_per_run: "lots"\n'
      })
      const e = yield* failure(root)
      const file = join(root, folder, "conf.yaml")
      expect(e.problems).toEqual([
        `${file}: instances[0].collect_events: expected true or false, got "maybe"`,
        `${file}: instances[0].max_events_per_run: expected a whole number ≥ 0, got "lots"`
      ])
      expect(e.message).toBe(e.problems.join("\n"))
    })
  )

  it.effect("instances that are not a list, in any file that counts", () =>
    Effect.gen(function* () {
      const root = confd({
        [`${folder}/conf.yaml`]: "instances:\n  - {}\n",
        [`${folder}/z.yaml`]: "instances: {collect_events: true}\n"
      })
      expect((yield* failure(root)).problems).toEqual([
        `${join(root, folder, "z.yaml")}: instances: expected a list, got a mapping`
      ])
    })
  )

  it.effect("a duplicated key warns and the last value is used (the original's lenient fallback)", () =>
    Effect.gen(function* () {
      const root = confd({
        [`${folder}/conf.yaml`]: "instances:\n  - max_events_per_run: 1\n    max_events_per_run: 2\n"
      })
      const { instance, warnings } = yield* load(root)
      expect(instance.maxEventsPerRun).toBe(2)
      expect(warnings).toEqual([
        `${join(root, folder, "conf.yaml")}: duplicated mapping key (line 3, column 5); the last value is used`
      ])
    })
  )

  it.effect("unknown keys warn once, naming the file", () =>
    Effect.gen(function* () {
      const root = confd({ [`${folder}/conf.yaml`]: "instance:\n  - {}\ninstances:\n  - colect_events: true\n" })
      const { instance, warnings } = yield* load(root)
      const file = join(root, folder, "conf.yaml")
      expect(instance.collectEvents).toBe(false)
      expect(warnings).toEqual([
        `${file}: unknown key ignored: instance (did you mean instances?)`,
        `${file}: instances[0]: unknown key ignored: colect_events (did you mean collect_events?)`
      ])
    })
  )

  it.effect("a file that cannot be read is an error naming it", () =>
    Effect.gen(function* () {
      const root = confd()
      mkdirSync(join(root, folder))
      symlinkSync("/nonexistent/conf.yaml", join(root, folder, "conf.yaml"))
      const e = yield* failure(root)
      expect(e.problems[0]).toMatch(new RegExp(`^${join(root, folder, "conf.yaml")}: cannot read the file: ENOENT`))
    })
  )
})

describe("ApiserverCheckConfig.layer", () => {
  const layer = (env: Record<string, string>) =>
    ApiserverCheckConfig.layer.pipe(Layer.provide(ClusterAgentConfig.fromEnv(env)), Layer.provide(captureLogs().layer))

  it.effect("reads DD_CONFD_PATH; collect_events defaults to DD_COLLECT_KUBERNETES_EVENTS", () =>
    Effect.gen(function* () {
      const root = confd({ [`${folder}/conf.yaml`]: "instances:\n  - tags: [x:y]\n" })
      const instance = yield* ApiserverCheckConfig.use(Effect.succeed).pipe(
        Effect.provide(layer({ DD_CONFD_PATH: root, DD_COLLECT_KUBERNETES_EVENTS: "true" }))
      )
      expect(instance).toMatchObject({ tags: ["x:y"], collectEvents: true })
    })
  )

  it.effect("a bad file fails the layer with the problems", () =>
    Effect.gen(function* () {
      const root = confd({ [`${folder}/conf.yaml`]: "instances:\n  - tags: nope\n" })
      const exit = yield* Effect.exit(Layer.build(layer({ DD_CONFD_PATH: root })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("instances[0].tags: expected a list of strings")
    })
  )
})

const readText = (url: URL) => import("node:fs/promises").then((fs) => fs.readFile(url, "utf8"))
