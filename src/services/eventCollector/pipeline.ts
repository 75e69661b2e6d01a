// The event collector's cursor discipline: what to ship next, and how far the stored token may
// move once Datadog has accepted it. Plain code with one owner (the collector's fiber); no Effect.
//
// The cursor is a resourceVersion `c` with one meaning: every event occurrence with a
// resourceVersion ≤ c has been accepted by Datadog. The token ConfigMap stores it, so a new leader
// resumes from it without losing or repeating events. Three rules keep that true:
//   - the queue is ordered by resourceVersion. A WATCH delivers in that order; a relist arrives in
//     key order, so it is held until complete and then queued sorted. Any prefix of the queue can
//     then be shipped and leave a valid cursor, also when a leader dies halfway through a relist;
//   - the cursor moves to the highest resourceVersion of the accepted batches that nothing still
//     queued sits at or below (a relist may bring an older occurrence in after a batch left);
//   - an occurrence at or below the cursor, or one this leader already queued (a relist after a
//     410 replays what we had), is skipped; it still lets the cursor pass it.
import type { WatcherEvent } from "../../streams/store.ts"

export interface PipelineOptions<T> {
  /** The token the leader resumed from ("" = none: everything listed is new). */
  readonly cursor: string
  readonly resourceVersionOf: (item: T) => string
  /** One occurrence of an event: a Modified event with a higher count is another. */
  readonly occurrenceOf: (item: T) => string
  /** Orders resourceVersions ("" lowest). */
  readonly compare: (a: string, b: string) => number
  /** Insert-if-absent over occurrences seen by this leader: true when the occurrence is new. */
  readonly remember: (occurrence: string) => boolean
}

/** Work taken off the queue: the events to ship and where the cursor may go once they are in. */
export interface Batch<T> {
  readonly items: ReadonlyArray<T>
  /** The highest resourceVersion the batch covers (skipped occurrences included). */
  readonly upTo: string
}

interface Entry<T> {
  /** Undefined for an occurrence that is only passed over (skipped, or a deletion). */
  readonly item: T | undefined
  readonly resourceVersion: string
}

export interface Pipeline<T> {
  /** Takes one watcher event in. Returns how many events were queued to ship (0 or more). */
  readonly ingest: (event: WatcherEvent<T>) => number
  /** Up to `max` events from the front of the queue (undefined when nothing is queued). */
  readonly take: (max: number) => Batch<T> | undefined
  /** The batch taken last is accepted: returns the new cursor when it moved. */
  readonly accepted: (batch: Batch<T>) => string | undefined
  readonly cursor: () => string
  /** Events queued to ship (entries that are only passed over do not count). */
  readonly queued: () => number
  /** True while a relist is being received (nothing of it is queued until it is complete). */
  readonly relisting: () => boolean
}

export const makePipeline = <T>(options: PipelineOptions<T>): Pipeline<T> => {
  const { compare, resourceVersionOf } = options
  let cursor = options.cursor
  let queue: Array<Entry<T>> = []
  let queuedItems = 0
  let relist: Array<T> | undefined
  // Accepted batches' `upTo` the cursor could not reach yet, because older entries are queued.
  let marks: Array<string> = []

  /** Inserts keeping the queue ordered by resourceVersion (appends in the common case). */
  const enqueue = (entry: Entry<T>): void => {
    let i = queue.length
    while (i > 0 && compare((queue[i - 1] as Entry<T>).resourceVersion, entry.resourceVersion) > 0) i--
    if (i === queue.length) queue.push(entry)
    else queue.splice(i, 0, entry)
    if (entry.item !== undefined) queuedItems++
  }

  const admit = (item: T): number => {
    const resourceVersion = resourceVersionOf(item)
    if (compare(resourceVersion, cursor) <= 0) return 0
    const fresh = options.remember(options.occurrenceOf(item))
    enqueue({ item: fresh ? item : undefined, resourceVersion })
    return fresh ? 1 : 0
  }

  const passOver = (resourceVersion: string): number => {
    if (compare(resourceVersion, cursor) > 0) enqueue({ item: undefined, resourceVersion })
    return 0
  }

  const ingest = (event: WatcherEvent<T>): number => {
    switch (event._tag) {
      case "Init":
        relist = []
        return 0
      case "InitPage":
        relist ??= []
        for (const { object } of event.objects) relist.push(object)
        return 0
      case "InitDone": {
        const listed = relist ?? []
        relist = undefined
        listed.sort((a, b) => compare(resourceVersionOf(a), resourceVersionOf(b)))
        let added = 0
        for (const item of listed) added += admit(item)
        // Everything up to the list's version is in the list: once it is shipped, so is that.
        if (event.resourceVersion !== undefined) passOver(event.resourceVersion)
        return added
      }
      case "Apply":
        // The watcher only sends Apply after a complete list; a relist in progress stays whole.
        if (relist !== undefined) {
          relist.push(event.object)
          return 0
        }
        return admit(event.object)
      case "Delete":
        // An Event deleted at its TTL is not a new occurrence (the original's dda#7107 duplicates).
        return relist === undefined ? passOver(resourceVersionOf(event.object)) : 0
    }
  }

  const take = (max: number): Batch<T> | undefined => {
    if (queue.length === 0) return undefined
    const items: Array<T> = []
    let n = 0
    while (n < queue.length) {
      const entry = queue[n] as Entry<T>
      if (entry.item !== undefined) {
        if (items.length >= max) break
        items.push(entry.item)
      }
      n++
    }
    const last = queue[n - 1] as Entry<T>
    queue = queue.slice(n)
    queuedItems -= items.length
    return { items, upTo: last.resourceVersion }
  }

  const accepted = (batch: Batch<T>): string | undefined => {
    marks.push(batch.upTo)
    const front = queue[0]
    let reach: string | undefined
    for (const m of marks) {
      const clear = front === undefined || compare(m, front.resourceVersion) < 0
      if (clear && (reach === undefined || compare(m, reach) > 0)) reach = m
    }
    if (reach === undefined) return undefined
    const reached = reach
    marks = marks.filter((m) => compare(m, reached) > 0)
    if (compare(reached, cursor) <= 0) return undefined
    cursor = reached
    return cursor
  }

  return {
    ingest,
    take,
    accepted,
    cursor: () => cursor,
    queued: () => queuedItems,
    relisting: () => relist !== undefined
  }
}
