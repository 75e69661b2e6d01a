// The options of the original's `kubernetes_apiserver` check (contract §5.3), read from
// `<DD_CONFD_PATH>/kubernetes_apiserver.d/`: which files count, in which order, and how one
// instance becomes typed options with the original's defaults. Pure; confd.ts reads the files.
//
// Which files count follows the original's file provider: in the check's folder every `*.yaml`
// or `*.yml` (but `metrics.yaml`) is a configuration, read in name order, then a top-level
// `kubernetes_apiserver.yaml`; the `*.yaml.default` files are used only when none of those gives
// an instance. A file without instances is skipped (as the original does), so an empty
// `conf.yaml` leaves the default in force.
//
// Types follow what the original's YAML decoder accepts: booleans also as yes/no/on/off, whole
// numbers, lists of strings (numbers and booleans in them are taken as their text). A key set to
// nothing (`tags:`) is taken as not set. A value of the wrong type is a problem naming the key
// and what is allowed; an unknown key is a warning (with the closest known key, for typos).
import * as Duration from "effect/Duration"

import type { CollectedEventType } from "../events/filters.ts"

export type { CollectedEventType } from "../events/filters.ts"

export interface ApiserverCheckInstance {
  /** Added to every service check and event of the check. */
  readonly tags: ReadonlyArray<string>
  readonly collectEvents: boolean
  /** Control-plane status from componentstatuses (true) or /readyz (false). */
  readonly useComponentStatus: boolean
  readonly maxEventsPerRun: number
  readonly eventReadTimeout: Duration.Duration
  readonly eventResyncPeriod: Duration.Duration
  readonly unbundleEvents: boolean
  readonly bundleUnspecifiedEvents: boolean
  /** Field-selector terms, or bare reasons to leave out. */
  readonly filteredEventTypes: ReadonlyArray<string>
  readonly collectedEventTypes: ReadonlyArray<CollectedEventType>
  readonly filteringEnabled: boolean
  readonly skipLeaderElection: boolean
  readonly minCollectionInterval: Duration.Duration
  /** Which file the options came from ("" = none, defaults). */
  readonly source: string
}

export const checkName = "kubernetes_apiserver"
export const checkFolder = `${checkName}.d`

const defaults = {
  maxEventsPerRun: 300,
  eventReadTimeoutMs: 2000,
  eventResyncPeriodS: 300,
  minCollectionIntervalS: 15
} as const

/** The options with no file: the original's defaults; `collect_events` follows DD_COLLECT_KUBERNETES_EVENTS. */
export const defaultInstance = (collectEvents: boolean): ApiserverCheckInstance => ({
  tags: [],
  collectEvents,
  useComponentStatus: true,
  maxEventsPerRun: defaults.maxEventsPerRun,
  eventReadTimeout: Duration.millis(defaults.eventReadTimeoutMs),
  eventResyncPeriod: Duration.seconds(defaults.eventResyncPeriodS),
  unbundleEvents: false,
  bundleUnspecifiedEvents: false,
  filteredEventTypes: [],
  collectedEventTypes: [],
  filteringEnabled: false,
  skipLeaderElection: false,
  minCollectionInterval: Duration.seconds(defaults.minCollectionIntervalS),
  source: ""
})

// --- which files -----------------------------------------------------------------------------

export interface ConfigFiles {
  /** Paths relative to the conf.d folder, in the order they are read. */
  readonly configs: ReadonlyArray<string>
  /** `*.yaml.default` files, used only when no config gives an instance. */
  readonly defaults: ReadonlyArray<string>
}

const isYaml = (name: string) => name.endsWith(".yaml") || name.endsWith(".yml")

/**
 * The files of the check, from the names in its folder and those of the conf.d folder itself
 * (only `kubernetes_apiserver.yaml` and its variants there count).
 */
export const configFiles = (folderNames: ReadonlyArray<string>, rootNames: ReadonlyArray<string>): ConfigFiles => {
  const configs: Array<string> = []
  const defaultFiles: Array<string> = []
  const add = (path: string, name: string) => {
    if (name.endsWith(".default") && isYaml(name.slice(0, -".default".length))) defaultFiles.push(path)
    else if (isYaml(name) && name !== "metrics.yaml" && name !== "metrics.yml") configs.push(path)
  }
  for (const name of [...folderNames].sort()) add(`${checkFolder}/${name}`, name)
  for (const name of [...rootNames].sort()) {
    const base = name.replace(/\.default$/, "")
    if (base === `${checkName}.yaml` || base === `${checkName}.yml`) add(name, name)
  }
  return { configs, defaults: defaultFiles }
}

// --- the shipped default without a YAML parser ---------------------------------------------------

/**
 * Pure: the number of instances of a file that holds only `init_config:`, `instances:` and empty
 * `-` items (with comments), like the shipped `conf.yaml.default`; undefined for anything else.
 * The default file is in every image, so this spares the idle agent the YAML parser
 * (about 0.5 MB of heap).
 */
export const blankInstanceCount = (text: string): number | undefined => {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.replace(/(^|\s)#.*$/, "").trimEnd())
    .filter((line) => line.trim() !== "")
  let i = 0
  if (lines[i] === "init_config:") i++
  if (lines[i] !== "instances:") return undefined
  i++
  const items = lines.slice(i)
  return items.length > 0 && items.every((line) => /^ *-$/.test(line)) ? items.length : undefined
}

// --- one file ----------------------------------------------------------------------------------

export type FileInstances =
  | { readonly _tag: "Instances"; readonly instances: ReadonlyArray<unknown> }
  /** Nothing to run (the original skips such a file with a warning). */
  | { readonly _tag: "NoInstances" }
  | { readonly _tag: "Invalid"; readonly problem: string }

// The original's top-level keys of a check file (autodiscovery, logs, JMX and the like are
// known so that they are not reported as typos; this agent uses only `instances`).
const topLevelKeys = new Set([
  "init_config",
  "instances",
  "ad_identifiers",
  "advanced_ad_identifiers",
  "cel_selector",
  "cluster_check",
  "logs",
  "jmx_metrics",
  "docker_images",
  "ignore_autodiscovery_tags",
  "check_tag_cardinality"
])

const isMapping = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date)

/** What came instead, short. */
const describe = (value: unknown): string => {
  if (value === null || value === undefined) return "nothing"
  if (Array.isArray(value)) return "a list"
  if (isMapping(value)) return "a mapping"
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  return String(value)
}

/** Pure: the instances of a parsed YAML document, and warnings about its top-level keys. */
export const fileInstances = (document: unknown): { readonly result: FileInstances; readonly warnings: string[] } => {
  if (document === null || document === undefined) return { result: { _tag: "NoInstances" }, warnings: [] }
  if (!isMapping(document)) {
    return {
      result: {
        _tag: "Invalid",
        problem: `expected a mapping with init_config and instances, got ${describe(document)}`
      },
      warnings: []
    }
  }
  const unknown = Object.keys(document).filter((key) => !topLevelKeys.has(key))
  const warnings = unknown.length === 0 ? [] : [unknownKeysWarning("", unknown, [...topLevelKeys])]
  const instances = document.instances
  if (instances === null || instances === undefined) return { result: { _tag: "NoInstances" }, warnings }
  if (!Array.isArray(instances)) {
    return { result: { _tag: "Invalid", problem: `instances: expected a list, got ${describe(instances)}` }, warnings }
  }
  return { result: instances.length === 0 ? { _tag: "NoInstances" } : { _tag: "Instances", instances }, warnings }
}

// --- one instance ------------------------------------------------------------------------------

/** Edit distance, for "did you mean". */
const distance = (a: string, b: string): number => {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) {
      next.push(
        Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
      )
    }
    row = next
  }
  return row[b.length] ?? 0
}

const unknownKeysWarning = (where: string, keys: ReadonlyArray<string>, known: ReadonlyArray<string>): string => {
  const named = keys.map((key) => {
    const close = known.find((k) => distance(key, k) <= Math.max(2, Math.floor(k.length / 5)))
    return close === undefined ? key : `${key} (did you mean ${close}?)`
  })
  return `${where}unknown key${keys.length > 1 ? "s" : ""} ignored: ${named.join(", ")}`
}

type Parsed<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly problem: string }
const ok = <A>(value: A): Parsed<A> => ({ ok: true, value })
const bad = (allowed: string, value: unknown): Parsed<never> => ({
  ok: false,
  problem: `expected ${allowed}, got ${describe(value)}`
})

// The YAML 1.1 words the original's decoder takes for a boolean.
const yes = new Set(["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"])
const no = new Set(["n", "N", "no", "No", "NO", "off", "Off", "OFF"])

const boolean = (value: unknown): Parsed<boolean> => {
  if (typeof value === "boolean") return ok(value)
  if (typeof value === "string" && yes.has(value)) return ok(true)
  if (typeof value === "string" && no.has(value)) return ok(false)
  return bad("true or false", value)
}

const count = (value: unknown): Parsed<number> =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? ok(value) : bad("a whole number ≥ 0", value)

const text = (value: unknown): string | undefined =>
  typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean"
      ? String(value)
      : undefined

const stringList = (value: unknown): Parsed<ReadonlyArray<string>> => {
  if (!Array.isArray(value)) return bad("a list of strings", value)
  const out: Array<string> = []
  for (const [i, item] of value.entries()) {
    const s = text(item)
    if (s === undefined) return { ok: false, problem: `[${i}]: expected a string, got ${describe(item)}` }
    out.push(s)
  }
  return ok(out)
}

const eventTypeKeys = ["kind", "source", "reasons"]

const collectedEventTypes = (value: unknown, warnings: Array<string>, at: string): Parsed<CollectedEventType[]> => {
  if (!Array.isArray(value)) return bad("a list of {kind, source, reasons} mappings", value)
  const out: Array<CollectedEventType> = []
  for (const [i, item] of value.entries()) {
    if (!isMapping(item)) {
      return {
        ok: false,
        problem: `[${i}]: expected a mapping with kind, source and/or reasons, got ${describe(item)}`
      }
    }
    const unknown = Object.keys(item).filter((key) => !eventTypeKeys.includes(key))
    if (unknown.length > 0) warnings.push(unknownKeysWarning(`${at}[${i}]: `, unknown, eventTypeKeys))
    const kind = item.kind ?? undefined
    const source = item.source ?? undefined
    if (kind !== undefined && typeof kind !== "string") {
      return { ok: false, problem: `[${i}].kind: expected a string, got ${describe(kind)}` }
    }
    if (source !== undefined && typeof source !== "string") {
      return { ok: false, problem: `[${i}].source: expected a string, got ${describe(source)}` }
    }
    let reasons: ReadonlyArray<string> = []
    if (item.reasons !== null && item.reasons !== undefined) {
      const parsed = stringList(item.reasons)
      if (!parsed.ok) return { ok: false, problem: `[${i}].reasons${prefixed(parsed.problem)}` }
      reasons = parsed.value
    }
    // An empty kind or source is no constraint, as in the original.
    out.push({ kind: kind === "" ? undefined : kind, source: source === "" ? undefined : source, reasons })
  }
  return ok(out)
}

/** A nested problem ("[2]: expected …") or one about the value itself (": expected …"). */
const prefixed = (problem: string) => (problem.startsWith("[") ? problem : `: ${problem}`)

// Keys the original knows that this agent reads but does not act on: OpenShift quotas are out
// of scope (contract §5.3); the rest are the newer originals' watch mode and the common check
// options that do not apply here.
const silentlyIgnored = new Set(["collect_openshift_clusterquotas"])
const ignoredWithWarning = new Set([
  "event_collection_mode",
  "event_collection_buffer_size",
  "empty_default_hostname",
  "service",
  "name",
  "namespace",
  "no_index"
])

type Setter = (
  value: unknown,
  into: Mutable<ApiserverCheckInstance>,
  warnings: Array<string>,
  at: string
) => string | undefined
type Mutable<T> = { -readonly [K in keyof T]: T[K] }

const set =
  <A>(parse: (value: unknown) => Parsed<A>, apply: (into: Mutable<ApiserverCheckInstance>, value: A) => void): Setter =>
  (value, into) => {
    const parsed = parse(value)
    if (!parsed.ok) return parsed.problem
    apply(into, parsed.value)
    return undefined
  }

/** `0` means the default for these, as in the original. */
const orDefault = (value: number, fallback: number) => (value === 0 ? fallback : value)

const fields: Readonly<Record<string, Setter>> = {
  tags: set(stringList, (o, v) => (o.tags = v)),
  collect_events: set(boolean, (o, v) => (o.collectEvents = v)),
  use_component_status: set(boolean, (o, v) => (o.useComponentStatus = v)),
  max_events_per_run: set(count, (o, v) => (o.maxEventsPerRun = orDefault(v, defaults.maxEventsPerRun))),
  kubernetes_event_read_timeout_ms: set(count, (o, v) => {
    o.eventReadTimeout = Duration.millis(orDefault(v, defaults.eventReadTimeoutMs))
  }),
  kubernetes_event_resync_period_s: set(count, (o, v) => (o.eventResyncPeriod = Duration.seconds(v))),
  unbundle_events: set(boolean, (o, v) => (o.unbundleEvents = v)),
  bundle_unspecified_events: set(boolean, (o, v) => (o.bundleUnspecifiedEvents = v)),
  filtered_event_types: set(stringList, (o, v) => (o.filteredEventTypes = v)),
  collected_event_types: (value, into, warnings, at) => {
    const parsed = collectedEventTypes(value, warnings, `${at}collected_event_types`)
    if (!parsed.ok) return parsed.problem
    into.collectedEventTypes = parsed.value
    return undefined
  },
  filtering_enabled: set(boolean, (o, v) => (o.filteringEnabled = v)),
  skip_leader_election: set(boolean, (o, v) => (o.skipLeaderElection = v)),
  min_collection_interval: set(count, (o, v) => {
    o.minCollectionInterval = Duration.seconds(orDefault(v, defaults.minCollectionIntervalS))
  })
}

export type InstanceResult =
  | { readonly ok: true; readonly instance: ApiserverCheckInstance; readonly warnings: ReadonlyArray<string> }
  | { readonly ok: false; readonly problems: ReadonlyArray<string>; readonly warnings: ReadonlyArray<string> }

/**
 * Pure: the typed options of one instance (`at` names it in messages, e.g. "instances[0]"),
 * every problem at once, one line each: `instances[0].max_events_per_run: expected a whole
 * number ≥ 0, got "300"`.
 */
export const parseInstance = (
  raw: unknown,
  options: { readonly collectEvents: boolean; readonly source: string; readonly at: string }
): InstanceResult => {
  const into: Mutable<ApiserverCheckInstance> = { ...defaultInstance(options.collectEvents), source: options.source }
  const warnings: Array<string> = []
  // An instance of comments only (`- ## Tagging` in the default file) is null: all defaults.
  if (raw === null || raw === undefined) return { ok: true, instance: into, warnings }
  if (!isMapping(raw)) {
    return { ok: false, problems: [`${options.at}: expected a mapping of options, got ${describe(raw)}`], warnings }
  }
  const problems: Array<string> = []
  const unknown: Array<string> = []
  const ignored: Array<string> = []
  for (const [key, value] of Object.entries(raw)) {
    const setter = fields[key]
    if (setter === undefined) {
      if (ignoredWithWarning.has(key)) ignored.push(key)
      else if (!silentlyIgnored.has(key)) unknown.push(key)
      continue
    }
    if (value === null || value === undefined) continue
    const problem = setter(value, into, warnings, `${options.at}.`)
    if (problem !== undefined) problems.push(`${options.at}.${key}${prefixed(problem)}`)
  }
  if (unknown.length > 0) warnings.push(unknownKeysWarning(`${options.at}: `, unknown, Object.keys(fields)))
  if (ignored.length > 0) warnings.push(`${options.at}: not used by this agent, ignored: ${ignored.join(", ")}`)
  return problems.length > 0 ? { ok: false, problems, warnings } : { ok: true, instance: into, warnings }
}
