/** Keys are shown as the original shows them: the last five characters of a key of known length. */
import { describe, expect, it } from "@effect/vitest"
import { keyEnding, maskKey, scrubKeys } from "../../../src/layers/datadog/keys.ts"

const API_KEY = "0123456789abcdef0123456789abcdef"
const APP_KEY = "fedcba9876543210fedcba9876543210fedcba98"

describe("keys", () => {
  it("masks a 32- or 40-character key to its last five characters, anything else entirely", () => {
    expect(maskKey(API_KEY)).toBe(`${"*".repeat(27)}bcdef`)
    expect(maskKey(APP_KEY)).toBe(`${"*".repeat(35)}cba98`)
    expect(maskKey("short")).toBe("********")
    expect(maskKey(`${API_KEY}x`)).toBe("********")
    expect(keyEnding(API_KEY)).toBe("bcdef")
    expect(keyEnding("short")).toBeUndefined()
  })

  it("scrubs every occurrence of the keys from a text", () => {
    expect(scrubKeys(`key ${API_KEY} and again ${API_KEY}, app ${APP_KEY}`, [API_KEY, APP_KEY, "abc"])).toBe(
      `key ${maskKey(API_KEY)} and again ${maskKey(API_KEY)}, app ${maskKey(APP_KEY)}`
    )
    expect(scrubKeys("nothing here", [API_KEY])).toBe("nothing here")
  })
})
