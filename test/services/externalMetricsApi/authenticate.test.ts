import { describe, expect, it } from "@effect/vitest"
import { type AuthConfig, parseAuthConfig } from "../../../src/services/externalMetricsApi/authConfig.ts"
import {
  authenticate,
  bearerToken,
  cachedTokenReview,
  type Headers,
  type TokenReviewResult,
  tokenCacheKey,
  userFromHeaders,
  withAuthenticatedGroup
} from "../../../src/services/externalMetricsApi/authenticate.ts"
import { makeTtlCache } from "../../../src/services/externalMetricsApi/ttlCache.ts"
import { issueClient, makeCa, peerOf } from "./pki.ts"

const clientCa = makeCa("client-ca")
const frontProxyCa = makeCa("front-proxy-ca")
const configMapData = (overrides: Record<string, string> = {}) => ({
  "client-ca-file": clientCa.certPem,
  "requestheader-client-ca-file": frontProxyCa.certPem,
  "requestheader-allowed-names": '["front-proxy-client"]',
  "requestheader-username-headers": '["X-Remote-User"]',
  "requestheader-group-headers": '["X-Remote-Group"]',
  "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
  ...overrides
})
const config: AuthConfig = parseAuthConfig(configMapData())

const frontProxy = issueClient("front-proxy-client", [], frontProxyCa)
const otherProxy = issueClient("someone-else", [], frontProxyCa)
const alice = issueClient("alice", ["dev", "ops"], clientCa)
const stranger = issueClient("front-proxy-client")

const remoteHeaders: Headers = {
  "x-remote-user": ["system:serviceaccount:kube-system:horizontal-pod-autoscaler"],
  "x-remote-group": ["system:serviceaccounts", "system:authenticated"],
  "x-remote-extra-authentication.kubernetes.io%2fpod-name": ["kcm-0"],
  "x-remote-extra-scopes": ["a", "b"]
}

const noTokens = () => Promise.reject(new Error("no token review expected"))

describe("parseAuthConfig", () => {
  it("reads the CAs, allowed names and header names (lower-cased)", () => {
    expect(config.problems).toEqual([])
    expect(config.clientCa?.certificates).toHaveLength(1)
    expect(config.requestHeader).toMatchObject({
      allowedNames: ["front-proxy-client"],
      usernameHeaders: ["x-remote-user"],
      groupHeaders: ["x-remote-group"],
      extraHeaderPrefixes: ["x-remote-extra-"],
      uidHeaders: []
    })
  })

  it("reads bundles of several CAs", () => {
    const both = parseAuthConfig(configMapData({ "client-ca-file": `${clientCa.certPem}\n${frontProxyCa.certPem}` }))
    expect(both.clientCa?.certificates).toHaveLength(2)
  })

  it("reports what it cannot read and keeps the rest", () => {
    const bad = parseAuthConfig(
      configMapData({ "requestheader-allowed-names": "front-proxy-client", "client-ca-file": "not a pem" })
    )
    expect(bad.clientCa).toBeUndefined()
    expect(bad.requestHeader?.allowedNames).toEqual([])
    expect(bad.problems).toEqual([
      "client-ca-file: no certificate found",
      "requestheader-allowed-names: expected a JSON array of strings, got front-proxy-client"
    ])
  })

  it("without a front-proxy CA there is no header authentication", () => {
    expect(parseAuthConfig({ "client-ca-file": clientCa.certPem }).requestHeader).toBeUndefined()
  })
})

describe("authenticate", () => {
  it("the front proxy's certificate with an allowed CN: the user the headers name", async () => {
    const result = await authenticate({ peer: peerOf(frontProxy), headers: remoteHeaders }, config, noTokens)
    expect(result).toEqual({
      _tag: "Authenticated",
      via: "front-proxy",
      user: {
        name: "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
        uid: undefined,
        groups: ["system:serviceaccounts", "system:authenticated"],
        extra: { "authentication.kubernetes.io/pod-name": ["kcm-0"], scopes: ["a", "b"] }
      }
    })
  })

  it("an empty allowed-names list admits any CN the front-proxy CA signed", async () => {
    const anyName = parseAuthConfig(configMapData({ "requestheader-allowed-names": "[]" }))
    const result = await authenticate({ peer: peerOf(otherProxy), headers: remoteHeaders }, anyName, noTokens)
    expect(result).toMatchObject({ _tag: "Authenticated", via: "front-proxy" })
  })

  it("ignores the headers of a front-proxy-signed certificate whose CN is not allowed", async () => {
    const result = await authenticate({ peer: peerOf(otherProxy), headers: remoteHeaders }, config, noTokens)
    expect(result).toEqual({ _tag: "Unauthenticated", why: "client certificate not trusted" })
  })

  it("ignores X-Remote-* from a certificate of the client CA: the user is its CN, groups its O", async () => {
    const result = await authenticate({ peer: peerOf(alice, ["dev", "ops"]), headers: remoteHeaders }, config, noTokens)
    expect(result).toEqual({
      _tag: "Authenticated",
      via: "client-certificate",
      user: { name: "alice", groups: ["dev", "ops", "system:authenticated"], extra: {} }
    })
  })

  it("ignores X-Remote-* without a certificate, and from a self-signed one with the proxy's CN", async () => {
    expect(await authenticate({ peer: undefined, headers: remoteHeaders }, config, noTokens)).toEqual({
      _tag: "Unauthenticated",
      why: "no client certificate and no bearer token"
    })
    // A self-signed certificate fails the handshake's verification...
    expect(
      await authenticate({ peer: peerOf(stranger, [], false), headers: remoteHeaders }, config, noTokens)
    ).toMatchObject({ _tag: "Unauthenticated" })
    // ...and would not chain to a trusted CA even if the handshake had passed it.
    expect(
      await authenticate({ peer: peerOf(stranger, [], true), headers: remoteHeaders }, config, noTokens)
    ).toMatchObject({ _tag: "Unauthenticated" })
  })

  it("a certificate the handshake did not verify is not trusted even if issued by a trusted CA", async () => {
    const result = await authenticate({ peer: peerOf(frontProxy, [], false), headers: remoteHeaders }, config, noTokens)
    expect(result._tag).toBe("Unauthenticated")
  })

  it("the front-proxy certificate without a user header falls through to the bearer token", async () => {
    const reviewed: Array<string> = []
    const result = await authenticate(
      { peer: peerOf(frontProxy), headers: { authorization: ["Bearer t0ken"] } },
      config,
      async (token) => {
        reviewed.push(token)
        return { _tag: "Authenticated", user: { name: "bob", groups: [], extra: {} } }
      }
    )
    expect(reviewed).toEqual(["t0ken"])
    expect(result).toMatchObject({ _tag: "Authenticated", via: "token", user: { name: "bob" } })
  })

  it("a token the review rejects is unauthenticated, with the review's reason", async () => {
    const result = await authenticate(
      { peer: undefined, headers: { authorization: ["Bearer x"] } },
      config,
      async () => ({
        _tag: "Rejected",
        why: "token expired"
      })
    )
    expect(result).toEqual({ _tag: "Unauthenticated", why: "token rejected: token expired" })
  })

  it("with no configuration only tokens work", async () => {
    const none = parseAuthConfig({})
    expect(await authenticate({ peer: peerOf(frontProxy), headers: remoteHeaders }, none, noTokens)).toMatchObject({
      _tag: "Unauthenticated"
    })
  })
})

describe("withAuthenticatedGroup", () => {
  it("adds system:authenticated once, never to anonymous or unauthenticated users", () => {
    const user = (name: string, groups: Array<string>) => ({ name, groups, extra: {} })
    expect(withAuthenticatedGroup(user("system:aggregator", [])).groups).toEqual(["system:authenticated"])
    expect(withAuthenticatedGroup(user("a", ["x"])).groups).toEqual(["x", "system:authenticated"])
    expect(withAuthenticatedGroup(user("a", ["system:authenticated", "x"])).groups).toEqual([
      "system:authenticated",
      "x"
    ])
    expect(withAuthenticatedGroup(user("system:anonymous", [])).groups).toEqual([])
    expect(withAuthenticatedGroup(user("a", ["system:unauthenticated"])).groups).toEqual(["system:unauthenticated"])
  })

  it("every way in gets it: the aggregator's group-less OpenAPI user, tokens", async () => {
    const openapi = await authenticate(
      { peer: peerOf(frontProxy), headers: { "x-remote-user": ["system:aggregator"] } },
      config,
      noTokens
    )
    expect(openapi).toMatchObject({ user: { name: "system:aggregator", groups: ["system:authenticated"] } })
    const token = await authenticate(
      { peer: undefined, headers: { authorization: ["Bearer t"] } },
      config,
      async () => ({
        _tag: "Authenticated",
        user: { name: "sa", groups: ["system:serviceaccounts"], extra: {} }
      })
    )
    expect(token).toMatchObject({ user: { groups: ["system:serviceaccounts", "system:authenticated"] } })
  })
})

describe("userFromHeaders", () => {
  const rh = parseAuthConfig(
    configMapData({
      "requestheader-username-headers": '["X-Remote-User","X-User"]',
      "requestheader-uid-headers": '["X-Remote-Uid"]',
      "requestheader-group-headers": '["X-Remote-Group","X-Groups"]'
    })
  ).requestHeader
  if (rh === undefined) throw new Error("no request header config")

  it("takes the first non-empty user header, every group value, the uid", () => {
    expect(
      userFromHeaders(rh, {
        "x-remote-user": [""],
        "x-user": ["carol"],
        "x-remote-uid": ["u-1"],
        "x-remote-group": ["a", ""],
        "x-groups": ["b"]
      })
    ).toEqual({ name: "carol", uid: "u-1", groups: ["a", "b"], extra: {} })
  })

  it("names no user without a user header", () => {
    expect(userFromHeaders(rh, { "x-remote-group": ["a"] })).toBeUndefined()
  })
})

describe("bearerToken", () => {
  it.each<[string | undefined, string | undefined]>([
    [undefined, undefined],
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["  Bearer abc  ", "abc"],
    ["Bearer", undefined],
    ["Bearer  abc", undefined],
    ["Basic abc", undefined],
    ["Bearer abc def", "abc"]
  ])("%j → %j", (header, token) => {
    expect(bearerToken(header === undefined ? {} : { authorization: [header] })).toBe(token)
  })
})

describe("cachedTokenReview", () => {
  const setup = () => {
    let clock = 0
    const calls: Array<string> = []
    let fail = false
    const cache = makeTtlCache<TokenReviewResult>({ ttlMs: () => 10_000, maxEntries: 100, now: () => clock })
    const review = cachedTokenReview(cache, async (token) => {
      calls.push(token)
      if (fail) throw new Error("API server down")
      return token === "good"
        ? { _tag: "Authenticated", user: { name: "sa", groups: [], extra: {} } }
        : { _tag: "Rejected", why: "invalid" }
    })
    return {
      review,
      calls,
      tick: (ms: number) => {
        clock += ms
      },
      failing: (f: boolean) => {
        fail = f
      }
    }
  }

  it("reviews a token once per 10 s, acceptance and rejection alike", async () => {
    const t = setup()
    await t.review("good")
    await t.review("good")
    await t.review("bad")
    await t.review("bad")
    expect(t.calls).toEqual(["good", "bad"])
    t.tick(10_000)
    await t.review("good")
    expect(t.calls).toEqual(["good", "bad", "good"])
  })

  it("concurrent requests with one token share one review", async () => {
    const t = setup()
    await Promise.all([t.review("good"), t.review("good"), t.review("good")])
    expect(t.calls).toEqual(["good"])
  })

  it("a failed review is not cached", async () => {
    const t = setup()
    t.failing(true)
    await expect(t.review("good")).rejects.toThrow("API server down")
    t.failing(false)
    expect(await t.review("good")).toMatchObject({ _tag: "Authenticated" })
    expect(t.calls).toEqual(["good", "good"])
  })

  it("keys the cache by a hash, not the token", () => {
    expect(tokenCacheKey("secret-token")).not.toContain("secret")
    expect(tokenCacheKey("secret-token")).toBe(tokenCacheKey("secret-token"))
    expect(tokenCacheKey("secret-token")).not.toBe(tokenCacheKey("secret-token2"))
  })
})
