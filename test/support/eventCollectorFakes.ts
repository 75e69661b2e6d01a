/**
 * Fakes for the event collector's tests: a cluster of Events (the list/watch replay of
 * fakeCluster, plus a history compacted below a version, so that a WATCH from an older one
 * fails 410, and open watches that can be broken on demand), the token ConfigMap (with a hook
 * to refuse writes), and an in-memory Datadog whose answers a test scripts. Every effectful
 * step is recorded on one `timeline`, so a test can check what happened before what.
 */
import { Deferred, Duration, Effect, Stream, SubscriptionRef } from "effect"
import { DatadogApiError, type DatadogClientShape, type EventCreateRequest } from "../../src/layers/DatadogClient.ts"
import type { WatchOptions } from "../../src/layers/KubeClient.ts"
import { KubeError } from "../../src/layers/KubeClient.ts"
import type { ConfigMap, KubeObject, ResourceRef, WatchEvent } from "../../src/layers/kube/types.ts"
import { fakeCluster } from "./fakeCluster.ts"

export const tokenNamespace = "dca"
export const tokenName = "datadogtoken"

export interface EventSpec {
  /** The involved object (a Pod of namespace "shop" unless `kind`/`namespace` say otherwise). */
  readonly object: string
  readonly kind?: string
  readonly namespace?: string
  readonly reason?: string
  /** Unique per test, so that a Datadog event's text says which Kubernetes events it carries. */
  readonly message: string
  readonly type?: string
  readonly count?: number
  readonly lastTimestamp?: string
}

/** A core/v1 Event (its resourceVersion is stamped by the cluster when emitted). */
export const coreEvent = (spec: EventSpec): KubeObject => {
  const namespace = spec.namespace ?? "shop"
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${spec.object}.${spec.message}`, namespace, uid: `event-${spec.message}` },
    involvedObject: {
      kind: spec.kind ?? "Pod",
      name: spec.object,
      namespace,
      uid: `uid-${spec.object}`
    },
    reason: spec.reason ?? "Started",
    message: spec.message,
    type: spec.type ?? "Normal",
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: "2026-03-01T10:00:00Z",
    lastTimestamp: spec.lastTimestamp ?? "2026-03-01T10:00:00Z",
    count: spec.count ?? 1
  }
}

/** The occurrence key the collector stores for an Event (events/view.ts occurrenceKey). */
export const occurrenceOf = (spec: EventSpec): string =>
  `event-${spec.message}/${spec.count ?? 1}/${Date.parse(spec.lastTimestamp ?? "2026-03-01T10:00:00Z")}`

const kubeError = (
  reason: KubeError["reason"],
  verb: string,
  path: string,
  status: number | undefined,
  detail: string
) => new KubeError({ reason, verb, path, ...(status === undefined ? {} : { status }), detail })

export const goneError = () => kubeError("Gone", "WATCH", "/api/v1/events", 410, "too old resource version (test)")

/** What the token ConfigMap holds after a write, as the collector's successor would read it. */
export interface StoredToken {
  readonly resourceVersion: string | undefined
  readonly shipped: ReadonlyArray<string>
}

export const eventsCluster = Effect.gen(function* () {
  const cluster = yield* fakeCluster
  const timeline: Array<string> = []

  // --- Events ---
  /** A WATCH from a resourceVersion below this fails 410 (the API server forgot that history). */
  let compactedBelow = 0
  const openWatches = new Set<Deferred.Deferred<void, KubeError>>()
  const watchFrom: Array<string | undefined> = []

  // --- the token ConfigMap ---
  const configMaps = new Map<string, ConfigMap>()
  let configMapVersion = 1000
  /** Consulted before each PUT: a KubeError refuses it. */
  let refusePut: (cm: ConfigMap) => KubeError | undefined = () => undefined
  const puts: Array<StoredToken> = []
  const path = `/api/v1/namespaces/${tokenNamespace}/configmaps/${tokenName}`
  const stamp = (cm: ConfigMap): ConfigMap => ({
    ...cm,
    metadata: { ...cm.metadata, resourceVersion: String(++configMapVersion) }
  })
  const decodeStored = (cm: ConfigMap | undefined): StoredToken => {
    const shipped = cm?.data?.["event.tokenShipped"]
    return {
      resourceVersion: cm?.data?.["event.tokenKey"],
      shipped: shipped === undefined ? [] : (JSON.parse(shipped) as Array<string>)
    }
  }

  const kube = {
    ...cluster.kube,
    watch: <T>(resource: ResourceRef, options?: WatchOptions): Stream.Stream<WatchEvent<T>, KubeError> =>
      Stream.unwrap(
        Effect.gen(function* () {
          watchFrom.push(options?.resourceVersion)
          if (Number(options?.resourceVersion ?? "0") < compactedBelow) {
            timeline.push(`WATCH ${options?.resourceVersion}: 410`)
            return Stream.fail(goneError())
          }
          timeline.push(`WATCH ${options?.resourceVersion}`)
          const broken = yield* Deferred.make<void, KubeError>()
          openWatches.add(broken)
          return cluster.kube
            .watch<T>(resource, options)
            .pipe(
              Stream.interruptWhen(Deferred.await(broken)),
              Stream.ensuring(Effect.sync(() => openWatches.delete(broken)))
            )
        })
      ),
    getConfigMap: (_namespace: string, name: string) =>
      Effect.suspend(() => {
        const cm = configMaps.get(name)
        return cm === undefined
          ? Effect.fail(kubeError("NotFound", "GET", path, 404, "not found"))
          : Effect.succeed(structuredClone(cm))
      }),
    createConfigMap: (_namespace: string, cm: ConfigMap) =>
      Effect.suspend(() => {
        const name = cm.metadata?.name ?? ""
        if (configMaps.has(name)) return Effect.fail(kubeError("Conflict", "POST", path, 409, "already exists"))
        const stored = stamp(cm)
        configMaps.set(name, stored)
        return Effect.succeed(structuredClone(stored))
      }),
    replaceConfigMap: (_namespace: string, cm: ConfigMap) =>
      Effect.suspend(() => {
        const name = cm.metadata?.name ?? ""
        const token = decodeStored(cm)
        const refused = refusePut(cm)
        if (refused !== undefined) {
          timeline.push(`PUT token ${token.resourceVersion} refused`)
          return Effect.fail(refused)
        }
        const current = configMaps.get(name)
        if (current === undefined) return Effect.fail(kubeError("NotFound", "PUT", path, 404, "not found"))
        if (current.metadata?.resourceVersion !== cm.metadata?.resourceVersion) {
          return Effect.fail(kubeError("Conflict", "PUT", path, 409, "the object has been modified"))
        }
        const stored = stamp(cm)
        configMaps.set(name, stored)
        puts.push(token)
        timeline.push(`PUT token ${token.resourceVersion} shipped=[${token.shipped.join(",")}]`)
        return Effect.succeed(structuredClone(stored))
      })
  }

  // fakeCluster stamps each change with the next revision, from 2: mirrored to name versions.
  let revision = 1
  const emit = (object: KubeObject, type: "ADDED" | "MODIFIED" = "ADDED") =>
    cluster.emit("events", type, object).pipe(Effect.map(() => String(++revision)))

  return {
    kube,
    timeline,
    /** resourceVersion of every WATCH request, in order. */
    watchFrom,
    lists: cluster.lists,
    /** Adds an Event (replayed to watches from older versions); its resourceVersion. */
    add: (spec: EventSpec) => emit(coreEvent(spec)),
    /** The same Event seen again (a higher count): another occurrence; its resourceVersion. */
    update: (spec: EventSpec) => emit(coreEvent(spec), "MODIFIED"),
    /** Changes an Event without telling open watches (only a LIST finds it); its resourceVersion. */
    addUnwatched: (spec: EventSpec) => {
      cluster.seed("events", coreEvent(spec))
      return String(++revision)
    },
    /** Adds any object as an Event, e.g. one that cannot be decoded; its resourceVersion. */
    addRaw: (object: KubeObject) => emit(object),
    /** The cluster's latest resourceVersion (what a LIST now answers). */
    latest: () => String(revision),
    /** The WATCH history below `resourceVersion` is gone: resuming from an older one fails 410. */
    compactBelow: (resourceVersion: number) => {
      compactedBelow = resourceVersion
    },
    /** Fails every open WATCH with `error` (default: 410), as a restarted API server would. */
    breakWatches: (error: KubeError = goneError()) =>
      Effect.forEach([...openWatches], (d) => Deferred.fail(d, error), { discard: true }),
    /** A token ConfigMap as a previous leader left it. */
    seedToken: (resourceVersion: string, shipped: ReadonlyArray<string> = []) => {
      configMaps.set(
        tokenName,
        stamp({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: tokenName, namespace: tokenNamespace },
          data: {
            "event.tokenKey": resourceVersion,
            "event.tokenTimestamp": "2026-03-01T09:00:00Z",
            ...(shipped.length > 0 ? { "event.tokenShipped": JSON.stringify(shipped) } : {})
          }
        })
      )
    },
    /** The token as stored now. */
    token: (): StoredToken => decodeStored(configMaps.get(tokenName)),
    /** The token ConfigMap's data as stored now. */
    tokenData: () => configMaps.get(tokenName)?.data,
    /** Every successful token write, in order. */
    puts,
    refusePuts: (refuse: (cm: ConfigMap) => KubeError | undefined) => {
      refusePut = refuse
    },
    transportError: () => kubeError("Transport", "WATCH", "/api/v1/events", undefined, "connection reset (test)"),
    putError: () => kubeError("ServerError", "PUT", path, 503, "etcdserver: request timed out (test)")
  }
})

export type EventsCluster = Effect.Success<typeof eventsCluster>

/** How the in-memory Datadog answers one attempt: undefined accepts it. */
export type DatadogAnswer = (event: EventCreateRequest, attempt: number) => DatadogApiError | undefined

export const datadogError = (reason: DatadogApiError["reason"], status?: number) =>
  new DatadogApiError({
    reason,
    method: "POST",
    endpoint: "/api/v1/events",
    ...(status === undefined ? {} : { status }),
    detail: `${reason} (test)`
  })

/** A DatadogClient whose `submitEvent` records every attempt and answers as scripted. */
export const memoryDatadog = (timeline: Array<string>) =>
  Effect.gen(function* () {
    const attempts: Array<EventCreateRequest> = []
    const accepted: Array<EventCreateRequest> = []
    let answer: DatadogAnswer = () => undefined
    /** How long each answer takes (on the test's clock). */
    let latency: Duration.Duration | undefined
    const answerOf = (event: EventCreateRequest, attempt: number) =>
      Effect.suspend(() => {
        const refused = answer(event, attempt)
        if (refused !== undefined) {
          timeline.push(`POST ${event.title}: ${refused.reason}`)
          return Effect.fail(refused)
        }
        accepted.push(event)
        timeline.push(`POST ${event.title}`)
        return Effect.succeed(String(accepted.length))
      })
    const unused = (name: string) => () => Effect.die(`memory Datadog: ${name} was not expected`)
    const keyState = yield* SubscriptionRef.make({ state: "valid" as const, apiKey: "***" })
    const client: DatadogClientShape = {
      submitEvent: (event) =>
        Effect.gen(function* () {
          attempts.push(event)
          const attempt = attempts.length
          if (latency !== undefined) yield* Effect.sleep(latency)
          return yield* answerOf(event, attempt)
        }),
      validateApiKey: unused("validateApiKey"),
      submitEvents: unused("submitEvents"),
      submitServiceChecks: unused("submitServiceChecks"),
      queryMetrics: unused("queryMetrics"),
      keyStatus: SubscriptionRef.get(keyState),
      keyStatusChanges: Stream.die("memory Datadog: keyStatusChanges was not expected"),
      validateAtStart: Effect.void,
      endpointStatus: Effect.succeed([]),
      endpoints: { api: "memory://datadog", query: "memory://datadog" }
    }
    return {
      client,
      attempts,
      accepted,
      answer: (f: DatadogAnswer) => {
        answer = f
      },
      setLatency: (d: Duration.Input) => {
        latency = Duration.fromInputUnsafe(d)
      }
    }
  })

/**
 * The messages (our tests' Kubernetes event ids) a Datadog event's text carries. A bundle sums
 * the counts of equal lines, so an Event carried twice (or one whose count is 2) reads `ev-x×2`.
 */
export const carried = (event: { readonly text: string }): Array<string> =>
  [...event.text.matchAll(/(\d+) \*\*[^*]+\*\*: (ev-[\w-]+)/g)].map(([, count, message]) =>
    count === "1" ? (message ?? "") : `${message}×${count}`
  )
