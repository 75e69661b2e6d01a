// How CLI commands reach the running agent (design.md: "The CLI talks to the running agent over
// the command port with a local token file, like the original"): https://localhost:<cmd port>,
// the local token as bearer, the self-signed certificate not verified. Tested against a local
// HTTPS server started here, standing in for the agent's command port.
import { once } from "node:events"
import * as Fs from "node:fs"
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Https from "node:https"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option } from "effect"
import { freePort } from "../../dev/controlPlane/ports.ts"
import { agentGet } from "../../src/cli/agentClient.ts"
import { ConfigError, resolve } from "../../src/layers/Config.ts"
import { createCertificate, generateKeyPair } from "../../src/lib/x509.ts"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-agent-client-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const localToken = "0123456789abcdef".repeat(4)
const tokenPath = Path.join(dir, "auth_token")
Fs.writeFileSync(tokenPath, `${localToken}\n`)

// A self-signed certificate, as the agent serves: the client must not verify it.
const keys = generateKeyPair("ec-p256")
const certPem = createCertificate({
  subject: { commonName: "datadog-cluster-agent" },
  publicKey: keys.publicKey,
  signingKey: keys.privateKey,
  isCA: false,
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1", "::1"],
  validityDays: 1
})

interface Seen {
  readonly method: string | undefined
  readonly url: string | undefined
  readonly authorization: string | undefined
}

/** An HTTPS server on a free port for the test's scope; `handler` answers, `seen` records requests. */
const agentServer = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const seen: Array<Seen> = []
      const server = Https.createServer({ cert: certPem, key: keys.privateKeyPem }, (req, res) => {
        seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization })
        handler(req, res)
      })
      // No host: both stacks, wherever "localhost" resolves.
      server.listen(0)
      await once(server, "listening")
      return { server, seen, port: (server.address() as AddressInfo).port }
    }),
    ({ server }) =>
      Effect.sync(() => {
        server.closeAllConnections()
        server.close()
      })
  )

const configFor = (port: number, authTokenFilePath = tokenPath) => {
  const config = resolve(
    { DD_CLUSTER_AGENT_CMD_PORT: String(port), DD_AUTH_TOKEN_FILE_PATH: authTokenFilePath },
    { hostname: "h", serviceAccountNamespace: Option.none() }
  )
  if (config instanceof ConfigError) throw config
  return config
}

describe("agentGet", () => {
  it.live("GETs the path on https://localhost:<cmd port> with the local token, and returns a 200's body", () =>
    Effect.gen(function* () {
      const { seen, port } = yield* agentServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end('{"Nodes":{"node-a":{}}}')
      })
      const body = yield* agentGet(configFor(port), "/api/v1/tags/pod?verbose=true")
      expect(body).toBe('{"Nodes":{"node-a":{}}}')
      expect(seen).toEqual([
        { method: "GET", url: "/api/v1/tags/pod?verbose=true", authorization: `Bearer ${localToken}` }
      ])
    })
  )

  it.live("reads a body sent in many chunks, multi-byte characters included", () =>
    Effect.gen(function* () {
      const text = "é€😀".repeat(5000)
      const { port } = yield* agentServer((_req, res) => {
        res.writeHead(200)
        const bytes = Buffer.from(text, "utf8")
        // Split inside multi-byte characters on purpose.
        for (let i = 0; i < bytes.length; i += 7) res.write(bytes.subarray(i, i + 7))
        res.end()
      })
      expect(yield* agentGet(configFor(port), "/status")).toBe(text)
    })
  )

  it.live("an answer other than 200 is AgentRefused with the URL, status and body", () =>
    Effect.gen(function* () {
      const { port } = yield* agentServer((_req, res) => {
        res.writeHead(403, { "content-type": "text/plain; charset=utf-8" })
        res.end("invalid session token\n")
      })
      const e = yield* Effect.flip(agentGet(configFor(port), "/api/v1/tags/pod"))
      expect(e._tag).toBe("AgentRefused")
      expect(e).toMatchObject({
        url: `https://localhost:${port}/api/v1/tags/pod`,
        status: 403,
        body: "invalid session token\n"
      })
      expect(e.message).toBe(`https://localhost:${port}/api/v1/tags/pod: HTTP 403: invalid session token`)
    })
  )

  it.live("a 204 is refused too: only 200 carries an answer", () =>
    Effect.gen(function* () {
      const { port } = yield* agentServer((_req, res) => {
        res.writeHead(204)
        res.end()
      })
      const e = yield* Effect.flip(agentGet(configFor(port), "/x"))
      expect(e).toMatchObject({ _tag: "AgentRefused", status: 204, body: "" })
    })
  )

  it.live("nothing listening is AgentUnreachable with the connection error", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const e = yield* Effect.flip(agentGet(configFor(port), "/version"))
      expect(e._tag).toBe("AgentUnreachable")
      expect(e).toMatchObject({ url: `https://localhost:${port}/version` })
      expect(e.message).toMatch(/ECONNREFUSED/)
    })
  )

  it.live("an agent that accepts but never answers is AgentUnreachable after the timeout", () =>
    Effect.gen(function* () {
      const { port } = yield* agentServer(() => {})
      const e = yield* Effect.flip(agentGet(configFor(port), "/status", 50))
      expect(e).toMatchObject({ _tag: "AgentUnreachable", detail: "no answer within 50 ms" })
    })
  )

  it.live(
    "interrupting the call aborts the request",
    () =>
      Effect.gen(function* () {
        const arrived = yield* Deferred.make<void>()
        const closed = yield* Deferred.make<void>()
        const { port } = yield* agentServer((req) => {
          req.socket.on("close", () => Deferred.doneUnsafe(closed, Effect.void))
          Deferred.doneUnsafe(arrived, Effect.void)
        })
        // A client timeout far beyond the test's own, so only the abort can close the connection.
        const fiber = yield* Effect.forkChild(agentGet(configFor(port), "/status", 600_000))
        yield* Deferred.await(arrived)
        yield* Fiber.interrupt(fiber)
        // The server sees the connection go: the client did not leave it hanging.
        yield* Deferred.await(closed)
      }),
    10_000
  )

  it.live("without a local token file it fails with TokenError and sends nothing", () =>
    Effect.gen(function* () {
      const { seen, port } = yield* agentServer((_req, res) => res.end())
      const missing = Path.join(dir, "missing_token")
      const e = yield* Effect.flip(agentGet(configFor(port, missing), "/status"))
      expect(e._tag).toBe("TokenError")
      expect(e.message).toContain(missing)
      expect(seen).toEqual([])
    })
  )

  it.live("a token file that does not hold a usable token fails with TokenError, not echoing it", () =>
    Effect.gen(function* () {
      const { seen, port } = yield* agentServer((_req, res) => res.end())
      const short = Path.join(dir, "short_token")
      Fs.writeFileSync(short, "tooShortToken")
      const e = yield* Effect.flip(agentGet(configFor(port, short), "/status"))
      expect(e._tag).toBe("TokenError")
      expect(e.message).not.toContain("tooShortToken")
      expect(seen).toEqual([])
    })
  )
})
