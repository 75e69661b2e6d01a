/**
 * Everything the fake Datadog API received, in arrival order, and a way for tests to wait for
 * what they expect without fixed sleeps: waiters are re-checked whenever a request arrives or is
 * answered.
 */
import type { FaultKind } from "./faults.ts"

export interface RecordedRequest {
  /** 1, 2, 3, ... in arrival order (cleared requests keep their numbers). */
  readonly seq: number
  /** When the request (head and body) had fully arrived, ms since the epoch. */
  readonly time: number
  readonly method: string
  /** The path without the query string, e.g. `/api/v1/query`. */
  readonly path: string
  /** Query parameters; a repeated name keeps its last value. */
  readonly query: Readonly<Record<string, string>>
  /** Header names in lower case; repeated headers joined by ", ". */
  readonly headers: Readonly<Record<string, string>>
  /** The body bytes after Content-Encoding (gzip, deflate, zstd) was undone. */
  readonly rawBody: Buffer
  /**
   * The decoded body: parsed JSON, `{ fields, files }` for multipart forms, text otherwise,
   * `undefined` when empty or undecodable (see `bodyError`).
   */
  readonly body: unknown
  /** Why the body could not be decoded (bad compression, malformed JSON or form). */
  readonly bodyError?: string
  /** The status answered; undefined while in flight, or when the connection was dropped. */
  status?: number
  /** The injected fault that shaped the answer, if any. */
  fault?: FaultKind
  /**
   * Whether the fake acted on the request as Datadog would have (stored the event, the checks,
   * the flare, answered the query). True also when a `malformed` or `drop` fault then spoiled the
   * answer after the fact, as when a response is lost on the way back.
   */
  accepted: boolean
  /** Set once the answer was written or the connection dropped. */
  done: boolean
}

export interface WaitOptions {
  /** Default 5000 ms. */
  readonly timeoutMs?: number
  /** Describes what is awaited, for the timeout message. */
  readonly what?: string
}

export interface RequestFilter {
  readonly path?: string | RegExp
  readonly method?: string
}

export const matchesFilter = (request: { method: string; path: string }, filter: RequestFilter = {}): boolean =>
  (filter.method === undefined || filter.method.toUpperCase() === request.method) &&
  (filter.path === undefined ||
    (typeof filter.path === "string" ? filter.path === request.path : filter.path.test(request.path)))

export class Recorder {
  #requests: RecordedRequest[] = []
  #seq = 0
  readonly #waiters = new Set<() => void>()

  nextSeq(): number {
    this.#seq += 1
    return this.#seq
  }

  add(request: RecordedRequest): void {
    this.#requests.push(request)
    this.changed()
  }

  /** Re-checks every waiter (after a request was added or answered). */
  changed(): void {
    for (const check of [...this.#waiters]) check()
  }

  list(filter?: RequestFilter): ReadonlyArray<RecordedRequest> {
    return filter === undefined ? [...this.#requests] : this.#requests.filter((r) => matchesFilter(r, filter))
  }

  clear(): void {
    this.#requests = []
  }

  /**
   * Resolves with the first value other than `undefined`/`false` that `probe` returns, checked now
   * and after every recorded change; rejects after the timeout with what was seen.
   */
  waitFor<A>(probe: () => A | undefined | false, options: WaitOptions = {}): Promise<A> {
    const timeoutMs = options.timeoutMs ?? 5_000
    return new Promise<A>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const check = () => {
        let value: A | undefined | false
        try {
          value = probe()
        } catch (error) {
          finish()
          reject(error)
          return
        }
        if (value !== undefined && value !== false) {
          finish()
          resolve(value)
        }
      }
      const finish = () => {
        this.#waiters.delete(check)
        if (timer !== undefined) clearTimeout(timer)
      }
      timer = setTimeout(() => {
        finish()
        const seen = this.#requests.slice(-10).map((r) => `${r.method} ${r.path} ${r.status ?? "-"}`)
        reject(
          new Error(
            `fake Datadog: timed out after ${timeoutMs} ms waiting for ${options.what ?? "a condition"}; ` +
              `${this.#requests.length} requests recorded${seen.length > 0 ? `, last: ${seen.join("; ")}` : ""}`
          )
        )
      }, timeoutMs)
      this.#waiters.add(check)
      check()
    })
  }
}
