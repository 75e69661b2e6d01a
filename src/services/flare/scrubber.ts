// The flare's scrubber: the original's rules (contract §8.4, `dda: pkg/util/scrubber/default.go`,
// `scrubber.go`, `yaml_scrubber.go`, and the flare builder's extra `api_key` rule), in their order,
// plus our own: every known secret (the cluster and local tokens, the API and application keys)
// is replaced by value, whatever its format, before and after the rules. Pure.
//
// Text mode, line by line: blank lines stay (empty), lines starting with optional spaces and `#`
// are removed, the single-line rules run on every other line, then the multi-line rules on the
// whole text. A rule with hints runs only when the text holds one of them (case-sensitive).
// YAML mode (files whose name contains `.yaml`): the document is loaded, the value of every key
// matched by a rule's key pattern is replaced (API and application keys keep their last five
// characters), the result is dumped (keys sorted, as Go's yaml.v2 does) and then passes through
// text mode; a document that does not load goes through text mode as it is.
import { dump, loadAll } from "js-yaml"
import { type KnownSecret, MASK } from "./secrets.ts"

export { MASK }

const stars = (n: number) => "*".repeat(n)

/** How a rule rewrites a match: a replacement string with `$1`-style groups, or a function. */
type Replacement = string | ((match: string, ...groups: Array<string>) => string)

interface Rule {
  /** For tables and docs: the contract's name of the rule. */
  readonly name: string
  /** Applied to a line (single-line rules) or to the whole text (multi-line rules); global. */
  readonly regex?: RegExp
  readonly replacement?: Replacement
  /** The rule runs only when the text contains one of these. */
  readonly hints?: ReadonlyArray<string>
  /** Keys whose value the YAML mode replaces. */
  readonly yamlKey?: RegExp
  /** How the YAML mode replaces a matched key's value; default: the mask. */
  readonly processValue?: (value: unknown) => unknown
}

// Helpers producing rules that work on YAML-like text and on a loaded YAML object, as the
// original's matchYAMLKeyPart, matchYAMLKey, matchYAMLKeyEnding and matchYAMLKeyPrefixSuffix.
const yamlValue = '$1 "********"'

const keyPart = (name: string, part: string, hints: ReadonlyArray<string>): Rule => ({
  name,
  regex: new RegExp(`(\\s*(\\w|_|-)*${part}(\\w|_|-)*\\s*:).+`, "g"),
  replacement: yamlValue,
  hints,
  yamlKey: new RegExp(part)
})

const exactKey = (name: string, key: string, hints: ReadonlyArray<string>): Rule => ({
  name,
  regex: new RegExp(`(\\s*${key}\\s*:).+`, "g"),
  replacement: yamlValue,
  hints,
  yamlKey: new RegExp(`^${key}$`)
})

const keyEnding = (name: string, ending: string, hints: ReadonlyArray<string>): Rule => ({
  name,
  regex: new RegExp(`(^\\s*(\\w|_|-)*${ending}\\s*:).+`, "g"),
  replacement: yamlValue,
  hints,
  yamlKey: new RegExp(`^.*${ending}$`)
})

const prefixSuffix = (name: string, prefix: string, suffix: string, hints: ReadonlyArray<string>): Rule => ({
  name,
  regex: new RegExp(`(\\s*${prefix}(\\w|_|-)*${suffix}\\s*:).+`, "g"),
  replacement: yamlValue,
  hints,
  yamlKey: new RegExp(`^${prefix}.*${suffix}$`)
})

/** The YAML mode's API/application key value: a key of the expected length keeps its last five. */
const keepLastFive =
  (length: number) =>
  (value: unknown): unknown => {
    if (typeof value !== "string") return MASK
    const key = value.trim()
    if (key === "") return ""
    return key.length === length ? `${stars(length - 5)}${key.slice(-5)}` : MASK
  }

/** The single-line rules, in the original's order (contract §8.4, 1–16), then the YAML-only ones. */
export const singleLineRules: ReadonlyArray<Rule> = [
  {
    name: "1 hinted API key",
    regex: /(api_?key=)\b[a-zA-Z0-9]+([a-zA-Z0-9]{5})\b/g,
    replacement: `$1${stars(27)}$2`,
    hints: ["api_key", "apikey"]
  },
  {
    name: "2 hinted application key",
    regex: /(ap(?:p|plication)_?key=)\b[a-zA-Z0-9]+([a-zA-Z0-9]{5})\b/g,
    replacement: `$1${stars(35)}$2`,
    hints: ["app_key", "appkey", "application_key"]
  },
  {
    name: "3 bearer token of 64 hex characters",
    regex: /\bBearer [a-fA-F0-9]{59}([a-fA-F0-9]{5})\b/g,
    replacement: `Bearer ${stars(59)}$1`,
    hints: ["Bearer"]
  },
  {
    name: "4 any other bearer token",
    regex: /\bBearer\s+[^*]+\b/g,
    replacement: `Bearer ${MASK}`,
    hints: ["Bearer"]
  },
  prefixSuffix("5 x-…key header", "x-", "key", [
    "x-api-key",
    "x-dreamfactory-api-key",
    "x-functions-key",
    "x-lz-api-key",
    "x-octopus-apikey",
    "x-pm-partner-key",
    "x-rapidapi-key",
    "x-sungard-idp-api-key",
    "x-vtex-api-appkey",
    "x-seel-api-key",
    "x-goog-api-key",
    "x-sonar-passcode"
  ]),
  prefixSuffix("5 x-…token header", "x-", "token", [
    "x-auth-token",
    "x-rundeck-auth-token",
    "x-consul-token",
    "x-datadog-monitor-token",
    "x-vault-token",
    "x-vtex-api-apptoken",
    "x-static-token"
  ]),
  prefixSuffix("5 x-…auth header", "x-", "auth", ["x-auth", "x-stratum-auth"]),
  prefixSuffix("5 x-…secret header", "x-", "secret", ["x-api-secret", "x-ibm-client-secret", "x-chalk-client-secret"]),
  exactKey(
    "6 exact keys",
    "(auth-tenantid|authority|cainzapp-api-key|cms-svc-api-key|dd-api-key|lodauth|sec-websocket-key|statuskey|cookie|private-token|kong-admin-token|accesstoken|session_token)",
    [
      "auth-tenantid",
      "authority",
      "cainzapp-api-key",
      "cms-svc-api-key",
      "dd-api-key",
      "lodauth",
      "sec-websocket-key",
      "statuskey",
      "cookie",
      "private-token",
      "kong-admin-token",
      "accesstoken",
      "session_token"
    ]
  ),
  {
    name: "7 API key in YAML or JSON",
    regex: /(-|:|,|\[|\{)(\s+)?\b[a-fA-F0-9]{27}([a-fA-F0-9]{5})\b/g,
    replacement: `$1$2"${stars(27)}$3"`
  },
  {
    name: "8 API key",
    regex: /\b[a-fA-F0-9]{27}([a-fA-F0-9]{5})\b/g,
    replacement: `${stars(27)}$1`
  },
  {
    name: "9 application key in YAML or JSON",
    regex: /(-|:|,|\[|\{)(\s+)?\b[a-fA-F0-9]{35}([a-fA-F0-9]{5})\b/g,
    replacement: `$1$2"${stars(35)}$3"`
  },
  {
    name: "9 application key",
    regex: /\b[a-fA-F0-9]{35}([a-fA-F0-9]{5})\b/g,
    replacement: `${stars(35)}$1`
  },
  {
    name: "10 remote configuration key",
    regex: /\bDDRCM_[A-Z0-9]+([A-Z0-9]{5})\b/g,
    replacement: `${stars(35)}$1`
  },
  {
    name: "11 URL credentials",
    regex: /([a-z][a-z0-9+-.]+:\/\/|\b)([^:\s]+):([^\s|"]+)@/gi,
    replacement: `$1$2:${MASK}@`,
    // Not a hint of the original: the pattern cannot match without an '@'; this spares the
    // backtracking a JavaScript engine (unlike Go's) would do on long lines without one.
    hints: ["@"]
  },
  keyPart("12 YAML password key", "(pass(word)?|pwd)", ["pass", "pwd"]),
  {
    name: "13 password assignment",
    regex: /(["']?(?:pass(?:word)?|pswd|pwd)["']?)((?:=| = |: )["']?)([0-9A-Za-z#!$%&()*+,\-./:<=>?@[\\\]^_{|}~]+)/gi,
    replacement: `$1$2${MASK}`
  },
  keyEnding("14 YAML key ending in token", "token", ["token"]),
  exactKey("15 OAuth credentials", "(consumer_key|token_id|token_secret|consumer_secret)", [
    "consumer_key",
    "token_id",
    "token_secret",
    "consumer_secret"
  ]),
  exactKey(
    "16 SNMP and authorization keys",
    "(community_string|auth[Kk]ey|priv[Kk]ey|community|authentication_key|privacy_key|Authorization|authorization)",
    [
      "community_string",
      "authKey",
      "authkey",
      "privKey",
      "privkey",
      "community",
      "authentication_key",
      "privacy_key",
      "Authorization",
      "authorization"
    ]
  ),
  { name: "YAML api_key", yamlKey: /api[-_]?key/, processValue: keepLastFive(32) },
  { name: "YAML app_key", yamlKey: /ap(?:p|plication)[-_]?key/, processValue: keepLastFive(40) },
  {
    // Ours: a JSON member whose key names a secret, written compactly (`"password":"…"`), as our
    // own log lines are. The original's password rule wants `: ` with a space and misses it.
    // Only keys that are the word or end in `_word`/`-word`: `tokenName` or `passthrough` stay.
    name: "ours: JSON secret members",
    regex:
      /("(?:[^"\\]*[_-])?(?:pass(?:word)?|pswd|pwd|secret|token|api_?key|app_?key|application_?key)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
    replacement: `$1"${MASK}"`,
    hints: ['"']
  },
  {
    // The flare builder's own rule, for third-party configurations (powerDNS's `api_key`): any
    // value of 2+ characters without '*' (ours, already masked, keep their last five).
    name: "flare: other api_key values",
    regex: /api_key\s*:\s*[a-zA-Z0-9\\/^\][(){}!|%:;"~><=#@$_\-+]{2,}/g,
    replacement: () => `api_key: "${MASK}"`
  }
]

/** The multi-line rules, applied to the whole text after the single-line ones. */
export const multiLineRules: ReadonlyArray<Rule> = [
  {
    name: "community_strings list",
    // The original's `\[(?:\n?.*?)*?\]` (anything up to the first `]`), written without nested
    // quantifiers so that an unclosed `[` cannot make the engine backtrack exponentially.
    regex: /(\s*community_strings\s*:)\s*(?:\n(?:\s+-\s+.*)*|\[[^\]]*\])/g,
    replacement: yamlValue,
    hints: ["community_strings"]
  },
  {
    name: "PEM block",
    regex: /-----BEGIN (?:.*)-----[A-Za-z0-9=+/\s]*-----END (?:.*)-----/g,
    replacement: MASK,
    hints: ["BEGIN"]
  }
]

const applyRules = (text: string, rules: ReadonlyArray<Rule>): string => {
  let out = text
  for (const rule of rules) {
    if (rule.regex === undefined || rule.replacement === undefined) continue
    if (rule.hints !== undefined && !rule.hints.some((h) => out.includes(h))) continue
    rule.regex.lastIndex = 0
    out = out.replace(rule.regex, rule.replacement as string)
  }
  return out
}

/** Shorter values are not replaced by value: they would turn up in unrelated text. */
export const minSecretLength = 6

/** The forms a secret takes in our files: as is, JSON-escaped, URL-encoded. */
const spellings = (value: string): ReadonlyArray<string> => {
  const forms = new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)])
  return [...forms]
}

const replaceKnown = (text: string, secrets: ReadonlyArray<KnownSecret>): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.value.length < minSecretLength) continue
    for (const form of spellings(secret.value)) {
      if (out.includes(form)) out = out.split(form).join(secret.replacement)
    }
  }
  return out
}

const blank = /^\s*$/
const comment = /^\s*#/

/** The original's text scrubber (ScrubBytes): comments dropped, line rules, then multi-line rules. */
const scrubLines = (text: string): string => {
  const lines = text.split("\n")
  // As Go's line scanner: a final newline ends the last line rather than starting an empty one.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop()
  let out = ""
  let first = true
  for (const raw of lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (blank.test(line)) {
      out += "\n"
    } else if (!comment.test(line)) {
      if (!first) out += "\n"
      out += applyRules(line, singleLineRules)
      first = false
    }
  }
  return applyRules(out, multiLineRules)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** The YAML-object walk (ScrubDataObj): the first rule whose key pattern matches replaces the value. */
const scrubData = (data: unknown): unknown => {
  if (Array.isArray(data)) return data.map(scrubData)
  if (!isObject(data)) return data
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(data)) {
    const rule = singleLineRules.find((r) => r.yamlKey?.test(key) === true)
    out[key] = rule === undefined ? scrubData(value) : rule.processValue === undefined ? MASK : rule.processValue(value)
  }
  return out
}

const scrubYamlText = (text: string): string => {
  if (text === "") return scrubLines(text)
  let documents: ReadonlyArray<unknown>
  try {
    documents = loadAll(text)
  } catch {
    return scrubLines(text)
  }
  if (documents.length === 0 || documents.every((d) => d === null || d === undefined)) return scrubLines(text)
  try {
    const dumped = documents
      .map((d) => dump(scrubData(d), { sortKeys: true, lineWidth: -1, noRefs: true }))
      .join("---\n")
    return scrubLines(dumped)
  } catch {
    return scrubLines(text)
  }
}

export interface Scrubber {
  /** Text mode (any file whose name does not contain `.yaml`). */
  readonly text: (text: string) => string
  /** YAML mode. */
  readonly yaml: (text: string) => string
  /** The mode the original picks for a file name: YAML when it contains `.yaml`. */
  readonly file: (name: string, text: string) => string
  /** One line, without the multi-line rules or comment removal (URLs, messages). */
  readonly line: (line: string) => string
}

/** A scrubber that also replaces the given secrets by value. */
export const makeScrubber = (secrets: ReadonlyArray<KnownSecret> = []): Scrubber => {
  // Longest first, so a secret that contains another is replaced whole.
  const known = [...secrets].sort((a, b) => b.value.length - a.value.length)
  const text = (t: string) => replaceKnown(scrubLines(replaceKnown(t, known)), known)
  const yaml = (t: string) => replaceKnown(scrubYamlText(replaceKnown(t, known)), known)
  return {
    text,
    yaml,
    file: (name, t) => (name.includes(".yaml") ? yaml(t) : text(t)),
    line: (l) => replaceKnown(applyRules(replaceKnown(l, known), singleLineRules), known)
  }
}

/** The rules alone, without secrets known by value. */
export const defaultScrubber: Scrubber = makeScrubber()
