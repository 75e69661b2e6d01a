// How API and application keys are shown: never whole. The original masks a key of a known
// length (32 characters for API keys, 40 for application keys) down to its last five
// characters and any other value entirely (`scrubber.HideKeyExceptLastFiveChars`).

const DEFAULT_MASK = "********"

/** Pure: `***************************abcde` for a 32- or 40-character key, `********` otherwise. */
export const maskKey = (key: string): string =>
  key.length === 32 || key.length === 40 ? `${"*".repeat(key.length - 5)}${key.slice(-5)}` : DEFAULT_MASK

/** Pure: the last five characters of a key of a known length, for "API key ending with ..." lines. */
export const keyEnding = (key: string): string | undefined =>
  key.length === 32 || key.length === 40 ? key.slice(-5) : undefined

/** Pure: `text` with every occurrence of the given secrets (of 5+ characters) masked. */
export const scrubKeys = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= 5) out = out.split(secret).join(maskKey(secret))
  }
  return out
}
