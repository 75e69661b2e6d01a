import { X509Certificate } from "node:crypto"
import * as Http2 from "node:http2"
import * as Https from "node:https"
import * as Tls from "node:tls"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { PrometheusMetrics } from "effect/observability"
import fc from "fast-check"
import { freePort } from "../../dev/controlPlane/ports.ts"
import { AuthTokens } from "../../src/layers/AuthTokens.ts"
import { ClusterAgentConfig } from "../../src/layers/Config.ts"
import { ClusterId } from "../../src/services/ClusterId.ts"
import { MetadataMapper } from "../../src/services/MetadataMapper.ts"
import { NodeAgentApi } from "../../src/services/NodeAgentApi.ts"
import { clusterToken, clusterUid, fakeMapper, localToken } from "../support/fakeMapper.ts"
import { parsePrometheus } from "../support/prometheus.ts"

const apiLayer = (port: number) =>
  NodeAgentApi.layer.pipe(
    Layer.provide([
      ClusterAgentConfig.fromEnv({ DD_CLUSTER_AGENT_CMD_PORT: String(port), DD_POD_NAME: "dca-0" }),
      Layer.succeed(
        AuthTokens,
        AuthTokens.of({ cluster: Redacted.make(clusterToken), local: Redacted.make(localToken) })
      ),
      Layer.succeed(MetadataMapper, fakeMapper),
      Layer.succeed(ClusterId, ClusterId.of({ get: Effect.succeed(clusterUid) }))
    ])
  )

/** Runs `body` against a live command port. */
const withApi = <A>(body: (api: { port: number; certificatePem: string }) => Promise<A>) =>
  Effect.gen(function* () {
    const port = yield* Effect.promise(() => freePort())
    return yield* Effect.gen(function* () {
      const api = yield* NodeAgentApi
      return yield* Effect.promise(() => body(api))
    }).pipe(Effect.provide(apiLayer(port)))
  })

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
}

/** A request shaped like the node agent's: HTTP/1.1, no certificate verification, Go's headers. */
const nodeAgentGet = (
  agent: Https.Agent,
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
  body?: Buffer
) =>
  new Promise<Answer>((resolve, reject) => {
    const req = Https.request(
      {
        host: "127.0.0.1",
        port,
        path,
        method,
        agent,
        rejectUnauthorized: false,
        headers: {
          "user-agent": "Go-http-client/1.1",
          "accept-encoding": "gzip",
          // Node's client sends a GET body unframed unless told its length.
          ...(body === undefined ? {} : { "content-length": String(body.length) }),
          ...headers
        }
      },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") })
        )
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(body)
  })

describe("NodeAgentApi over TLS", () => {
  it.live("answers a node agent's request over HTTP/1.1 keep-alive", () =>
    withApi(async ({ port }) => {
      const agent = new Https.Agent({ keepAlive: true, maxSockets: 1 })
      try {
        const headers = { authorization: `Bearer ${clusterToken}`, "x-real-ip": "" }
        const version = await nodeAgentGet(agent, port, "/version", headers)
        expect(version.status).toBe(200)
        expect(JSON.parse(version.body)).toMatchObject({ Major: 7 })
        const pods = await nodeAgentGet(agent, port, "/api/v1/tags/pod/node-a", headers)
        expect(pods).toMatchObject({ status: 200, body: String(fakeMapper.nodePodsJson("node-a")) })
        const id = await nodeAgentGet(agent, port, "/api/v1/cluster/id", headers)
        expect(JSON.parse(id.body)).toBe(clusterUid)
        const denied = await nodeAgentGet(agent, port, "/api/v1/tags/pod/node-a", {})
        expect(denied.status).toBe(401)
        expect(denied.headers["www-authenticate"]).toBe('Bearer realm="Datadog Agent"')
      } finally {
        agent.destroy()
      }
    })
  )

  it.live("refuses TLS below 1.2, and its certificate names localhost and 127.0.0.1", () =>
    withApi(async ({ port, certificatePem }) => {
      const cert = new X509Certificate(certificatePem)
      expect(cert.subjectAltName).toContain("DNS:localhost")
      expect(cert.subjectAltName).toContain("IP Address:127.0.0.1")
      expect(cert.subjectAltName).toContain("DNS:datadog-cluster-agent.default.svc")
      const old = await new Promise<string>((resolve) => {
        const socket = Tls.connect({
          host: "127.0.0.1",
          port,
          maxVersion: "TLSv1.1",
          minVersion: "TLSv1",
          rejectUnauthorized: false
        })
        socket.on("secureConnect", () => {
          socket.destroy()
          resolve("connected")
        })
        socket.on("error", (e) => resolve(`refused: ${e.message}`))
      })
      expect(old).toMatch(/^refused/)
    })
  )

  it.live("answers gRPC over HTTP/2 with a trailers-only UNIMPLEMENTED", () =>
    withApi(async ({ port }) => {
      const session = Http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
      try {
        const answer = await new Promise<{ headers: Http2.IncomingHttpHeaders; endStream: boolean }>(
          (resolve, reject) => {
            const stream = session.request({
              ":method": "POST",
              ":path": "/datadog.api.v1.AgentSecure/StreamKubeMetadata",
              "content-type": "application/grpc",
              te: "trailers",
              authorization: `Bearer ${clusterToken}`
            })
            stream.on("response", (headers, flags) => resolve({ headers, endStream: (flags & 0x1) === 0x1 }))
            stream.on("error", reject)
            stream.end(Buffer.from([0, 0, 0, 0, 0]))
          }
        )
        expect(answer.headers[":status"]).toBe(200)
        expect(answer.headers["grpc-status"]).toBe("12")
        expect(answer.endStream).toBe(true)
        // Plain REST over HTTP/2 still works on the same port.
        const rest = await new Promise<number>((resolve, reject) => {
          const stream = session.request({ ":path": "/version", authorization: `Bearer ${clusterToken}` })
          stream.on("response", (headers) => resolve(Number(headers[":status"])))
          stream.on("error", reject)
          stream.resume()
          stream.end()
        })
        expect(rest).toBe(200)
      } finally {
        session.close()
      }
    })
  )

  it.live("fuzz: thousands of random requests get only documented statuses, and the server stays up", () =>
    withApi(async ({ port }) => {
      const agent = new Https.Agent({ keepAlive: true, maxSockets: 4 })
      const documented = new Set([200, 400, 401, 403, 404, 405])
      const seen = new Map<number, number>()
      try {
        const token = fc.constantFrom(`Bearer ${clusterToken}`, `Bearer ${localToken}`, "Bearer x", "Basic y", "")
        const request = fc.record({
          method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
          path: fc.oneof(
            fc.constantFrom(
              "/version",
              "/api/v1/tags/pod",
              "/api/v1/tags/pod/node-a",
              "/api/v1/tags/pod/node-a/shop/web-1",
              "/api/v1/tags/node/x",
              "/api/v1/cluster/id",
              "/api/v1/metadata/namespace/shop"
            ),
            fc.webPath(),
            fc.array(fc.webSegment(), { maxLength: 8 }).map((s) => `/${s.join("/")}`)
          ),
          query: fc.option(fc.webQueryParameters(), { nil: undefined }),
          authorization: fc.option(token, { nil: undefined }),
          extra: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,10}$/), fc.stringMatching(/^[ -~]{0,40}$/), {
            maxKeys: 4
          }),
          body: fc.option(fc.uint8Array({ maxLength: 2048 }), { nil: undefined })
        })
        const samples = fc.sample(request, { numRuns: 2000, seed: 4242 })
        for (let i = 0; i < samples.length; i += 20) {
          const batch = samples.slice(i, i + 20)
          const answers = await Promise.all(
            batch.map((r) =>
              nodeAgentGet(
                agent,
                port,
                `${r.path.startsWith("/") ? r.path : `/${r.path}`}${r.query === undefined ? "" : `?${r.query}`}`,
                { ...r.extra, ...(r.authorization === undefined ? {} : { authorization: r.authorization }) },
                r.method,
                r.body === undefined ? undefined : Buffer.from(r.body)
              )
            )
          )
          for (const a of answers) {
            seen.set(a.status, (seen.get(a.status) ?? 0) + 1)
            expect(documented.has(a.status), `status ${a.status}`).toBe(true)
          }
        }
        const after = await nodeAgentGet(agent, port, "/version", { authorization: `Bearer ${clusterToken}` })
        expect(after.status).toBe(200)
        // The fuzz reached the interesting answers, not only 404s.
        for (const status of [200, 401, 403, 404, 405]) expect(seen.get(status) ?? 0).toBeGreaterThan(0)
      } finally {
        agent.destroy()
      }
    })
  )

  it.live("counts requests per handler and status", () =>
    withApi(async ({ port }) => {
      const agent = new Https.Agent({ keepAlive: false })
      await nodeAgentGet(agent, port, "/api/v1/tags/node/node-a", { authorization: `Bearer ${clusterToken}` })
      await nodeAgentGet(agent, port, "/api/v1/tags/node/node-a", {})
      return undefined
    }).pipe(
      Effect.andThen(PrometheusMetrics.format()),
      Effect.andThen((text) =>
        Effect.sync(() => {
          const samples = parsePrometheus(text).samples.filter((s) => s.name === "api_requests")
          const count = (status: string) =>
            samples.find((s) => s.labels.handler === "getNodeLabels" && s.labels.status === status)?.value ?? 0
          expect(count("200")).toBeGreaterThanOrEqual(1)
          expect(count("401")).toBeGreaterThanOrEqual(1)
        })
      )
    )
  )
})
