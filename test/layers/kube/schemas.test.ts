import { describe, expect, it } from "@effect/vitest"
import { Effect, Result, Schema } from "effect"
import fc from "fast-check"
import { makeKubeClient } from "../../../src/layers/KubeClient.ts"
import { KubeError } from "../../../src/layers/kube/errors.ts"
import {
  ConfigMap,
  CoreEvent,
  decodeObject,
  decodeObjectResult,
  HorizontalPodAutoscaler,
  Lease,
  ObjectMeta,
  type WireSchema
} from "../../../src/layers/kube/schemas.ts"
import type { RequestSpec, Transport } from "../../../src/layers/kube/transport.ts"

// Objects as the API server sends them, with fields we don't model at every level.
const metadata = {
  name: "datadog-leader-election",
  namespace: "datadog",
  uid: "0b5c6a1e-3b1f-4f4e-9c1a-2f6a7d9e8c11",
  resourceVersion: "8812345",
  generation: 1,
  creationTimestamp: "2026-01-02T03:04:05Z",
  labels: { "app.kubernetes.io/name": "datadog-cluster-agent" },
  annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" },
  ownerReferences: [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "dca",
      uid: "u-1",
      controller: true,
      blockOwnerDeletion: true,
      futureOwnerField: { x: 1 }
    }
  ],
  finalizers: ["example.com/keep"],
  managedFields: [{ manager: "kubectl", operation: "Update", fieldsV1: { "f:data": {} } }]
}

const lease = {
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  metadata,
  spec: {
    holderIdentity: "dca-7c9d-abcde",
    leaseDurationSeconds: 60,
    acquireTime: "2026-01-02T03:04:05.123000Z",
    renewTime: "2026-01-02T03:05:05.123000Z",
    leaseTransitions: 3,
    strategy: "OldestEmulationVersion",
    preferredHolder: "dca-7c9d-fghij",
    aFieldFromKubernetes2030: [1, 2, 3]
  },
  status: { unmodelled: true }
}

const configMap = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { ...metadata, name: "datadogtoken" },
  data: { "event.tokenKey": "8812345", "event.tokenTimestamp": "2026-01-02T03:04:05Z" },
  binaryData: { blob: "AAEC" },
  immutable: false,
  extra: { nested: { deeper: [null, "x"] } }
}

const event = {
  apiVersion: "v1",
  kind: "Event",
  metadata: { name: "dca.17a", namespace: "default", creationTimestamp: null },
  involvedObject: {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    name: "nginx-hpa",
    namespace: "shop",
    uid: "5b1c",
    resourceVersion: "77",
    fieldPath: "spec"
  },
  reason: "Autoscaler is now handled by the Cluster-Agent",
  message: "",
  type: "Normal",
  source: { component: "datadog-cluster-agent" },
  // What events.k8s.io clients leave zero: Go sends null.
  firstTimestamp: null,
  lastTimestamp: null,
  eventTime: "2026-01-02T03:04:05.123000Z",
  count: 1,
  action: "Handled",
  reportingComponent: "datadog-cluster-agent",
  reportingInstance: "dca-7c9d-abcde",
  related: { kind: "Deployment", name: "nginx" },
  series: { count: 2, lastObservedTime: "2026-01-02T03:04:06.000000Z" }
}

const hpa = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "nginx-hpa", namespace: "shop", uid: "5b1c" },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "nginx" },
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [
      {
        type: "External",
        external: {
          metric: {
            name: "nginx.net.request_per_s",
            selector: {
              matchLabels: { kube_container_name: "nginx" },
              matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }]
            }
          },
          target: { type: "AverageValue", averageValue: "2500m" }
        }
      },
      { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 300 } }
  },
  status: {
    observedGeneration: 2,
    lastScaleTime: "2026-01-02T03:04:05Z",
    currentReplicas: 2,
    desiredReplicas: 3,
    currentMetrics: [
      {
        type: "External",
        external: { metric: { name: "nginx.net.request_per_s" }, current: { averageValue: "3100m" } }
      }
    ],
    conditions: [
      {
        type: "AbleToScale",
        status: "True",
        lastTransitionTime: "2026-01-02T03:04:05Z",
        reason: "ReadyForNewScale",
        message: "recommended size matches current size"
      }
    ]
  }
}

const kinds: ReadonlyArray<readonly [string, WireSchema<unknown>, unknown]> = [
  ["Lease", Lease, lease],
  ["ConfigMap", ConfigMap, configMap],
  ["CoreEvent", CoreEvent, event],
  ["HorizontalPodAutoscaler", HorizontalPodAutoscaler, hpa]
]

const decode = (schema: WireSchema<unknown>, value: unknown) =>
  decodeObjectResult(schema, "GET", "/apis/x/v1/namespaces/n/things/t", value, 200)

const failure = (result: Result.Result<unknown, KubeError>): KubeError => {
  if (Result.isSuccess(result)) throw new Error(`expected a Decode failure, got ${JSON.stringify(result.success)}`)
  return result.failure
}

/** A deep copy of `value` with the field at `path` set to `replacement` (or removed). */
const withField = (value: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown => {
  const copy = structuredClone(value) as Record<string | number, unknown>
  let node = copy
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>
  const last = path[path.length - 1] as string | number
  if (replacement === undefined) delete node[last]
  else node[last] = replacement
  return copy
}

describe("schemas of the objects the agent writes or reasons about", () => {
  it.each(kinds)(
    "%s: a server's object decodes whole, unknown fields included, and encodes back",
    (_, schema, value) => {
      const decoded = decode(schema, value)
      expect(Result.isSuccess(decoded)).toBe(true)
      const object = Result.getOrThrow(decoded)
      expect(object).toEqual(value)
      expect(Schema.encodeUnknownSync(schema as Schema.Codec<unknown>)(object)).toEqual(value)
      // What is sent back on a replace is what was read.
      expect(JSON.parse(JSON.stringify(object))).toEqual(value)
    }
  )

  it("a read-modify-replace keeps what it does not model", () => {
    const read = Result.getOrThrow(decodeObjectResult(Lease, "GET", "/l", lease))
    const next: Lease = { ...read, spec: { ...read.spec, renewTime: "2026-01-02T03:06:05.123000Z" } }
    expect(next.spec?.aFieldFromKubernetes2030).toEqual([1, 2, 3])
    expect(next.status).toEqual({ unmodelled: true })
    expect(next.metadata?.managedFields).toEqual(metadata.managedFields)
    expect(next.metadata?.ownerReferences?.[0]?.futureOwnerField).toEqual({ x: 1 })
  })

  it.each([
    ["empty objects", Lease, {}],
    ["a Lease without spec fields", Lease, { metadata: { name: "l" }, spec: {} }],
    ["a ConfigMap without data", ConfigMap, { metadata: { name: "c" } }],
    ["an Event with only its involvedObject", CoreEvent, { involvedObject: {} }],
    [
      "an HPA before the controller ran",
      HorizontalPodAutoscaler,
      {
        spec: { scaleTargetRef: { kind: "Deployment", name: "d" }, maxReplicas: 3 },
        status: { desiredReplicas: 0, currentMetrics: null }
      }
    ],
    ["metadata of an object built by a Go client", ObjectMeta, { name: "x", creationTimestamp: null }]
  ] as const)("accepts %s", (_, schema, value) => {
    expect(Result.getOrThrow(decode(schema as WireSchema<unknown>, value))).toEqual(value)
  })

  // [schema, a valid object, the field to replace, its new value (undefined: removed), the detail]
  const badFields: ReadonlyArray<
    readonly [WireSchema<unknown>, unknown, ReadonlyArray<string | number>, unknown, string]
  > = [
    [Lease, lease, ["spec", "leaseDurationSeconds"], "60", 'spec.leaseDurationSeconds: expected number, got "60"'],
    [Lease, lease, ["spec", "holderIdentity"], 7, "spec.holderIdentity: expected string, got 7"],
    [Lease, lease, ["spec", "renewTime"], null, "spec.renewTime: expected string, got null"],
    [Lease, lease, ["spec", "leaseTransitions"], true, "spec.leaseTransitions: expected number, got true"],
    [Lease, lease, ["spec"], "held", 'spec: expected object, got "held"'],
    [Lease, lease, ["metadata"], [], "metadata: expected object, got an array"],
    [Lease, lease, ["metadata", "resourceVersion"], 8812345, "metadata.resourceVersion: expected string, got 8812345"],
    [
      Lease,
      lease,
      ["metadata", "labels", "app.kubernetes.io/name"],
      1,
      'metadata.labels["app.kubernetes.io/name"]: expected string, got 1'
    ],
    [Lease, lease, ["metadata", "ownerReferences", 0, "uid"], undefined, "metadata.ownerReferences[0].uid: missing"],
    [Lease, lease, ["metadata", "ownerReferences"], {}, "metadata.ownerReferences: expected array, got an object"],
    [ConfigMap, configMap, ["data", "event.tokenKey"], 8812345, 'data["event.tokenKey"]: expected string, got 8812345'],
    [ConfigMap, configMap, ["data"], ["a"], "data: expected object, got an array"],
    [ConfigMap, configMap, ["binaryData"], "AAEC", 'binaryData: expected object, got "AAEC"'],
    [
      ConfigMap,
      configMap,
      ["metadata", "creationTimestamp"],
      0,
      "metadata.creationTimestamp: expected string | null, got 0"
    ],
    [CoreEvent, event, ["involvedObject"], undefined, "involvedObject: missing"],
    [
      CoreEvent,
      event,
      ["involvedObject", "name"],
      { a: "secret" },
      "involvedObject.name: expected string, got an object"
    ],
    [CoreEvent, event, ["count"], "1", 'count: expected number, got "1"'],
    [CoreEvent, event, ["source", "component"], false, "source.component: expected string, got false"],
    [CoreEvent, event, ["lastTimestamp"], 1714564807, "lastTimestamp: expected string | null, got 1714564807"],
    [CoreEvent, event, ["series", "count"], "2", 'series.count: expected number, got "2"'],
    [HorizontalPodAutoscaler, hpa, ["spec"], undefined, "spec: missing"],
    [HorizontalPodAutoscaler, hpa, ["spec", "maxReplicas"], undefined, "spec.maxReplicas: missing"],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["spec", "scaleTargetRef", "name"],
      3,
      "spec.scaleTargetRef.name: expected string, got 3"
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["spec", "metrics"],
      { type: "External" },
      "spec.metrics: expected array, got an object"
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["spec", "metrics", 0, "external", "metric", "name"],
      undefined,
      "spec.metrics[0].external.metric.name: missing"
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["spec", "metrics", 0, "external", "metric", "selector", "matchLabels", "kube_container_name"],
      null,
      "spec.metrics[0].external.metric.selector.matchLabels.kube_container_name: expected string, got null"
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["spec", "metrics", 0, "external", "metric", "selector", "matchExpressions", 0, "values"],
      "prod",
      'spec.metrics[0].external.metric.selector.matchExpressions[0].values: expected array, got "prod"'
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["spec", "metrics", 0, "external", "target", "averageValue"],
      2.5,
      "spec.metrics[0].external.target.averageValue: expected string, got 2.5"
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["status", "currentMetrics", 0, "external", "current", "averageValue"],
      3.1,
      "status.currentMetrics[0].external.current.averageValue: expected string, got 3.1"
    ],
    [
      HorizontalPodAutoscaler,
      hpa,
      ["status", "conditions", 0, "status"],
      undefined,
      "status.conditions[0].status: missing"
    ]
  ]

  it.each(
    badFields.map(([schema, valid, path, replacement, detail]) => ({ schema, valid, path, replacement, detail }))
  )("a wrong field is a Decode error naming it: $detail", ({ schema, valid, path, replacement, detail }) => {
    const bad = withField(valid, path, replacement)
    const e = failure(decode(schema, bad))
    expect(e).toBeInstanceOf(KubeError)
    expect(e).toMatchObject({
      reason: "Decode",
      verb: "GET",
      path: "/apis/x/v1/namespaces/n/things/t",
      status: 200,
      detail
    })
    expect(e.message).toBe(`GET /apis/x/v1/namespaces/n/things/t: 200 Decode: ${detail}`)
  })

  it.each([
    ["a string", "nope", 'expected object, got "nope"'],
    ["null", null, "expected object, got null"],
    ["an array", [lease], "expected object, got an array"],
    ["a number", 42, "expected object, got 42"]
  ])("a body that is %s is a Decode error", (_, value, detail) => {
    expect(failure(decodeObjectResult(Lease, "WATCH", "/w", value))).toMatchObject({ reason: "Decode", detail })
    expect(failure(decodeObjectResult(Lease, "WATCH", "/w", value)).status).toBeUndefined()
  })

  it("a long wrong string is cut, an object is not dumped", () => {
    const long = withField(lease, ["spec", "leaseDurationSeconds"], "6".repeat(500))
    expect(failure(decode(Lease, long)).detail).toBe(
      `spec.leaseDurationSeconds: expected number, got "${"6".repeat(40)}"…`
    )
    const object = withField(configMap, ["data"], [{ token: "s3cr3t" }])
    expect(failure(decode(ConfigMap, object)).detail).toBe("data: expected object, got an array")
  })

  it.effect("decodeObject fails in the error channel", () =>
    Effect.gen(function* () {
      const ok = yield* decodeObject(Lease, "PUT", "/l", lease, 200)
      expect(ok.spec?.holderIdentity).toBe("dca-7c9d-abcde")
      const e = yield* Effect.flip(decodeObject(Lease, "PUT", "/l", { spec: { leaseDurationSeconds: "60" } }, 200))
      expect(e).toMatchObject({ _tag: "KubeError", reason: "Decode", verb: "PUT", status: 200 })
      expect(e.detail).toBe('spec.leaseDurationSeconds: expected number, got "60"')
    })
  )
})

// Every path of a JSON value, for replacing one field of a valid object.
const pathsOf = (value: unknown, prefix: ReadonlyArray<string | number> = []): Array<Array<string | number>> => {
  if (typeof value !== "object" || value === null) return []
  const entries: Array<[string | number, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [i, v])
    : Object.entries(value)
  return entries.flatMap(([k, v]) => [[...prefix, k], ...pathsOf(v, [...prefix, k])])
}

/** The decoder's contract: a value, or a Decode KubeError with a non-empty detail; never a throw. */
const decodesOrFails = (schema: WireSchema<unknown>, value: unknown) => {
  const result = decodeObjectResult(schema, "WATCH", "/w", value)
  if (Result.isFailure(result)) {
    expect(result.failure).toBeInstanceOf(KubeError)
    expect(result.failure.reason).toBe("Decode")
    expect(result.failure.detail).not.toBe("")
  }
  return result
}

describe("decoding never throws", () => {
  it.each(kinds)("%s: any JSON value", (_, schema) => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        decodesOrFails(schema, value)
      }),
      { numRuns: 300 }
    )
  })

  it.each(kinds)("%s: a valid object with any one field replaced by any JSON value", (_, schema, valid) => {
    const paths = pathsOf(valid)
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
        (path, v) => {
          const result = decodesOrFails(schema, withField(valid, path, v))
          // A failure always names a field on the way to the one replaced.
          if (Result.isFailure(result)) {
            const field = result.failure.detail.split(":")[0] ?? ""
            expect(field.length).toBeGreaterThan(0)
          }
        }
      ),
      { numRuns: 500 }
    )
  })

  it("unknown fields of any shape survive, at the top and in spec", () => {
    const key = fc.string({ maxLength: 12 }).filter((k) => !(k in lease) && !(k in lease.spec) && k !== "__proto__")
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), (extra) => {
        const value = { ...lease, ...extra, spec: { ...lease.spec, ...extra } }
        expect(Result.getOrThrow(decodeObjectResult(Lease, "GET", "/l", value))).toEqual(value)
      })
    )
  })
})

describe("KubeClient's typed operations decode their answers", () => {
  /** A client whose every request is answered with `answer` (status 200 or 201). */
  const answering = (answer: unknown) => {
    const sent: Array<RequestSpec> = []
    const transport: Transport = {
      server: "https://test",
      send: (spec) =>
        Effect.sync(() => {
          sent.push(spec)
          return {
            status: spec.method === "POST" ? 201 : 200,
            headers: {},
            body: Buffer.from(JSON.stringify(answer))
          }
        }),
      open: () => Effect.die("no watches here"),
      connections: Effect.succeed({ active: 0, idle: 0 })
    }
    return { kube: makeKubeClient(transport, "test"), sent }
  }

  it.effect("a malformed Lease, ConfigMap or Event is a Decode error naming the field", () =>
    Effect.gen(function* () {
      const badLease = answering(withField(lease, ["spec", "leaseDurationSeconds"], "60")).kube
      const l = lease as Lease
      for (const op of [
        badLease.getLease("datadog", "datadog-leader-election"),
        badLease.createLease("datadog", l),
        badLease.replaceLease("datadog", l)
      ]) {
        const e = yield* Effect.flip(op)
        expect(e).toMatchObject({ reason: "Decode", detail: 'spec.leaseDurationSeconds: expected number, got "60"' })
        expect(e.path).toMatch(/^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/datadog\/leases/)
      }
      const put = yield* Effect.flip(badLease.replaceLease("datadog", l))
      expect(put).toMatchObject({ verb: "PUT", status: 200 })

      const badCm = answering(withField(configMap, ["data", "event.tokenKey"], 1)).kube
      const cm = configMap as ConfigMap
      for (const op of [
        badCm.getConfigMap("datadog", "datadogtoken"),
        badCm.createConfigMap("datadog", cm),
        badCm.replaceConfigMap("datadog", cm)
      ]) {
        expect(yield* Effect.flip(op)).toMatchObject({
          reason: "Decode",
          detail: 'data["event.tokenKey"]: expected string, got 1'
        })
      }

      const badEvent = answering(withField(event, ["involvedObject"], "nope")).kube
      expect(yield* Effect.flip(badEvent.createEvent("default", event as CoreEvent))).toMatchObject({
        reason: "Decode",
        verb: "POST",
        status: 201,
        path: "/api/v1/namespaces/default/events",
        detail: 'involvedObject: expected object, got "nope"'
      })
    })
  )

  it.effect("a good answer comes back whole; the generic operations still cast", () =>
    Effect.gen(function* () {
      const { kube, sent } = answering(lease)
      expect(yield* kube.replaceLease("datadog", lease as Lease)).toEqual(lease)
      expect(sent[0]?.body).toEqual(lease)
      // get/create/replace of arbitrary kinds decode nothing beyond JSON.
      const odd = answering({ spec: { leaseDurationSeconds: "60" } }).kube
      const generic = yield* odd.get({ group: "coordination.k8s.io", version: "v1", resource: "leases" }, "x")
      expect(generic).toEqual({ spec: { leaseDurationSeconds: "60" } })
    })
  )
})
