/**
 * The fake Datadog API as its own process, for people and the demo:
 * `npm run fake-datadog -- [--port N] [--host H] [--api-key K]... [--app-key K]... [--quiet]`.
 * Prints its URL first, then one line per request; `GET /fake/requests` shows what arrived.
 * Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util"
import type { RecordedRequest } from "./recorder.ts"
import { type FakeDatadog, startFakeDatadog } from "./server.ts"

const HELP = `Usage: npm run fake-datadog -- [options]

A fake Datadog API (validate, events, check_run, query, support/flare) that records requests.

Options:
  --port N       port to listen on (default 0: a free port)
  --host H       address to listen on (default 127.0.0.1)
  --api-key K    accept only this API key (repeatable; default: any non-empty key)
  --app-key K    accept only this application key (repeatable; default: any)
  --quiet        do not log each request
  --help         this text

Point the agent at it with DD_DD_URL=<url> (and DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT=<url>).
GET <url>/fake/requests lists what arrived (keys redacted); DELETE clears it.`

const detail = (r: RecordedRequest): string => {
  const body = r.body as Record<string, unknown> | unknown[] | undefined
  if (r.path === "/api/v1/events" && body !== undefined && !Array.isArray(body)) return JSON.stringify(body.title)
  if (r.path === "/api/v1/check_run" && Array.isArray(body)) return `${body.length} service check(s)`
  if (r.path === "/api/v1/query") return JSON.stringify(r.query.query ?? "")
  return r.rawBody.length > 0 ? `${r.rawBody.length} bytes` : ""
}

const logLine = (r: RecordedRequest): string =>
  [
    new Date(r.time).toISOString(),
    r.method,
    r.path,
    r.status === undefined ? "dropped" : String(r.status),
    r.fault === undefined ? "" : `[fault: ${r.fault}]`,
    r.bodyError === undefined ? "" : `[${r.bodyError}]`,
    detail(r)
  ]
    .filter((part) => part !== "")
    .join(" ")

const main = async () => {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      "api-key": { type: "string", multiple: true },
      "app-key": { type: "string", multiple: true },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    }
  })
  if (values.help) {
    console.log(HELP)
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`--port must be an integer from 0 to 65535, got "${values.port}"`)
    process.exitCode = 2
    return
  }
  // Handlers first: a signal right after the URL is printed must still stop us cleanly.
  let fake: FakeDatadog | undefined
  const stop = (signal: string) => {
    console.log(`${signal}: stopping`)
    ;(fake?.close() ?? Promise.resolve()).then(
      () => process.exit(0),
      () => process.exit(1)
    )
  }
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  fake = await startFakeDatadog({
    port,
    host: values.host,
    ...(values["api-key"] === undefined ? {} : { acceptedApiKeys: values["api-key"] }),
    ...(values["app-key"] === undefined ? {} : { acceptedAppKeys: values["app-key"] }),
    ...(values.quiet ? {} : { onRequest: (r: RecordedRequest) => console.log(logLine(r)) })
  })
  console.log(`fake Datadog API listening on ${fake.url}`)
}

main().catch((error: unknown) => {
  console.error(`fake Datadog API: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
