/** A tiny PKI for the authentication tests: CAs and client certificates issued by them. */
import { X509Certificate } from "node:crypto"
import { createCertificate, generateKeyPair, type KeyPair } from "../../../src/lib/x509.ts"
import type { PeerCertificate } from "../../../src/services/externalMetricsApi/authenticate.ts"

export interface Ca {
  readonly certPem: string
  readonly key: KeyPair
}

export interface ClientCert {
  readonly certPem: string
  readonly keyPem: string
  readonly x509: X509Certificate
}

export const makeCa = (commonName: string): Ca => {
  const key = generateKeyPair("ec-p256")
  const certPem = createCertificate({
    subject: { commonName },
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    isCA: true,
    validityDays: 30
  })
  return { certPem, key }
}

/** A client certificate issued by `ca`, or self-signed when `ca` is omitted. */
export const issueClient = (commonName: string, organizations: ReadonlyArray<string> = [], ca?: Ca): ClientCert => {
  const key = generateKeyPair("ec-p256")
  const certPem = createCertificate({
    subject: { commonName, organizations: [...organizations] },
    publicKey: key.publicKey,
    ...(ca === undefined
      ? { signingKey: key.privateKey }
      : { issuer: { certificatePem: ca.certPem, privateKey: ca.key.privateKey } }),
    isCA: false,
    extKeyUsage: ["clientAuth"],
    validityDays: 30
  })
  return { certPem, keyPem: key.privateKeyPem, x509: new X509Certificate(certPem) }
}

/** The peer as the TLS layer reports it after a handshake that (did not) verify. */
export const peerOf = (
  cert: ClientCert,
  organizations: ReadonlyArray<string> = [],
  authorized = true,
  issuers: ReadonlyArray<Ca> = []
): PeerCertificate => ({
  authorized,
  commonName: cert.x509.subject.match(/CN=([^\n]*)/)?.[1] ?? "",
  organizations,
  chain: [cert.x509, ...issuers.map((ca) => new X509Certificate(ca.certPem))]
})
