// The secrets the flare replaces by value wherever they appear, whatever their format: the two
// tokens of the command port (masked entirely) and the Datadog keys (their last five kept, as the
// rules keep them). The rules alone would miss a token that is not hexadecimal, or one of 64 hex
// characters outside a bearer header.
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { ClusterAgentConfigShape } from "../../layers/Config.ts"

/** The generic mask. */
export const MASK = "********"

/** A secret known by value, and what it becomes. */
export interface KnownSecret {
  readonly value: string
  readonly replacement: string
}

/** An API or application key known by value: its last five characters stay, as the rules leave them. */
export const keySecret = (value: string): KnownSecret => ({
  value,
  replacement: value.length > 5 ? `${"*".repeat(value.length - 5)}${value.slice(-5)}` : MASK
})

/** A token known by value: masked entirely. */
export const tokenSecret = (value: string): KnownSecret => ({ value, replacement: MASK })

export interface Tokens {
  readonly cluster?: Redacted.Redacted<string> | undefined
  readonly local?: Redacted.Redacted<string> | undefined
}

export const knownSecrets = (config: ClusterAgentConfigShape, tokens: Tokens): ReadonlyArray<KnownSecret> => {
  const keys = [config.apiKey, config.appKey, config.externalMetricsApiKey, config.externalMetricsAppKey].flatMap(
    (k) => (Option.isSome(k) ? [keySecret(Redacted.value(k.value))] : [])
  )
  const configured = Option.isSome(config.authToken) ? [tokenSecret(Redacted.value(config.authToken.value))] : []
  const held = [tokens.cluster, tokens.local].flatMap((t) => (t === undefined ? [] : [tokenSecret(Redacted.value(t))]))
  return [...held, ...configured, ...keys]
}
