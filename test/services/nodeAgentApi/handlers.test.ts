import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { tokenBytes } from "../../../src/services/nodeAgentApi/auth.ts"
import { type ApiResponse, type ApiSources, handle } from "../../../src/services/nodeAgentApi/handlers.ts"
import { matchRoute, routes } from "../../../src/services/nodeAgentApi/routes.ts"
import { version } from "../../../src/version.ts"
import { clusterToken, clusterUid, fakeMapper, localToken } from "../../support/fakeMapper.ts"

const sources: ApiSources = {
  version,
  mapper: fakeMapper,
  clusterId: async () => ({ id: clusterUid }),
  tokens: { cluster: tokenBytes(clusterToken), local: tokenBytes(localToken) },
  status: async (format) => (format === "text" ? "status page\n" : '{"version":"7.0.0"}'),
  flare: async () => ({ path: "/tmp/datadog-agent-2024-05-01T12-34-56Z-info.zip" })
}

/** The answer, with its body as text. */
const respond = async (
  method: string,
  url: string,
  authorization?: string
): Promise<ApiResponse & { body: string }> => {
  const r = await handle({ method, url, authorization }, sources).response
  return { ...r, body: String(r.body) }
}

/** One concrete path per route. */
const examples: Record<string, string> = {
  version: "/version",
  getPodMetadataForNode: "/api/v1/tags/pod/node-a",
  getPodMetadata: "/api/v1/tags/pod/node-a/shop/web-1",
  getAllMetadata: "/api/v1/tags/pod",
  getNodeLabels: "/api/v1/tags/node/node-a",
  getNodeAnnotations: "/api/v1/annotations/node/node-a",
  getNamespaceLabels: "/api/v1/tags/namespace/shop",
  getNamespaceMetadata: "/api/v1/metadata/namespace/shop",
  getClusterID: "/api/v1/cluster/id",
  getStatus: "/status",
  flare: "/flare"
}

const credentials = [
  ["no header", undefined],
  ["wrong scheme", `Basic ${clusterToken}`],
  ["wrong token", "Bearer not-the-token-not-the-token-not-the-token"],
  ["cluster token", `Bearer ${clusterToken}`],
  ["local token", `Bearer ${localToken}`]
] as const

const expectedFor = (credential: string, routeCredential: "cluster" | "local") => {
  switch (credential) {
    case "no header":
      return { status: 401, body: "no session token provided\n", challenge: true }
    case "wrong scheme":
      return { status: 401, body: "unsupported authorization scheme: Basic\n", challenge: true }
    case "wrong token":
      return { status: 403, body: "invalid session token\n", challenge: false }
    case "cluster token":
      return routeCredential === "cluster"
        ? { status: 200 }
        : { status: 403, body: "invalid session token\n", challenge: false }
    default:
      return routeCredential === "local"
        ? { status: 200 }
        : { status: 403, body: "invalid session token\n", challenge: false }
  }
}

describe("auth matrix: every route × every credential", () => {
  for (const route of routes) {
    for (const [name, header] of credentials) {
      const expected = expectedFor(name, route.credential)
      it(`${route.name} with ${name} → ${expected.status}`, async () => {
        const r = await respond(route.method, `${examples[route.name]}?query=ignored`, header)
        expect(r.status).toBe(expected.status)
        if (expected.status !== 200) {
          expect(r.body).toBe(expected.body)
          expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8")
          expect(r.headers["x-content-type-options"]).toBe("nosniff")
          expect(r.headers["www-authenticate"]).toBe(expected.challenge ? 'Bearer realm="Datadog Agent"' : undefined)
        }
      })
    }
  }

  it("a token with extra words is refused", async () => {
    expect((await respond("GET", "/version", `Bearer ${clusterToken} extra`)).status).toBe(403)
    expect((await respond("GET", "/version", `Bearer  ${clusterToken}`)).status).toBe(403)
  })

  it("the query string never changes the credential a path needs (dda#54321)", async () => {
    expect((await respond("GET", "/api/v1/tags/pod?/version", `Bearer ${clusterToken}`)).status).toBe(403)
    expect((await respond("GET", "/version?/api/v1/tags/pod", `Bearer ${localToken}`)).status).toBe(403)
  })
})

describe("answers", () => {
  const asCluster = (url: string) => respond("GET", url, `Bearer ${clusterToken}`)

  it("/version is the Go version struct, as JSON", async () => {
    const r = await asCluster("/version")
    expect(r.headers["content-type"]).toBe("application/json")
    expect(JSON.parse(r.body)).toEqual(version)
  })

  it("metadata routes answer the mapper's JSON", async () => {
    expect((await asCluster("/api/v1/tags/pod/node-a")).body).toBe(String(fakeMapper.nodePodsJson("node-a")))
    expect((await asCluster("/api/v1/tags/pod/node-a/shop/web-1")).body).toBe('["kube_service:web"]')
    expect((await asCluster("/api/v1/tags/pod/node-a/shop/nope")).body).toBe("null")
    expect(JSON.parse((await asCluster("/api/v1/tags/node/node-a")).body)).toEqual({
      "kubernetes.io/hostname": "node-a"
    })
    expect(JSON.parse((await asCluster("/api/v1/annotations/node/node-a")).body)).toEqual({
      "cluster.k8s.io/machine": "machine-17"
    })
    expect(JSON.parse((await asCluster("/api/v1/tags/namespace/shop")).body)).toEqual({ env: "prod" })
    expect(JSON.parse((await asCluster("/api/v1/metadata/namespace/shop")).body)).toEqual({
      Name: "shop",
      Namespace: "",
      Annotations: { team: "payments" },
      Labels: { env: "prod" }
    })
  })

  it("unknown nodes and namespaces are 404 with the cache's message", async () => {
    const r = await asCluster("/api/v1/tags/node/ghost")
    expect(r).toMatchObject({ status: 404, body: "entity nodes//ghost not found\n" })
    expect((await asCluster("/api/v1/metadata/namespace/ghost")).status).toBe(404)
  })

  it("the cluster ID is a JSON string; a failure is 500 with the message", async () => {
    const r = await asCluster("/api/v1/cluster/id")
    expect(r.headers["content-type"]).toBe("application/json")
    expect(JSON.parse(r.body)).toBe(clusterUid)
    const failing = { ...sources, clusterId: async () => ({ error: "cannot get the cluster ID: GET ... Forbidden" }) }
    const bad = await handle(
      { method: "GET", url: "/api/v1/cluster/id", authorization: `Bearer ${clusterToken}` },
      failing
    ).response
    expect(bad).toMatchObject({ status: 500, body: "cannot get the cluster ID: GET ... Forbidden\n" })
  })

  it("/status is JSON unless ?format=text; a failure is 500 with the original's {error}", async () => {
    const asCli = (url: string, from: ApiSources = sources) =>
      handle({ method: "GET", url, authorization: `Bearer ${localToken}` }, from).response
    expect(await asCli("/status")).toMatchObject({
      status: 200,
      headers: { "content-type": "application/json" },
      body: '{"version":"7.0.0"}'
    })
    expect(await asCli("/status?format=json&verbose=true")).toMatchObject({ body: '{"version":"7.0.0"}' })
    expect(await asCli("/status?verbose=true&format=text")).toMatchObject({
      status: 200,
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: "status page\n"
    })
    const failing: ApiSources = { ...sources, status: () => Promise.reject(new Error("no status")) }
    expect(await asCli("/status", failing)).toMatchObject({ status: 500, body: '{"error":"no status"}' })
    const none: ApiSources = { ...sources, status: undefined }
    expect(await asCli("/status", none)).toMatchObject({ status: 500, body: '{"error":"this agent serves no status"}' })
  })
})

describe("flare", () => {
  const asCli = (method: string, from: ApiSources = sources) =>
    handle({ method, url: "/flare", authorization: `Bearer ${localToken}` }, from).response

  it("POST /flare answers the archive's path, declared JSON, as the original", async () => {
    expect(await asCli("POST")).toMatchObject({
      status: 200,
      headers: { "content-type": "application/json" },
      body: "/tmp/datadog-agent-2024-05-01T12-34-56Z-info.zip"
    })
  })

  it("a failed flare is 500 with the original's {error}; GET is 405", async () => {
    const failing: ApiSources = { ...sources, flare: async () => ({ error: "disk full" }) }
    expect(await asCli("POST", failing)).toMatchObject({ status: 500, body: '{"error":"disk full"}\n' })
    const none: ApiSources = { ...sources, flare: undefined }
    expect(await asCli("POST", none)).toMatchObject({ status: 500 })
    expect((await asCli("GET")).status).toBe(405)
  })
})

describe("routing", () => {
  it.each([
    ["GET", "/", "NotFound"],
    ["GET", "/api/v1/tags/pod/", "NotFound"],
    ["GET", "/api/v1/tags/pod/a/b", "NotFound"],
    ["GET", "/api/v1/tags/pod/a%2Fb", "NotFound"],
    ["POST", "/version", "MethodNotAllowed"],
    ["HEAD", "/api/v1/tags/pod/node-a", "MethodNotAllowed"],
    ["GET", "/api/v1/tags/pod/%E0%A4%A", "BadRequest"],
    ["GET", "/api/v1/tags/pod/node%2Da", "Found"],
    ["GET", "https://dca:5005/version", "Found"],
    ["GET", "*", "BadRequest"]
  ])("%s %s → %s", (method, url, tag) => {
    expect(matchRoute(method, url)._tag).toBe(tag)
  })

  it("404 and 405 come before authentication, like the original's router", async () => {
    expect(await respond("GET", "/nope")).toMatchObject({ status: 404, body: "404 page not found\n" })
    expect(await respond("DELETE", "/version")).toMatchObject({ status: 405, body: "" })
  })

  it("any request gets a documented status, never a 5xx, and never throws", async () => {
    const documented = new Set([200, 400, 401, 403, 404, 405])
    const segment = fc.oneof(
      fc.constantFrom(
        "api",
        "v1",
        "tags",
        "pod",
        "node",
        "namespace",
        "metadata",
        "cluster",
        "id",
        "version",
        "annotations"
      ),
      fc.string({ maxLength: 8 }),
      fc.constantFrom("%", "%2F", "..", ".", "", "%E0%A4%A", "node-a", "shop", "web-1")
    )
    const url = fc.oneof(
      fc.array(segment, { maxLength: 9 }).map((s) => `/${s.join("/")}`),
      fc.tuple(fc.array(segment, { maxLength: 6 }), fc.string()).map(([s, q]) => `/${s.join("/")}?${q}`),
      fc.string()
    )
    const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "BREW")
    const authorization = fc.option(
      fc.oneof(
        fc.string(),
        fc.constantFrom(`Bearer ${clusterToken}`, `Bearer ${localToken}`, "Bearer", "Bearer ", ""),
        fc.string().map((s) => `Bearer ${s}`)
      ),
      { nil: undefined }
    )
    await fc.assert(
      fc.asyncProperty(method, url, authorization, async (m, u, a) => {
        const r = await respond(m, u, a)
        expect(documented.has(r.status)).toBe(true)
      }),
      { numRuns: 3000 }
    )
  })
})
