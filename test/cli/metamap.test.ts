import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { freePort } from "../../dev/controlPlane/ports.ts"
import { forNode, renderMetadataMap } from "../../src/cli/metamap.ts"
import { runCli } from "../support/agentProcess.ts"

const all = {
  Nodes: {
    "node-a": { services: { shop: { "web-1": { web: {}, "web-internal": {} } }, kube: { dns: { "kube-dns": {} } } } },
    "node-b": {}
  }
}

describe("metamap rendering", () => {
  it("lays out nodes, namespaces, pods and services like the original's template", () => {
    expect(renderMetadataMap(all)).toBe(
      [
        "===============",
        "Metadata Mapper",
        "===============",
        "",
        "Node detected: node-a",
        "",
        "  - Namespace: shop",
        "      - Pod: web-1",
        "        Services: [web web-internal]",
        "  - Namespace: kube",
        "      - Pod: dns",
        "        Services: [kube-dns]",
        "",
        "Node detected: node-b"
      ].join("\n")
    )
  })

  it("shows warnings and errors", () => {
    expect(renderMetadataMap({ Warnings: ["w1", "w2"] })).toContain("Warnings:\n   - w1\n   - w2")
    expect(renderMetadataMap({ Errors: "boom" })).toMatch(/Could not run the service mapper: boom$/)
  })

  it("picks one node, or warns as the agent would", () => {
    expect(forNode(all, "node-b")).toEqual({ Nodes: { "node-b": {} } })
    expect(forNode(all, "node-z").Warnings?.[0]).toContain("Node node-z could not be added to the metadata map bundle")
  })
})

describe("metamap without a running agent", () => {
  it("says which address and token file it tried and what to check, and exits 1", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dca-metamap-"))
    writeFileSync(join(dir, "auth_token"), "f".repeat(64))
    const port = await freePort()
    const r = await runCli(["metamap"], {
      DD_CLUSTER_AGENT_CMD_PORT: String(port),
      DD_AUTH_TOKEN_FILE_PATH: join(dir, "auth_token")
    })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`^Could not reach the agent at https://localhost:${port}/api/v1/tags/pod: connect ECONNREFUSED`)
    )
    expect(r.stderr).toContain(`DD_AUTH_TOKEN_FILE_PATH (${join(dir, "auth_token")}) names the local token file`)
    expect(r.stderr).not.toContain("f".repeat(64))
  })
})
