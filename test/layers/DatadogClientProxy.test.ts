/**
 * DatadogClient through a real forward proxy (test/layers/datadog/servers.ts) to the real fake
 * Datadog API, configured as the agent is (DD_PROXY_HTTP / DD_PROXY_HTTPS / DD_PROXY_NO_PROXY
 * and their standard fallbacks): absolute-URI requests for http://, CONNECT tunnels for
 * https:// (TLS end to end: the proxy sees only the tunnel), the no-proxy list, proxy
 * credentials, a proxy that refuses.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { type ClusterAgentConfigShape, resolve } from "../../src/layers/Config.ts"
import { clientOptionsFromConfig, DatadogClient, defaultRetryPolicy } from "../../src/layers/DatadogClient.ts"
import { startForwardProxy, startTlsFront } from "./datadog/servers.ts"
import { API_KEY, APP_KEY, useFakeDatadog } from "./datadog/support.ts"

const fake = useFakeDatadog()

const configOf = (env: Record<string, string>): ClusterAgentConfigShape => {
  const config = resolve(
    { DD_API_KEY: API_KEY, DD_APP_KEY: APP_KEY, ...env },
    { hostname: "node-1", serviceAccountNamespace: Option.none() }
  )
  if (!("apiBaseUrl" in config)) throw new Error(config.message)
  return config
}

/** The client the agent builds from this environment (plus trust for the test's TLS front). */
const clientFrom = (env: Record<string, string>, extra: { ca?: string; noRetry?: boolean } = {}) =>
  DatadogClient.make({
    ...clientOptionsFromConfig(configOf(env)),
    ...(extra.ca === undefined ? {} : { ca: extra.ca }),
    ...(extra.noRetry === true ? { retry: { ...defaultRetryPolicy, retries: 0 } } : {})
  })

const proxyServer = (options?: Parameters<typeof startForwardProxy>[0]) =>
  Effect.acquireRelease(
    Effect.promise(() => startForwardProxy(options)),
    (p) => Effect.promise(p.close)
  )

const tlsFront = () =>
  Effect.acquireRelease(
    Effect.promise(() => startTlsFront(fake.port)),
    (t) => Effect.promise(t.close)
  )

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

describe("DatadogClient through a proxy", () => {
  it.effect("http:// via DD_PROXY_HTTP: the absolute URI to the proxy, with its credentials", () =>
    Effect.gen(function* () {
      const proxy = yield* proxyServer({ requireAuth: basic("agent", "p@ss word") })
      const client = yield* clientFrom({
        DD_DD_URL: fake.url,
        DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT: fake.url,
        DD_PROXY_HTTP: `http://agent:p%40ss%20word@127.0.0.1:${proxy.port}`
      })
      yield* client.validateApiKey()
      yield* client.queryMetrics({ from: 0, to: 10, query: "avg:a{*}" })
      expect(proxy.seen()).toEqual([
        { method: "GET", target: `${fake.url}/api/v1/validate`, proxyAuthorization: basic("agent", "p@ss word") },
        {
          method: "GET",
          target: `${fake.url}/api/v1/query?from=0&to=10&query=avg%3Aa%7B*%7D`,
          proxyAuthorization: basic("agent", "p@ss word")
        }
      ])
      const [validate, query] = fake.requests()
      expect(validate?.status).toBe(200)
      expect(validate?.headers.host).toBe(fake.url.replace("http://", ""))
      expect(validate?.headers["dd-api-key"]).toBe(API_KEY)
      expect(query?.headers["dd-application-key"]).toBe(APP_KEY)
    })
  )

  it.effect("https:// via DD_PROXY_HTTPS: one CONNECT tunnel, kept alive for the next requests", () =>
    Effect.gen(function* () {
      const proxy = yield* proxyServer({ requireAuth: basic("u", "secret") })
      const front = yield* tlsFront()
      const client = yield* clientFrom(
        { DD_DD_URL: front.url, DD_PROXY_HTTPS: `http://u:secret@127.0.0.1:${proxy.port}` },
        { ca: front.ca }
      )
      yield* client.validateApiKey()
      const id = yield* client.submitEvent({ title: "through the tunnel", text: "x" })
      expect(id).toMatch(/^\d+$/)
      yield* client.submitServiceChecks([{ check: "c", hostName: "h", status: 0, tags: [] }])
      // The proxy saw one CONNECT and nothing of what went through it.
      expect(proxy.seen()).toEqual([
        { method: "CONNECT", target: `localhost:${front.port}`, proxyAuthorization: basic("u", "secret") }
      ])
      expect(
        fake.requests().map((r) => `${r.method} ${r.path} ${r.status} ${r.headers["dd-api-key"] === API_KEY}`)
      ).toEqual(["GET /api/v1/validate 200 true", "POST /api/v1/events 202 true", "POST /api/v1/check_run 202 true"])
      expect(fake.events().map((e) => e.title)).toEqual(["through the tunnel"])
    })
  )

  it.effect("https:// falls back to HTTPS_PROXY; the tunnel verifies Datadog's certificate", () =>
    Effect.gen(function* () {
      const proxy = yield* proxyServer()
      const front = yield* tlsFront()
      // Without trusting the front's certificate, the TLS handshake inside the tunnel fails.
      const untrusted = yield* clientFrom(
        { DD_DD_URL: front.url, HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` },
        { noRetry: true }
      )
      const e = yield* Effect.flip(untrusted.validateApiKey())
      expect(e.reason).toBe("Transport")
      expect(e.detail).toMatch(/certificate/i)
      const trusted = yield* clientFrom(
        { DD_DD_URL: front.url, HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` },
        { ca: front.ca }
      )
      yield* trusted.validateApiKey()
      expect(proxy.seen().map((r) => `${r.method} ${r.target}`)).toEqual([
        `CONNECT localhost:${front.port}`,
        `CONNECT localhost:${front.port}`
      ])
    })
  )

  it.effect("DD_PROXY_NO_PROXY: an exact host:port goes direct; a bare host does not match (exact mode)", () =>
    Effect.gen(function* () {
      const proxy = yield* proxyServer()
      const host = fake.url.replace("http://", "")
      const direct = yield* clientFrom({
        DD_DD_URL: fake.url,
        DD_PROXY_HTTP: proxy.url,
        DD_PROXY_NO_PROXY: `other.example ${host}`
      })
      yield* direct.validateApiKey()
      expect(proxy.seen()).toEqual([])
      const proxied = yield* clientFrom({ DD_DD_URL: fake.url, DD_PROXY_HTTP: proxy.url, NO_PROXY: "127.0.0.1" })
      yield* proxied.validateApiKey()
      expect(proxy.seen().map((r) => r.target)).toEqual([`${fake.url}/api/v1/validate`])
      // DD_NO_PROXY_NONEXACT_MATCH: Go's rules, where the bare host (and any loopback address) matches.
      const nonExact = yield* clientFrom({
        DD_DD_URL: fake.url,
        DD_PROXY_HTTP: proxy.url,
        NO_PROXY: "127.0.0.1",
        DD_NO_PROXY_NONEXACT_MATCH: "true"
      })
      yield* nonExact.validateApiKey()
      expect(proxy.seen()).toHaveLength(1)
      expect(fake.requests().map((r) => r.status)).toEqual([200, 200, 200])
    })
  )

  it.effect("a proxy that refuses the tunnel: Transport, naming the proxy without its credentials", () =>
    Effect.gen(function* () {
      const proxy = yield* proxyServer({ refuseConnect: 403 })
      const front = yield* tlsFront()
      const client = yield* clientFrom(
        { DD_DD_URL: front.url, DD_PROXY_HTTPS: `http://agent:hunter2@127.0.0.1:${proxy.port}` },
        { ca: front.ca, noRetry: true }
      )
      const e = yield* Effect.flip(client.validateApiKey())
      expect(e.reason).toBe("Transport")
      expect(e.status).toBeUndefined()
      expect(e.message).toBe(
        `GET /api/v1/validate: Transport: proxy http://*****:*****@127.0.0.1:${proxy.port} answered 403 to CONNECT localhost:${front.port}`
      )
      expect(e.message).not.toContain("hunter2")
      expect(fake.requests()).toEqual([])
    })
  )
})
