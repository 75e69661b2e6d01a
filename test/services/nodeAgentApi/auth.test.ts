// The bearer-token check of the command port, on its own (contract §1.2's table, in order):
// header missing → 401; first space-separated word not `Bearer` → 401 with the word; not exactly
// two parts, or the wrong token → 403. handlers.test.ts drives it through every route; here the
// edges of the header itself.
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { checkBearer, tokenBytes } from "../../../src/services/nodeAgentApi/auth.ts"

const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
const expected = tokenBytes(token)
const challenge = { "www-authenticate": 'Bearer realm="Datadog Agent"' }
const noToken = { status: 401, body: "no session token provided", headers: challenge }
const invalid = { status: 403, body: "invalid session token", headers: {} }
const scheme = (word: string) => ({
  status: 401,
  body: `unsupported authorization scheme: ${word}`,
  headers: challenge
})

describe("checkBearer", () => {
  it("accepts exactly `Bearer <token>`", () => {
    expect(checkBearer(`Bearer ${token}`, expected)).toBeUndefined()
  })

  it.each([undefined, ""])("a missing or empty header (%j) is 401 with the challenge", (header) => {
    expect(checkBearer(header, expected)).toEqual(noToken)
  })

  it.each([
    [`Basic ${token}`, "Basic"],
    [`bearer ${token}`, "bearer"],
    [`BEARER ${token}`, "BEARER"],
    [token, token],
    [` Bearer ${token}`, ""],
    [`Bearer\t${token}`, `Bearer\t${token}`]
  ])("%j names its scheme %j in a 401 (the scheme is case-sensitive, as in Go)", (header, word) => {
    expect(checkBearer(header, expected)).toEqual(scheme(word))
  })

  it.each([
    ["Bearer", "no token at all"],
    ["Bearer ", "an empty token"],
    [`Bearer  ${token}`, "two spaces"],
    [`Bearer ${token} `, "a trailing space"],
    [`Bearer ${token} extra`, "a third word"],
    [`Bearer ${token.slice(1)}`, "one character short"],
    [`Bearer ${token}0`, "one character more"],
    [`Bearer ${token.toUpperCase()}`, "another case"],
    [`Bearer ${token.slice(0, -1)}g`, "the last character changed"]
  ])("%j (%s) is 403 without a challenge", (header) => {
    expect(checkBearer(header, expected)).toEqual(invalid)
  })

  it("compares bytes: a token of the same characters count but other bytes is refused, not a crash", () => {
    // "é" is two bytes in UTF-8: same string length as "e", different byte length.
    const accented = tokenBytes(`${"e".repeat(31)}é`)
    expect(checkBearer(`Bearer ${"e".repeat(32)}`, accented)).toEqual(invalid)
    expect(checkBearer(`Bearer ${"e".repeat(31)}é`, accented)).toBeUndefined()
    // And the other way round: as many bytes, fewer characters.
    expect(checkBearer(`Bearer ${"e".repeat(30)}é`, tokenBytes("e".repeat(32)))).toEqual(invalid)
  })

  it("any header: accepted exactly when it is `Bearer <token>`, never throws, always a documented answer", () => {
    const header = fc.oneof(
      fc.string(),
      fc.string().map((s) => `Bearer ${s}`),
      fc.string({ unit: "grapheme" }).map((s) => `Bearer ${s}`),
      fc.constantFrom(`Bearer ${token}`, `Bearer ${token.slice(0, 63)}`, "Bearer")
    )
    fc.assert(
      fc.property(header, (h) => {
        const denied = checkBearer(h, expected)
        if (h === `Bearer ${token}`) {
          expect(denied).toBeUndefined()
          return
        }
        expect(denied).toBeDefined()
        if (h === "") expect(denied).toEqual(noToken)
        else if (h.split(" ")[0] !== "Bearer") expect(denied).toEqual(scheme(h.split(" ")[0] ?? ""))
        else expect(denied).toEqual(invalid)
      }),
      { numRuns: 2000 }
    )
  })
})

describe("tokenBytes", () => {
  it("is the UTF-8 encoding of the token", () => {
    expect(tokenBytes("abc")).toEqual(Buffer.from([0x61, 0x62, 0x63]))
    expect(tokenBytes("é")).toEqual(Buffer.from([0xc3, 0xa9]))
  })
})
