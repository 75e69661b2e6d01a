// The client over a real local HTTP server (not the API server): what goes on the wire (headers,
// one kept-alive connection, token rotation) and how odd answers come back (timeouts, chunked
// watch bodies, malformed lines, aborted requests).
import * as Fs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Stream } from "effect"
import { KubeClient, type KubeClientShape } from "../../../src/layers/KubeClient.ts"
import type { Auth } from "../../../src/layers/kube/credentials.ts"
import { waitFor } from "../../support/waitFor.ts"

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse) => void

interface Seen {
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly remotePort: number | undefined
}

const seen: Array<Seen> = []
const closed: Array<string> = []
const routes = new Map<string, Handler>()
let server: Http.Server
let base = ""
const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-transport-"))

beforeAll(async () => {
  server = Http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers, remotePort: req.socket.remotePort })
    res.on("close", () => closed.push(req.url ?? ""))
    const handler = routes.get((req.url ?? "").split("?")[0] ?? "")
    if (handler === undefined) {
      res.writeHead(404, { "Content-Type": "application/json" })
      res.end(JSON.stringify({ kind: "Status", code: 404, reason: "NotFound", message: `no route ${req.url}` }))
      return
    }
    handler(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  Fs.rmSync(dir, { recursive: true, force: true })
})

const json =
  (body: unknown, status = 200): Handler =>
  (_req, res) => {
    res.writeHead(status, { "Content-Type": "application/json" })
    res.end(JSON.stringify(body))
  }

const client = (auth: Auth = { _tag: "None" }, timeout = Duration.seconds(5)) =>
  KubeClient.make({ credentials: { source: "test", server: base, tls: {}, auth }, timeout })

/** The agent frees a socket just after the response ends: poll for it. */
const idleConnections = (kube: KubeClientShape, idle: number) =>
  Effect.promise(() =>
    waitFor(
      async () => {
        const c = await Effect.runPromise(kube.connections)
        return c.active === 0 && c.idle === idle ? c : undefined
      },
      { what: `no active and ${idle} idle connections` }
    )
  )

const configMaps = { group: "", version: "v1", resource: "configmaps", namespace: "ns" }

describe("requests", () => {
  it.live("re-reads a rotated token file and reuses one kept-alive connection", () =>
    Effect.gen(function* () {
      routes.set("/version", json({ major: "1", minor: "34", gitVersion: "v1.34.0" }))
      const tokenPath = Path.join(dir, "token")
      Fs.writeFileSync(tokenPath, "first-token\n")
      const kube = yield* client({ _tag: "TokenFile", path: tokenPath })
      const from = seen.length

      expect((yield* kube.serverVersion()).gitVersion).toBe("v1.34.0")
      // How the kubelet rotates: write a new file, then swap it in (a new inode).
      Fs.writeFileSync(`${tokenPath}.new`, "second-token")
      Fs.renameSync(`${tokenPath}.new`, tokenPath)
      yield* kube.serverVersion()
      // An in-place rewrite works too.
      Fs.writeFileSync(tokenPath, "third-token-longer")
      yield* kube.serverVersion()

      const requests = seen.slice(from)
      expect(requests.map((r) => r.headers.authorization)).toEqual([
        "Bearer first-token",
        "Bearer second-token",
        "Bearer third-token-longer"
      ])
      expect(new Set(requests.map((r) => r.remotePort)).size).toBe(1)
      expect(requests[0]?.headers["user-agent"]).toMatch(/^datadog-cluster-agent\/\d+\.\d+\.\d+/)
      expect(requests[0]?.headers.accept).toBe("application/json")
      yield* idleConnections(kube, 1)
    })
  )

  it.live("keeps the last good token while the file is briefly missing", () =>
    Effect.gen(function* () {
      routes.set("/version", json({ major: "1", minor: "34", gitVersion: "v1.34.0" }))
      const tokenPath = Path.join(dir, "token-missing")
      Fs.writeFileSync(tokenPath, "kept")
      const kube = yield* client({ _tag: "TokenFile", path: tokenPath })
      yield* kube.serverVersion()
      Fs.rmSync(tokenPath)
      const from = seen.length
      yield* kube.serverVersion()
      expect(seen[from]?.headers.authorization).toBe("Bearer kept")
    })
  )

  it.live("fails with Transport, without a token in the message, when the token file cannot be read", () =>
    Effect.gen(function* () {
      const kube = yield* client({ _tag: "TokenFile", path: Path.join(dir, "never") })
      const e = yield* Effect.flip(kube.serverVersion())
      expect(e).toMatchObject({ reason: "Transport", verb: "GET", path: "/version" })
      expect(e.message).toContain(`cannot read token file ${Path.join(dir, "never")}: ENOENT`)
    })
  )

  it.live("sends JSON bodies and a static Authorization header", () =>
    Effect.gen(function* () {
      let body = ""
      routes.set("/api/v1/namespaces/ns/configmaps", (req, res) => {
        req.setEncoding("utf8")
        req.on("data", (c: string) => {
          body += c
        })
        req.on("end", () => json(JSON.parse(body), 201)(req, res))
      })
      const kube = yield* client({ _tag: "Header", value: "Bearer static" })
      const from = seen.length
      const created = yield* kube.createConfigMap("ns", { metadata: { name: "a" }, data: { k: "é" } })
      expect(created).toEqual({ metadata: { name: "a" }, data: { k: "é" } })
      expect(seen[from]?.headers).toMatchObject({ authorization: "Bearer static", "content-type": "application/json" })
    })
  )

  it.live("times out a request that gets no answer, and aborts it", () =>
    Effect.gen(function* () {
      routes.set("/api/v1/namespaces/ns/configmaps/slow", () => {})
      const kube = yield* client({ _tag: "None" }, Duration.millis(200))
      const e = yield* Effect.flip(kube.getConfigMap("ns", "slow"))
      expect(e).toMatchObject({ reason: "Timeout", verb: "GET", path: "/api/v1/namespaces/ns/configmaps/slow" })
      yield* Effect.promise(() => waitFor(() => closed.includes("/api/v1/namespaces/ns/configmaps/slow")))
      yield* idleConnections(kube, 0)
    })
  )

  it.live("reports a refused connection as Transport", () =>
    Effect.gen(function* () {
      const closedServer = Http.createServer()
      yield* Effect.promise(() => new Promise<void>((r) => closedServer.listen(0, "127.0.0.1", r)))
      const port = (closedServer.address() as AddressInfo).port
      yield* Effect.promise(() => new Promise((r) => closedServer.close(r)))
      const kube = yield* KubeClient.make({
        credentials: { source: "test", server: `http://127.0.0.1:${port}`, tls: {}, auth: { _tag: "None" } },
        timeout: Duration.seconds(5)
      })
      const e = yield* Effect.flip(kube.readyz())
      expect(e.reason).toBe("Transport")
      expect(e.detail).toContain("ECONNREFUSED")
    })
  )

  it.live("decodes gzip bodies, and fails with Decode on a body that is not JSON", () =>
    Effect.gen(function* () {
      const Zlib = yield* Effect.promise(() => import("node:zlib"))
      routes.set("/api/v1/namespaces/ns/configmaps/zipped", (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip" })
        res.end(Zlib.gzipSync(JSON.stringify({ metadata: { name: "zipped" } })))
      })
      routes.set("/api/v1/namespaces/ns/configmaps/html", (_req, res) => {
        res.writeHead(200, { "Content-Type": "text/html" })
        res.end("<html>proxy login</html>")
      })
      const kube = yield* client()
      expect((yield* kube.getConfigMap("ns", "zipped")).metadata?.name).toBe("zipped")
      const from = seen.length
      const e = yield* Effect.flip(kube.getConfigMap("ns", "html"))
      expect(seen[from]?.headers["accept-encoding"]).toBe("gzip")
      expect(e).toMatchObject({ reason: "Decode", status: 200 })
      expect(e.detail).toContain("<html>proxy login</html>")
    })
  )

  it.live("readyz returns the body when ready, the check list when not", () =>
    Effect.gen(function* () {
      let ready = false
      routes.set("/readyz", (_req, res) => {
        res.writeHead(ready ? 200 : 500, { "Content-Type": "text/plain" })
        res.end(ready ? "ok" : "[-]etcd failed: reason withheld\nreadyz check failed\n")
      })
      const kube = yield* client()
      const e = yield* Effect.flip(kube.readyz())
      expect(e).toMatchObject({ reason: "ServerError", status: 500 })
      expect(e.detail).toContain("[-]etcd failed")
      ready = true
      expect(yield* kube.readyz()).toBe("ok")
    })
  )
})

describe("watch", () => {
  const line = (type: string, name: string) => `${JSON.stringify({ type, object: { metadata: { name } } })}\n`

  /** Writes `parts` one per event-loop turn, so the client sees them as separate chunks. */
  const chunked =
    (parts: ReadonlyArray<string>, end = true): Handler =>
    (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" })
      const next = (i: number) => {
        if (i === parts.length) {
          if (end) res.end()
          return
        }
        res.write(parts[i])
        setImmediate(() => next(i + 1))
      }
      next(0)
    }

  it.live("joins lines cut across chunks and ends when the server ends the body", () =>
    Effect.gen(function* () {
      const body = `${line("ADDED", "a")}${line("MODIFIED", "é-b")}${line("DELETED", "c").trimEnd()}`
      const bytes = Buffer.from(body)
      // Cut inside the multi-byte "é" and inside JSON tokens; the last line has no newline.
      const cuts = [5, bytes.indexOf("é") + 1, bytes.length - 3]
      const parts = [0, ...cuts].map((start, i) => bytes.subarray(start, cuts[i] ?? bytes.length).toString("latin1"))
      routes.set("/api/v1/namespaces/ns/configmaps", (req, res) => {
        res.writeHead(200, { "Transfer-Encoding": "chunked" })
        const next = (i: number) => {
          if (i === parts.length) return res.end()
          res.write(Buffer.from(parts[i] ?? "", "latin1"))
          setImmediate(() => next(i + 1))
        }
        expect(req.url).toBe(
          "/api/v1/namespaces/ns/configmaps?watch=true&resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=30"
        )
        next(0)
      })
      const kube = yield* client()
      const events = yield* Stream.runCollect(
        kube.watch(configMaps, { resourceVersion: "5", allowWatchBookmarks: true, timeoutSeconds: 30 })
      )
      expect(events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
        ["ADDED", "a"],
        ["MODIFIED", "é-b"],
        ["DELETED", "c"]
      ])
      yield* idleConnections(kube, 1)
    })
  )

  it.live("fails with Gone on an ERROR event carrying a 410 Status, after the events before it", () =>
    Effect.gen(function* () {
      const status = { kind: "Status", code: 410, reason: "Expired", message: "too old resource version: 1 (9)" }
      routes.set(
        "/api/v1/namespaces/ns/configmaps",
        chunked([line("ADDED", "a"), `${JSON.stringify({ type: "ERROR", object: status })}\n`])
      )
      const kube = yield* client()
      const received: Array<string> = []
      const exit = yield* Effect.exit(
        Stream.runForEach(kube.watch(configMaps), (e) => Effect.sync(() => received.push(e.type)))
      )
      expect(received).toEqual(["ADDED"])
      expect(exit).toEqual(Exit.fail(expect.objectContaining({ reason: "Gone", status: 410, apiReason: "Expired" })))
    })
  )

  it.live("fails with Decode on a malformed line instead of dropping it", () =>
    Effect.gen(function* () {
      routes.set("/api/v1/namespaces/ns/configmaps", chunked([line("ADDED", "a"), "{not json}\n", line("ADDED", "b")]))
      const kube = yield* client()
      const e = yield* Effect.flip(Stream.runDrain(kube.watch(configMaps)))
      expect(e).toMatchObject({ reason: "Decode", verb: "WATCH" })
      expect(e.detail).toContain("{not json}")
    })
  )

  it.live("fails with the Status of a refused watch", () =>
    Effect.gen(function* () {
      routes.set(
        "/api/v1/namespaces/ns/configmaps",
        json({ kind: "Status", code: 403, reason: "Forbidden", message: "nope" }, 403)
      )
      const kube = yield* client()
      const e = yield* Effect.flip(Stream.runDrain(kube.watch(configMaps)))
      expect(e).toMatchObject({ reason: "Forbidden", status: 403, detail: "nope", verb: "WATCH" })
    })
  )

  it.live("fails with Transport when the connection breaks mid-stream", () =>
    Effect.gen(function* () {
      routes.set("/api/v1/namespaces/ns/configmaps", (req, res) => {
        res.writeHead(200, { "Transfer-Encoding": "chunked" })
        res.write(line("ADDED", "a"))
        setImmediate(() => req.socket.destroy())
      })
      const kube = yield* client()
      const e = yield* Effect.flip(Stream.runDrain(kube.watch(configMaps)))
      expect(e).toMatchObject({ reason: "Transport", verb: "WATCH" })
    })
  )

  it.live("aborts the request when the stream is interrupted", () =>
    Effect.gen(function* () {
      routes.set("/api/v1/namespaces/ns/configmaps", chunked([line("ADDED", "a")], false))
      const kube = yield* client()
      const before = closed.length
      // take(1) ends the stream while the server still holds the response open.
      const first = yield* Stream.runCollect(Stream.take(kube.watch(configMaps), 1))
      expect(first.map((e) => e.object.metadata?.name)).toEqual(["a"])
      yield* Effect.promise(() => waitFor(() => closed.length > before, { what: "the server to see the abort" }))
      yield* idleConnections(kube, 0)

      // And when the fiber running it is interrupted while waiting for data.
      const fiber = yield* Effect.forkChild(Stream.runDrain(kube.watch(configMaps)))
      yield* Effect.promise(() => waitFor(() => seen.length > 0 && closed.length === before + 1))
      yield* Effect.promise(() => waitFor(async () => (await Effect.runPromise(kube.connections)).active === 1))
      yield* Fiber.interrupt(fiber)
      yield* Effect.promise(() => waitFor(() => closed.length === before + 2, { what: "the second abort" }))
      yield* idleConnections(kube, 0)
    })
  )
})
