// The command port's route table and target matching. The table is checked against the
// contract (§1.2's external paths, §1.4/§1.5's endpoints); handlers.test.ts checks a set of
// targets for their match tag and the statuses they lead to; here the parameters a match
// carries, and how request targets are split and decoded.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { matchRoute, pathSegments, type RouteName, routes } from "../../../src/services/nodeAgentApi/routes.ts"

describe("the route table", () => {
  // From the contract: node-agent paths take the cluster token; /api/v1/tags/pod (all nodes,
  // the metamap CLI) is internal and takes the local token.
  const expected: ReadonlyArray<readonly [RouteName, string, "cluster" | "local"]> = [
    ["version", "/version", "cluster"],
    ["getPodMetadataForNode", "/api/v1/tags/pod/:node", "cluster"],
    ["getPodMetadata", "/api/v1/tags/pod/:node/:namespace/:pod", "cluster"],
    ["getAllMetadata", "/api/v1/tags/pod", "local"],
    ["getNodeLabels", "/api/v1/tags/node/:node", "cluster"],
    ["getNodeAnnotations", "/api/v1/annotations/node/:node", "cluster"],
    ["getNamespaceLabels", "/api/v1/tags/namespace/:namespace", "cluster"],
    ["getNamespaceMetadata", "/api/v1/metadata/namespace/:namespace", "cluster"],
    ["getClusterID", "/api/v1/cluster/id", "cluster"],
    // The status CLI's route (§1.4): internal.
    ["getStatus", "/status", "local"],
    // The flare CLI's route (§1.4): internal.
    ["flare", "/flare", "local"]
  ]

  it("has the contract's routes, each with the credential the contract gives it, GET but for POST /flare", () => {
    expect(
      routes
        .map((r) => [r.name, `/${r.segments.join("/")}`, r.credential] as const)
        .sort(([a], [b]) => a.localeCompare(b))
    ).toEqual([...expected].sort(([a], [b]) => a.localeCompare(b)))
    expect(routes.filter((r) => r.method !== "GET").map((r) => [r.name, r.method])).toEqual([["flare", "POST"]])
  })

  it("route names are unique, and no two routes match the same path", () => {
    expect(new Set(routes.map((r) => r.name)).size).toBe(routes.length)
    const shapes = routes.map((r) => r.segments.map((s) => (s.startsWith(":") ? ":" : s)).join("/"))
    expect(new Set(shapes).size).toBe(routes.length)
  })
})

describe("matchRoute", () => {
  it.each([
    ["/version", "version", []],
    ["/api/v1/tags/pod", "getAllMetadata", []],
    ["/api/v1/tags/pod/node-a", "getPodMetadataForNode", ["node-a"]],
    ["/api/v1/tags/pod/node-a/shop/web-5d8c7-xk2p1", "getPodMetadata", ["node-a", "shop", "web-5d8c7-xk2p1"]],
    ["/api/v1/tags/node/ip-10-0-0-1.ec2.internal", "getNodeLabels", ["ip-10-0-0-1.ec2.internal"]],
    ["/api/v1/annotations/node/node-a?filter=cluster.k8s.io", "getNodeAnnotations", ["node-a"]],
    ["/api/v1/tags/namespace/kube-system", "getNamespaceLabels", ["kube-system"]],
    ["/api/v1/metadata/namespace/shop", "getNamespaceMetadata", ["shop"]],
    ["/api/v1/cluster/id", "getClusterID", []],
    ["/status?format=text&verbose=true", "getStatus", []]
  ])("GET %s → %s with %j", (target, name, params) => {
    const m = matchRoute("GET", target)
    expect(m._tag).toBe("Found")
    if (m._tag === "Found") {
      expect(m.route.name).toBe(name)
      expect(m.params).toEqual(params)
    }
  })

  it("parameters are decoded", () => {
    const m = matchRoute("GET", "/api/v1/tags/pod/node%20a/my%2Dns/p%C3%A9")
    expect(m._tag === "Found" && m.params).toEqual(["node a", "my-ns", "pé"])
  })

  it("an escaped slash does not split or join segments", () => {
    expect(matchRoute("GET", "/api/v1/tags/node/a%2Fb")._tag).toBe("NotFound")
    expect(matchRoute("GET", "/api/v1/tags%2Fpod")._tag).toBe("NotFound")
  })

  it("a path of a route with another method is 405; methods are case-sensitive", () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get"]) {
      expect(matchRoute(method, "/api/v1/cluster/id")._tag).toBe("MethodNotAllowed")
    }
    expect(matchRoute("POST", "/nope")._tag).toBe("NotFound")
  })

  it("segments must match exactly: no prefixes, no trailing slash, no empty parameter", () => {
    for (const target of [
      "/version/",
      "/versions",
      "/api/v1/cluster",
      "/api/v1/cluster/id/x",
      "/api/v2/cluster/id",
      "/API/v1/cluster/id",
      "//version",
      "/api/v1/tags/pod//shop/web-1",
      "/api/v1/tags/node/"
    ]) {
      expect(matchRoute("GET", target)._tag, target).toBe("NotFound")
    }
  })

  it("every route's own path, with any plain parameters, is found with those parameters", () => {
    const param = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/)
    fc.assert(
      fc.property(fc.constantFrom(...routes), fc.array(param, { minLength: 3, maxLength: 3 }), (route, values) => {
        let i = 0
        const used: Array<string> = []
        const target = `/${route.segments
          .map((s) => {
            if (!s.startsWith(":")) return s
            const v = values[i++] as string
            used.push(v)
            return v
          })
          .join("/")}`
        const m = matchRoute(route.method, target)
        expect(m._tag === "Found" && [m.route.name, m.params]).toEqual([route.name, used])
      }),
      { numRuns: 500 }
    )
  })
})

describe("pathSegments", () => {
  it.each([
    ["/version", ["version"]],
    ["/", [""]],
    ["/a/b/", ["a", "b", ""]],
    ["/a?b/c", ["a"]],
    ["/a#frag/x", ["a"]],
    ["/a/b?x=%zz", ["a", "b"]],
    ["/a%20b/c", ["a b", "c"]],
    ["/a%2Fb", ["a/b"]],
    ["https://dca.datadog.svc:5005/api/v1/cluster/id?x=1", ["api", "v1", "cluster", "id"]],
    ["http://localhost/version", ["version"]]
  ])("%j → %j", (target, segments) => {
    expect(pathSegments(target)).toEqual(segments)
  })

  it.each(["*", "", "version", "not a url", "/a/%E0%A4%A", "/%"])("%j is malformed", (target) => {
    expect(pathSegments(target)).toBeUndefined()
  })

  it("the query string and fragment never change the segments", () => {
    fc.assert(
      fc.property(fc.webPath(), fc.string(), (path, rest) => {
        const p = path.startsWith("/") ? path : `/${path}`
        expect(pathSegments(`${p}?${rest}`)).toEqual(pathSegments(p))
        expect(pathSegments(`${p}#${rest}`)).toEqual(pathSegments(p))
      }),
      { numRuns: 500 }
    )
  })

  it("plain segments decode to themselves", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{0,10}$/), { maxLength: 6 }), (segments) => {
        expect(pathSegments(`/${segments.join("/")}`)).toEqual(segments.length === 0 ? [""] : segments)
      })
    )
  })
})
