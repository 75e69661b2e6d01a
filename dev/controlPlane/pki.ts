/**
 * The private PKI of a test control plane, written as files into its temp dir
 * (keys with mode 0600). Mirrors what kubeadm generates, minus etcd TLS (etcd listens on
 * loopback over plain HTTP, like envtest).
 */
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { type CertificateOptions, createCertificate, generateKeyPair, type KeyPair } from "../../src/lib/x509.ts"

const VALIDITY_DAYS = 30

export interface ClientCredentials {
  readonly certPem: string
  readonly keyPem: string
}

export interface Pki {
  readonly dir: string
  /** Cluster CA: signs the apiserver serving cert and every client cert (`--client-ca-file`). */
  readonly caPem: string
  readonly caCertPath: string
  readonly servingCertPath: string
  readonly servingKeyPath: string
  /** CN=dca-test-admin, O=system:masters. */
  readonly admin: ClientCredentials
  /** Front-proxy CA (`--requestheader-client-ca-file`) and the aggregator's client cert. */
  readonly frontProxyCaPath: string
  readonly frontProxyClientCertPath: string
  readonly frontProxyClientKeyPath: string
  /** Service-account token signing key pair. */
  readonly serviceAccountPublicKeyPath: string
  readonly serviceAccountPrivateKeyPath: string
  /** Signs a new client cert with the cluster CA: CN = user, O = groups. */
  readonly issueClientCert: (user: string, groups?: ReadonlyArray<string>) => ClientCredentials
}

export const ADMIN_USER = "dca-test-admin"
export const FRONT_PROXY_CLIENT = "front-proxy-client"

/** Host names and IPs the apiserver serving cert is valid for (10.0.0.1 = first service IP). */
const SERVING_DNS = [
  "localhost",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local"
]
const SERVING_IPS = ["127.0.0.1", "::1", "10.0.0.1"]

const selfSignedCa = (
  commonName: string,
  options: Partial<Pick<CertificateOptions, "dnsNames" | "ipAddresses" | "extKeyUsage" | "validityDays">> = {}
): { key: KeyPair; certPem: string } => {
  const key = generateKeyPair("ec-p256")
  const certPem = createCertificate({
    subject: { commonName },
    publicKey: key.publicKey,
    signingKey: key.privateKey,
    isCA: true,
    validityDays: VALIDITY_DAYS,
    ...options
  })
  return { key, certPem }
}

/**
 * A self-signed serving certificate for localhost and 127.0.0.1, valid for two days, that its
 * clients trust as its own CA (a fake server's TLS in the tests and benchmarks).
 */
export const selfSignedLocalhost = (commonName: string): { readonly keyPem: string; readonly certPem: string } => {
  const { key, certPem } = selfSignedCa(commonName, {
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    extKeyUsage: ["serverAuth"],
    validityDays: 2
  })
  return { keyPem: key.privateKeyPem, certPem }
}

export const createPki = async (dir: string): Promise<Pki> => {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const path = (file: string) => join(dir, file)
  const writeCert = (file: string, pem: string) => writeFile(path(file), pem, { mode: 0o644 })
  const writeKey = (file: string, pem: string) => writeFile(path(file), pem, { mode: 0o600 })

  const ca = selfSignedCa("dca-test-ca")
  const issuer = { certificatePem: ca.certPem, privateKey: ca.key.privateKey }

  const issueClientCert = (user: string, groups: ReadonlyArray<string> = []): ClientCredentials => {
    const key = generateKeyPair("ec-p256")
    const certPem = createCertificate({
      subject: { commonName: user, organizations: groups },
      publicKey: key.publicKey,
      issuer,
      isCA: false,
      extKeyUsage: ["clientAuth"],
      validityDays: VALIDITY_DAYS
    })
    return { certPem, keyPem: key.privateKeyPem }
  }

  const servingKey = generateKeyPair("ec-p256")
  const servingCert = createCertificate({
    subject: { commonName: "kube-apiserver" },
    publicKey: servingKey.publicKey,
    issuer,
    isCA: false,
    dnsNames: SERVING_DNS,
    ipAddresses: SERVING_IPS,
    extKeyUsage: ["serverAuth"],
    validityDays: VALIDITY_DAYS
  })

  const frontProxyCa = selfSignedCa("dca-test-front-proxy-ca")
  const frontProxyKey = generateKeyPair("ec-p256")
  const frontProxyCert = createCertificate({
    subject: { commonName: FRONT_PROXY_CLIENT },
    publicKey: frontProxyKey.publicKey,
    issuer: { certificatePem: frontProxyCa.certPem, privateKey: frontProxyCa.key.privateKey },
    isCA: false,
    extKeyUsage: ["clientAuth"],
    validityDays: VALIDITY_DAYS
  })

  // kubeadm uses RSA for the service-account signer; tokens are then RS256 like in real clusters.
  const serviceAccount = generateKeyPair("rsa-2048")

  await Promise.all([
    writeCert("ca.crt", ca.certPem),
    writeKey("ca.key", ca.key.privateKeyPem),
    writeCert("apiserver.crt", servingCert),
    writeKey("apiserver.key", servingKey.privateKeyPem),
    writeCert("front-proxy-ca.crt", frontProxyCa.certPem),
    writeCert("front-proxy-client.crt", frontProxyCert),
    writeKey("front-proxy-client.key", frontProxyKey.privateKeyPem),
    writeCert("sa.pub", serviceAccount.publicKeyPem),
    writeKey("sa.key", serviceAccount.privateKeyPem)
  ])

  return {
    dir,
    caPem: ca.certPem,
    caCertPath: path("ca.crt"),
    servingCertPath: path("apiserver.crt"),
    servingKeyPath: path("apiserver.key"),
    admin: issueClientCert(ADMIN_USER, ["system:masters"]),
    frontProxyCaPath: path("front-proxy-ca.crt"),
    frontProxyClientCertPath: path("front-proxy-client.crt"),
    frontProxyClientKeyPath: path("front-proxy-client.key"),
    serviceAccountPublicKeyPath: path("sa.pub"),
    serviceAccountPrivateKeyPath: path("sa.key"),
    issueClientCert
  }
}
