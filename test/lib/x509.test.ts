import { spawnSync } from "node:child_process"
import * as crypto from "node:crypto"
import { once } from "node:events"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tls from "node:tls"
import { afterAll, describe, expect, it } from "vitest"
import { createCertificate, generateKeyPair, ipAddressBytes, type KeyKind } from "../../src/lib/x509.ts"

const makeCa = (kind: KeyKind, commonName = "test-ca") => {
  const key = generateKeyPair(kind)
  const certPem = createCertificate({
    subject: { commonName },
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    isCA: true,
    validityDays: 10
  })
  return { key, certPem, cert: new crypto.X509Certificate(certPem) }
}

const makeLeaf = (
  ca: ReturnType<typeof makeCa>,
  kind: KeyKind,
  extra: Partial<Parameters<typeof createCertificate>[0]> = {}
) => {
  const key = generateKeyPair(kind)
  const certPem = createCertificate({
    subject: { commonName: "leaf", organizations: ["system:masters", "team-b"] },
    publicKey: key.publicKey,
    issuer: { certificatePem: ca.certPem, privateKey: ca.key.privateKey },
    isCA: false,
    dnsNames: ["localhost", "kubernetes.default.svc"],
    ipAddresses: ["127.0.0.1", "::1"],
    extKeyUsage: ["serverAuth", "clientAuth"],
    validityDays: 5,
    ...extra
  })
  return { key, certPem, cert: new crypto.X509Certificate(certPem) }
}

const tempDir = mkdtempSync(join(tmpdir(), "x509-test-"))
afterAll(() => rmSync(tempDir, { recursive: true, force: true }))

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0

describe("x509", () => {
  describe.each<[KeyKind, KeyKind]>([
    ["ec-p256", "ec-p256"],
    ["ec-p256", "rsa-2048"],
    ["rsa-2048", "ec-p256"],
    ["rsa-2048", "rsa-2048"]
  ])("CA %s issuing a %s certificate", (caKind, leafKind) => {
    const ca = makeCa(caKind)
    const leaf = makeLeaf(ca, leafKind)

    it("produces a self-signed CA certificate", () => {
      expect(ca.cert.ca).toBe(true)
      expect(ca.cert.subject).toBe("CN=test-ca")
      expect(ca.cert.issuer).toBe("CN=test-ca")
      expect(ca.cert.verify(ca.key.publicKey)).toBe(true)
      expect(ca.cert.checkIssued(ca.cert)).toBe(true)
    })

    it("produces a leaf signed by the CA with subject, SANs and usages", () => {
      expect(leaf.cert.ca).toBe(false)
      expect(leaf.cert.subject.split("\n")).toEqual(["O=system:masters", "O=team-b", "CN=leaf"])
      expect(leaf.cert.issuer).toBe("CN=test-ca")
      expect(leaf.cert.subjectAltName).toBe(
        "DNS:localhost, DNS:kubernetes.default.svc, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
      )
      expect(leaf.cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"])
      expect(leaf.cert.verify(ca.key.publicKey)).toBe(true)
      expect(leaf.cert.checkIssued(ca.cert)).toBe(true)
      expect(leaf.cert.checkPrivateKey(leaf.key.privateKey)).toBe(true)
      expect(leaf.cert.publicKey.equals(leaf.key.publicKey)).toBe(true)
    })

    it.runIf(hasOpenssl)("passes openssl verify", () => {
      const caPath = join(tempDir, `ca-${caKind}-${leafKind}.pem`)
      const leafPath = join(tempDir, `leaf-${caKind}-${leafKind}.pem`)
      writeFileSync(caPath, ca.certPem)
      writeFileSync(leafPath, leaf.certPem)
      const result = spawnSync("openssl", ["verify", "-x509_strict", "-CAfile", caPath, leafPath], {
        encoding: "utf8"
      })
      expect(result.stderr).toBe("")
      expect(result.stdout.trim()).toBe(`${leafPath}: OK`)
    })
  })

  it.runIf(hasOpenssl)("issues certificates under a CA made by openssl (foreign DER)", () => {
    const keyPath = join(tempDir, "foreign.key")
    const certPath = join(tempDir, "foreign.crt")
    const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"]
    args.push("-subj", "/C=US/O=Acme/CN=Foreign CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    args.push("-keyout", keyPath, "-out", certPath)
    const made = spawnSync("openssl", args, { encoding: "utf8" })
    expect(made.status, made.stderr).toBe(0)
    const ca = {
      certPem: readFileSync(certPath, "utf8"),
      key: { privateKey: crypto.createPrivateKey(readFileSync(keyPath)) }
    }
    const key = generateKeyPair("ec-p256")
    const leafPem = createCertificate({
      subject: { commonName: "leaf" },
      publicKey: key.publicKey,
      issuer: { certificatePem: ca.certPem, privateKey: ca.key.privateKey },
      isCA: false,
      validityDays: 1
    })
    const leaf = new crypto.X509Certificate(leafPem)
    expect(leaf.issuer.split("\n")).toEqual(["C=US", "O=Acme", "CN=Foreign CA"])
    expect(leaf.checkIssued(new crypto.X509Certificate(ca.certPem))).toBe(true)
    const leafPath = join(tempDir, "foreign-leaf.crt")
    writeFileSync(leafPath, leafPem)
    const verified = spawnSync("openssl", ["verify", "-x509_strict", "-CAfile", certPath, leafPath], {
      encoding: "utf8"
    })
    expect(verified.stderr).toBe("")
    expect(verified.stdout.trim()).toBe(`${leafPath}: OK`)
  })

  it("rejects a certificate checked against the wrong CA", () => {
    const ca = makeCa("ec-p256")
    const other = makeCa("ec-p256", "other-ca")
    const leaf = makeLeaf(ca, "ec-p256")
    expect(leaf.cert.verify(other.key.publicKey)).toBe(false)
  })

  it("encodes validity with UTCTime before 2050 and GeneralizedTime after", () => {
    const ca = makeCa("ec-p256")
    const notBefore = new Date("2049-12-31T23:00:00Z")
    const leaf = makeLeaf(ca, "ec-p256", { notBefore, validityDays: 1 })
    expect(new Date(leaf.cert.validFrom).toISOString()).toBe("2049-12-31T23:00:00.000Z")
    expect(new Date(leaf.cert.validTo).toISOString()).toBe("2050-01-01T23:00:00.000Z")
  })

  it("uses the given serial number", () => {
    const ca = makeCa("ec-p256")
    // 0x80 needs a leading zero byte in DER to stay positive.
    for (const serial of [1n, 0x80n, 0xff00n, 0x1234_5678_9abc_def0_1234_5678n]) {
      const leaf = makeLeaf(ca, "ec-p256", { serial })
      expect(BigInt(`0x${leaf.cert.serialNumber}`)).toBe(serial)
    }
  })

  it("requires a signing key for self-signed certificates", () => {
    const key = generateKeyPair("ec-p256")
    expect(() =>
      createCertificate({ subject: { commonName: "x" }, publicKey: key.publicKey, isCA: true, validityDays: 1 })
    ).toThrow(/signingKey/)
  })

  it.each([
    ["127.0.0.1", "7f000001"],
    ["::1", "00000000000000000000000000000001"],
    ["fe80::1:2", "fe800000000000000000000000010002"],
    ["2001:db8::", "20010db8000000000000000000000000"],
    ["::ffff:10.0.0.1", "00000000000000000000ffff0a000001"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"]
  ])("encodes IP %s", (ip, hex) => {
    expect(ipAddressBytes(ip).toString("hex")).toBe(hex)
  })

  it("serves TLS that a client trusting the CA accepts, with a client certificate", async () => {
    const ca = makeCa("ec-p256")
    const serverCert = makeLeaf(ca, "ec-p256", { extKeyUsage: ["serverAuth"] })
    const clientCert = makeLeaf(ca, "rsa-2048", {
      subject: { commonName: "alice", organizations: ["devs"] },
      dnsNames: [],
      ipAddresses: [],
      extKeyUsage: ["clientAuth"]
    })
    const server = tls.createServer(
      {
        cert: serverCert.certPem,
        key: serverCert.key.privateKeyPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true
      },
      (socket) => socket.end(`hello ${socket.getPeerX509Certificate()?.subject.replace(/\n/g, ",")}`)
    )
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    try {
      const { port } = server.address() as AddressInfo
      const socket = tls.connect({
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: ca.certPem,
        cert: clientCert.certPem,
        key: clientCert.key.privateKeyPem
      })
      await once(socket, "secureConnect")
      expect(socket.authorized).toBe(true)
      let text = ""
      socket.setEncoding("utf8").on("data", (chunk: string) => {
        text += chunk
      })
      await once(socket, "end")
      expect(text).toBe("hello O=devs,CN=alice")
    } finally {
      server.close()
    }
  })

  it("fails the TLS handshake when the client does not trust the issuer", async () => {
    const ca = makeCa("ec-p256")
    const other = makeCa("ec-p256", "other-ca")
    const serverCert = makeLeaf(ca, "ec-p256")
    const server = tls.createServer({ cert: serverCert.certPem, key: serverCert.key.privateKeyPem }, (s) => s.end())
    server.listen(0, "127.0.0.1")
    await once(server, "listening")
    try {
      const { port } = server.address() as AddressInfo
      const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca: other.certPem })
      const [error] = (await once(socket, "error")) as [NodeJS.ErrnoException]
      expect(error.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE")
    } finally {
      server.close()
    }
  })
})
