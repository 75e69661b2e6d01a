// The reflector's store: the current objects of one kind, keyed by `namespace/name`, with one
// writer (the reflector) and any number of readers. A relist is buffered and swapped in whole,
// so readers never see a half-listed cluster. Pure and synchronous: no Effect here.
//
// Changes are handed to subscribers that process them later, on their own fibers, so what a
// change carries must not move under them: objects are never mutated, and the maps a relist
// hands out are frozen in place (copy-on-write: the store copies before its next write).

/** One object and its store key. */
export interface Keyed<T> {
  readonly key: string
  readonly object: T
}

/** What the watcher tells the reflector (kube-rs's watcher events). */
export type WatcherEvent<T> =
  /** A relist begins: objects of the previous state may all be gone. */
  | { readonly _tag: "Init" }
  /** Objects of the relist in progress (one LIST page). */
  | { readonly _tag: "InitPage"; readonly objects: ReadonlyArray<Keyed<T>> }
  /** The relist is complete: it replaces the state. It was taken at `resourceVersion`. */
  | { readonly _tag: "InitDone"; readonly resourceVersion?: string | undefined }
  | { readonly _tag: "Apply"; readonly key: string; readonly object: T }
  | { readonly _tag: "Delete"; readonly key: string; readonly object: T }

/** What changed in the store, for derived indexes. `version` counts the store's changes. */
export type StoreChange<T> =
  | {
      readonly _tag: "Applied"
      readonly version: number
      readonly key: string
      readonly previous: T | undefined
      readonly current: T
    }
  | { readonly _tag: "Deleted"; readonly version: number; readonly key: string; readonly previous: T }
  /** The whole state: after a relist, at a periodic resync, or first to a new subscriber. */
  | {
      readonly _tag: "Replaced"
      readonly version: number
      readonly previous: ReadonlyMap<string, T>
      readonly current: ReadonlyMap<string, T>
    }

export interface StoreReader<T> {
  readonly get: (key: string) => T | undefined
  readonly has: (key: string) => boolean
  readonly size: () => number
  readonly values: () => IterableIterator<T>
  /** True once a first complete list has been swapped in. */
  readonly synced: () => boolean
  /** The current objects by key, as of now (later changes may show through: use `frozen`). */
  readonly snapshot: () => ReadonlyMap<string, T>
  /** How many changes the store has made visible. */
  readonly version: () => number
}

const emptyMap: ReadonlyMap<string, never> = new Map<string, never>()

export class Store<T> implements StoreReader<T> {
  private live = new Map<string, T>()
  /** Whether `live` was handed out in a change and must be copied before the next write. */
  private liveShared = false
  private buffer: Map<string, T> | undefined
  private isSynced = false
  private changes = 0

  get = (key: string): T | undefined => this.live.get(key)
  has = (key: string): boolean => this.live.has(key)
  size = (): number => this.live.size
  values = (): IterableIterator<T> => this.live.values()
  synced = (): boolean => this.isSynced
  snapshot = (): ReadonlyMap<string, T> => this.live
  version = (): number => this.changes

  /** The current state as a `Replaced` change that later writes cannot alter. */
  frozen(): StoreChange<T> & { readonly _tag: "Replaced" } {
    this.liveShared = true
    return { _tag: "Replaced", version: this.changes, previous: emptyMap, current: this.live }
  }

  /** Re-delivers the whole state (client-go's resync), as a change. */
  resync(): StoreChange<T> {
    this.liveShared = true
    this.changes++
    return { _tag: "Replaced", version: this.changes, previous: this.live, current: this.live }
  }

  /** Applies one watcher event; returns what readers can now see changed (if anything). */
  apply(event: WatcherEvent<T>): StoreChange<T> | undefined {
    switch (event._tag) {
      case "Init":
        this.buffer = new Map()
        return undefined
      case "InitPage": {
        const buffer = this.buffer ?? new Map<string, T>()
        this.buffer = buffer
        for (const { key, object } of event.objects) buffer.set(key, object)
        return undefined
      }
      case "InitDone": {
        const previous = this.live
        this.live = this.buffer ?? new Map()
        this.buffer = undefined
        this.isSynced = true
        this.liveShared = true
        this.changes++
        return { _tag: "Replaced", version: this.changes, previous, current: this.live }
      }
      case "Apply": {
        const live = this.writable()
        const previous = live.get(event.key)
        live.set(event.key, event.object)
        // Events that arrive while a relist is buffered belong to the new state too.
        this.buffer?.set(event.key, event.object)
        this.changes++
        return { _tag: "Applied", version: this.changes, key: event.key, previous, current: event.object }
      }
      case "Delete": {
        this.buffer?.delete(event.key)
        const previous = this.live.get(event.key)
        if (previous === undefined) return undefined
        this.writable().delete(event.key)
        this.changes++
        return { _tag: "Deleted", version: this.changes, key: event.key, previous }
      }
    }
  }

  private writable(): Map<string, T> {
    if (this.liveShared) {
      this.live = new Map(this.live)
      this.liveShared = false
    }
    return this.live
  }
}
