/** Which proxy a Datadog request uses: the original's exact no-proxy matching, and Go's httpproxy rules. */
import { describe, expect, it } from "@effect/vitest"
import {
  describeProxy,
  type ProxySettings,
  proxyAuthorization,
  proxyFor,
  useProxyNonExact
} from "../../../src/layers/datadog/proxy.ts"

const HTTP_PROXY = "http://proxy-http:3128"
const HTTPS_PROXY = "http://proxy-https:3128"

const settings = (noProxy: ReadonlyArray<string>, nonExactMatch = false): ProxySettings => ({
  http: HTTP_PROXY,
  https: HTTPS_PROXY,
  noProxy,
  nonExactMatch
})

const via = (target: string, s: ProxySettings) => proxyFor(new URL(target), s)?.href.replace(/\/$/, "") ?? "direct"

describe("proxyFor", () => {
  it("picks the proxy by scheme; none when that scheme has none", () => {
    expect(via("https://api.datadoghq.com", settings([]))).toBe(HTTPS_PROXY)
    expect(via("http://relay.local:8080", settings([]))).toBe(HTTP_PROXY)
    expect(via("https://api.datadoghq.com", { noProxy: [], nonExactMatch: false, http: HTTP_PROXY })).toBe("direct")
    expect(via("http://relay.local", { noProxy: [], nonExactMatch: false, https: HTTPS_PROXY })).toBe("direct")
    expect(via("https://api.datadoghq.com", { noProxy: [], nonExactMatch: false, https: "" })).toBe("direct")
  })

  it.each([
    // entry, target, direct?  (exact mode: the entry must equal the URL's host as written)
    ["api.datadoghq.com", "https://api.datadoghq.com", true],
    ["api.datadoghq.com", "https://api.datadoghq.com:443", true],
    ["api.datadoghq.com:443", "https://api.datadoghq.com", false],
    ["relay.local:8080", "http://relay.local:8080/prefix", true],
    ["relay.local", "http://relay.local:8080", false],
    ["datadoghq.com", "https://api.datadoghq.com", false],
    [".datadoghq.com", "https://api.datadoghq.com", false],
    ["*", "https://api.datadoghq.com", false],
    ["127.0.0.1", "http://127.0.0.1:9000", false],
    ["127.0.0.1:9000", "http://127.0.0.1:9000", true]
  ] as const)("exact: no_proxy %s, %s → direct %s", (entry, target, direct) => {
    expect(via(target, settings(["", entry])) === "direct").toBe(direct)
  })

  it.each([
    // Go's golang.org/x/net/http/httpproxy rules
    ["datadoghq.com", "https://api.datadoghq.com", true],
    ["datadoghq.com", "https://datadoghq.com", true],
    ["datadoghq.com", "https://notdatadoghq.com", false],
    [".datadoghq.com", "https://api.datadoghq.com", true],
    [".datadoghq.com", "https://datadoghq.com", false],
    ["*.datadoghq.com", "https://api.datadoghq.com", true],
    ["*.datadoghq.com", "https://datadoghq.com", false],
    ["DATADOGHQ.COM", "https://api.datadoghq.com", true],
    ["*", "https://api.datadoghq.com", true],
    ["api.datadoghq.com:443", "https://api.datadoghq.com", true],
    ["api.datadoghq.com:8443", "https://api.datadoghq.com", false],
    ["relay.local:80", "http://relay.local", true],
    ["10.0.0.0/8", "https://10.1.2.3", true],
    ["10.0.0.0/8", "https://11.1.2.3", false],
    ["10.1.2.3", "https://10.1.2.3:8443", true],
    ["10.1.2.3:8443", "https://10.1.2.3:8443", true],
    ["10.1.2.3:443", "https://10.1.2.3:8443", false],
    ["fd00::/8", "https://[fd00::1]", true],
    ["[fd00::1]", "https://[fd00::1]:443", true],
    ["fd00::1", "https://[fd00:0:0::1]", true],
    ["::ffff:10.0.0.0/104", "https://[::ffff:10.9.9.9]", true],
    ["other.example", "https://api.datadoghq.com", false],
    ["/", "https://api.datadoghq.com", false],
    [":443", "https://api.datadoghq.com", false]
  ] as const)("non-exact: no_proxy %s, %s → direct %s", (entry, target, direct) => {
    expect(via(target, settings([entry], true)) === "direct").toBe(direct)
    expect(useProxyNonExact(new URL(target), [entry])).toBe(!direct)
  })

  it("non-exact: localhost and loopback addresses never use a proxy; exact mode proxies them", () => {
    for (const target of ["http://localhost:8080", "https://127.0.0.1", "https://127.9.9.9:1", "https://[::1]:8443"]) {
      expect(via(target, settings([], true))).toBe("direct")
      expect(via(target, settings([]))).not.toBe("direct")
    }
  })
})

describe("proxy credentials", () => {
  it("are masked when shown and sent as Basic", () => {
    expect(describeProxy(new URL("http://user:secret@proxy:3128"))).toBe("http://*****:*****@proxy:3128")
    expect(describeProxy(new URL("http://user@proxy:3128"))).toBe("http://*****@proxy:3128")
    expect(describeProxy(new URL("https://proxy"))).toBe("https://proxy")
    expect(proxyAuthorization(new URL("http://us%40er:p%3Ass@proxy:3128"))).toBe(
      `Basic ${Buffer.from("us@er:p:ss").toString("base64")}`
    )
    expect(proxyAuthorization(new URL("http://proxy:3128"))).toBeUndefined()
  })
})
