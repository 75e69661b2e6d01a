// Building blocks for the configuration table in Config.ts: how one `DD_*` variable is read,
// validated, defaulted and displayed. Pure code: no environment access here.
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** The outcome of parsing one raw value: the value, or what would have been allowed. */
export type Parsed<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly allowed: string }

const ok = <A>(value: A): Parsed<A> => ({ ok: true, value })
const no = (allowed: string): Parsed<never> => ({ ok: false, allowed })

/** What kind of value a variable holds (drives documentation and generated tests). */
export type Kind =
  | { readonly _tag: "port"; readonly allowOff: boolean }
  | { readonly _tag: "seconds" }
  | { readonly _tag: "positiveInt" }
  | { readonly _tag: "bool" }
  | { readonly _tag: "oneOf"; readonly words: ReadonlyArray<string> }
  | { readonly _tag: "text"; readonly rule?: TextRule }
  | { readonly _tag: "url" }
  | { readonly _tag: "secret"; readonly rule?: SecretRule }
  | { readonly _tag: "wordList" }

export interface TextRule {
  readonly pattern: RegExp
  readonly maxLength: number
  readonly allowed: string
}

export interface SecretRule {
  readonly test: (v: string) => boolean
  readonly allowed: string
}

/** One environment variable, with its fallbacks, default, meaning and codec. */
export interface Setting<A> {
  /** The variable users set. */
  readonly env: string
  readonly kind: Kind
  /** Variables read, in order, when `env` is unset (legacy names, standard proxy variables). */
  readonly aliases: ReadonlyArray<string>
  readonly default: A
  /** The meaning, in one line (README and `config --help`). */
  readonly doc: string
  /** Secrets are never shown, logged or echoed in errors. */
  readonly secret: boolean
  /**
   * An empty value set on purpose is a value of its own (and not "unset"): the lock kind, where
   * the original takes an empty value to mean "discover".
   */
  readonly emptyIsValue: boolean
  readonly parse: (raw: string) => Parsed<A>
  /** How a value is displayed (secrets are masked before this is called). */
  show(value: A): string
}

interface Options {
  readonly aliases?: ReadonlyArray<string>
  readonly emptyIsValue?: boolean
}

const setting = <A>(
  kind: Kind,
  env: string,
  defaultValue: A,
  doc: string,
  parse: (raw: string) => Parsed<A>,
  show: (value: A) => string,
  options: Options & { readonly secret?: boolean } = {}
): Setting<A> => ({
  kind,
  env,
  aliases: options.aliases ?? [],
  default: defaultValue,
  doc,
  secret: options.secret ?? false,
  emptyIsValue: options.emptyIsValue ?? false,
  parse,
  show
})

const integer = /^[0-9]+$/

const portSetting =
  (allowOff: boolean) =>
  (env: string, defaultValue: number, doc: string): Setting<number> =>
    setting(
      { _tag: "port", allowOff },
      env,
      defaultValue,
      doc,
      (raw) => {
        const n = Number(raw.trim())
        return integer.test(raw.trim()) && n >= (allowOff ? 0 : 1) && n <= 65535
          ? ok(n)
          : no(allowOff ? "0 (off) or a port number from 1 to 65535" : "a port number from 1 to 65535")
      },
      String
    )

/** A TCP port, 1–65535. */
export const port = portSetting(false)

/** A TCP port, or 0 to turn the listener off. */
export const portOrOff = portSetting(true)

/** A duration given as a positive whole number of seconds, as the original reads it. */
export const seconds = (env: string, defaultSeconds: number, doc: string): Setting<Duration.Duration> =>
  setting(
    { _tag: "seconds" },
    env,
    Duration.seconds(defaultSeconds),
    doc,
    (raw) => {
      const n = Number(raw.trim())
      return integer.test(raw.trim()) && n > 0 && Number.isSafeInteger(n)
        ? ok(Duration.seconds(n))
        : no("a whole number of seconds greater than 0")
    },
    (d) => String(Duration.toSeconds(d))
  )

/** A positive whole number. */
export const positiveInt = (env: string, defaultValue: number, doc: string): Setting<number> =>
  setting(
    { _tag: "positiveInt" },
    env,
    defaultValue,
    doc,
    (raw) => {
      const n = Number(raw.trim())
      return integer.test(raw.trim()) && n > 0 && Number.isSafeInteger(n) ? ok(n) : no("a whole number greater than 0")
    },
    String
  )

/** `true/false/1/0` in any case. */
export const bool = (env: string, defaultValue: boolean, doc: string): Setting<boolean> =>
  setting(
    { _tag: "bool" },
    env,
    defaultValue,
    doc,
    (raw) => {
      const v = raw.trim().toLowerCase()
      if (v === "true" || v === "1") return ok(true)
      if (v === "false" || v === "0") return ok(false)
      return no("true, false, 1 or 0")
    },
    String
  )

/** One of a fixed set of words (case-insensitive); the value is the lower-case word. */
export const oneOf = <const W extends string>(
  env: string,
  words: ReadonlyArray<W>,
  defaultValue: W,
  doc: string,
  options: Options = {}
): Setting<W> =>
  setting(
    { _tag: "oneOf", words },
    env,
    defaultValue,
    doc,
    (raw) => {
      const v = raw.trim().toLowerCase()
      const found = words.find((w) => w === v)
      const shown = words.map((w) => (w === "" ? "empty" : w))
      return found === undefined ? no(`one of ${shown.join(", ")}`) : ok(found)
    },
    (w) => w,
    options
  )

/** Free text that must match a pattern; empty means "unset" when `optional`. */
export const text = (
  env: string,
  defaultValue: string,
  doc: string,
  rule?: TextRule,
  options: Options = {}
): Setting<string> =>
  setting(
    rule === undefined ? { _tag: "text" } : { _tag: "text", rule },
    env,
    defaultValue,
    doc,
    (raw) => {
      const v = raw.trim()
      if (rule === undefined || v === "") return ok(v)
      return v.length <= rule.maxLength && rule.pattern.test(v) ? ok(v) : no(rule.allowed)
    },
    (v) => v,
    options
  )

/** An http(s) URL, or unset. Credentials in the URL are masked when shown. */
export const url = (env: string, doc: string, options: Options = {}): Setting<Option.Option<string>> =>
  setting(
    { _tag: "url" },
    env,
    Option.none(),
    doc,
    (raw) => {
      const v = raw.trim()
      if (v === "") return ok(Option.none())
      try {
        const u = new URL(v)
        return u.protocol === "http:" || u.protocol === "https:" ? ok(Option.some(v)) : no("an http:// or https:// URL")
      } catch {
        return no("an http:// or https:// URL")
      }
    },
    (v) => Option.match(v, { onNone: () => "", onSome: maskUrlPassword }),
    options
  )

/** A secret; empty means unset. `rule` validates without ever echoing the value. */
export const secret = (
  env: string,
  doc: string,
  rule?: SecretRule
): Setting<Option.Option<Redacted.Redacted<string>>> =>
  setting(
    rule === undefined ? { _tag: "secret" } : { _tag: "secret", rule },
    env,
    Option.none(),
    doc,
    (raw) => {
      const v = raw.trim()
      if (v === "") return ok(Option.none())
      return rule === undefined || rule.test(v) ? ok(Option.some(Redacted.make(v))) : no(rule.allowed)
    },
    (v) => (Option.isSome(v) ? "********" : ""),
    { secret: true }
  )

/** A list of words separated by spaces or commas (`DD_PROXY_NO_PROXY` uses spaces, `NO_PROXY` commas). */
export const wordList = (env: string, doc: string, options: Options = {}): Setting<ReadonlyArray<string>> =>
  setting(
    { _tag: "wordList" },
    env,
    [],
    doc,
    (raw) =>
      ok(
        raw
          .split(/[\s,]+/)
          .map((w) => w.trim())
          .filter((w) => w !== "")
      ),
    (v) => v.join(" "),
    options
  )

/** Masks the password of `scheme://user:password@host` so proxies with credentials can be shown. */
export const maskUrlPassword = (value: string): string => {
  try {
    const u = new URL(value)
    if (u.password === "") return value
    u.password = "********"
    return u.toString()
  } catch {
    return value
  }
}

/** Kubernetes name rules (apimachinery validation), used for namespaces and object names. */
export const dns1123Label = {
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
  maxLength: 63,
  allowed: "a DNS-1123 label: at most 63 lower-case letters, digits or '-', starting and ending alphanumeric"
} as const

export const dns1123Subdomain = {
  pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  maxLength: 253,
  allowed: "a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' or '.', starting and ending alphanumeric"
} as const
