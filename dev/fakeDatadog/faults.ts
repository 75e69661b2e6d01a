/**
 * Fault injection: rules scripted per path (or for every API path), for the next N requests or
 * until removed. For each request, every matching `latency` rule adds its delay, then the first
 * matching rule of another kind decides the answer.
 */
import { matchesFilter, type RequestFilter } from "./recorder.ts"

export interface RateLimitHeaders {
  /** `X-RateLimit-Limit`: requests allowed per period. */
  readonly limit?: number
  /** `X-RateLimit-Period`: the period in seconds. */
  readonly period?: number
  /** `X-RateLimit-Remaining`: requests left in the current period. */
  readonly remaining?: number
  /** `X-RateLimit-Reset`: seconds until the period resets. */
  readonly reset?: number
}

export type Fault =
  /** Answer normally, `ms` later. Adds up with other matching faults. */
  | { readonly kind: "latency"; readonly ms: number }
  /** Answer `status` (a 5xx, or any other) with an `{"errors":[...]}` body (or `body`), without acting. */
  | { readonly kind: "status"; readonly status: number; readonly body?: unknown }
  /** Answer 429 with `X-RateLimit-*` headers (defaults: limit 100, period 60, remaining 0, reset 1), without acting. */
  | ({ readonly kind: "rateLimit" } & RateLimitHeaders)
  /** Act on the request, then answer its normal status with a body that is not JSON. */
  | { readonly kind: "malformed"; readonly body?: string }
  /** Destroy the socket without an answer: before acting, or after it with `afterAccepting`. */
  | { readonly kind: "drop"; readonly afterAccepting?: boolean }

export type FaultKind = Fault["kind"]

export interface FaultOptions extends RequestFilter {
  /** How many requests the rule applies to; default: every one until removed. */
  readonly times?: number
}

export interface FaultHandle {
  /** Requests this rule still applies to (Infinity when unbounded, 0 once used up or removed). */
  readonly remaining: () => number
  /** How many requests it applied to so far. */
  readonly applied: () => number
  readonly remove: () => void
}

export interface FaultPlan {
  readonly delayMs: number
  /** The fault deciding the answer, if any (never `latency`). */
  readonly fault?: Exclude<Fault, { kind: "latency" }>
  /** Whether a latency rule applied (for recording, when no other fault did). */
  readonly delayed: boolean
}

interface Rule {
  readonly fault: Fault
  readonly filter: RequestFilter
  remaining: number
  applied: number
}

/** Paths a rule without a path does not touch: the fake's own endpoints. */
const isApiPath = (path: string) => !path.startsWith("/fake/")

export class Faults {
  #rules: Rule[] = []

  inject(fault: Fault, options: FaultOptions = {}): FaultHandle {
    const { times, ...filter } = options
    const rule: Rule = { fault, filter, remaining: times ?? Number.POSITIVE_INFINITY, applied: 0 }
    this.#rules.push(rule)
    return {
      remaining: () => rule.remaining,
      applied: () => rule.applied,
      remove: () => {
        rule.remaining = 0
        this.#rules = this.#rules.filter((r) => r !== rule)
      }
    }
  }

  clear(): void {
    for (const rule of this.#rules) rule.remaining = 0
    this.#rules = []
  }

  /** Consumes the rules that apply to this request and says what to do. */
  plan(request: { method: string; path: string }): FaultPlan {
    let delayMs = 0
    let delayed = false
    let fault: FaultPlan["fault"]
    for (const rule of this.#rules) {
      if (rule.remaining <= 0) continue
      if (rule.filter.path === undefined && !isApiPath(request.path)) continue
      if (!matchesFilter(request, rule.filter)) continue
      if (rule.fault.kind === "latency") {
        delayMs += rule.fault.ms
        delayed = true
      } else if (fault === undefined) {
        fault = rule.fault
      } else continue
      rule.remaining -= 1
      rule.applied += 1
    }
    this.#rules = this.#rules.filter((r) => r.remaining > 0)
    return fault === undefined ? { delayMs, delayed } : { delayMs, delayed, fault }
  }
}

/** `X-RateLimit-*` response headers. */
export const rateLimitHeaders = (h: Required<RateLimitHeaders>): Record<string, string> => ({
  "x-ratelimit-limit": String(h.limit),
  "x-ratelimit-period": String(h.period),
  "x-ratelimit-remaining": String(h.remaining),
  "x-ratelimit-reset": String(h.reset)
})
