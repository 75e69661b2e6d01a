// The kubernetes_apiserver check's options (contract §5.3), the pure part: which files count,
// the shipped default, and one instance to typed options with the original's defaults.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { load } from "js-yaml"
import {
  blankInstanceCount,
  configFiles,
  defaultInstance,
  fileInstances,
  parseInstance
} from "../../../src/services/kubernetesApiserver/instance.ts"

const shippedDefault = readFileSync(
  new URL("../../../docker/conf.d/kubernetes_apiserver.d/conf.yaml.default", import.meta.url),
  "utf8"
)

const parse = (raw: unknown, collectEvents = false) =>
  parseInstance(raw, { collectEvents, source: "/c/conf.yaml", at: "instances[0]" })

describe("configFiles", () => {
  it("every *.yaml / *.yml of the folder but metrics.yaml, by name, then the top-level file; defaults apart", () => {
    const files = configFiles(
      [
        "conf.yaml.example",
        "conf.yaml",
        "metrics.yaml",
        "conf.yaml.default",
        "a-extra.yml",
        "notes.txt",
        "..data",
        "old.yml.default"
      ],
      ["kubernetes_apiserver.yaml", "kubernetes_apiserver.yaml.default", "other_check.yaml"]
    )
    expect(files).toEqual({
      configs: ["kubernetes_apiserver.d/a-extra.yml", "kubernetes_apiserver.d/conf.yaml", "kubernetes_apiserver.yaml"],
      defaults: [
        "kubernetes_apiserver.d/conf.yaml.default",
        "kubernetes_apiserver.d/old.yml.default",
        "kubernetes_apiserver.yaml.default"
      ]
    })
  })

  it("nothing when there is nothing", () => {
    expect(configFiles([], [])).toEqual({ configs: [], defaults: [] })
  })
})

describe("blankInstanceCount (the shipped default without a YAML parser)", () => {
  it.each([
    ["the shipped default", shippedDefault, 1],
    ["one empty item", "init_config:\ninstances:\n  -\n", 1],
    ["without init_config, items at column 0, comments", "# c\ninstances:\n- # x\n-\n", 2],
    ["CRLF", "init_config:\r\ninstances:\r\n  - ## Tags\r\n", 1],
    ["an option", "init_config:\ninstances:\n  - tags: [a]\n", undefined],
    ["an option after an empty item", "instances:\n  -\n    collect_events: true\n", undefined],
    ["no items", "init_config:\ninstances:\n", undefined],
    ["init_config with content", "init_config:\n  -\ninstances:\n  -\n", undefined],
    ["a tab", "instances:\n\t-\n", undefined],
    ["empty", "", undefined]
  ])("%s", (_, text, expected) => {
    expect(blankInstanceCount(text)).toBe(expected)
  })

  it("agrees with the YAML parser on the shipped default: one instance, all defaults", () => {
    const read = fileInstances(load(shippedDefault))
    expect(read).toEqual({ result: { _tag: "Instances", instances: [null] }, warnings: [] })
    const parsed = parse(read.result._tag === "Instances" ? read.result.instances[0] : "missing")
    expect(parsed).toEqual({ ok: true, instance: { ...defaultInstance(false), source: "/c/conf.yaml" }, warnings: [] })
  })
})

describe("fileInstances", () => {
  it.each([
    ["an empty document", null, { _tag: "NoInstances" }],
    ["no instances key", { init_config: null }, { _tag: "NoInstances" }],
    ["instances: with nothing", { instances: null }, { _tag: "NoInstances" }],
    ["an empty list", { instances: [] }, { _tag: "NoInstances" }],
    ["two instances", { instances: [{}, { a: 1 }] }, { _tag: "Instances", instances: [{}, { a: 1 }] }],
    [
      "instances not a list",
      { instances: { tags: [] } },
      { _tag: "Invalid", problem: "instances: expected a list, got a mapping" }
    ],
    [
      "a list at the top",
      [{ instances: [] }],
      { _tag: "Invalid", problem: "expected a mapping with init_config and instances, got a list" }
    ],
    [
      "a word at the top",
      "instances",
      { _tag: "Invalid", problem: 'expected a mapping with init_config and instances, got "instances"' }
    ]
  ])("%s", (_, document, result) => {
    expect(fileInstances(document).result).toEqual(result)
  })

  it("warns about unknown top-level keys, e.g. `instance:` for `instances:`", () => {
    expect(fileInstances({ instance: [{}], cluster_check: true, logs: [] })).toEqual({
      result: { _tag: "NoInstances" },
      warnings: ["unknown key ignored: instance (did you mean instances?)"]
    })
  })
})

describe("parseInstance", () => {
  it("an empty instance is the original's defaults; collect_events follows DD_COLLECT_KUBERNETES_EVENTS", () => {
    for (const collectEvents of [false, true]) {
      const parsed = parse({}, collectEvents)
      expect(parsed).toEqual({
        ok: true,
        instance: {
          tags: [],
          collectEvents,
          useComponentStatus: true,
          maxEventsPerRun: 300,
          eventReadTimeout: Duration.millis(2000),
          eventResyncPeriod: Duration.seconds(300),
          unbundleEvents: false,
          bundleUnspecifiedEvents: false,
          filteredEventTypes: [],
          collectedEventTypes: [],
          filteringEnabled: false,
          skipLeaderElection: false,
          minCollectionInterval: Duration.seconds(15),
          source: "/c/conf.yaml"
        },
        warnings: []
      })
    }
    expect(parse(null)).toEqual(parse({}))
  })

  it("reads every option", () => {
    const parsed = parse(
      {
        tags: ["team:core", 5, true],
        collect_events: true,
        use_component_status: false,
        max_events_per_run: 50,
        kubernetes_event_read_timeout_ms: 500,
        kubernetes_event_resync_period_s: 60,
        unbundle_events: "yes",
        bundle_unspecified_events: "on",
        filtered_event_types: ["reason!=FailedGetScale", "BackOff"],
        collected_event_types: [
          { kind: "Pod", reasons: ["Failed", "BackOff"] },
          { source: "my-controller" },
          { kind: "", source: null }
        ],
        filtering_enabled: true,
        skip_leader_election: true,
        min_collection_interval: 30,
        collect_openshift_clusterquotas: false
      },
      false
    )
    expect(parsed).toEqual({
      ok: true,
      instance: {
        tags: ["team:core", "5", "true"],
        collectEvents: true,
        useComponentStatus: false,
        maxEventsPerRun: 50,
        eventReadTimeout: Duration.millis(500),
        eventResyncPeriod: Duration.seconds(60),
        unbundleEvents: true,
        bundleUnspecifiedEvents: true,
        filteredEventTypes: ["reason!=FailedGetScale", "BackOff"],
        collectedEventTypes: [
          { kind: "Pod", source: undefined, reasons: ["Failed", "BackOff"] },
          { kind: undefined, source: "my-controller", reasons: [] },
          { kind: undefined, source: undefined, reasons: [] }
        ],
        filteringEnabled: true,
        skipLeaderElection: true,
        minCollectionInterval: Duration.seconds(30),
        source: "/c/conf.yaml"
      },
      warnings: []
    })
  })

  it.each([
    ["max_events_per_run 0 is the default", { max_events_per_run: 0 }, { maxEventsPerRun: 300 }],
    [
      "kubernetes_event_read_timeout_ms 0 is the default",
      { kubernetes_event_read_timeout_ms: 0 },
      { eventReadTimeout: Duration.millis(2000) }
    ],
    [
      "min_collection_interval 0 is the default",
      { min_collection_interval: 0 },
      { minCollectionInterval: Duration.seconds(15) }
    ],
    [
      "kubernetes_event_resync_period_s 0 stays 0 (list every run)",
      { kubernetes_event_resync_period_s: 0 },
      { eventResyncPeriod: Duration.seconds(0) }
    ],
    [
      "a key set to nothing is not set",
      { use_component_status: null, tags: null },
      { useComponentStatus: true, tags: [] }
    ],
    ["no / off are false", { use_component_status: "no", collect_events: "Off" }, { useComponentStatus: false }],
    ["a whole float is a whole number", { max_events_per_run: 20.0 }, { maxEventsPerRun: 20 }]
  ])("%s", (_, raw, expected) => {
    const parsed = parse(raw, true)
    expect(parsed.ok && parsed.instance).toMatchObject(expected)
  })

  it("reports every wrongly typed key at once, one line each, naming the key and what is allowed", () => {
    const parsed = parse({
      collect_events: "sometimes",
      max_events_per_run: "300",
      kubernetes_event_read_timeout_ms: -1,
      min_collection_interval: 1.5,
      tags: "team:core",
      filtered_event_types: ["ok", { reason: "x" }],
      collected_event_types: [{ kind: "Pod" }, "Pod"],
      use_component_status: true
    })
    expect(parsed).toEqual({
      ok: false,
      warnings: [],
      problems: [
        'instances[0].collect_events: expected true or false, got "sometimes"',
        'instances[0].max_events_per_run: expected a whole number ≥ 0, got "300"',
        "instances[0].kubernetes_event_read_timeout_ms: expected a whole number ≥ 0, got -1",
        "instances[0].min_collection_interval: expected a whole number ≥ 0, got 1.5",
        'instances[0].tags: expected a list of strings, got "team:core"',
        "instances[0].filtered_event_types[1]: expected a string, got a mapping",
        'instances[0].collected_event_types[1]: expected a mapping with kind, source and/or reasons, got "Pod"'
      ]
    })
  })

  it.each([
    [
      { collected_event_types: { kind: "Pod" } },
      "collected_event_types: expected a list of {kind, source, reasons} mappings, got a mapping"
    ],
    [{ collected_event_types: [{ kind: 5 }] }, "collected_event_types[0].kind: expected a string, got 5"],
    [{ collected_event_types: [{ source: [] }] }, "collected_event_types[0].source: expected a string, got a list"],
    [
      { collected_event_types: [{ reasons: "Failed" }] },
      'collected_event_types[0].reasons: expected a list of strings, got "Failed"'
    ],
    [
      { collected_event_types: [{ reasons: ["a", null] }] },
      "collected_event_types[0].reasons[1]: expected a string, got nothing"
    ]
  ])("collected_event_types: %j", (raw, problem) => {
    expect(parse(raw)).toMatchObject({ ok: false, problems: [`instances[0].${problem}`] })
  })

  it("an instance that is not a mapping", () => {
    expect(parse(["tags"])).toMatchObject({
      ok: false,
      problems: ["instances[0]: expected a mapping of options, got a list"]
    })
  })

  it("warns once about unknown keys, suggesting the closest known one, and about ignored ones", () => {
    const parsed = parse({
      colect_events: true,
      max_event_per_run: 10,
      cardinality_limit: 300,
      service: "x",
      event_collection_mode: "watch",
      collect_openshift_clusterquotas: true,
      collected_event_types: [{ kind: "Pod", reason: ["x"] }]
    })
    expect(parsed.ok).toBe(true)
    expect(parsed.warnings).toEqual([
      "instances[0].collected_event_types[0]: unknown key ignored: reason (did you mean reasons?)",
      "instances[0]: unknown keys ignored: colect_events (did you mean collect_events?), max_event_per_run (did you mean max_events_per_run?), cardinality_limit",
      "instances[0]: not used by this agent, ignored: service, event_collection_mode"
    ])
  })
})
