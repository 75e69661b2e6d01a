// The ConfigMap kube-system/extension-apiserver-authentication, which kube-apiserver keeps up to
// date, read into what delegated authentication needs (kubernetes-notes C5): the CAs of ordinary
// client certificates, and the front proxy's CA, allowed names and headers. List values are JSON
// arrays in strings.
import { X509Certificate } from "node:crypto"

export const authConfigMapNamespace = "kube-system"
export const authConfigMapName = "extension-apiserver-authentication"

export interface CaBundle {
  readonly pem: string
  readonly certificates: ReadonlyArray<X509Certificate>
}

export interface RequestHeaderConfig {
  readonly ca: CaBundle
  /** Client certificate CNs allowed to assert users; empty: any CN signed by the CA. */
  readonly allowedNames: ReadonlyArray<string>
  /** Header names, lower-cased. */
  readonly usernameHeaders: ReadonlyArray<string>
  readonly uidHeaders: ReadonlyArray<string>
  readonly groupHeaders: ReadonlyArray<string>
  readonly extraHeaderPrefixes: ReadonlyArray<string>
}

export interface AuthConfig {
  readonly clientCa: CaBundle | undefined
  readonly requestHeader: RequestHeaderConfig | undefined
  /** Problems found in the ConfigMap, for the log; what could be read is still used. */
  readonly problems: ReadonlyArray<string>
}

export const emptyAuthConfig: AuthConfig = { clientCa: undefined, requestHeader: undefined, problems: [] }

const pemBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** Pure: the certificates of a PEM bundle; unparseable blocks are reported. */
export const parseCaBundle = (key: string, pem: string | undefined, problems: Array<string>): CaBundle | undefined => {
  if (pem === undefined || pem.trim() === "") return undefined
  const certificates: Array<X509Certificate> = []
  for (const block of pem.match(pemBlock) ?? []) {
    try {
      certificates.push(new X509Certificate(block))
    } catch (e) {
      problems.push(`${key}: a certificate does not parse: ${(e as Error).message}`)
    }
  }
  if (certificates.length === 0) {
    problems.push(`${key}: no certificate found`)
    return undefined
  }
  return { pem: certificates.map((c) => c.toString().trim()).join("\n"), certificates }
}

const stringList = (key: string, raw: string | undefined, problems: Array<string>): ReadonlyArray<string> => {
  if (raw === undefined || raw.trim() === "") return []
  try {
    const value: unknown = JSON.parse(raw)
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value
  } catch {
    // reported below
  }
  problems.push(`${key}: expected a JSON array of strings, got ${raw.slice(0, 100)}`)
  return []
}

/** Pure: the authentication settings of the ConfigMap's data. */
export const parseAuthConfig = (data: Readonly<Record<string, string>>): AuthConfig => {
  const problems: Array<string> = []
  const clientCa = parseCaBundle("client-ca-file", data["client-ca-file"], problems)
  const frontProxyCa = parseCaBundle("requestheader-client-ca-file", data["requestheader-client-ca-file"], problems)
  const headers = (key: string) => stringList(key, data[key], problems).map((h) => h.toLowerCase())
  const requestHeader: RequestHeaderConfig | undefined =
    frontProxyCa === undefined
      ? undefined
      : {
          ca: frontProxyCa,
          allowedNames: stringList("requestheader-allowed-names", data["requestheader-allowed-names"], problems),
          usernameHeaders: headers("requestheader-username-headers"),
          uidHeaders: headers("requestheader-uid-headers"),
          groupHeaders: headers("requestheader-group-headers"),
          extraHeaderPrefixes: headers("requestheader-extra-headers-prefix")
        }
  return { clientCa, requestHeader, problems }
}

/** Pure: whether two configurations trust the same CAs (the TLS context must change when not). */
export const sameCas = (a: AuthConfig, b: AuthConfig): boolean =>
  a.clientCa?.pem === b.clientCa?.pem && a.requestHeader?.ca.pem === b.requestHeader?.ca.pem

/** The PEMs the TLS layer requests client certificates for (both bundles). */
export const trustedPems = (config: AuthConfig): ReadonlyArray<string> =>
  [config.clientCa?.pem, config.requestHeader?.ca.pem].filter((p): p is string => p !== undefined)
