// How CLI commands reach the running agent, like the original's: https://localhost:<cmd port>
// with the local token file as bearer, certificate not verified (the token carries the trust).
import * as Https from "node:https"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { readLocalToken, type TokenError } from "../layers/AuthTokens.ts"
import type { ClusterAgentConfigShape } from "../layers/Config.ts"

/** The agent could not be reached at all (not running, wrong port). */
export class AgentUnreachable extends Schema.TaggedError<AgentUnreachable>()("AgentUnreachable", {
  url: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.url}: ${this.detail}`
  }
}

/** The agent answered, but not with 200. */
export class AgentRefused extends Schema.TaggedError<AgentRefused>()("AgentRefused", {
  url: Schema.String,
  status: Schema.Number,
  body: Schema.String
}) {
  override get message(): string {
    return `${this.url}: HTTP ${this.status}: ${this.body.trim()}`
  }
}

export type AgentCallError = AgentUnreachable | AgentRefused | TokenError

const agentUrl = (config: Pick<ClusterAgentConfigShape, "cmdPort">, path: string) =>
  `https://localhost:${config.cmdPort}${path}`

/** GET a CLI route of the running agent; resolves with the body of a 200. */
export const agentGet = (
  config: ClusterAgentConfigShape,
  path: string,
  timeoutMs = 10_000
): Effect.Effect<string, AgentCallError> => agentRequest(config, "GET", path, undefined, timeoutMs)

/** POST a JSON body to a CLI route of the running agent; resolves with the body of a 200. */
export const agentPost = (
  config: ClusterAgentConfigShape,
  path: string,
  body: string,
  timeoutMs = 10_000
): Effect.Effect<string, AgentCallError> => agentRequest(config, "POST", path, body, timeoutMs)

const agentRequest = (
  config: ClusterAgentConfigShape,
  method: "GET" | "POST",
  path: string,
  body: string | undefined,
  timeoutMs: number
): Effect.Effect<string, AgentCallError> =>
  Effect.gen(function* () {
    const token = yield* readLocalToken(config.authTokenFilePath)
    const url = agentUrl(config, path)
    return yield* Effect.callback<string, AgentUnreachable | AgentRefused>((resume, signal) => {
      const req = Https.request(
        url,
        {
          method,
          rejectUnauthorized: false,
          timeout: timeoutMs,
          signal,
          headers: {
            authorization: `Bearer ${Redacted.value(token)}`,
            ...(body === undefined ? {} : { "content-type": "application/json" })
          }
        },
        (res) => {
          let text = ""
          res.setEncoding("utf8")
          res.on("data", (d: string) => {
            text += d
          })
          res.on("end", () =>
            resume(
              res.statusCode === 200
                ? Effect.succeed(text)
                : Effect.fail(new AgentRefused({ url, status: res.statusCode ?? 0, body: text }))
            )
          )
        }
      )
      req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
      req.on("error", (e) => resume(Effect.fail(new AgentUnreachable({ url, detail: e.message }))))
      req.end(body)
    })
  })

type Address = Pick<ClusterAgentConfigShape, "cmdPort" | "authTokenFilePath">

const checks = (config: Address) =>
  [
    "Check that:",
    "  - the agent runs in this container or pod (`datadog-cluster-agent start`) and has finished starting;",
    `  - DD_CLUSTER_AGENT_CMD_PORT (${config.cmdPort}) is the port it listens on;`,
    `  - DD_AUTH_TOKEN_FILE_PATH (${config.authTokenFilePath}) names the local token file it created, readable by this user.`
  ].join("\n")

/**
 * Pure: what to tell the user when a call to the agent for `what` ("the status", ...) at `path`
 * failed: the address and token file tried and what to check, or the agent's own error.
 */
export const agentCallAdvice = (config: Address, what: string, path: string, error: AgentCallError): string => {
  switch (error._tag) {
    case "AgentUnreachable":
      return [
        `Could not reach the agent at ${error.url}: ${error.detail}`,
        `(local token file: ${config.authTokenFilePath})`,
        checks(config)
      ].join("\n")
    case "TokenError":
      return [
        `Could not read the local token to call the agent at ${agentUrl(config, path)}: ${error.message}`,
        checks(config)
      ].join("\n")
    case "AgentRefused": {
      if (error.status === 401 || error.status === 403) {
        return [
          `The agent at ${error.url} refused the local token of ${config.authTokenFilePath}: HTTP ${error.status}: ${error.body.trim()}`,
          checks(config)
        ].join("\n")
      }
      let reason = error.body.trim()
      try {
        const parsed = JSON.parse(error.body) as { error?: unknown }
        if (typeof parsed.error === "string") reason = parsed.error
      } catch {
        // not the original's {"error": ...}: show the body as it is
      }
      return `Could not get ${what} from the agent at ${error.url}: HTTP ${error.status}: ${reason}`
    }
  }
}
