// Bearer-token checks of the command port, with the original's statuses, bodies and header
// (contract §1.2). Tokens are compared as SHA-256 digests with timingSafeEqual: constant time,
// whatever the length of what was sent.
import { createHash, timingSafeEqual } from "node:crypto"

export interface Denied {
  readonly status: 401 | 403
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

export const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

const challenge = { "www-authenticate": 'Bearer realm="Datadog Agent"' }

/** Pure: why `authorization` does not carry the token of `expected` (its digest), or undefined. */
export const checkBearer = (authorization: string | undefined, expected: Buffer): Denied | undefined => {
  if (authorization === undefined || authorization === "") {
    return { status: 401, body: "no session token provided", headers: challenge }
  }
  const parts = authorization.split(" ")
  const scheme = parts[0] ?? ""
  if (scheme !== "Bearer") {
    return { status: 401, body: `unsupported authorization scheme: ${scheme}`, headers: challenge }
  }
  if (parts.length !== 2 || !timingSafeEqual(digest(parts[1] ?? ""), expected)) {
    return { status: 403, body: "invalid session token", headers: {} }
  }
  return undefined
}
