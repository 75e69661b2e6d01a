// Delegated authentication in k8s.io/apiserver's order (kubernetes-notes C5):
// 1. a client certificate verified against the front proxy's CA, with an allowed CN, and a user
//    header: the user, uid, groups and extra the headers name (the aggregator's requests);
// 2. a client certificate verified against the client CA: user = CN, groups = O;
// 3. `Authorization: Bearer <token>`: a TokenReview, its answer cached ~10 s under the token's
//    SHA-256 (the token itself is never kept as a key nor logged).
// X-Remote-* headers from any other peer are ignored. Nothing valid: unauthenticated (401).
// Every authenticated user is also in group system:authenticated (k8s.io/apiserver's
// AuthenticatedGroupAdder): the aggregator's discovery and OpenAPI requests come as users without
// groups, and RBAC's system:discovery role admits them through that group.
import { createHash, type X509Certificate } from "node:crypto"
import type { AuthConfig, CaBundle, RequestHeaderConfig } from "./authConfig.ts"
import type { TtlCache } from "./ttlCache.ts"

export interface User {
  readonly name: string
  readonly uid?: string | undefined
  readonly groups: ReadonlyArray<string>
  readonly extra: Readonly<Record<string, ReadonlyArray<string>>>
}

/** The client certificate of a TLS connection, read once per connection. */
export interface PeerCertificate {
  /** OpenSSL verified the chain against the trusted CAs (both bundles) at the handshake. */
  readonly authorized: boolean
  readonly commonName: string
  readonly organizations: ReadonlyArray<string>
  /** The leaf first, then the issuers the handshake saw. */
  readonly chain: ReadonlyArray<X509Certificate>
}

export type Authentication =
  | {
      readonly _tag: "Authenticated"
      readonly user: User
      readonly via: "front-proxy" | "client-certificate" | "token"
    }
  | { readonly _tag: "Unauthenticated"; readonly why: string }

/** Request headers with every value of repeated ones (node's `headersDistinct`), names lower-cased. */
export type Headers = Readonly<Record<string, ReadonlyArray<string> | undefined>>

export interface AuthenticationRequest {
  readonly peer: PeerCertificate | undefined
  readonly headers: Headers
}

/** The outcome of one TokenReview: the user, or why not (both are cached); a failed call rejects. */
export type TokenReviewResult =
  | { readonly _tag: "Authenticated"; readonly user: User }
  | { readonly _tag: "Rejected"; readonly why: string }

const issuedBy = (peer: PeerCertificate, bundle: CaBundle): boolean =>
  peer.chain.some((cert) =>
    bundle.certificates.some((ca) => {
      try {
        return cert.checkIssued(ca) && cert.verify(ca.publicKey)
      } catch {
        return false
      }
    })
  )

// Signature checks cost ~0.1 ms each: remembered per connection's peer and per bundle (a changed
// ConfigMap makes new bundles, so a rotation is seen at once).
const verified = new WeakMap<PeerCertificate, WeakMap<CaBundle, boolean>>()

/** Whether the verified chain goes through one of the bundle's CAs. */
export const chainsTo = (peer: PeerCertificate, bundle: CaBundle | undefined): boolean => {
  if (bundle === undefined || !peer.authorized) return false
  let known = verified.get(peer)
  if (known === undefined) {
    known = new WeakMap()
    verified.set(peer, known)
  }
  let result = known.get(bundle)
  if (result === undefined) {
    result = issuedBy(peer, bundle)
    known.set(bundle, result)
  }
  return result
}

const first = (headers: Headers, names: ReadonlyArray<string>): string | undefined => {
  for (const name of names) {
    const value = headers[name]?.find((v) => v !== "")
    if (value !== undefined) return value
  }
  return undefined
}

const unescapeKey = (key: string) => {
  try {
    return decodeURIComponent(key)
  } catch {
    return key
  }
}

/** Pure: the user the front proxy asserts in the headers, if it names one. */
export const userFromHeaders = (config: RequestHeaderConfig, headers: Headers): User | undefined => {
  const name = first(headers, config.usernameHeaders)
  if (name === undefined) return undefined
  const groups = config.groupHeaders.flatMap((h) => (headers[h] ?? []).filter((v) => v !== ""))
  const extra: Record<string, Array<string>> = {}
  for (const [header, values] of Object.entries(headers)) {
    for (const prefix of config.extraHeaderPrefixes) {
      if (prefix === "" || !header.startsWith(prefix) || header.length === prefix.length) continue
      // Extra keys are %-escaped by the proxy (client-go SetAuthProxyHeaders) and lower-case.
      const key = unescapeKey(header.slice(prefix.length)).toLowerCase()
      extra[key] = [...(extra[key] ?? []), ...(values ?? [])]
    }
  }
  return { name, uid: first(headers, config.uidHeaders), groups, extra }
}

/** Pure: the bearer token of an Authorization header (Go's bearertoken authenticator rules). */
export const bearerToken = (headers: Headers): string | undefined => {
  const value = headers.authorization?.[0]?.trim()
  if (value === undefined) return undefined
  const parts = value.split(" ")
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "bearer") return undefined
  return parts[1] === "" ? undefined : parts[1]
}

export const tokenCacheKey = (token: string) => createHash("sha256").update(token).digest("base64url")

export const allAuthenticated = "system:authenticated"

/** Pure: the user with group system:authenticated added, as k8s.io/apiserver's group adder does. */
export const withAuthenticatedGroup = (user: User): User =>
  user.name === "system:anonymous" || user.groups.some((g) => g === allAuthenticated || g === "system:unauthenticated")
    ? user
    : { ...user, groups: [...user.groups, allAuthenticated] }

/** Pure up to the token review: who the request is from. */
export const authenticate = async (
  request: AuthenticationRequest,
  config: AuthConfig,
  reviewToken: (token: string) => Promise<TokenReviewResult>
): Promise<Authentication> => {
  const result = await identify(request, config, reviewToken)
  return result._tag === "Authenticated" ? { ...result, user: withAuthenticatedGroup(result.user) } : result
}

const identify = async (
  request: AuthenticationRequest,
  config: AuthConfig,
  reviewToken: (token: string) => Promise<TokenReviewResult>
): Promise<Authentication> => {
  const peer = request.peer
  if (peer !== undefined) {
    const rh = config.requestHeader
    if (rh !== undefined && chainsTo(peer, rh.ca)) {
      const allowed = rh.allowedNames.length === 0 || rh.allowedNames.includes(peer.commonName)
      const user = allowed ? userFromHeaders(rh, request.headers) : undefined
      if (user !== undefined) return { _tag: "Authenticated", user, via: "front-proxy" }
    }
    if (chainsTo(peer, config.clientCa) && peer.commonName !== "") {
      return {
        _tag: "Authenticated",
        user: { name: peer.commonName, groups: peer.organizations, extra: {} },
        via: "client-certificate"
      }
    }
  }
  const token = bearerToken(request.headers)
  if (token === undefined) {
    return {
      _tag: "Unauthenticated",
      why: peer === undefined ? "no client certificate and no bearer token" : "client certificate not trusted"
    }
  }
  const reviewed = await reviewToken(token)
  return reviewed._tag === "Authenticated"
    ? { _tag: "Authenticated", user: reviewed.user, via: "token" }
    : { _tag: "Unauthenticated", why: `token rejected: ${reviewed.why}` }
}

/** Token reviews through the cache: one TokenReview per token per TTL, keyed by its hash. */
export const cachedTokenReview =
  (cache: TtlCache<TokenReviewResult>, review: (token: string) => Promise<TokenReviewResult>) => (token: string) =>
    cache.get(tokenCacheKey(token), () => review(token))
