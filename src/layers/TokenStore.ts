// The event collector's cursor (contract §3.1–3.2): the ConfigMap DD_CLUSTER_AGENT_TOKEN_NAME
// ("datadogtoken") in the resources namespace holds `event.tokenKey`, the last resourceVersion
// shipped, and `event.tokenTimestamp`, the time of the last full LIST (RFC 3339). A new leader
// resumes from it, so it must survive whatever other writers left there: reading never fails on
// garbled data (it is logged and read as "start over"), only on API errors, and the formats of
// older originals (RFC 822/1123 times, the doubled key of dda#4342) are recovered.
//
// Writes use optimistic concurrency: replace with the resourceVersion of the object just read,
// and on 409 read again. A stored cursor numerically ahead of ours was moved by another replica
// (resourceVersions only grow), so it is kept: the token never moves backwards.
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import { ClusterAgentConfig } from "./Config.ts"
import { KubeClient, type KubeClientShape, KubeError } from "./KubeClient.ts"
import { compareResourceVersions, isResourceVersion } from "./kube/resourceVersion.ts"
import type { ConfigMap } from "./kube/types.ts"

export const tokenKey = "event.tokenKey"
export const tokenTimestampKey = "event.tokenTimestamp"
/** Where an old original wrote the cursor by mistake (field-lessons 1C, dda#4342). */
export const doubledTokenKey = "event.tokenKey.tokenKey"
export const doubledTokenTimestampKey = "event.tokenKey.tokenTimestamp"
/** JSON array of occurrence keys accepted above the cursor (this agent's own addition). */
export const shippedKey = "event.tokenShipped"

/** Replaces that lose a race (409) before a write gives up. */
export const maxWriteAttempts = 5

export interface EventToken {
  /** The last resourceVersion shipped; "" = none (list everything). */
  readonly resourceVersion: string
  /** When events were last listed in full. */
  readonly timestamp: Date
  /**
   * Occurrences above `resourceVersion` that Datadog already accepted (part of a batch in
   * progress), so that a new leader does not send them again. Our own key; the original ignores it.
   */
  readonly shipped: ReadonlyArray<string>
}

export interface TokenStoreShape {
  /** Get-or-create and recover (contract §3.2): never fails on garbled data, only on API errors. */
  readonly read: Effect.Effect<EventToken, KubeError>
  /**
   * Replace with the read object's resourceVersion; on 409 (or a 404: deleted meanwhile) read
   * again and retry, at most {@link maxWriteAttempts} times. A stored resourceVersion numerically greater than ours is
   * kept. Other data keys, labels and annotations of the ConfigMap are preserved.
   */
  readonly write: (token: EventToken) => Effect.Effect<void, KubeError>
}

// --- pure ----------------------------------------------------------------------------------------

/** RFC 3339 at second precision in UTC, as Go's `time.RFC3339` writes it: 2024-05-01T12:00:00Z. */
export const formatTokenTimestamp = (date: Date): string => date.toISOString().replace(/\.\d+Z$/, "Z")

export interface ParsedTimestamp {
  readonly date: Date
  /** RFC 822 and RFC 1123 times come from older originals; they are rewritten as RFC 3339. */
  readonly format: "RFC 3339" | "RFC 1123" | "RFC 822"
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** The instant of calendar fields, or undefined when one is out of range (month 13, 31 Feb, 24:00). */
const instant = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  millis: number,
  offsetMinutes: number
): Date | undefined => {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  const utc = new Date(0)
  // setUTCFullYear: Date.UTC maps years 0-99 to 1900-1999.
  utc.setUTCFullYear(year, month - 1, day)
  utc.setUTCHours(hour, minute, second, millis)
  return new Date(utc.getTime() - offsetMinutes * 60_000)
}

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

// Go's RFC822 ("02 Jan 06 15:04 MST"), RFC822Z ("… -0700"), RFC1123 ("Mon, 02 Jan 2006 15:04:05 MST")
// and RFC1123Z. The weekday is checked for form only, as Go does.
const rfc1123 =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{2}|\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? ([A-Za-z]{1,5}|[+-]\d{4})$/

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

// RFC 822's zone names; another abbreviation is taken as UTC, as Go does for one it doesn't know.
const zoneOffsetHours: Readonly<Record<string, number>> = {
  EST: -5,
  EDT: -4,
  CST: -6,
  CDT: -5,
  MST: -7,
  MDT: -6,
  PST: -8,
  PDT: -7
}

const zoneMinutes = (zone: string): number => {
  if (zone.startsWith("+") || zone.startsWith("-")) {
    const sign = zone.startsWith("-") ? -1 : 1
    return sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)))
  }
  return (zoneOffsetHours[zone.toUpperCase()] ?? 0) * 60
}

/** A token timestamp: RFC 3339, or the RFC 822/1123 forms older originals wrote; else undefined. */
export const parseTokenTimestamp = (text: string): ParsedTimestamp | undefined => {
  const value = text.trim()
  const iso = rfc3339.exec(value)
  if (iso !== null) {
    const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = iso
    const offset = z !== undefined ? 0 : (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om))
    if (Number(oh ?? 0) > 23 || Number(om ?? 0) > 59) return undefined
    const millis = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000)
    const date = instant(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), millis, offset)
    return date === undefined ? undefined : { date, format: "RFC 3339" }
  }
  const old = rfc1123.exec(value)
  if (old !== null) {
    const [, d, mon, y = "", h, mi, s, zone = ""] = old
    // Go's two-digit years: 69-99 are 19xx, 00-68 are 20xx.
    const year = y.length === 4 ? Number(y) : Number(y) >= 69 ? 1900 + Number(y) : 2000 + Number(y)
    const month = months.indexOf(mon ?? "") + 1
    const date = instant(year, month, Number(d), Number(h), Number(mi), Number(s ?? 0), 0, zoneMinutes(zone))
    return date === undefined ? undefined : { date, format: y.length === 4 ? "RFC 1123" : "RFC 822" }
  }
  return undefined
}

/** Something in the ConfigMap that was not as this agent writes it, and what was done instead. */
export interface TokenProblem {
  readonly key: string
  readonly problem: string
}

export interface DecodedToken {
  readonly token: EventToken
  /** No cursor key at all: the original writes "" with the time now at once. */
  readonly missing: boolean
  readonly problems: ReadonlyArray<TokenProblem>
}

const shown = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)

/** Pure: the token a ConfigMap's data holds, recovering what can be recovered (contract §3.2). */
export const decodeToken = (data: Readonly<Record<string, string>> | undefined, now: Date): DecodedToken => {
  const problems: Array<TokenProblem> = []
  let key = tokenKey
  let timeKey = tokenTimestampKey
  let raw = data?.[tokenKey]
  if (raw === undefined && data?.[doubledTokenKey] !== undefined) {
    raw = data[doubledTokenKey]
    key = doubledTokenKey
    if (data[doubledTokenTimestampKey] !== undefined) timeKey = doubledTokenTimestampKey
    problems.push({
      key,
      problem: `the cursor is under the doubled key an old agent wrote (dda#4342); using it, the next write stores it as ${tokenKey}`
    })
  }
  const shipped = decodeShipped(data?.[shippedKey], problems)
  if (raw === undefined) return { token: { resourceVersion: "", timestamp: now, shipped }, missing: true, problems }

  let resourceVersion = raw.trim()
  if (resourceVersion !== "" && !isResourceVersion(resourceVersion)) {
    problems.push({
      key,
      problem: `not a resourceVersion (decimal digits), got ${shown(raw)}: events are collected from scratch`
    })
    resourceVersion = ""
  }

  const rawTime = data?.[timeKey]
  if (rawTime === undefined) {
    problems.push({ key: timeKey, problem: "missing: the last list time is taken as now" })
    return { token: { resourceVersion, timestamp: now, shipped }, missing: false, problems }
  }
  const parsed = parseTokenTimestamp(rawTime)
  if (parsed === undefined) {
    problems.push({
      key: timeKey,
      problem: `not an RFC 3339 time, got ${shown(rawTime)}: the last list time is taken as now`
    })
    return { token: { resourceVersion, timestamp: now, shipped }, missing: false, problems }
  }
  if (parsed.format !== "RFC 3339") {
    problems.push({
      key: timeKey,
      problem: `an ${parsed.format} time left by an older agent, read as ${formatTokenTimestamp(parsed.date)}; the next write stores RFC 3339`
    })
  }
  return { token: { resourceVersion, timestamp: parsed.date, shipped }, missing: false, problems }
}

/** The accepted occurrences above the cursor; garbled means none (they may be sent again). */
const decodeShipped = (raw: string | undefined, problems: Array<TokenProblem>): ReadonlyArray<string> => {
  if (raw === undefined || raw.trim() === "") return []
  try {
    const value: unknown = JSON.parse(raw)
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value
  } catch {}
  problems.push({
    key: shippedKey,
    problem: `not a JSON array of strings, got ${shown(raw)}: events above the cursor may be sent again`
  })
  return []
}

/** Pure: the ConfigMap with the token written in, everything else kept. */
export const withToken = (configMap: ConfigMap, token: EventToken): ConfigMap => {
  const { [shippedKey]: _previous, ...data } = configMap.data ?? {}
  return {
    ...configMap,
    data: {
      ...data,
      [tokenKey]: token.resourceVersion,
      [tokenTimestampKey]: formatTokenTimestamp(token.timestamp),
      ...(token.shipped.length > 0 ? { [shippedKey]: JSON.stringify(token.shipped) } : {})
    }
  }
}

// --- the store -----------------------------------------------------------------------------------

const tokenNameVariable = "DD_CLUSTER_AGENT_TOKEN_NAME"

/** The same error with another detail. */
const withDetail = (e: KubeError, detail: string): KubeError =>
  new KubeError({
    reason: e.reason,
    verb: e.verb,
    path: e.path,
    ...(e.status === undefined ? {} : { status: e.status }),
    ...(e.apiReason === undefined ? {} : { apiReason: e.apiReason }),
    detail
  })

/** The error, its detail naming the ConfigMap (and, for a 403, the rights it takes). */
const aboutConfigMap = (namespace: string, name: string, e: KubeError): KubeError => {
  const rbac =
    e.reason === "Forbidden"
      ? `the agent's service account needs get, create and update on configmaps in namespace ${namespace}: `
      : ""
  return withDetail(e, `event token ConfigMap ${namespace}/${name} (${tokenNameVariable}): ${rbac}${e.detail}`)
}

/** The store over one ConfigMap; `TokenStore.layer` picks it from the configuration. */
export const makeTokenStore = (kube: KubeClientShape, namespace: string, name: string): TokenStoreShape => {
  const annotate = Effect.annotateLogs({ configMap: `${namespace}/${name}` })
  const explain = Effect.mapError((e: KubeError) => aboutConfigMap(namespace, name, e))

  /** GET; on 404 create it empty; a 409 on create means another replica just did: GET again. */
  const getOrCreate: Effect.Effect<ConfigMap, KubeError> = Effect.gen(function* () {
    for (let attempt = 1; ; attempt++) {
      const found = yield* kube.getConfigMap(namespace, name).pipe(
        Effect.map(Option.some),
        Effect.catchIf(
          (e) => e.reason === "NotFound",
          () => Effect.succeed(Option.none<ConfigMap>())
        )
      )
      if (Option.isSome(found)) return found.value
      const created = yield* kube
        .createConfigMap(namespace, { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } })
        .pipe(
          Effect.map(Option.some),
          Effect.catchIf(
            (e) => e.reason === "Conflict" && attempt < 3,
            () => Effect.succeed(Option.none<ConfigMap>())
          )
        )
      if (Option.isSome(created)) {
        yield* Effect.logInfo("created the event token ConfigMap").pipe(annotate)
        return created.value
      }
    }
  })

  // The object as this store last read or wrote it: the next write is a single PUT on it (one
  // writer, the leader, writes often while a batch is in progress); a 409 reads it again.
  let last: ConfigMap | undefined

  const store = (token: EventToken): Effect.Effect<void, KubeError> =>
    Effect.gen(function* () {
      for (let attempt = 1; ; attempt++) {
        const current = last ?? (yield* getOrCreate)
        last = undefined
        const stored = current.data?.[tokenKey]
        if (stored !== undefined && compareResourceVersions(stored, token.resourceVersion) > 0) {
          yield* Effect.logInfo(
            "the stored event token is ahead of this one (another replica moved it): keeping it"
          ).pipe(annotate, Effect.annotateLogs({ stored, ours: token.resourceVersion }))
          return
        }
        const replaced = yield* Effect.result(kube.replaceConfigMap(namespace, withToken(current, token)))
        if (Result.isSuccess(replaced)) {
          last = replaced.success
          return
        }
        const e = replaced.failure
        // 409: another writer came first; 404: it was deleted since (the next round recreates it).
        if (e.reason !== "Conflict" && e.reason !== "NotFound") return yield* Effect.fail(e)
        if (attempt >= maxWriteAttempts) {
          return yield* Effect.fail(withDetail(e, `${e.detail} (gave up after ${attempt} writes that lost a race)`))
        }
        yield* Effect.logDebug("the event token ConfigMap changed under us, reading it again").pipe(
          annotate,
          Effect.annotateLogs({ attempt })
        )
      }
    })

  const read = Effect.gen(function* () {
    const configMap = yield* getOrCreate
    last = configMap
    const now = new Date(yield* Clock.currentTimeMillis)
    const decoded = decodeToken(configMap.data, now)
    yield* Effect.forEach(
      decoded.problems,
      ({ key, problem }) =>
        Effect.logWarning(`event token ConfigMap ${namespace}/${name}, key ${key}: ${problem}`).pipe(
          annotate,
          Effect.annotateLogs({ key })
        ),
      { discard: true }
    )
    if (decoded.missing) {
      yield* Effect.logInfo(`no ${tokenKey} in the event token ConfigMap: storing "" to start from scratch`).pipe(
        annotate
      )
      yield* store(decoded.token)
    }
    return decoded.token
  })

  return {
    read: read.pipe(explain, Effect.withSpan("TokenStore.read")),
    write: Effect.fn("TokenStore.write")(function* (token: EventToken) {
      return yield* store(token)
    }, explain)
  }
}

export class TokenStore extends Context.Service<TokenStore, TokenStoreShape>()("dca/TokenStore") {
  /** Over an explicit ConfigMap (tests). */
  static readonly make = (kube: KubeClientShape, namespace: string, name: string): TokenStoreShape =>
    TokenStore.of(makeTokenStore(kube, namespace, name))

  /** DD_CLUSTER_AGENT_TOKEN_NAME in the resources namespace. */
  static readonly layer: Layer.Layer<TokenStore, never, KubeClient | ClusterAgentConfig> = Layer.effect(
    TokenStore,
    Effect.gen(function* () {
      const kube = yield* KubeClient
      const config = yield* ClusterAgentConfig
      return TokenStore.make(kube, config.effectiveNamespace, config.tokenName)
    })
  )
}
