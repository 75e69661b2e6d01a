// The builders of the configuration table, tested directly (Config.test.ts tests the table they
// build: its defaults, precedence and a round trip per variable). Here: each builder's edges, with
// variables of no meaning, so the rules are the builders' own and not one setting's.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Option, Redacted } from "effect"
import fc from "fast-check"
import {
  bool,
  dns1123Label,
  dns1123Subdomain,
  maskUrlPassword,
  oneOf,
  type Parsed,
  port,
  portOrOff,
  positiveInt,
  seconds,
  secret,
  text,
  url,
  wordList
} from "../../src/layers/settings.ts"

const value = <A>(p: Parsed<A>): A => {
  if (!p.ok) throw new Error(`refused, allowed: ${p.allowed}`)
  return p.value
}
const allowed = <A>(p: Parsed<A>): string => {
  if (p.ok) throw new Error(`accepted: ${String(p.value)}`)
  return p.allowed
}

describe("a setting records what it was declared with", () => {
  it("env, default, doc, no aliases unless given, not secret unless a secret", () => {
    const s = positiveInt("DD_X", 7, "what X means")
    expect(s).toMatchObject({ env: "DD_X", default: 7, doc: "what X means", aliases: [], secret: false })
    expect(s.kind).toEqual({ _tag: "positiveInt" })
    expect(text("DD_T", "d", "doc", undefined, { aliases: ["T_OLD", "t_old"] }).aliases).toEqual(["T_OLD", "t_old"])
    expect(secret("DD_S", "doc").secret).toBe(true)
    expect(url("DD_U", "doc").default).toEqual(Option.none())
    expect(wordList("DD_W", "doc").default).toEqual([])
  })
})

describe("port and portOrOff", () => {
  const p = port("DD_P", 5005, "doc")
  const off = portOrOff("DD_O", 0, "doc")

  it("take whole numbers from 1 to 65535, surrounding spaces allowed", () => {
    expect(value(p.parse("1"))).toBe(1)
    expect(value(p.parse("65535"))).toBe(65535)
    expect(value(p.parse(" 8443\n"))).toBe(8443)
    expect(p.kind).toEqual({ _tag: "port", allowOff: false })
  })

  it("0 turns a listener off only where that is allowed", () => {
    expect(allowed(p.parse("0"))).toBe("a port number from 1 to 65535")
    expect(value(off.parse("0"))).toBe(0)
    expect(off.kind).toEqual({ _tag: "port", allowOff: true })
  })

  it.each(["65536", "-1", "+80", "80.0", "1e3", "0x50", "", " ", "eighty", "80 81"])("refuses %j", (raw) => {
    expect(allowed(p.parse(raw))).toBe("a port number from 1 to 65535")
    expect(allowed(off.parse(raw))).toBe("0 (off) or a port number from 1 to 65535")
  })

  it("every port shows as the text it is read from", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (n) => {
        expect(p.show(n)).toBe(String(n))
        expect(value(p.parse(p.show(n)))).toBe(n)
      })
    )
  })
})

describe("seconds", () => {
  const s = seconds("DD_S", 60, "doc")

  it("the default is a Duration of the given seconds", () => {
    expect(Duration.toSeconds(s.default)).toBe(60)
  })

  it("takes a whole number of seconds greater than 0", () => {
    expect(Duration.toMillis(value(s.parse("1")))).toBe(1000)
    expect(Duration.toSeconds(value(s.parse(" 300 ")))).toBe(300)
  })

  it.each(["0", "-5", "1.5", "10s", "1e2", "", String(2 ** 53)])("refuses %j", (raw) => {
    expect(allowed(s.parse(raw))).toBe("a whole number of seconds greater than 0")
  })

  it("shows the number of seconds, which reads back the same", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), (n) => {
        const d = value(s.parse(String(n)))
        expect(s.show(d)).toBe(String(n))
        expect(Duration.equals(value(s.parse(s.show(d))), d)).toBe(true)
      })
    )
  })
})

describe("positiveInt", () => {
  const n = positiveInt("DD_N", 35, "doc")

  it("takes whole numbers above 0 up to the largest safe integer", () => {
    expect(value(n.parse("1"))).toBe(1)
    expect(value(n.parse(String(Number.MAX_SAFE_INTEGER)))).toBe(Number.MAX_SAFE_INTEGER)
  })

  it.each(["0", "-1", "2.5", "", "many", String(Number.MAX_SAFE_INTEGER + 1)])("refuses %j", (raw) => {
    expect(allowed(n.parse(raw))).toBe("a whole number greater than 0")
  })
})

describe("bool", () => {
  const b = bool("DD_B", false, "doc")

  it.each([
    ["true", true],
    ["TRUE", true],
    ["tRuE", true],
    ["1", true],
    [" 1 ", true],
    ["false", false],
    ["FALSE", false],
    ["0", false]
  ])("%j is %s", (raw, expected) => {
    expect(value(b.parse(raw))).toBe(expected)
  })

  it.each(["yes", "no", "on", "off", "t", "f", "", "2", "01"])("refuses %j", (raw) => {
    expect(allowed(b.parse(raw))).toBe("true, false, 1 or 0")
  })

  it("shows true/false, which read back", () => {
    for (const v of [true, false]) expect(value(b.parse(b.show(v)))).toBe(v)
  })
})

describe("oneOf", () => {
  const o = oneOf("DD_AGG", ["avg", "sum", "max"], "avg", "doc")

  it("takes a word of the set in any case, as the lower-case word", () => {
    expect(value(o.parse("SUM"))).toBe("sum")
    expect(value(o.parse(" Max "))).toBe("max")
    expect(o.kind).toEqual({ _tag: "oneOf", words: ["avg", "sum", "max"] })
  })

  it("refuses other words, listing the set in order", () => {
    expect(allowed(o.parse("median"))).toBe("one of avg, sum, max")
    expect(allowed(o.parse(""))).toBe("one of avg, sum, max")
    expect(allowed(o.parse("av"))).toBe("one of avg, sum, max")
  })
})

describe("text", () => {
  it("without a rule takes anything, trimmed", () => {
    const t = text("DD_T", "", "doc")
    expect(value(t.parse("  /etc/datadog-agent/auth_token \n"))).toBe("/etc/datadog-agent/auth_token")
    expect(value(t.parse("any thing at all"))).toBe("any thing at all")
    expect(t.kind).toEqual({ _tag: "text" })
  })

  it("with a rule checks the pattern and the length, and empty still means unset", () => {
    const t = text("DD_NS", "default", "doc", dns1123Label)
    expect(value(t.parse("kube-system"))).toBe("kube-system")
    expect(value(t.parse("   "))).toBe("")
    expect(allowed(t.parse("Kube-System"))).toBe(dns1123Label.allowed)
    expect(value(t.parse("a".repeat(63)))).toBe("a".repeat(63))
    expect(allowed(t.parse("a".repeat(64)))).toBe(dns1123Label.allowed)
    expect(t.kind).toEqual({ _tag: "text", rule: dns1123Label })
  })
})

describe("Kubernetes name rules", () => {
  it.each([
    ["a", true, true],
    ["a-b", true, true],
    ["0abc9", true, true],
    ["a.b", false, true],
    ["datadog-cluster-agent.default.svc", false, true],
    ["-a", false, false],
    ["a-", false, false],
    ["a..b", false, false],
    [".a", false, false],
    ["A", false, false],
    ["a_b", false, false],
    ["", false, false]
  ])("%j: label %s, subdomain %s", (name, label, subdomain) => {
    expect(dns1123Label.pattern.test(name)).toBe(label)
    expect(dns1123Subdomain.pattern.test(name)).toBe(subdomain)
  })

  it("lengths are those of apimachinery: 63 for a label, 253 for a subdomain", () => {
    expect(dns1123Label.maxLength).toBe(63)
    expect(dns1123Subdomain.maxLength).toBe(253)
  })
})

describe("url", () => {
  const u = url("DD_URL_X", "doc")

  it("takes http and https URLs as given, trimmed", () => {
    expect(value(u.parse(" https://app.datadoghq.eu "))).toEqual(Option.some("https://app.datadoghq.eu"))
    expect(value(u.parse("http://proxy.local:3128"))).toEqual(Option.some("http://proxy.local:3128"))
  })

  it("empty means unset", () => {
    expect(value(u.parse(""))).toEqual(Option.none())
    expect(value(u.parse("  "))).toEqual(Option.none())
  })

  it.each(["ftp://x.example", "file:///etc/passwd", "javascript:alert(1)", "proxy.local:3128", "not a url"])(
    "refuses %j",
    (raw) => {
      expect(allowed(u.parse(raw))).toBe("an http:// or https:// URL")
    }
  )

  it("shows unset as empty, and masks a password", () => {
    expect(u.show(Option.none())).toBe("")
    expect(u.show(Option.some("http://u:pw@p.local:3128"))).toBe("http://u:********@p.local:3128/")
    expect(u.show(Option.some("http://p.local:3128"))).toBe("http://p.local:3128")
  })
})

describe("maskUrlPassword", () => {
  it("leaves URLs without a password exactly as they are", () => {
    for (const v of ["http://p.local:3128", "https://user@p.local", "not a url", ""]) expect(maskUrlPassword(v)).toBe(v)
  })

  it("never shows the password, and keeps the user and host", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.stringMatching(/^[A-Za-z0-9]{6,20}$/),
        fc.domain(),
        (user, password, host) => {
          const masked = maskUrlPassword(`http://${user}:${password}@${host}:3128`)
          expect(masked).not.toContain(password)
          const back = new URL(masked)
          expect([back.username, back.password, back.hostname]).toEqual([user, "********", host])
        }
      )
    )
  })
})

describe("secret", () => {
  it("is redacted, trimmed, and empty means unset", () => {
    const s = secret("DD_K", "doc")
    const v = value(s.parse("  s3cr3t\n"))
    expect(Option.map(v, Redacted.value)).toEqual(Option.some("s3cr3t"))
    expect(String(Option.getOrThrow(v))).not.toContain("s3cr3t")
    expect(value(s.parse(" "))).toEqual(Option.none())
  })

  it("a rule refuses with its own text, never the value", () => {
    const rule = { test: (v: string) => v.length >= 32, allowed: "at least 32 characters" }
    const s = secret("DD_TOKEN", "doc", rule)
    expect(allowed(s.parse("short"))).toBe("at least 32 characters")
    expect(Option.isSome(value(s.parse("x".repeat(32))))).toBe(true)
    expect(s.kind).toEqual({ _tag: "secret", rule })
  })

  it("shows only whether it is set", () => {
    const s = secret("DD_K", "doc")
    expect(s.show(Option.none())).toBe("")
    expect(s.show(Option.some(Redacted.make("visible?")))).toBe("********")
  })
})

describe("wordList", () => {
  const w = wordList("DD_NO_PROXY_X", "doc")

  it("splits on spaces, commas or both, dropping empty words", () => {
    expect(value(w.parse("a.local b.local"))).toEqual(["a.local", "b.local"])
    expect(value(w.parse("a,b,,c"))).toEqual(["a", "b", "c"])
    expect(value(w.parse(" a , b\tc\n"))).toEqual(["a", "b", "c"])
    expect(value(w.parse(""))).toEqual([])
    expect(value(w.parse(" , "))).toEqual([])
  })

  it("shows words separated by spaces, which read back to the same list", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9./-]{1,12}$/), { maxLength: 6 }), (words) => {
        expect(value(w.parse(w.show(words)))).toEqual(words)
      })
    )
  })
})
