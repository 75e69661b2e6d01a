import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { AuthTokens, readLocalToken, tokenProblem } from "../../src/layers/AuthTokens.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"

const tokensWith = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const tokens = yield* AuthTokens
    return { cluster: Redacted.value(tokens.cluster), local: Redacted.value(tokens.local) }
  }).pipe(Effect.provide(AuthTokens.layer.pipe(Layer.provide(ClusterAgentConfig.fromEnv(env)))))

describe("AuthTokens", () => {
  it.effect("creates both token files (64 hex characters, mode 0600) when none exist", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "dca-tokens-"))
      const tokens = yield* tokensWith({ DD_AUTH_TOKEN_FILE_PATH: join(dir, "sub", "auth_token") })
      expect(tokens.local).toMatch(/^[0-9a-f]{64}$/)
      expect(tokens.cluster).toMatch(/^[0-9a-f]{64}$/)
      expect(tokens.local).not.toBe(tokens.cluster)
      expect(readFileSync(join(dir, "sub", "cluster_agent.auth_token"), "utf8")).toBe(tokens.cluster)
      for (const f of ["auth_token", "cluster_agent.auth_token"]) {
        expect(statSync(join(dir, "sub", f)).mode & 0o777).toBe(0o600)
      }
      // A second start reads the same tokens: files are never overwritten.
      const again = yield* tokensWith({ DD_AUTH_TOKEN_FILE_PATH: join(dir, "sub", "auth_token") })
      expect(again).toEqual(tokens)
    })
  )

  it.effect("takes the cluster token from DD_CLUSTER_AGENT_AUTH_TOKEN when set", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "dca-tokens-"))
      const token = "A".repeat(40)
      const tokens = yield* tokensWith({
        DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token"),
        DD_CLUSTER_AGENT_AUTH_TOKEN: token
      })
      expect(tokens.cluster).toBe(token)
    })
  )

  it.effect("reads an existing cluster token file, trimming a trailing newline", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "dca-tokens-"))
      writeFileSync(join(dir, "cluster_agent.auth_token"), `${"b".repeat(32)}\n`)
      const tokens = yield* tokensWith({ DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token") })
      expect(tokens.cluster).toBe("b".repeat(32))
    })
  )

  it.effect("refuses a token file that is too short, naming the file and never the token", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "dca-tokens-"))
      const file = join(dir, "cluster_agent.auth_token")
      writeFileSync(file, "tooshortsecret")
      const exit = yield* Effect.exit(tokensWith({ DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token") }))
      expect(Exit.isFailure(exit)).toBe(true)
      const message = String(Exit.isFailure(exit) ? exit.cause : "")
      expect(message).toContain(file)
      expect(message).toContain("DD_CLUSTER_AGENT_AUTH_TOKEN")
      expect(message).not.toContain("tooshortsecret")
    })
  )

  it.effect("the CLI only reads the local token file and never creates it", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "dca-tokens-"))
      const error = yield* Effect.flip(readLocalToken(join(dir, "auth_token")))
      expect(error.message).toContain("cannot read")
      expect(error.variable).toBe("DD_AUTH_TOKEN_FILE_PATH")
    })
  )

  it.each([
    ["a".repeat(32), undefined],
    ["a".repeat(31), "found 31 characters"],
    [`${"a".repeat(32)}!`, "found 33 characters"]
  ])("tokenProblem(%j)", (contents, expected) => {
    const problem = tokenProblem(contents)
    if (expected === undefined) expect(problem).toBeUndefined()
    else expect(problem).toContain(expected)
  })
})
