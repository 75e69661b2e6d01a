/** The decision globalSetup.ts takes about the shared control plane. */
import { describe, expect, it } from "vitest"
import { controlPlaneGate, isCi } from "./controlPlaneGate.ts"

describe("isCi", () => {
  it.each([
    [undefined, false],
    ["", false],
    ["0", false],
    ["false", false],
    ["FALSE", false],
    [" false ", false],
    ["1", true],
    ["true", true],
    ["yes", true]
  ])("CI=%j → %s", (value, expected) => {
    expect(isCi({ CI: value })).toBe(expected)
  })
})

describe("controlPlaneGate", () => {
  it("runs the cluster tests by default, in CI or not", () => {
    expect(controlPlaneGate({})).toEqual({ _tag: "Run" })
    expect(controlPlaneGate({ CI: "1" })).toEqual({ _tag: "Run" })
    expect(controlPlaneGate({ CI: "1", DCA_TEST_CONTROL_PLANE: "1" })).toEqual({ _tag: "Run" })
  })

  it("skips them with DCA_TEST_CONTROL_PLANE=0 outside CI, with a notice that says so and why", () => {
    for (const CI of [undefined, "", "0", "false"]) {
      const gate = controlPlaneGate({ CI, DCA_TEST_CONTROL_PLANE: "0" })
      expect(gate._tag).toBe("Skip")
      if (gate._tag !== "Skip") continue
      expect(gate.notice).toContain("DCA_TEST_CONTROL_PLANE=0")
      expect(gate.notice).toContain("SKIPPED")
      expect(gate.notice).not.toContain("\n")
    }
  })

  it("refuses DCA_TEST_CONTROL_PLANE=0 in CI", () => {
    for (const CI of ["1", "true"]) {
      const gate = controlPlaneGate({ CI, DCA_TEST_CONTROL_PLANE: "0" })
      expect(gate._tag).toBe("Refuse")
      if (gate._tag !== "Refuse") continue
      expect(gate.error).toContain(`CI=${CI}`)
      expect(gate.error).toContain("the cluster tests are required in CI")
    }
  })
})
