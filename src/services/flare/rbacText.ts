// The RBAC part of `permissions.log`: the self-check's verdict per feature and, for a refused
// right, the rule to add and where. Pure.
import type { AgentStatus } from "../status/model.ts"

/** Pure: the RBAC self-check, every feature with its verdict and, for a refused right, the rule to add. */
export const renderRbac = (rbac: AgentStatus["rbac"]): string => {
  const lines = ["RBAC self-check", "==============="]
  if (rbac.checkedAt === undefined) return `${[...lines, "Not checked yet"].join("\n")}\n`
  lines.push(`Checked at ${rbac.checkedAt}, every ${rbac.intervalSeconds} s`)
  for (const f of rbac.features) {
    lines.push("", `${f.title} (${f.feature}): ${f.state}${f.state === "missing" ? ` (${f.consequence})` : ""}`)
    for (const m of f.missing) {
      lines.push(
        `  - may not ${m.refused}${m.fallback === undefined ? "" : ` (${m.fallback})`}`,
        `    ${m.role}: add ${m.rule}`,
        `    ${m.fix}`
      )
    }
    for (const e of f.errors) lines.push(`  - could not ask: ${e}`)
  }
  return `${lines.join("\n")}\n`
}
