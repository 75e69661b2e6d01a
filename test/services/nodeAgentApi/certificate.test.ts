// The command port's certificate (contract §1.1): by default self-signed, organisation
// "Datadog, Inc.", SANs localhost and 127.0.0.1, server+client auth (clients don't verify it);
// with the cluster trust chain CA configured, issued by that CA, carrying the agent's service
// names, so that a node agent trusting only the CA can verify it. NodeAgentApi.test.ts checks
// the default certificate's SANs on a live port; here both modes and their failures.
import * as Crypto from "node:crypto"
import { once } from "node:events"
import * as Fs from "node:fs"
import type { AddressInfo } from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Tls from "node:tls"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { ConfigError, resolve } from "../../../src/layers/Config.ts"
import { createCertificate, generateKeyPair } from "../../../src/lib/x509.ts"
import {
  makeServingCertificate,
  servingAddresses,
  servingNames
} from "../../../src/services/nodeAgentApi/certificate.ts"

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-serving-cert-"))
afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))

const machine = { hostname: "dca-host", serviceAccountNamespace: Option.some("datadog") }
const configOf = (env: Record<string, string> = {}) => {
  const config = resolve(env, machine)
  if (config instanceof ConfigError) throw config
  return config
}

const write = (name: string, contents: string) => {
  const path = Path.join(dir, name)
  Fs.writeFileSync(path, contents)
  return path
}

const makeCa = (commonName: string) => {
  const key = generateKeyPair("ec-p256")
  const certPem = createCertificate({
    subject: { commonName },
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    isCA: true,
    validityDays: 30
  })
  return { key, certPem }
}

const pemBlocks = (pem: string): ReadonlyArray<string> =>
  pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []

const days = (cert: Crypto.X509Certificate) =>
  (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / 86_400_000

/** Opens a TLS server with `serving` and connects a client that trusts only `ca`, checking `servername`. */
const handshake = async (serving: { certPem: string; keyPem: string }, ca: string, servername: string) => {
  const server = Tls.createServer({ cert: serving.certPem, key: serving.keyPem }, (socket) => socket.end())
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  try {
    const { port } = server.address() as AddressInfo
    return await new Promise<string>((resolveResult) => {
      const socket = Tls.connect({ host: "127.0.0.1", port, ca, servername }, () => {
        resolveResult(socket.authorized ? "authorized" : `unauthorized: ${socket.authorizationError}`)
        socket.destroy()
      })
      socket.on("error", (e) => resolveResult(`error: ${e.message}`))
    })
  } finally {
    server.close()
  }
}

describe("servingNames", () => {
  it("localhost, the host name, and the service's short and cluster DNS names", () => {
    expect(
      servingNames({ serviceName: "datadog-cluster-agent", podNamespace: "datadog", effectiveHostname: "dca-7c9d" })
    ).toEqual([
      "localhost",
      "dca-7c9d",
      "datadog-cluster-agent",
      "datadog-cluster-agent.datadog",
      "datadog-cluster-agent.datadog.svc",
      "datadog-cluster-agent.datadog.svc.cluster.local"
    ])
  })

  it("names each once", () => {
    expect(servingNames({ serviceName: "dca", podNamespace: "ns", effectiveHostname: "localhost" })).toEqual([
      "localhost",
      "dca",
      "dca.ns",
      "dca.ns.svc",
      "dca.ns.svc.cluster.local"
    ])
    expect(servingNames({ serviceName: "dca", podNamespace: "ns", effectiveHostname: "dca" })).toHaveLength(5)
  })

  it("leaves out a host name that is not a DNS name", () => {
    for (const hostname of ["", "my_host", "host name", "-host", "host."]) {
      const names = servingNames({ serviceName: "dca", podNamespace: "ns", effectiveHostname: hostname })
      expect(names, hostname).not.toContain(hostname)
      expect(names).toContain("dca.ns.svc")
    }
  })
})

describe("servingAddresses", () => {
  it("loopback first, then this machine's external addresses, each once and without a zone", () => {
    const addresses = servingAddresses()
    expect(addresses.slice(0, 2)).toEqual(["127.0.0.1", "::1"])
    expect(new Set(addresses).size).toBe(addresses.length)
    const external = Object.values(Os.networkInterfaces())
      .flat()
      .filter((i) => i !== undefined && !i.internal)
      .map((i) => i?.address.split("%")[0])
    for (const a of external) expect(addresses).toContain(a)
    for (const a of addresses) expect(a).not.toContain("%")
  })
})

describe("makeServingCertificate, self-signed", () => {
  it.effect("is the original's certificate: Datadog, Inc., localhost and 127.0.0.1, server+client auth", () =>
    Effect.gen(function* () {
      const serving = yield* makeServingCertificate(configOf())
      const cert = new Crypto.X509Certificate(serving.certPem)
      // Node escapes the comma of the organisation in its DN text.
      expect(cert.subject.split("\n")).toEqual(["O=Datadog\\, Inc.", "CN=datadog-cluster-agent"])
      expect(cert.issuer).toBe(cert.subject)
      expect(cert.verify(cert.publicKey)).toBe(true)
      expect(cert.checkHost("localhost")).toBe("localhost")
      expect(cert.checkHost("datadog-cluster-agent.datadog.svc")).toBe("datadog-cluster-agent.datadog.svc")
      expect(cert.checkHost("dca-host")).toBe("dca-host")
      expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1")
      expect(cert.keyUsage).toEqual(expect.arrayContaining(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]))
      expect(days(cert)).toBeGreaterThanOrEqual(3649)
      // The key is the certificate's.
      expect(cert.checkPrivateKey(Crypto.createPrivateKey(serving.keyPem))).toBe(true)
      expect(pemBlocks(serving.certPem)).toHaveLength(1)
      expect(serving.dnsNames).toEqual(servingNames(configOf()))
      expect(serving.ipAddresses).toEqual(servingAddresses())
    })
  )

  it.effect("is fresh on every start", () =>
    Effect.gen(function* () {
      const a = yield* makeServingCertificate(configOf())
      const b = yield* makeServingCertificate(configOf())
      expect(a.keyPem).not.toBe(b.keyPem)
      expect(new Crypto.X509Certificate(a.certPem).serialNumber).not.toBe(
        new Crypto.X509Certificate(b.certPem).serialNumber
      )
    })
  )
})

describe("makeServingCertificate, issued by the cluster trust chain CA", () => {
  const ca = makeCa("cluster-ca")
  const caEnv = () => ({
    DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: write("ca.pem", ca.certPem),
    DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: write("ca.key", ca.key.privateKeyPem)
  })

  it.effect("is signed by the CA and served with it, for clients that only hold the CA", () =>
    Effect.gen(function* () {
      const serving = yield* makeServingCertificate(configOf(caEnv()))
      const [leafPem, caPem] = pemBlocks(serving.certPem)
      expect(pemBlocks(serving.certPem)).toHaveLength(2)
      const leaf = new Crypto.X509Certificate(leafPem as string)
      const caCert = new Crypto.X509Certificate(ca.certPem)
      expect(new Crypto.X509Certificate(caPem as string).fingerprint256).toBe(caCert.fingerprint256)
      expect(leaf.checkIssued(caCert)).toBe(true)
      expect(leaf.verify(caCert.publicKey)).toBe(true)
      expect(leaf.ca).toBe(false)
      expect(leaf.checkPrivateKey(Crypto.createPrivateKey(serving.keyPem))).toBe(true)
      expect(leaf.checkHost("datadog-cluster-agent.datadog.svc.cluster.local")).toBeDefined()
    })
  )

  it.effect("passes a TLS handshake with a client trusting only the CA, by service name", () =>
    Effect.gen(function* () {
      const serving = yield* makeServingCertificate(configOf(caEnv()))
      const ok = yield* Effect.promise(() => handshake(serving, ca.certPem, "datadog-cluster-agent.datadog.svc"))
      expect(ok).toBe("authorized")
      // A client trusting another CA refuses it: the trust really comes from the cluster CA.
      const other = makeCa("other-ca")
      const refused = yield* Effect.promise(() =>
        handshake(serving, other.certPem, "datadog-cluster-agent.datadog.svc")
      )
      expect(refused).not.toBe("authorized")
    })
  )

  it.effect("an unreadable CA certificate fails naming its variable and file", () =>
    Effect.gen(function* () {
      const missing = Path.join(dir, "missing.pem")
      const e = yield* Effect.flip(
        makeServingCertificate(configOf({ ...caEnv(), DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: missing }))
      )
      expect(e._tag).toBe("CertificateError")
      expect(e.message).toMatch(
        new RegExp(`^DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH=${missing}: cannot read: .*ENOENT`)
      )
    })
  )

  it.effect("an unreadable CA key fails naming its variable and file", () =>
    Effect.gen(function* () {
      const missing = Path.join(dir, "missing.key")
      const e = yield* Effect.flip(
        makeServingCertificate(configOf({ ...caEnv(), DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: missing }))
      )
      expect(e.message).toMatch(new RegExp(`^DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH=${missing}: cannot read: `))
    })
  )

  it.effect("a key file without a private key fails as not a private key, without its contents", () =>
    Effect.gen(function* () {
      const path = write("not-a-key.pem", "secret-looking garbage")
      const e = yield* Effect.flip(
        makeServingCertificate(configOf({ ...caEnv(), DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: path }))
      )
      expect(e.message).toMatch(new RegExp(`^DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH=${path}: not a private key`))
      expect(e.message).not.toContain("secret-looking garbage")
    })
  )

  it.effect("a CA key that is not the CA certificate's is refused", () =>
    Effect.gen(function* () {
      const stranger = generateKeyPair("ec-p256")
      const path = write("stranger.key", stranger.privateKeyPem)
      const e = yield* Effect.flip(
        makeServingCertificate(configOf({ ...caEnv(), DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH: path }))
      )
      expect(e.message).toMatch(
        /^DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH=.*: the CA key does not match the CA certificate$/
      )
    })
  )

  it.effect("a CA certificate file that holds no certificate is refused", () =>
    Effect.gen(function* () {
      const path = write("not-a-cert.pem", "hello")
      const e = yield* Effect.flip(
        makeServingCertificate(configOf({ ...caEnv(), DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH: path }))
      )
      expect(e.message.startsWith(`DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH=${path}: `)).toBe(true)
    })
  )
})
