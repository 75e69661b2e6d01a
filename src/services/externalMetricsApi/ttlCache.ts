// A small time-bounded cache for TokenReview and SubjectAccessReview answers, so repeated requests
// cost no API call (k8s.io/apiserver caches delegated decisions 10 s). Concurrent misses for one
// key share one computation; failures are not cached. Bounded: the oldest entries go first.

export interface TtlCacheOptions<V> {
  /** How long a value stays, in ms (0 or less: not cached). */
  readonly ttlMs: (value: V) => number
  readonly maxEntries: number
  /** Milliseconds, monotonic enough for expiry. */
  readonly now: () => number
}

export interface TtlCache<V> {
  /** The cached value for `key`, or `compute()`'s (shared by every caller while it runs). */
  readonly get: (key: string, compute: () => Promise<V>) => Promise<V>
  readonly size: () => number
}

export const makeTtlCache = <V>(options: TtlCacheOptions<V>): TtlCache<V> => {
  const entries = new Map<string, { readonly value: V; readonly expires: number }>()
  const inFlight = new Map<string, Promise<V>>()

  const store = (key: string, value: V) => {
    const ttl = options.ttlMs(value)
    if (ttl <= 0) return
    entries.delete(key)
    entries.set(key, { value, expires: options.now() + ttl })
    // Map iteration is insertion order: drop expired entries first, then the oldest.
    if (entries.size > options.maxEntries) {
      const now = options.now()
      for (const [k, e] of entries) if (e.expires <= now) entries.delete(k)
      for (const k of entries.keys()) {
        if (entries.size <= options.maxEntries) break
        entries.delete(k)
      }
    }
  }

  const get = (key: string, compute: () => Promise<V>): Promise<V> => {
    const hit = entries.get(key)
    if (hit !== undefined) {
      if (hit.expires > options.now()) return Promise.resolve(hit.value)
      entries.delete(key)
    }
    const running = inFlight.get(key)
    if (running !== undefined) return running
    const started = new Promise<V>((resolve) => resolve(compute())).then(
      (value) => {
        inFlight.delete(key)
        store(key, value)
        return value
      },
      (error: unknown) => {
        inFlight.delete(key)
        throw error
      }
    )
    inFlight.set(key, started)
    return started
  }

  return { get, size: () => entries.size }
}
