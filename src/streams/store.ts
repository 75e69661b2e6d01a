// The reflector's store: the current objects of one kind, keyed by `namespace/name`, with one
// writer (the reflector) and any number of readers. A relist is buffered and swapped in whole,
// so readers never see a half-listed cluster. Pure and synchronous: no Effect here.

/** What the watcher tells the reflector (kube-rs's watcher events). */
export type WatcherEvent<T> =
  /** A relist begins: objects of the previous state may all be gone. */
  | { readonly _tag: "Init" }
  /** Objects of the relist in progress (one LIST page). */
  | { readonly _tag: "InitPage"; readonly objects: ReadonlyArray<T> }
  /** The relist is complete: it replaces the state. */
  | { readonly _tag: "InitDone" }
  | { readonly _tag: "Apply"; readonly object: T }
  | { readonly _tag: "Delete"; readonly object: T }

/** What changed in the store, for derived indexes. */
export type StoreChange<T> =
  | { readonly _tag: "Applied"; readonly previous: T | undefined; readonly current: T }
  | { readonly _tag: "Deleted"; readonly previous: T }
  | { readonly _tag: "Replaced"; readonly previous: ReadonlyMap<string, T>; readonly current: ReadonlyMap<string, T> }

export interface StoreReader<T> {
  readonly get: (key: string) => T | undefined
  readonly has: (key: string) => boolean
  readonly size: () => number
  readonly values: () => IterableIterator<T>
  /** True once a first complete list has been swapped in. */
  readonly synced: () => boolean
  /** The current objects by key: a read-only view of the live map (a relist swaps in a new one). */
  readonly snapshot: () => ReadonlyMap<string, T>
}

export class Store<T> implements StoreReader<T> {
  private live = new Map<string, T>()
  private buffer: Map<string, T> | undefined
  private isSynced = false

  private readonly keyOf: (o: T) => string

  constructor(keyOf: (o: T) => string) {
    this.keyOf = keyOf
  }

  get = (key: string): T | undefined => this.live.get(key)
  has = (key: string): boolean => this.live.has(key)
  size = (): number => this.live.size
  values = (): IterableIterator<T> => this.live.values()
  synced = (): boolean => this.isSynced
  /** The current objects by key: a read-only view of the live map (a relist swaps in a new one). */
  snapshot = (): ReadonlyMap<string, T> => this.live

  /** Applies one watcher event; returns what readers can now see changed (if anything). */
  apply(event: WatcherEvent<T>): StoreChange<T> | undefined {
    switch (event._tag) {
      case "Init":
        this.buffer = new Map()
        return undefined
      case "InitPage": {
        const buffer = this.buffer ?? new Map<string, T>()
        this.buffer = buffer
        for (const o of event.objects) buffer.set(this.keyOf(o), o)
        return undefined
      }
      case "InitDone": {
        const previous = this.live
        this.live = this.buffer ?? new Map()
        this.buffer = undefined
        this.isSynced = true
        return { _tag: "Replaced", previous, current: this.live }
      }
      case "Apply": {
        const key = this.keyOf(event.object)
        const previous = this.live.get(key)
        this.live.set(key, event.object)
        // Events that arrive while a relist is buffered belong to the new state too.
        this.buffer?.set(key, event.object)
        return { _tag: "Applied", previous, current: event.object }
      }
      case "Delete": {
        const key = this.keyOf(event.object)
        const previous = this.live.get(key)
        this.live.delete(key)
        this.buffer?.delete(key)
        return previous === undefined ? undefined : { _tag: "Deleted", previous }
      }
    }
  }
}
