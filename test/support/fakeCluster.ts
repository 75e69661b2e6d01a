/**
 * An in-memory cluster behind a fake KubeClient, for unit tests of features over the watch
 * layer: LIST serves the objects of a resource, WATCH streams what `emit` changed after the
 * resourceVersion it resumes from (like the API server, it replays what it missed), each
 * change with a fresh resourceVersion. Records every LIST and WATCH and counts open watches.
 */
import { type Cause, Effect, Queue, Stream } from "effect"
import { fakeKubeClient } from "../../dev/fakeKubeClient.ts"
import type { ListOptions, WatchOptions } from "../../src/layers/KubeClient.ts"
import type { KubeError } from "../../src/layers/kube/errors.ts"
import type { KubeObject, ListPage, ResourceRef, WatchEvent } from "../../src/layers/kube/types.ts"
import { keyOf } from "../../src/streams/strip.ts"

type Session = Queue.Queue<WatchEvent, KubeError | Cause.Done>

export const fakeCluster = Effect.gen(function* () {
  let revision = 1
  const objects = new Map<string, Map<string, KubeObject>>()
  const sessions = new Map<string, Set<Session>>()
  const history = new Map<string, Array<WatchEvent>>()
  const lists: Array<{ readonly resource: ResourceRef; readonly options: ListOptions | undefined }> = []
  const watches: Array<{ readonly resource: ResourceRef; readonly options: WatchOptions | undefined }> = []
  const of = (resource: string) => {
    let found = objects.get(resource)
    if (found === undefined) {
      found = new Map()
      objects.set(resource, found)
    }
    return found
  }

  const kube = fakeKubeClient({
    listAll: <T>(resource: ResourceRef, options?: ListOptions) =>
      Stream.suspend(() => {
        lists.push({ resource, options })
        const page: ListPage = {
          metadata: { resourceVersion: String(revision) },
          items: [...of(resource.resource).values()]
        }
        return Stream.make(page as unknown as ListPage<T>)
      }),
    watch: <T>(resource: ResourceRef, options?: WatchOptions) =>
      Stream.unwrap(
        Effect.gen(function* () {
          watches.push({ resource, options })
          const queue = yield* Queue.unbounded<WatchEvent, KubeError | Cause.Done>()
          let open = sessions.get(resource.resource)
          if (open === undefined) {
            open = new Set()
            sessions.set(resource.resource, open)
          }
          const all = open
          all.add(queue)
          const from = Number(options?.resourceVersion ?? "0")
          for (const e of history.get(resource.resource) ?? []) {
            if (Number(e.object.metadata?.resourceVersion) > from) yield* Queue.offer(queue, e)
          }
          return Stream.fromQueue(queue).pipe(
            Stream.ensuring(Effect.sync(() => all.delete(queue)))
          ) as unknown as Stream.Stream<WatchEvent<T>, KubeError>
        })
      )
  })

  /** Changes an object of `resource` and tells its open watches. */
  const emit = (resource: string, type: "ADDED" | "MODIFIED" | "DELETED", object: KubeObject) =>
    Effect.gen(function* () {
      revision++
      const stamped = { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } }
      if (type === "DELETED") of(resource).delete(keyOf(stamped))
      else of(resource).set(keyOf(stamped), stamped)
      const event: WatchEvent = { type, object: stamped }
      history.set(resource, [...(history.get(resource) ?? []), event])
      for (const queue of sessions.get(resource) ?? []) yield* Queue.offer(queue, event)
    })

  /** Puts an object in place without telling watches (the state a LIST will find). */
  const seed = (resource: string, object: KubeObject) => {
    revision++
    of(resource).set(keyOf(object), { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } })
  }

  const openWatches = (resource: string) => sessions.get(resource)?.size ?? 0
  return { kube, lists, watches, emit, seed, openWatches }
})
