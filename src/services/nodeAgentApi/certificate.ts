// The command port's TLS certificate. Node agents do not verify it by default (trust rides on the
// bearer token), so a fresh self-signed certificate per start serves them; with
// DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH/_CA_KEY_FILE_PATH set, the certificate is issued by
// that cluster CA instead, for node agents that verify it (cluster_trust_chain).
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { ClusterAgentConfigShape } from "../../layers/Config.ts"
import { createCertificate, generateKeyPair } from "../../lib/x509.ts"

export class CertificateError extends Schema.TaggedError<CertificateError>()("CertificateError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}

export interface ServingCertificate {
  readonly certPem: string
  readonly keyPem: string
  readonly dnsNames: ReadonlyArray<string>
  readonly ipAddresses: ReadonlyArray<string>
}

/** The names the agent is reached by: localhost, its host name, and its Service's DNS names. */
export const servingNames = (
  config: Pick<ClusterAgentConfigShape, "serviceName" | "podNamespace" | "effectiveHostname">
) => {
  const svc = config.serviceName
  const ns = config.podNamespace
  return [
    ...new Set([
      "localhost",
      config.effectiveHostname,
      svc,
      `${svc}.${ns}`,
      `${svc}.${ns}.svc`,
      `${svc}.${ns}.svc.cluster.local`
    ])
  ].filter((n) => /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(n))
}

/** Loopback and this pod's addresses. */
export const servingAddresses = (): ReadonlyArray<string> => {
  const own = Object.values(Os.networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && !i.internal)
    .map((i) => (i as Os.NetworkInterfaceInfo).address.split("%")[0] as string)
  return [...new Set(["127.0.0.1", "::1", ...own])]
}

const readPem = (file: string, variable: string) =>
  Effect.try({
    try: () => Fs.readFileSync(file, "utf8"),
    catch: (e) => new CertificateError({ detail: `${variable}=${file}: cannot read: ${(e as Error).message}` })
  })

export const makeServingCertificate = (
  config: ClusterAgentConfigShape
): Effect.Effect<ServingCertificate, CertificateError> =>
  Effect.gen(function* () {
    const dnsNames = servingNames(config)
    const ipAddresses = servingAddresses()
    const keys = generateKeyPair("ec-p256")
    const common = {
      subject: { commonName: config.serviceName, organizations: ["Datadog, Inc."] },
      publicKey: keys.publicKey,
      isCA: false,
      dnsNames,
      ipAddresses,
      extKeyUsage: ["serverAuth", "clientAuth"] as const
    }
    if (config.clusterTrustChainCaCert === "") {
      const certPem = createCertificate({ ...common, signingKey: keys.privateKey, validityDays: 3650 })
      return { certPem, keyPem: keys.privateKeyPem, dnsNames, ipAddresses }
    }
    const caPem = yield* readPem(config.clusterTrustChainCaCert, "DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH")
    const caKeyPem = yield* readPem(config.clusterTrustChainCaKey, "DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH")
    const caKey = yield* Effect.try({
      try: () => Crypto.createPrivateKey(caKeyPem),
      catch: (e) =>
        new CertificateError({
          detail: `DD_CLUSTER_TRUST_CHAIN_CA_KEY_FILE_PATH=${config.clusterTrustChainCaKey}: not a private key: ${(e as Error).message}`
        })
    })
    const certPem = yield* Effect.try({
      try: () => {
        const ca = new Crypto.X509Certificate(caPem)
        if (!ca.checkPrivateKey(caKey)) throw new Error("the CA key does not match the CA certificate")
        return createCertificate({ ...common, issuer: { certificatePem: caPem, privateKey: caKey }, validityDays: 365 })
      },
      catch: (e) =>
        new CertificateError({
          detail: `DD_CLUSTER_TRUST_CHAIN_CA_CERT_FILE_PATH=${config.clusterTrustChainCaCert}: ${(e as Error).message}`
        })
    })
    // Serve the chain so verifying clients that only hold the root can build the path.
    return { certPem: `${certPem.trimEnd()}\n${caPem.trim()}\n`, keyPem: keys.privateKeyPem, dnsNames, ipAddresses }
  })
