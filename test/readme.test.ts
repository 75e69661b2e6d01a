import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { readmePath, updatedReadme } from "../scripts/config-reference.ts"
import { settings } from "../src/layers/Config.ts"

const readme = readFileSync(readmePath, "utf8")

describe("README", () => {
  it("documents every variable of Config.ts with its default (run `node scripts/config-reference.ts --write`)", () => {
    expect(readme).toBe(updatedReadme(readme))
    for (const s of Object.values(settings)) expect(readme).toContain(`| \`${s.env}\``)
  })

  it("names the two set-up commands", () => {
    expect(readme).toContain("bash scripts/demo.sh")
    expect(readme).toContain("bash scripts/test.sh")
  })
})
