// Bearer-token checks of the command port, with the original's statuses, bodies and header
// (contract §1.2). Tokens are compared with timingSafeEqual: constant time for a token of the
// right length; a wrong length is refused at once, as Go's subtle.ConstantTimeCompare (which
// the original uses) does — the length of a token is not its secret.
import { timingSafeEqual } from "node:crypto"

export interface Denied {
  readonly status: 401 | 403
  readonly body: string
  readonly headers: Readonly<Record<string, string>>
}

/** The accepted token, as the bytes requests are compared with. */
export const tokenBytes = (token: string): Buffer => Buffer.from(token, "utf8")

const sameToken = (sent: string, expected: Buffer): boolean => {
  if (Buffer.byteLength(sent, "utf8") !== expected.length) return false
  return timingSafeEqual(Buffer.from(sent, "utf8"), expected)
}

const challenge = { "www-authenticate": 'Bearer realm="Datadog Agent"' }

/** Pure: why `authorization` does not carry the token `expected`, or undefined. */
export const checkBearer = (authorization: string | undefined, expected: Buffer): Denied | undefined => {
  if (authorization === undefined || authorization === "") {
    return { status: 401, body: "no session token provided", headers: challenge }
  }
  const parts = authorization.split(" ")
  const scheme = parts[0] ?? ""
  if (scheme !== "Bearer") {
    return { status: 401, body: `unsupported authorization scheme: ${scheme}`, headers: challenge }
  }
  if (parts.length !== 2 || !sameToken(parts[1] ?? "", expected)) {
    return { status: 403, body: "invalid session token", headers: {} }
  }
  return undefined
}
