import { describe, expect, it } from "@effect/vitest"
import { Duration, Option, Redacted } from "effect"
import fc from "fast-check"
import { configRows, type Env, parseEnv, resolve, type SettingKey, settings } from "../../src/layers/Config.ts"
import type { Setting } from "../../src/layers/settings.ts"

const machine = { hostname: "node-1", serviceAccountNamespace: Option.none<string>() }
const ok = (env: Env) => {
  const result = parseEnv(env)
  if (!result.ok) throw new Error(`unexpected problems: ${result.problems.join("; ")}`)
  return result.parsed
}
const problemsOf = (env: Env) => {
  const result = parseEnv(env)
  return result.ok ? [] : result.problems
}
const entries = Object.entries(settings) as ReadonlyArray<[SettingKey, Setting<unknown>]>

describe("defaults", () => {
  it.each([
    ["cmdPort", 5005],
    ["metricsPort", 5000],
    ["healthPort", 0],
    ["externalMetricsPort", 8443],
    ["site", "datadoghq.com"],
    ["logLevel", "info"],
    ["serviceName", "datadog-cluster-agent"],
    ["tokenName", "datadogtoken"],
    ["leaderLeaseName", "datadog-leader-election"],
    ["leaderElectionResource", "configmap"],
    ["hpaConfigMapName", "datadog-custom-metrics"],
    ["externalMetricsAggregator", "avg"],
    ["externalMetricsChunkSize", 35],
    ["useMetadataMapper", true],
    ["collectMetadataTags", true],
    ["collectEvents", false],
    ["leaderElection", false],
    ["externalMetricsEnabled", false]
  ] as const)("%s defaults to %s", (key, expected) => {
    expect(ok({}).values[key]).toEqual(expected)
  })

  it.each([
    ["leaderLeaseDuration", 60],
    ["informersResyncPeriod", 300],
    ["informersRestclientTimeout", 60],
    ["apiserverClientTimeout", 10],
    ["metadataTagUpdateFreq", 60],
    ["externalMetricsRefreshPeriod", 30],
    ["externalMetricsBatchWindow", 10],
    ["externalMetricsMaxAge", 120],
    ["externalMetricsBucketSize", 300],
    ["externalMetricsLocalCopyRefreshRate", 30],
    ["externalMetricsRollup", 30]
  ] as const)("%s defaults to %s seconds", (key, expected) => {
    expect(Duration.toSeconds(ok({}).values[key])).toBe(expected)
  })

  it("every source is `default` when nothing is set", () => {
    expect(Object.values(ok({}).sources).every((s) => s.kind === "default")).toBe(true)
  })
})

describe("precedence", () => {
  it.each([
    [
      { DD_PROXY_HTTP: "http://dd:1", HTTP_PROXY: "http://std:2", http_proxy: "http://low:3" },
      "http://dd:1",
      "DD_PROXY_HTTP"
    ],
    [{ HTTP_PROXY: "http://std:2", http_proxy: "http://low:3" }, "http://std:2", "HTTP_PROXY"],
    [{ http_proxy: "http://low:3" }, "http://low:3", "http_proxy"]
  ])("http proxy from %o", (env, value, variable) => {
    const parsed = ok(env)
    expect(parsed.values.proxyHttp).toEqual(Option.some(value))
    expect(parsed.sources.proxyHttp).toEqual({ kind: "env", variable })
  })

  it("https proxy falls back to HTTPS_PROXY then https_proxy", () => {
    expect(ok({ https_proxy: "http://p:1" }).values.proxyHttps).toEqual(Option.some("http://p:1"))
    expect(ok({ HTTPS_PROXY: "http://a:1", https_proxy: "http://b:1" }).values.proxyHttps).toEqual(
      Option.some("http://a:1")
    )
  })

  it("DD_PROXY_NO_PROXY is space-separated and wins over comma-separated NO_PROXY", () => {
    expect(ok({ DD_PROXY_NO_PROXY: "a.local  b.local", NO_PROXY: "c,d" }).values.proxyNoProxy).toEqual([
      "a.local",
      "b.local"
    ])
    expect(ok({ NO_PROXY: "c.local,10.0.0.0/8, .svc" }).values.proxyNoProxy).toEqual(["c.local", "10.0.0.0/8", ".svc"])
    expect(ok({ no_proxy: "e" }).values.proxyNoProxy).toEqual(["e"])
  })

  it("DD_DD_URL wins over DD_URL, and both over DD_SITE", () => {
    const both = resolve(
      { DD_DD_URL: "https://a.example", DD_URL: "https://b.example", DD_SITE: "datadoghq.eu" },
      machine
    )
    expect("apiBaseUrl" in both && both.apiBaseUrl).toBe("https://a.example")
    const legacy = resolve({ DD_URL: "https://b.example/" }, machine)
    expect("apiBaseUrl" in legacy && legacy.apiBaseUrl).toBe("https://b.example")
    const site = resolve({ DD_SITE: "datadoghq.eu" }, machine)
    expect("apiBaseUrl" in site && site.apiBaseUrl).toBe("https://api.datadoghq.eu")
  })

  it("DATADOG_HOST is the fallback of DD_EXTERNAL_METRICS_PROVIDER_ENDPOINT", () => {
    expect(ok({ DATADOG_HOST: "https://h.example" }).values.externalMetricsEndpoint).toEqual(
      Option.some("https://h.example")
    )
  })

  it.each([
    [{ DD_KUBE_RESOURCES_NAMESPACE: "dd" }, Option.some("from-sa"), "dd"],
    [{}, Option.some("from-sa\n"), "from-sa"],
    [{}, Option.none(), "default"],
    [{}, Option.some("  "), "default"]
  ])("resources namespace from %o and service account %o is %s", (env, serviceAccountNamespace, expected) => {
    const config = resolve(env, { hostname: "h", serviceAccountNamespace })
    expect("effectiveNamespace" in config && config.effectiveNamespace).toBe(expected)
  })

  it("hostname and identity fall back to the machine's host name", () => {
    const plain = resolve({}, machine)
    expect("identity" in plain && [plain.effectiveHostname, plain.identity]).toEqual(["node-1", "node-1"])
    const named = resolve({ DD_HOSTNAME: "dca-host", DD_POD_NAME: "dca-7c9d-abcde" }, machine)
    expect("identity" in named && [named.effectiveHostname, named.identity]).toEqual(["dca-host", "dca-7c9d-abcde"])
  })

  it("the cluster token file sits beside the local token file", () => {
    const config = resolve({ DD_AUTH_TOKEN_FILE_PATH: "/run/dca/auth_token" }, machine)
    expect("clusterTokenFilePath" in config && config.clusterTokenFilePath).toBe("/run/dca/cluster_agent.auth_token")
  })

  it("an empty variable counts as unset", () => {
    expect(ok({ DD_CLUSTER_AGENT_CMD_PORT: "", DD_API_KEY: "" }).sources.cmdPort).toEqual({ kind: "default" })
  })

  it("the API key is trimmed", () => {
    const key = ok({ DD_API_KEY: "  0123456789abcdef0123456789abcdef\n" }).values.apiKey
    expect(Option.map(key, Redacted.value)).toEqual(Option.some("0123456789abcdef0123456789abcdef"))
  })
})

describe("validation", () => {
  it("reports every problem at once, one line per variable", () => {
    const problems = problemsOf({
      DD_CLUSTER_AGENT_CMD_PORT: "70000",
      DD_LEADER_ELECTION: "yes",
      DD_LEADER_LEASE_DURATION: "1.5",
      DD_EXTERNAL_METRICS_AGGREGATOR: "median",
      DD_CLUSTER_AGENT_AUTH_TOKEN: "short"
    })
    expect(problems.map((p) => p.split(":")[0])).toEqual([
      "DD_CLUSTER_AGENT_CMD_PORT",
      "DD_CLUSTER_AGENT_AUTH_TOKEN",
      "DD_LEADER_ELECTION",
      "DD_LEADER_LEASE_DURATION",
      "DD_EXTERNAL_METRICS_AGGREGATOR"
    ])
    expect(problems[0]).toBe('DD_CLUSTER_AGENT_CMD_PORT: invalid value "70000": must be a port number from 1 to 65535')
    expect(problems[4]).toContain("one of avg, sum, max, min")
  })

  it("an empty lock kind set on purpose means discovery; unset means the default ConfigMap lock", () => {
    expect(ok({ DD_LEADER_ELECTION_DEFAULT_RESOURCE: "" }).values.leaderElectionResource).toBe("")
    expect(ok({ DD_LEADER_ELECTION_DEFAULT_RESOURCE: "" }).sources.leaderElectionResource).toEqual({
      kind: "env",
      variable: "DD_LEADER_ELECTION_DEFAULT_RESOURCE"
    })
    expect(ok({}).values.leaderElectionResource).toBe("configmap")
    expect(problemsOf({ DD_LEADER_ELECTION_DEFAULT_RESOURCE: "etcd" })).toEqual([
      'DD_LEADER_ELECTION_DEFAULT_RESOURCE: invalid value "etcd": must be one of configmap, configmaps, lease, leases, empty'
    ])
    // Other settings still take an empty value as unset.
    expect(ok({ DD_LEADER_LEASE_NAME: "" }).values.leaderLeaseName).toBe("datadog-leader-election")
  })

  it("ports of active listeners must differ", () => {
    expect(problemsOf({ DD_METRICS_PORT: "5005" })).toEqual([
      "DD_METRICS_PORT: port 5005 is already used by DD_CLUSTER_AGENT_CMD_PORT; ports must differ"
    ])
    expect(problemsOf({ DD_HEALTH_PORT: "5000" })).toHaveLength(1)
    // The external metrics port only opens when the provider is enabled.
    expect(problemsOf({ DD_EXTERNAL_METRICS_PROVIDER_PORT: "5000" })).toEqual([])
    expect(
      problemsOf({
        DD_EXTERNAL_METRICS_PROVIDER_PORT: "5000",
        DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true",
        DD_APP_KEY: "0123456789abcdef0123456789abcdef01234567"
      })
    ).toEqual(["DD_EXTERNAL_METRICS_PROVIDER_PORT: port 5000 is already used by DD_METRICS_PORT; ports must differ"])
  })

  it("the external metrics provider needs an application key", () => {
    const key = "0123456789abcdef0123456789abcdef01234567"
    expect(problemsOf({ DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true" })).toEqual([
      "DD_APP_KEY: must be set when DD_EXTERNAL_METRICS_PROVIDER_ENABLED is true (or DD_EXTERNAL_METRICS_PROVIDER_APP_KEY): Datadog metric queries need an application key"
    ])
    expect(problemsOf({ DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true", DD_APP_KEY: key })).toEqual([])
    expect(
      problemsOf({ DD_EXTERNAL_METRICS_PROVIDER_ENABLED: "true", DD_EXTERNAL_METRICS_PROVIDER_APP_KEY: key })
    ).toEqual([])
    expect(problemsOf({})).toEqual([])
  })

  it("the cluster CA certificate and key go together", () => {
    expect(problemsOf({ DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: "/ca.pem" })).toEqual([
      "DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: must be set when DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH is set"
    ])
    expect(problemsOf({ DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: "/ca.key" })).toEqual([
      "DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: must be set when DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH is set"
    ])
  })

  it.each(["true", "TRUE", "1", " True "])("%j is true", (raw) => {
    expect(ok({ DD_LEADER_ELECTION: raw }).values.leaderElection).toBe(true)
  })
  it.each(["false", "False", "0"])("%j is false", (raw) => {
    expect(ok({ DD_LEADER_ELECTION: raw }).values.leaderElection).toBe(false)
  })

  it("the cluster token needs 32 letters or digits and is never echoed", () => {
    const bad = "x".repeat(31)
    const problems = problemsOf({ DD_CLUSTER_AGENT_AUTH_TOKEN: bad })
    expect(problems).toEqual([
      "DD_CLUSTER_AGENT_AUTH_TOKEN: invalid value (hidden, 31 characters): must be at least 32 characters, letters A-Z a-z and digits 0-9 only"
    ])
    expect(problemsOf({ DD_CLUSTER_AGENT_AUTH_TOKEN: `${"a".repeat(31)}-` })[0]).not.toContain("aaaa")
    expect(problemsOf({ DD_CLUSTER_AGENT_AUTH_TOKEN: "A1".repeat(16) })).toEqual([])
  })
})

// Generators of values each kind of setting accepts, and of values it must refuse.
const validRaw = (s: Setting<unknown>): fc.Arbitrary<string> => {
  const k = s.kind
  switch (k._tag) {
    case "port":
      return fc.integer({ min: k.allowOff ? 0 : 1, max: 65535 }).map(String)
    case "seconds":
    case "positiveInt":
      return fc.integer({ min: 1, max: 1_000_000 }).map(String)
    case "bool":
      return fc.constantFrom("true", "false", "1", "0", "TRUE", "False")
    case "oneOf":
      return fc.constantFrom(...k.words)
    case "text":
      if (k.rule === undefined) return fc.stringMatching(/^[a-z/._-]{1,20}$/)
      // Every name rule takes one DNS label, except the site, which needs a dotted domain.
      return k.rule.pattern.test("abc")
        ? fc.stringMatching(/^[a-z]([a-z0-9-]{0,10}[a-z0-9])?$/)
        : fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]([a-z0-9-]{0,8}[a-z0-9])?){1,2}$/)
    case "url":
      return fc.webUrl({ validSchemes: ["http", "https"] })
    case "secret":
      return fc.stringMatching(/^[A-Za-z0-9]{32,64}$/)
    case "wordList":
      return fc.array(fc.stringMatching(/^[a-z.]{1,10}$/), { minLength: 1, maxLength: 4 }).map((ws) => ws.join(" "))
  }
}

const invalidRaw = (s: Setting<unknown>): fc.Arbitrary<string> | undefined => {
  const k = s.kind
  const notNumber = fc.stringMatching(/^[a-z]{1,8}$/)
  switch (k._tag) {
    case "port":
      return fc.oneof(fc.integer({ min: 65536, max: 10_000_000 }).map(String), fc.constant("-1"), notNumber)
    case "seconds":
    case "positiveInt":
      return fc.oneof(fc.constant("0"), fc.integer({ min: -1000, max: -1 }).map(String), fc.constant("1.5"), notNumber)
    case "bool":
      return fc.constantFrom("yes", "no", "on", "off", "2", "truthy")
    case "oneOf":
      return fc.stringMatching(/^[a-z]{1,10}$/).filter((w) => !k.words.includes(w))
    case "text":
      return k.rule === undefined ? undefined : fc.stringMatching(/^[!@#$%^&*(){}]{1,10}$/)
    case "url":
      return fc.oneof(fc.constant("not a url"), fc.constant("ftp://x.example"), fc.stringMatching(/^[a-z]{1,8}$/))
    case "secret":
      return k.rule === undefined ? undefined : fc.stringMatching(/^[A-Za-z0-9]{5,28}$/).map((v) => `Zq7${v}`)
    case "wordList":
      return undefined
  }
}

describe("every variable", () => {
  it.each(entries.filter(([, s]) => invalidRaw(s) !== undefined))(
    "%s: an invalid value yields one error naming the variable",
    (_key, s) => {
      fc.assert(
        fc.property(invalidRaw(s) as fc.Arbitrary<string>, (raw) => {
          const problems = problemsOf({ [s.env]: raw })
          expect(problems).toHaveLength(1)
          expect(problems[0]?.startsWith(`${s.env}: invalid value`)).toBe(true)
          if (s.secret) expect(problems[0]).not.toContain(raw)
        })
      )
    }
  )

  // Variables that only make sense together with another one.
  const companions: Record<string, Record<string, string>> = {
    DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: { DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: "/ca/key.pem" },
    DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: { DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: "/ca/cert.pem" },
    DD_EXTERNAL_METRICS_PROVIDER_ENABLED: { DD_APP_KEY: "0123456789abcdef0123456789abcdef01234567" }
  }

  it.each(entries)("%s: a valid value is read, shown and read back to the same value", (key, s) => {
    fc.assert(
      fc.property(validRaw(s), (raw) => {
        const first = ok({ [s.env]: raw, ...companions[s.env] })
        expect(first.sources[key]).toEqual({ kind: "env", variable: s.env })
        if (s.secret) return
        const again = ok({ [s.env]: s.show(first.values[key]), ...companions[s.env] })
        expect(again.values[key]).toEqual(first.values[key])
      }),
      { numRuns: 50 }
    )
  })
})

describe("display", () => {
  const secrets = {
    DD_API_KEY: "0123456789abcdef0123456789abcdef",
    DD_APP_KEY: "fedcba9876543210fedcba9876543210fedcba98",
    DD_CLUSTER_AGENT_AUTH_TOKEN: "TokenTokenTokenTokenTokenToken12345",
    DD_EXTERNAL_METRICS_PROVIDER_API_KEY: "aaaabbbbccccddddeeeeffff00001111",
    DD_EXTERNAL_METRICS_PROVIDER_APP_KEY: "9999888877776666555544443333222211110000",
    DD_PROXY_HTTPS: "http://user:proxypassword@proxy.local:3128"
  }

  it("masks secrets and proxy passwords, and marks sources", () => {
    const config = resolve(secrets, machine)
    if (!("sources" in config)) throw config
    const rows = configRows(config)
    const text = JSON.stringify(rows)
    for (const value of Object.values(secrets)) expect(text).not.toContain(value)
    expect(text).not.toContain("proxypassword")
    const apiKey = rows.find((r) => r.variable === "DD_API_KEY")
    expect(apiKey).toMatchObject({ value: "********", source: "env", secret: true })
    expect(rows.find((r) => r.variable === "DD_SITE")).toMatchObject({ value: "datadoghq.com", source: "default" })
    expect(rows.find((r) => r.variable === "DD_PROXY_HTTPS")?.value).toBe("http://user:********@proxy.local:3128/")
  })
})
