/**
 * Fakes of the KubeClient for unit tests that drive time with TestClock, and for benchmarks
 * (integration tests use the real control plane). `fakeKubeClient(overrides)` dies loudly on
 * any method a test did not provide; `scriptedWatches()` serves LIST pages and WATCH sessions
 * that the test feeds.
 */
import { type Cause, Effect, Queue, Stream } from "effect"
import type { KubeClientShape, ListOptions, WatchOptions } from "../src/layers/KubeClient.ts"
import type { KubeError } from "../src/layers/kube/errors.ts"
import type { KubeObject, ListPage, ResourceRef, WatchEvent } from "../src/layers/kube/types.ts"

const unused = (name: string) => () => Effect.die(`fake KubeClient: ${name} was not expected`)

export const fakeKubeClient = (overrides: Partial<KubeClientShape>): KubeClientShape => ({
  server: "https://10.0.0.1:443",
  credentialsSource: "fake",
  serverVersion: unused("serverVersion"),
  readyz: unused("readyz"),
  get: unused("get"),
  create: unused("create"),
  replace: unused("replace"),
  delete: unused("delete"),
  list: unused("list"),
  listAll: () => Stream.die("fake KubeClient: listAll was not expected"),
  watch: () => Stream.die("fake KubeClient: watch was not expected"),
  getConfigMap: unused("getConfigMap"),
  createConfigMap: unused("createConfigMap"),
  replaceConfigMap: unused("replaceConfigMap"),
  getLease: unused("getLease"),
  createLease: unused("createLease"),
  replaceLease: unused("replaceLease"),
  getNamespace: unused("getNamespace"),
  listComponentStatuses: unused("listComponentStatuses"),
  createTokenReview: unused("createTokenReview"),
  createSubjectAccessReview: unused("createSubjectAccessReview"),
  createSelfSubjectAccessReview: unused("createSelfSubjectAccessReview"),
  createEvent: unused("createEvent"),
  connections: Effect.succeed({ active: 0, idle: 0 }),
  ...overrides
})

/** What one LIST call returns: pages, or a failure. */
export type ListScript = { readonly pages: ReadonlyArray<ListPage> } | { readonly error: KubeError }

/** One WATCH request the test controls: offer events, then end it or fail it. */
export interface WatchSession {
  readonly options: WatchOptions | undefined
  readonly events: Queue.Queue<WatchEvent, KubeError | Cause.Done>
}

export const scriptedWatches = Effect.gen(function* () {
  const lists = yield* Queue.unbounded<ListScript>()
  const sessions = yield* Queue.unbounded<WatchSession>()
  const listCalls: Array<ListOptions | undefined> = []
  const kube = fakeKubeClient({
    listAll: <T>(_: ResourceRef, options?: ListOptions) =>
      Stream.unwrap(
        Effect.gen(function* () {
          listCalls.push(options)
          const script = yield* Queue.take(lists)
          return "error" in script
            ? Stream.fail(script.error)
            : (Stream.fromIterable(script.pages) as unknown as Stream.Stream<ListPage<T>>)
        })
      ),
    watch: <T>(_: ResourceRef, options?: WatchOptions) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const events = yield* Queue.unbounded<WatchEvent, KubeError | Cause.Done>()
          yield* Queue.offer(sessions, { options, events })
          return Stream.fromQueue(events) as unknown as Stream.Stream<WatchEvent<T>, KubeError>
        })
      )
  })
  return { kube, lists, sessions, listCalls }
})

export const object = (name: string, resourceVersion: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  metadata: { name, namespace: "ns", resourceVersion },
  ...extra
})

export const page = (resourceVersion: string, items: ReadonlyArray<KubeObject>, cont?: string): ListPage => ({
  metadata: cont === undefined ? { resourceVersion } : { resourceVersion, continue: cont },
  items
})
