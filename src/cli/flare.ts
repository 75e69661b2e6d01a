// `datadog-cluster-agent flare [caseID]`: asks the running agent to build a flare archive
// (`POST /flare` with the local token; the answer is the archive's path), or builds a local one
// when the agent cannot (no status nor logs then, the metadata map read from the API server, and
// an empty `local` marker file), then uploads it to Datadog after a confirmation, as the
// original's command does (`dda: pkg/cli/subcommands/dcaflare/command.go`, contract §8.1):
//
//   -e/--email   the email sent with the flare; asked for when absent, as the original does
//                (an empty answer, or no input at all, sends none)
//   -s/--send    upload without asking for confirmation
//   --local      ours: write the archive and stop there, nothing uploaded (no email asked)
import * as Readline from "node:readline"
import * as Console from "effect/Console"
import * as Argument from "effect/cli/Argument"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { readLocalToken } from "../layers/AuthTokens.ts"
import type { ClusterAgentConfigShape } from "../layers/Config.ts"
import { version, versionString } from "../version.ts"
import { type AgentCallError, agentPost } from "./agentClient.ts"
import { CliExit } from "./CliExit.ts"
import { loadConfigOrExit } from "./config.ts"

/** Lines of standard input, read as asked: one reader for every question, EOF answering "". */
const makeLineReader = () => {
  let rl: Readline.Interface | undefined
  const lines: Array<string> = []
  const waiting: Array<(line: string | undefined) => void> = []
  let closed = false
  const open = () => {
    if (rl !== undefined) return
    rl = Readline.createInterface({ input: process.stdin, terminal: false })
    rl.on("line", (line) => {
      const next = waiting.shift()
      if (next === undefined) lines.push(line)
      else next(line)
    })
    rl.on("close", () => {
      closed = true
      for (const next of waiting.splice(0)) next(undefined)
    })
  }
  return {
    /** The next line, trimmed; "" at the end of input. */
    next: Effect.promise<string>(
      () =>
        new Promise((resolve) => {
          open()
          const ready = lines.shift()
          if (ready !== undefined) resolve(ready.trim())
          else if (closed) resolve("")
          else waiting.push((line) => resolve((line ?? "").trim()))
        })
    ),
    close: Effect.sync(() => rl?.close())
  }
}

/** Go's `version.String()`: `7.72.0`, with `+commit.<sha>` when the build knows its commit. */
export const agentVersionString = (): string => {
  const base = versionString()
  if (version.Commit === "") return base
  return version.Meta === "" ? `${base}+commit.${version.Commit}` : `${base}.commit.${version.Commit}`
}

/** The secrets a local flare scrubs by value: the tokens it can read, besides the configured keys. */
const readTokens = (config: ClusterAgentConfigShape) =>
  Effect.gen(function* () {
    const local = yield* Effect.option(readLocalToken(config.authTokenFilePath))
    const cluster = Option.isSome(config.authToken)
      ? Option.some(config.authToken.value)
      : yield* Effect.option(readLocalToken(config.clusterTokenFilePath))
    return { local: Option.getOrUndefined(local), cluster: Option.getOrUndefined(cluster) }
  })

const notKept = (what: string) => Effect.fail(new Error(`${what} is kept by the running agent: not in a local flare`))

/** Builds the archive in this process (the agent is down or could not make one). */
const localFlare = (config: ClusterAgentConfigShape) =>
  Effect.gen(function* () {
    const [{ buildFlare, fetchTelemetry }, { knownSecrets }, { localMetamap }] = yield* Effect.promise(() =>
      Promise.all([
        import("../services/flare/build.ts"),
        import("../services/flare/secrets.ts"),
        import("../services/flare/localMetamap.ts")
      ])
    )
    const tokens = yield* readTokens(config)
    return yield* buildFlare({
      local: true,
      config,
      env: { ...process.env },
      secrets: knownSecrets(config, tokens),
      // As the original's local flare: from the API server.
      metamap: localMetamap(config),
      logs: notKept("the log of recent lines"),
      telemetry: fetchTelemetry(config.metricsPort)
    })
  })

/** What the agent answered instead of a path, as the original prints it. */
const agentFailure = (e: AgentCallError): string =>
  e._tag === "AgentRefused" && e.body.trim() !== ""
    ? `The agent ran into an error while making the flare: ${e.body.trim()}`
    : `The agent was unable to make a full flare: ${e._tag === "AgentUnreachable" ? e.detail : e.message}.`

export const flareCommand = Command.make(
  "flare",
  {
    caseId: Argument.String("caseID").pipe(
      Argument.withDescription("The support case to attach the flare to"),
      Argument.optional
    ),
    email: Flag.String("email").pipe(Flag.withAlias("e"), Flag.withDescription("Your email"), Flag.optional),
    send: Flag.Boolean("send").pipe(
      Flag.withAlias("s"),
      Flag.withDescription("Automatically send flare (don't prompt for confirmation)"),
      Flag.withDefault(false)
    ),
    local: Flag.Boolean("local").pipe(
      Flag.withDescription("Only write the archive (in the OS temporary directory); upload nothing"),
      Flag.withDefault(false)
    )
  },
  Effect.fn(function* ({ caseId, email, send, local }) {
    const input = makeLineReader()
    yield* Effect.gen(function* () {
      let mail = Option.getOrElse(email, () => "")
      if (mail === "" && !local) {
        yield* Console.log("Please enter your email: ")
        mail = yield* input.next
      }
      const config = yield* loadConfigOrExit

      yield* Console.log("Asking the Cluster Agent to build the flare archive.")
      const path = yield* agentPost(config, "/flare", "null", 60_000).pipe(
        Effect.catch((e) =>
          Effect.gen(function* () {
            yield* Console.log(agentFailure(e))
            yield* Console.log("Initiating flare locally, some logs will be missing.")
            return yield* localFlare(config).pipe(
              Effect.catch((failure) =>
                Effect.andThen(
                  Console.log(`The flare zipfile failed to be created: ${failure.message}`),
                  new CliExit({ code: 1 })
                )
              )
            )
          })
        )
      )

      if (local) {
        yield* Console.log(`${path} was written; nothing was uploaded (--local).`)
        return
      }
      yield* Console.log(`${path} is going to be uploaded to Datadog`)
      if (!send) {
        yield* Console.log("Are you sure you want to upload a flare? [y/N]")
        const answer = yield* input.next
        if (answer !== "y" && answer !== "Y") {
          yield* Console.log(`Aborting. (You can still use ${path})`)
          return
        }
      }

      const { uploadFlare, infraEndpoint } = yield* Effect.promise(() => import("../services/flare/upload.ts"))
      const response = yield* uploadFlare({
        archivePath: path,
        caseId: Option.getOrElse(caseId, () => ""),
        email: mail,
        apiKey: Option.match(config.apiKey, { onNone: () => "", onSome: Redacted.value }),
        endpoint: infraEndpoint(Option.getOrUndefined(config.ddUrl), config.site),
        hostname: config.effectiveHostname,
        version,
        agentVersion: agentVersionString(),
        userAgent: `datadog-cluster-agent/${versionString()}`,
        proxy: {
          http: Option.getOrUndefined(config.proxyHttp),
          https: Option.getOrUndefined(config.proxyHttps),
          noProxy: config.proxyNoProxy,
          nonExactMatch: config.noProxyNonexactMatch
        }
      }).pipe(
        Effect.catch((e) =>
          Effect.gen(function* () {
            yield* Console.log(e.response)
            yield* Console.error(`Error: ${e.detail}`)
            return yield* new CliExit({ code: 1 })
          })
        )
      )
      yield* Console.log(response)
    }).pipe(Effect.ensuring(input.close))
  })
).pipe(Command.withDescription("Collect a flare and send it to Datadog"))
