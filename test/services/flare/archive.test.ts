// The flare archive without a running agent: its name, host folder and file list, conf.d's
// selection, envvars.log's allow-list, permissions.log's table, the bounded log ring, and that
// secrets given to the builder (in the environment, the configuration, conf.d, logs) are in none
// of its files.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, Option, Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { renderConfig } from "../../../src/cli/config.ts"
import { renderConfig as renderConfigText } from "../../../src/cli/configText.ts"
import { ConfigError, resolve } from "../../../src/layers/Config.ts"
import { archiveName, hostnameDir } from "../../../src/services/flare/archive.ts"
import { buildFlare, isConfdFile, readConfd } from "../../../src/services/flare/build.ts"
import { renderCustomMetrics } from "../../../src/services/flare/customMetrics.ts"
import { renderEnvVars } from "../../../src/services/flare/envvars.ts"
import { makeLogRing } from "../../../src/services/flare/logRing.ts"
import { modeString, renderPermissions } from "../../../src/services/flare/permissions.ts"
import { knownSecrets } from "../../../src/services/flare/secrets.ts"
import { readZip } from "../../support/zip.ts"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-flare-unit-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

describe("naming", () => {
  it("names the zip like the original: UTC RFC 3339 to the second, ':' as '-', then the log level", () => {
    expect(archiveName(new Date("2024-05-01T12:34:56.789Z"), "info")).toBe(
      "datadog-agent-2024-05-01T12-34-56Z-info.zip"
    )
    expect(archiveName(new Date("2024-05-01T12:34:56Z"))).toBe("datadog-agent-2024-05-01T12-34-56Z.zip")
  })

  it("cleans the host folder like CleanHostnameDir", () => {
    expect(hostnameDir("ip-10-0-0-1.ec2.internal")).toBe("ip-10-0-0-1_ec2_internal")
    expect(hostnameDir("a".repeat(40))).toBe("a".repeat(32))
    expect(hostnameDir("")).toBe("unknown")
  })
})

describe("conf.d", () => {
  it("takes .yaml/.yml files, by their extension or the one before, and skips .example", () => {
    expect(isConfdFile("/c/kubernetes_apiserver.d/conf.yaml")).toBe(true)
    expect(isConfdFile("/c/kubernetes_apiserver.d/conf.yaml.default")).toBe(true)
    expect(isConfdFile("/c/x.d/conf.YML")).toBe(true)
    expect(isConfdFile("/c/x.d/conf.yaml.example")).toBe(false)
    expect(isConfdFile("/c/x.d/notes.txt")).toBe(false)
  })

  it("walks sub-folders, follows links to files, skips a mounted ConfigMap's `..` folders", () => {
    const root = Path.join(dir, "confd-walk")
    Fs.mkdirSync(Path.join(root, "a.d"), { recursive: true })
    Fs.mkdirSync(Path.join(root, "..2024_01_01"), { recursive: true })
    Fs.writeFileSync(Path.join(root, "a.d", "conf.yaml"), "instances: []\n")
    Fs.writeFileSync(Path.join(root, "..2024_01_01", "b.yaml"), "x: 1\n")
    Fs.symlinkSync(Path.join(root, "..2024_01_01", "b.yaml"), Path.join(root, "b.yaml"))
    const confd = readConfd(root)
    expect(confd.files.map((f) => f.name)).toEqual(["etc/confd/a.d/conf.yaml", "etc/confd/b.yaml"])
    expect(confd.permissions.map((p) => Path.relative(root, p.path))).toEqual(["", "a.d/conf.yaml", "b.yaml"])
    expect(confd.errors).toEqual([])
  })

  it("says when the folder cannot be read", () => {
    expect(readConfd(Path.join(dir, "absent")).errors[0]).toMatch(/^error walking dir '.*absent': ENOENT/)
  })
})

describe("envvars.log", () => {
  it("lists the variables the agent reads and a few others, never a _KEY or _AUTH_TOKEN", () => {
    const text = renderEnvVars({
      DD_SITE: "datadoghq.eu",
      DD_API_KEY: "secret",
      DD_APP_KEY: "secret",
      DD_CLUSTER_AGENT_AUTH_TOKEN: "secret",
      DD_AUTH_TOKEN_FILE_PATH: "/x",
      http_proxy: "http://proxy:3128",
      NODE_OPTIONS: "--max-old-space-size=128",
      HOME: "/root",
      SOME_PASSWORD: "secret"
    })
    expect(text).toBe(
      "Found the following envvars:\n -  DD_SITE=datadoghq.eu\n -  http_proxy=http://proxy:3128\n -  NODE_OPTIONS=--max-old-space-size=128\n"
    )
    expect(renderEnvVars({ HOME: "/root" })).toBe("Found no allowed envvar\n")
  })
})

describe("permissions.log", () => {
  it("is the original's table", () => {
    expect(modeString(0o100644, "file")).toBe("-rw-r--r--")
    expect(modeString(0o40750, "dir")).toBe("drwxr-x---")
    const text = renderPermissions([{ path: "/etc/x", mode: "-rw-r--r--", owner: "dd", group: "0", error: "" }])
    const [header, rule, row] = text.split("\n")
    expect(header).toBe(`${"File path".padEnd(50)} | mode  | owner      | group      | error     |`)
    expect(rule).toBe("-".repeat((header ?? "").length + 1))
    expect(row).toBe(`${"/etc/x".padEnd(50)} | -rw-r--r-- | dd         | 0          |           |`)
  })
})

describe("the log ring", () => {
  it("keeps the newest lines within its line and character bounds", () => {
    const ring = makeLogRing(3, 10)
    for (const l of ["a", "b", "c", "d"]) ring.push(l)
    expect(ring.lines()).toEqual(["b", "c", "d"])
    ring.push("123456789")
    expect(ring.lines()).toEqual(["d", "123456789"])
    ring.push("x".repeat(50))
    expect(ring.lines()).toEqual(["x".repeat(10)])
    expect(ring.dropped()).toBe(5)
  })
})

describe("custommetricsprovider.log", () => {
  it("follows the original's layout, one block per metric", () => {
    const text = renderCustomMetrics(
      {
        enabled: true,
        configMap: "datadog/datadog-custom-metrics",
        leader: true,
        total: 1,
        valid: 0,
        metrics: [
          {
            key: "k",
            metricName: "redis.key",
            labels: { cluster: "eks" },
            reference: { type: "horizontal", name: "nginxext", namespace: "default", uid: "u" },
            value: 0,
            ts: 1532042322,
            valid: false,
            reason: "no data"
          }
        ],
        problems: []
      },
      0
    )
    expect(text).toContain(
      [
        "Custom Metrics Provider",
        "=======================",
        "External Metrics",
        "================",
        "  ConfigMap name: datadog/datadog-custom-metrics",
        "  Number of external metrics detected: 1"
      ].join("\n")
    )
    expect(text).toContain(
      [
        "  hpa:",
        "  - name: nginxext",
        "  - namespace: default",
        "  labels:",
        "  - cluster: eks",
        "  metricName: redis.key",
        "  ts: 1532042322",
        "  valid: false",
        "  value: 0",
        "  reason: no data"
      ].join("\n")
    )
  })
})

describe("a local flare (built without the agent)", () => {
  const apiKey = "0123456789abcdef0123456789abcdef"
  const appKey = "fedcba9876543210fedcba9876543210fedcba98"
  const clusterToken = "ClusterTokenNotHexAtAll0123456789XYZ"
  const localToken = "a".repeat(16) + "b".repeat(16) + "c".repeat(16) + "d".repeat(16)
  const confd = Path.join(dir, "conf.d")
  Fs.mkdirSync(Path.join(confd, "postgres.d"), { recursive: true })
  Fs.writeFileSync(
    Path.join(confd, "postgres.d", "conf.yaml"),
    `init_config:\ninstances:\n  - host: db\n    password: pg-S3cret-value\n    token: ${clusterToken}\n`
  )
  const env = {
    DD_API_KEY: apiKey,
    DD_APP_KEY: appKey,
    DD_CLUSTER_AGENT_AUTH_TOKEN: clusterToken,
    DD_HOSTNAME: "node-1.example.com",
    DD_CONFD_PATH: confd,
    DD_PROXY_HTTPS: "http://user:proxy-Pa55word@proxy.local:3128",
    DD_LOG_LEVEL: "debug"
  }
  const config = resolve(env, { hostname: "machine", serviceAccountNamespace: Option.none() })
  if (config instanceof ConfigError) throw config

  it("holds the documented files under the host folder, and no secret", async () => {
    const path = await Effect.runPromise(
      buildFlare({
        local: true,
        config,
        env,
        // The CLI reads the local token file: a secret known by value.
        secrets: knownSecrets(config, { local: Redacted.make(localToken) }),
        logs: Effect.succeed([`{"message":"token is ${localToken}"}`, `{"message":"key ${apiKey}"}`]),
        telemetry: Effect.fail(new Error("GET http://127.0.0.1:5000/metrics: connect ECONNREFUSED")),
        metamap: Effect.fail(new Error("the metadata map is kept by the running agent")),
        dir
      })
    )
    expect(Path.dirname(path)).toBe(dir)
    expect(Path.basename(path)).toMatch(/^datadog-agent-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-debug\.zip$/)
    expect(Fs.statSync(path).mode & 0o777).toBe(0o600)
    const files = readZip(path)
    expect(Object.keys(files)).toEqual([
      "node-1_example_com/local",
      "node-1_example_com/etc/datadog-cluster-agent-config.log",
      "node-1_example_com/etc/confd/postgres.d/conf.yaml",
      "node-1_example_com/envvars.log",
      "node-1_example_com/logs/cluster-agent.log",
      "node-1_example_com/permissions.log",
      "node-1_example_com/flare_creation.log"
    ])
    const all = Object.values(files).join("\n")
    for (const secret of [apiKey, appKey, clusterToken, localToken, "pg-S3cret-value", "proxy-Pa55word"]) {
      expect(all).not.toContain(secret)
    }
    expect(files["node-1_example_com/local"]).toBe("")
    expect(files["node-1_example_com/etc/confd/postgres.d/conf.yaml"]).toContain("host: db")
    expect(files["node-1_example_com/envvars.log"]).toContain("DD_HOSTNAME=node-1.example.com")
    expect(files["node-1_example_com/envvars.log"]).not.toContain("DD_API_KEY")
    expect(files["node-1_example_com/flare_creation.log"]).toBe(
      [
        "error collecting data for 'cluster-agent-metadatamapper.log': the metadata map is kept by the running agent",
        // Scrubbed text ends without its final newline, as the original's scrubber leaves it.
        "error collecting data for 'telemetry.log': GET http://127.0.0.1:5000/metrics: connect ECONNREFUSED"
      ].join("\n")
    )
  })

  it("writes the configuration as `datadog-cluster-agent config` prints it", () => {
    expect(renderConfigText(config)).toBe(renderConfig(config))
  })
})
