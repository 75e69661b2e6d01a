// The two secrets of the command port, as the original keeps them:
// - the cluster token node agents present (DD_CLUSTER_AGENT_AUTH_TOKEN, else the file
//   `cluster_agent.auth_token` beside the local token file, created when missing);
// - the local token the CLI presents (DD_AUTH_TOKEN_FILE_PATH, created by `start`).
// Files are created with 64 random hex characters and mode 0600, never overwritten.
import { randomBytes } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { ClusterAgentConfig } from "./Config.ts"

export class TokenError extends Schema.TaggedError<TokenError>()("TokenError", {
  file: Schema.String,
  variable: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.file} (${this.variable}): ${this.problem}`
  }
}

const minLength = 32
const validToken = /^[A-Za-z0-9]+$/

/** A fresh token: 32 random bytes, hex-encoded (64 characters), like the original. */
export const newToken = (): string => randomBytes(32).toString("hex")

/** Pure: why file contents are not a usable token, if they are not. */
export const tokenProblem = (contents: string): string | undefined =>
  contents.length < minLength || !validToken.test(contents)
    ? `must hold at least ${minLength} characters of A-Z, a-z and 0-9 (found ${contents.length} characters)`
    : undefined

const readToken = (file: string, variable: string) =>
  Effect.try({
    try: () => Fs.readFileSync(file, "utf8").trim(),
    catch: (e) => new TokenError({ file, variable, problem: `cannot read: ${(e as Error).message}` })
  }).pipe(
    Effect.flatMap((contents) => {
      const problem = tokenProblem(contents)
      return problem === undefined
        ? Effect.succeed(Redacted.make(contents))
        : Effect.fail(new TokenError({ file, variable, problem }))
    })
  )

/** Reads a token file; creates it first when it does not exist. Safe against a concurrent creator. */
export const readOrCreateToken = Effect.fn("AuthTokens.readOrCreate")(function* (file: string, variable: string) {
  const created = yield* Effect.try({
    try: () => {
      Fs.mkdirSync(Path.dirname(file), { recursive: true })
      // "wx": fail if it exists, so two starters never overwrite each other's token.
      Fs.writeFileSync(file, newToken(), { flag: "wx", mode: 0o600 })
      return true
    },
    catch: (e) => e as NodeJS.ErrnoException
  }).pipe(
    Effect.catch((e) =>
      e.code === "EEXIST"
        ? Effect.succeed(false)
        : Effect.fail(new TokenError({ file, variable, problem: `cannot create: ${e.message}` }))
    )
  )
  if (created) yield* Effect.logInfo("created token file").pipe(Effect.annotateLogs({ file }))
  return yield* readToken(file, variable)
})

/** Reads the local token file only (what the CLI does; it never creates one). */
export const readLocalToken = (file: string) => readToken(file, "DD_AUTH_TOKEN_FILE_PATH")

export class AuthTokens extends Context.Service<
  AuthTokens,
  {
    /** Accepted from node agents on their routes. */
    readonly cluster: Redacted.Redacted<string>
    /** Accepted from the CLI on its routes. */
    readonly local: Redacted.Redacted<string>
  }
>()("dca/AuthTokens") {
  static readonly layer = Layer.effect(
    AuthTokens,
    Effect.gen(function* () {
      const config = yield* ClusterAgentConfig
      const local = yield* readOrCreateToken(config.authTokenFilePath, "DD_AUTH_TOKEN_FILE_PATH")
      const cluster = yield* Option.match(config.authToken, {
        onSome: Effect.succeed,
        onNone: () => readOrCreateToken(config.clusterTokenFilePath, "DD_CLUSTER_AGENT_AUTH_TOKEN")
      })
      return AuthTokens.of({ cluster, local })
    })
  )
}
