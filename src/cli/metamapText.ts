// The text of `datadog-cluster-agent metamap`, pure and without effect/cli, so that the agent can
// write it into a flare without loading the CLI.
import type { MetadataResponse } from "../services/metadata/views.ts"
import { missingNodeWarning } from "../services/metadata/views.ts"

/** Pure: keeps one node of an all-nodes answer (with the original's warning when absent). */
export const forNode = (all: MetadataResponse, node: string): MetadataResponse => {
  const bundle = all.Nodes?.[node]
  return bundle === undefined ? { Warnings: [missingNodeWarning(node)] } : { Nodes: { [node]: bundle } }
}

/** Pure: the text layout of the original's metadata mapper template. */
export const renderMetadataMap = (response: MetadataResponse): string => {
  const lines = ["===============", "Metadata Mapper", "===============", ""]
  if (response.Errors !== undefined && response.Errors !== "") {
    lines.push(`Could not run the service mapper: ${response.Errors}`)
    return lines.join("\n")
  }
  if (response.Warnings !== undefined && response.Warnings.length > 0) {
    lines.push("Warnings:")
    for (const w of response.Warnings) lines.push(`   - ${w}`)
    lines.push("")
  }
  for (const [node, bundle] of Object.entries(response.Nodes ?? {})) {
    lines.push(`Node detected: ${node}`, "")
    for (const [namespace, pods] of Object.entries(bundle.services ?? {})) {
      lines.push(`  - Namespace: ${namespace}`)
      for (const [pod, services] of Object.entries(pods)) {
        lines.push(`      - Pod: ${pod}`, `        Services: [${Object.keys(services).join(" ")}]`)
      }
    }
    lines.push("")
  }
  return lines.join("\n").trimEnd()
}
