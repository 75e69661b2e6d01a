// Which proxy a request to Datadog goes through, as the original decides it
// (`pkg/util/http/transport.go`, `GetProxyTransportFunc`): `DD_PROXY_HTTP` for http:// URLs,
// `DD_PROXY_HTTPS` for https:// URLs, none when the URL's host is listed in `DD_PROXY_NO_PROXY`.
//
// Two ways to read the no-proxy list, as in the original:
// - exact (the default): an entry matches when it equals the URL's host as written in the URL
//   (`host` or `host:port`);
// - non-exact (`DD_NO_PROXY_NONEXACT_MATCH=true`): Go's `golang.org/x/net/http/httpproxy`
//   rules: `*` matches everything, `example.com` matches it and its subdomains, `.example.com`
//   and `*.example.com` only subdomains, IP addresses and CIDR ranges match addresses, an entry
//   with `:port` only that port; `localhost` and loopback addresses never use a proxy.
import * as Net from "node:net"

export interface ProxySettings {
  /** Proxy URL for http:// requests. */
  readonly http?: string | undefined
  /** Proxy URL for https:// requests. */
  readonly https?: string | undefined
  readonly noProxy: ReadonlyArray<string>
  readonly nonExactMatch: boolean
}

/** Pure: the proxy URL for a request to `target`, or undefined to connect directly. */
export const proxyFor = (target: URL, settings: ProxySettings): URL | undefined => {
  const proxy = target.protocol === "https:" ? settings.https : target.protocol === "http:" ? settings.http : undefined
  if (proxy === undefined || proxy === "") return undefined
  const bypass = settings.nonExactMatch
    ? !useProxyNonExact(target, settings.noProxy)
    : settings.noProxy.some((entry) => entry !== "" && entry === target.host)
  return bypass ? undefined : new URL(proxy)
}

const defaultPort = (url: URL): string => (url.port !== "" ? url.port : url.protocol === "https:" ? "443" : "80")

const unbracket = (host: string): string => host.replace(/^\[(.*)\]$/, "$1")

const splitHostPort = (entry: string): { readonly host: string; readonly port: string } => {
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(entry)
  if (bracketed !== null) return { host: bracketed[1] ?? "", port: bracketed[2] ?? "" }
  // An IPv6 address without brackets has several colons and no port.
  const colons = entry.split(":").length - 1
  if (colons === 1) {
    const [host = "", port = ""] = entry.split(":")
    return { host, port }
  }
  return { host: entry, port: "" }
}

const ipv4Value = (ip: string): bigint => ip.split(".").reduce((n, part) => (n << 8n) + BigInt(Number(part)), 0n)

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an IPv4 tail as two groups). */
const ipv6Groups = (ip: string): ReadonlyArray<string> => {
  const parse = (s: string) => (s === "" ? [] : s.split(":"))
  const expandV4 = (groups: ReadonlyArray<string>) => {
    const last = groups.at(-1)
    if (last === undefined || !last.includes(".")) return groups
    const v4 = ipv4Value(last)
    return [...groups.slice(0, -1), (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)]
  }
  if (!ip.includes("::")) return expandV4(parse(ip))
  const [head = "", tail = ""] = ip.split("::")
  const h = expandV4(parse(head))
  const t = expandV4(parse(tail))
  return [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t]
}

const ipToBigInt = (ip: string): { readonly family: 4 | 6; readonly value: bigint } | undefined => {
  if (Net.isIPv4(ip)) return { family: 4, value: ipv4Value(ip) }
  if (!Net.isIPv6(ip)) return undefined
  return { family: 6, value: ipv6Groups(ip).reduce((n, g) => (n << 16n) + BigInt(Number.parseInt(g, 16)), 0n) }
}

const inCidr = (ip: string, cidr: string): boolean => {
  const [base = "", bitsText = ""] = cidr.split("/")
  const a = ipToBigInt(ip)
  const b = ipToBigInt(base)
  const bits = Number(bitsText)
  if (a === undefined || b === undefined || a.family !== b.family || !Number.isInteger(bits)) return false
  const width = a.family === 4 ? 32 : 128
  if (bits < 0 || bits > width) return false
  const shift = BigInt(width - bits)
  return a.value >> shift === b.value >> shift
}

const sameIp = (a: string, b: string): boolean => {
  const x = ipToBigInt(a)
  const y = ipToBigInt(b)
  return x !== undefined && y !== undefined && x.family === y.family && x.value === y.value
}

const isLoopback = (ip: string): boolean =>
  inCidr(ip, "127.0.0.0/8") || sameIp(ip, "::1") || inCidr(ip, "::ffff:127.0.0.0/104")

/** Pure: whether httpproxy would use a proxy for `target` given the no-proxy entries. */
export const useProxyNonExact = (target: URL, noProxy: ReadonlyArray<string>): boolean => {
  const host = unbracket(target.hostname).toLowerCase()
  const port = defaultPort(target)
  if (host === "localhost") return false
  const targetIp = Net.isIP(host) !== 0 ? host : undefined
  if (targetIp !== undefined && isLoopback(targetIp)) return false
  for (const raw of noProxy) {
    const entry = raw.trim().toLowerCase()
    if (entry === "") continue
    if (entry === "*") return false
    if (entry.includes("/")) {
      if (targetIp !== undefined && inCidr(targetIp, entry)) return false
      continue
    }
    const { host: entryHost, port: entryPort } = splitHostPort(entry)
    if (entryHost === "") continue
    const portMatches = entryPort === "" || entryPort === port
    if (Net.isIP(entryHost) !== 0) {
      if (targetIp !== undefined && sameIp(targetIp, entryHost) && portMatches) return false
      continue
    }
    const suffix = entryHost.startsWith("*.") ? entryHost.slice(1) : entryHost
    const matchHost = !suffix.startsWith(".")
    const dotted = matchHost ? `.${suffix}` : suffix
    if ((host.endsWith(dotted) || (matchHost && host === dotted.slice(1))) && portMatches) return false
  }
  return true
}

/** Pure: a proxy URL for logs, credentials masked. */
export const describeProxy = (proxy: URL): string => {
  const user = proxy.username === "" ? "" : proxy.password === "" ? "*****@" : "*****:*****@"
  return `${proxy.protocol}//${user}${proxy.host}`
}

/** Pure: the `Proxy-Authorization` header value for a proxy URL with credentials. */
export const proxyAuthorization = (proxy: URL): string | undefined => {
  if (proxy.username === "") return undefined
  const user = decodeURIComponent(proxy.username)
  const password = decodeURIComponent(proxy.password)
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`
}
