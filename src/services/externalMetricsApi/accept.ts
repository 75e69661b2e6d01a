// Content negotiation for discovery. The aggregator first asks `/apis` for aggregated discovery
// (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`) and falls back to
// the legacy documents on a 406 (kubernetes-notes C2). We only serve plain JSON, so a request
// whose Accept names nothing but conversions (`as=...`) or other types gets 406.

const plainJson = new Set(["application/json", "application/*", "*/*"])

/** Pure: whether the Accept header admits a plain JSON answer (no header admits anything). */
export const acceptsPlainJson = (accept: string | undefined): boolean => {
  if (accept === undefined || accept.trim() === "") return true
  return accept.split(",").some((range) => {
    const [type = "", ...params] = range.split(";").map((p) => p.trim())
    if (!plainJson.has(type.toLowerCase())) return false
    let conversion = false
    let excluded = false
    for (const param of params) {
      const eq = param.indexOf("=")
      const key = (eq === -1 ? param : param.slice(0, eq)).trim().toLowerCase()
      const value = eq === -1 ? "" : param.slice(eq + 1).trim()
      if (key === "as" || key === "g") conversion = true
      if (key === "q" && Number(value) === 0) excluded = true
    }
    return !conversion && !excluded
  })
}
