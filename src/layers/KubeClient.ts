// The agent's one edge to the Kubernetes API server: typed reads and writes, paginated LIST and
// raw WATCH as a Stream, over one keep-alive connection pool (kube/transport.ts). Every failure
// is a `KubeError` with a `reason` callers branch on. Retrying, relisting on 410 and watchdogs
// are the callers' business (streams/); this layer does one request per call. The objects the
// agent writes or reasons about (ConfigMap, Lease, Event) are decoded with their schemas
// (kube/schemas.ts): a malformed answer is a Decode error naming the field, and fields we
// don't model are kept; the generic operations cast.
import type { IncomingMessage } from "node:http"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { versionString } from "../version.ts"
import { ClusterAgentConfig } from "./Config.ts"
import { type Credentials, credentialsFromEnvironment } from "./kube/credentials.ts"
import { errorFromResponse, errorFromStatus, KubeConfigError, KubeError } from "./kube/errors.ts"
import * as Paths from "./kube/paths.ts"
import * as Schemas from "./kube/schemas.ts"
import {
  type Connections,
  type HttpResponse,
  makeTransport,
  type RequestSpec,
  type Transport
} from "./kube/transport.ts"
import type {
  ComponentStatus,
  ConfigMap,
  CoreEvent,
  KubeObject,
  Lease,
  ListPage,
  Namespace,
  ResourceRef,
  SelfSubjectAccessReview,
  ServerVersion,
  SubjectAccessReview,
  TokenReview,
  WatchEvent
} from "./kube/types.ts"
import { LineSplitter, parseWatchLine } from "./kube/watchDecoder.ts"

export { isRetryable, KubeConfigError, KubeError, type KubeErrorReason } from "./kube/errors.ts"
export type { ResourceRef } from "./kube/types.ts"

export interface ListOptions {
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  readonly limit?: number | undefined
  readonly continue?: string | undefined
  readonly resourceVersion?: string | undefined
  readonly resourceVersionMatch?: "Exact" | "NotOlderThan" | undefined
}

export interface WatchOptions {
  readonly resourceVersion?: string | undefined
  readonly allowWatchBookmarks?: boolean | undefined
  /** Server-side bound of the watch; the stream ends normally when it elapses. */
  readonly timeoutSeconds?: number | undefined
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  readonly sendInitialEvents?: boolean | undefined
  readonly resourceVersionMatch?: "Exact" | "NotOlderThan" | undefined
}

export interface KubeClientShape {
  /** The API server URL (no credentials in it), for logs. */
  readonly server: string
  /** Where the credentials came from, for logs. */
  readonly credentialsSource: string

  /** GET /version. */
  readonly serverVersion: () => Effect.Effect<ServerVersion, KubeError>
  /** GET /readyz: the body ("ok") when ready; a failure (usually ServerError 500) when not. */
  readonly readyz: () => Effect.Effect<string, KubeError>

  /** Generic GET of a named object. */
  readonly get: <T extends KubeObject = KubeObject>(resource: ResourceRef, name: string) => Effect.Effect<T, KubeError>
  /** Generic POST to the collection; 409 (apiReason AlreadyExists) when the name is taken. */
  readonly create: <T extends KubeObject>(resource: ResourceRef, object: T) => Effect.Effect<T, KubeError>
  /** Generic PUT of `object.metadata.name`; with a stale `metadata.resourceVersion`, 409 Conflict. */
  readonly replace: <T extends KubeObject>(resource: ResourceRef, object: T) => Effect.Effect<T, KubeError>
  /** Generic DELETE of a named object. */
  readonly delete: (resource: ResourceRef, name: string) => Effect.Effect<void, KubeError>

  /** One page of a LIST. */
  readonly list: <T = KubeObject>(resource: ResourceRef, options?: ListOptions) => Effect.Effect<ListPage<T>, KubeError>
  /**
   * Every page of a LIST, following `continue`. An expired continue token fails with Gone;
   * restarting from scratch is the caller's decision.
   */
  readonly listAll: <T = KubeObject>(
    resource: ResourceRef,
    options?: ListOptions
  ) => Stream.Stream<ListPage<T>, KubeError>
  /**
   * A raw WATCH. Ends normally when the server closes the response (timeoutSeconds); an ERROR
   * event fails with its Status (410 → Gone); a malformed line fails with Decode. Interrupting
   * the stream aborts the request.
   */
  readonly watch: <T = KubeObject>(
    resource: ResourceRef,
    options?: WatchOptions
  ) => Stream.Stream<WatchEvent<T>, KubeError>

  readonly getConfigMap: (namespace: string, name: string) => Effect.Effect<ConfigMap, KubeError>
  readonly createConfigMap: (namespace: string, configMap: ConfigMap) => Effect.Effect<ConfigMap, KubeError>
  readonly replaceConfigMap: (namespace: string, configMap: ConfigMap) => Effect.Effect<ConfigMap, KubeError>

  readonly getLease: (namespace: string, name: string) => Effect.Effect<Lease, KubeError>
  readonly createLease: (namespace: string, lease: Lease) => Effect.Effect<Lease, KubeError>
  readonly replaceLease: (namespace: string, lease: Lease) => Effect.Effect<Lease, KubeError>

  readonly getNamespace: (name: string) => Effect.Effect<Namespace, KubeError>
  readonly listComponentStatuses: () => Effect.Effect<ListPage<ComponentStatus>, KubeError>
  readonly createTokenReview: (review: TokenReview) => Effect.Effect<TokenReview, KubeError>
  readonly createSubjectAccessReview: (review: SubjectAccessReview) => Effect.Effect<SubjectAccessReview, KubeError>
  readonly createSelfSubjectAccessReview: (
    review: SelfSubjectAccessReview
  ) => Effect.Effect<SelfSubjectAccessReview, KubeError>
  readonly createEvent: (namespace: string, event: CoreEvent) => Effect.Effect<CoreEvent, KubeError>

  /** Sockets of the connection pool (telemetry, leak tests). */
  readonly connections: Effect.Effect<Connections>
}

export interface KubeClientOptions {
  readonly credentials: Credentials
  /** Client timeout of ordinary requests (not watches). */
  readonly timeout: Duration.Duration
  readonly userAgent?: string
}

const decodeJson = <T>(spec: RequestSpec, res: HttpResponse): Effect.Effect<T, KubeError> => {
  const verb = spec.verb ?? spec.method
  if (res.status < 200 || res.status > 299) {
    return Effect.fail(errorFromResponse(verb, spec.path, res.status, res.body.toString("utf8")))
  }
  try {
    const value: unknown = JSON.parse(res.body.toString("utf8"))
    if (typeof value === "object" && value !== null) return Effect.succeed(value as T)
  } catch {
    // reported below
  }
  const text = res.body.toString("utf8", 0, Math.min(res.body.length, 200))
  return Effect.fail(
    new KubeError({
      reason: "Decode",
      verb,
      path: spec.path,
      status: res.status,
      detail: `expected a JSON object, got: ${text}`
    })
  )
}

const invalid = (verb: string, path: string, detail: string) => new KubeError({ reason: "Invalid", verb, path, detail })

/** Reads a whole (small) body of a streamed response, for its error Status. */
const readBody = (res: IncomingMessage): Effect.Effect<string> =>
  Effect.promise(async () => {
    const chunks: Array<Buffer> = []
    let size = 0
    try {
      for await (const chunk of res) {
        chunks.push(chunk as Buffer)
        size += (chunk as Buffer).length
        if (size > 64 * 1024) break
      }
    } catch {
      // a broken error body: report what arrived
    }
    return Buffer.concat(chunks).toString("utf8")
  })

/**
 * Events of a watch body: one array per chunk (lines cut across chunks are joined first).
 * Events that precede an ERROR or malformed line in the same chunk are still delivered.
 */
async function* watchEvents<T>(
  body: AsyncIterable<Uint8Array>,
  path: string
): AsyncGenerator<ReadonlyArray<WatchEvent<T>>, void, undefined> {
  const splitter = new LineSplitter()
  const decode = (lines: ReadonlyArray<string>) => {
    const events: Array<WatchEvent<T>> = []
    for (const line of lines) {
      const parsed = parseWatchLine<T>(line)
      switch (parsed._tag) {
        case "Event":
          events.push(parsed.event)
          break
        case "Error":
          return { events, error: errorFromStatus("WATCH", path, parsed.status) }
        case "Malformed":
          return { events, error: new KubeError({ reason: "Decode", verb: "WATCH", path, detail: parsed.problem }) }
        case "Skip":
          break
      }
    }
    return { events, error: undefined }
  }
  const emit = function* (lines: ReadonlyArray<string>) {
    const { events, error } = decode(lines)
    if (events.length > 0) yield events
    if (error !== undefined) throw error
  }
  for await (const chunk of body) yield* emit(splitter.push(chunk))
  yield* emit(splitter.end())
}

/** The client over a transport; exported for tests that build their own transport. */
export const makeKubeClient = (transport: Transport, credentialsSource: string): KubeClientShape => {
  /** The answer as JSON, cast to `T` (the generic operations), or decoded with `schema`. */
  const call = <T>(spec: RequestSpec, schema?: Schemas.WireSchema<T>): Effect.Effect<T, KubeError> =>
    Effect.flatMap(transport.send(spec), (res) => {
      const json = decodeJson<T>(spec, res)
      return schema === undefined
        ? json
        : Effect.flatMap(json, (value) =>
            Schemas.decodeObject(schema, spec.verb ?? spec.method, spec.path, value, res.status)
          )
    })

  const get = <T extends KubeObject = KubeObject>(
    resource: ResourceRef,
    name: string,
    schema?: Schemas.WireSchema<T>
  ) =>
    call<T>({ method: "GET", path: Paths.objectPath(resource, name) }, schema).pipe(Effect.withSpan("KubeClient.get"))

  const create = <T extends KubeObject>(resource: ResourceRef, object: T, schema?: Schemas.WireSchema<T>) =>
    call<T>({ method: "POST", path: Paths.collectionPath(resource), body: object }, schema).pipe(
      Effect.withSpan("KubeClient.create")
    )

  const replace = <T extends KubeObject>(resource: ResourceRef, object: T, schema?: Schemas.WireSchema<T>) => {
    const name = object.metadata?.name
    if (name === undefined || name === "") {
      return Effect.fail(invalid("PUT", Paths.collectionPath(resource), "the object has no metadata.name"))
    }
    return call<T>({ method: "PUT", path: Paths.objectPath(resource, name), body: object }, schema).pipe(
      Effect.withSpan("KubeClient.replace")
    )
  }

  const remove = (resource: ResourceRef, name: string) =>
    call<KubeObject>({ method: "DELETE", path: Paths.objectPath(resource, name) }).pipe(
      Effect.asVoid,
      Effect.withSpan("KubeClient.delete")
    )

  const listPath = (resource: ResourceRef, options: ListOptions) =>
    Paths.withQuery(Paths.collectionPath(resource), {
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      limit: options.limit,
      continue: options.continue,
      resourceVersion: options.resourceVersion,
      resourceVersionMatch: options.resourceVersionMatch
    })

  const list = <T = KubeObject>(resource: ResourceRef, options: ListOptions = {}) =>
    call<ListPage<T>>({ method: "GET", path: listPath(resource, options) }).pipe(
      Effect.map((page) => ({ ...page, metadata: page.metadata ?? {}, items: page.items ?? [] })),
      Effect.withSpan("KubeClient.list")
    )

  const listAll = <T = KubeObject>(resource: ResourceRef, options: ListOptions = {}) =>
    Stream.paginate(options, (opts: ListOptions) =>
      Effect.map(list<T>(resource, opts), (page) => {
        const next = page.metadata.continue
        // The server refuses resourceVersion together with continue: the token pins the snapshot.
        const rest: ListOptions = {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit,
          continue: next
        }
        return [[page], next === undefined || next === "" ? Option.none() : Option.some(rest)] as const
      })
    )

  const watch = <T = KubeObject>(resource: ResourceRef, options: WatchOptions = {}) => {
    const path = Paths.withQuery(Paths.collectionPath(resource), {
      watch: true,
      resourceVersion: options.resourceVersion,
      resourceVersionMatch: options.resourceVersionMatch,
      allowWatchBookmarks: options.allowWatchBookmarks,
      sendInitialEvents: options.sendInitialEvents,
      timeoutSeconds: options.timeoutSeconds,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector
    })
    const spec: RequestSpec = { method: "GET", path, verb: "WATCH" }
    return Stream.unwrap(
      Effect.gen(function* () {
        const res = yield* transport.open(spec)
        if (res.statusCode !== 200) {
          const body = yield* readBody(res)
          return yield* Effect.fail(errorFromResponse("WATCH", path, res.statusCode ?? 0, body))
        }
        return Stream.fromAsyncIterable(watchEvents<T>(res, path), (e) =>
          e instanceof KubeError
            ? e
            : new KubeError({
                reason: "Transport",
                verb: "WATCH",
                path,
                detail: `watch stream broken: ${(e as Error).message}`
              })
        ).pipe(Stream.flattenIterable)
      })
    )
  }

  const version = { method: "GET", path: "/version" } as const
  const readyzSpec = { method: "GET", path: "/readyz", accept: "text/plain, */*" } as const

  return {
    server: transport.server,
    credentialsSource,
    serverVersion: () => call<ServerVersion>(version).pipe(Effect.withSpan("KubeClient.serverVersion")),
    readyz: () =>
      transport.send(readyzSpec).pipe(
        Effect.flatMap((res) =>
          res.status === 200
            ? Effect.succeed(res.body.toString("utf8"))
            : Effect.fail(errorFromResponse("GET", readyzSpec.path, res.status, res.body.toString("utf8")))
        ),
        Effect.withSpan("KubeClient.readyz")
      ),
    get,
    create,
    replace,
    delete: remove,
    list,
    listAll,
    watch,
    getConfigMap: (namespace, name) => get(Paths.configMaps(namespace), name, Schemas.ConfigMap),
    createConfigMap: (namespace, cm) => create(Paths.configMaps(namespace), cm, Schemas.ConfigMap),
    replaceConfigMap: (namespace, cm) => replace(Paths.configMaps(namespace), cm, Schemas.ConfigMap),
    getLease: (namespace, name) => get(Paths.leases(namespace), name, Schemas.Lease),
    createLease: (namespace, lease) => create(Paths.leases(namespace), lease, Schemas.Lease),
    replaceLease: (namespace, lease) => replace(Paths.leases(namespace), lease, Schemas.Lease),
    getNamespace: (name) => get<Namespace>(Paths.namespaces, name),
    listComponentStatuses: () => list<ComponentStatus>(Paths.componentStatuses),
    createTokenReview: (review) => create(Paths.tokenReviews, review),
    createSubjectAccessReview: (review) => create(Paths.subjectAccessReviews, review),
    createSelfSubjectAccessReview: (review) => create(Paths.selfSubjectAccessReviews, review),
    createEvent: (namespace, event) => create(Paths.events(namespace), event, Schemas.CoreEvent),
    connections: transport.connections
  }
}

export class KubeClient extends Context.Service<KubeClient, KubeClientShape>()("dca/KubeClient") {
  /** A client over explicit credentials; its connections close with the scope. */
  static readonly make = (options: KubeClientOptions) =>
    Effect.map(
      makeTransport(options.credentials, {
        timeout: options.timeout,
        userAgent: options.userAgent ?? `datadog-cluster-agent/${versionString()}`
      }),
      (transport) => KubeClient.of(makeKubeClient(transport, options.credentials.source))
    )

  static readonly layerWith = (options: KubeClientOptions): Layer.Layer<KubeClient> =>
    Layer.effect(KubeClient, KubeClient.make(options))

  /** Credentials from DD_KUBERNETES_KUBECONFIG_PATH, the service account, or KUBECONFIG / ~/.kube/config. */
  static readonly layer: Layer.Layer<KubeClient, KubeConfigError, ClusterAgentConfig> = Layer.effect(
    KubeClient,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const loaded = yield* Effect.promise(() => credentialsFromEnvironment(config.kubeconfigPath))
      const credentials = loaded instanceof KubeConfigError ? yield* Effect.fail(loaded) : loaded
      yield* Effect.logInfo("using Kubernetes credentials").pipe(
        Effect.annotateLogs({ server: credentials.server, source: credentials.source, auth: credentials.auth._tag })
      )
      return yield* KubeClient.make({ credentials, timeout: config.apiserverClientTimeout })
    })
  )
}
