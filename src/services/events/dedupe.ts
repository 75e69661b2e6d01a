// Not sending an occurrence twice. A relist after 410 Gone, a watch restarted from an older
// resourceVersion, or a new leader resuming from the token ConfigMap replays Events that were
// already sent; their occurrence keys (view.ts) were seen. The window only has to outlive the
// replays (the resync period is 5 min, an Event's TTL 1 h by default), so two hours is plenty;
// the cap bounds memory whatever the event rate (~150 bytes an entry: 100,000 ≈ 15 MB).
//
// No clock inside: every call is given `now`, so tests and the caller's Clock decide time.

export const defaultWindowMillis = 2 * 60 * 60 * 1000
export const defaultCapacity = 100_000

export interface WindowOptions {
  /** How long a key is remembered after its first insertion (default 2 h). */
  readonly windowMillis?: number
  /** At most this many keys (default 100,000); past it the oldest is forgotten. */
  readonly capacity?: number
}

/**
 * A set of keys, each forgotten `windowMillis` after it was first inserted, and at most
 * `capacity` of them (the oldest go first). A Map keeps insertion order, and insertion times
 * are kept non-decreasing (a clock step backwards counts as no time passing), so the oldest
 * entries are always at the front: expiry and eviction cost O(1) per entry removed.
 */
export class OccurrenceWindow {
  private readonly seen = new Map<string, number>()
  private latest = Number.NEGATIVE_INFINITY
  readonly windowMillis: number
  readonly capacity: number

  constructor(options?: WindowOptions) {
    this.windowMillis = options?.windowMillis ?? defaultWindowMillis
    this.capacity = Math.max(1, options?.capacity ?? defaultCapacity)
  }

  /** Insert if absent: true, and the key remembered from `now`, when it is not in the window;
   * false for a repeat. */
  add(key: string, now: number): boolean {
    const at = this.advance(now)
    if (this.seen.has(key)) return false
    this.seen.set(key, at)
    if (this.seen.size > this.capacity) this.evictOldest()
    return true
  }

  /** Whether the key is in the window at `now` (expires what is due, inserts nothing). */
  has(key: string, now: number): boolean {
    this.advance(now)
    return this.seen.has(key)
  }

  get size(): number {
    return this.seen.size
  }

  private advance(now: number): number {
    this.latest = Math.max(this.latest, now)
    for (const [key, at] of this.seen) {
      if (this.latest - at < this.windowMillis) break
      this.seen.delete(key)
    }
    return this.latest
  }

  private evictOldest(): void {
    for (const key of this.seen.keys()) {
      this.seen.delete(key)
      return
    }
  }
}

/** A window with the defaults, or the given window and cap. */
export const makeDedupe = (options?: WindowOptions): OccurrenceWindow => new OccurrenceWindow(options)
