/**
 * Minimal X.509 v3 certificate generator on `node:crypto` only.
 *
 * Node can parse and verify certificates (`crypto.X509Certificate`) but cannot create them,
 * so this module writes the DER by hand (ITU-T X.690) for exactly what a small private PKI
 * needs: CA certificates, TLS serving certificates and TLS client certificates.
 * Supported keys: ECDSA P-256 (signed with ecdsa-with-SHA256) and RSA (sha256WithRSAEncryption).
 */
import * as crypto from "node:crypto"
import { isIPv4, isIPv6 } from "node:net"

// ---------------------------------------------------------------------------------------
// DER writer
// ---------------------------------------------------------------------------------------

const tlv = (tag: number, content: Uint8Array): Buffer => {
  const n = content.length
  let header: number[]
  if (n < 0x80) {
    header = [tag, n]
  } else {
    const lengthBytes: number[] = []
    for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) lengthBytes.unshift(rest & 0xff)
    header = [tag, 0x80 | lengthBytes.length, ...lengthBytes]
  }
  return Buffer.concat([Buffer.from(header), content])
}

const sequence = (...items: ReadonlyArray<Uint8Array>): Buffer => tlv(0x30, Buffer.concat(items))
const set = (...items: ReadonlyArray<Uint8Array>): Buffer => tlv(0x31, Buffer.concat(items))
const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]))
const nullValue = (): Buffer => tlv(0x05, Buffer.alloc(0))
const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes)
const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, "utf8"))
/** BIT STRING whose last `unusedBits` bits (of the last byte) are padding. */
const bitString = (bytes: Uint8Array, unusedBits = 0): Buffer =>
  tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]))
/** `[n] EXPLICIT`: a constructed context tag wrapping a complete element. */
const explicit = (n: number, element: Uint8Array): Buffer => tlv(0xa0 | n, element)
/** `[n] IMPLICIT` on a primitive type: the context tag replaces the type's own tag. */
const implicitPrimitive = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content)

/** INTEGER from a non-negative big-endian magnitude (minimal two's complement encoding). */
const unsignedInteger = (magnitude: Uint8Array): Buffer => {
  let start = 0
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++
  const trimmed = Buffer.from(magnitude.subarray(start))
  const needsPad = trimmed.length === 0 || (trimmed[0] ?? 0) & 0x80
  return tlv(0x02, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed)
}

const bigintToBytes = (value: bigint): Buffer => {
  const hex = value.toString(16)
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, "hex")
}

/** OBJECT IDENTIFIER from dotted notation, e.g. "2.5.4.3". */
const oid = (dotted: string): Buffer => {
  const arcs = dotted.split(".").map((arc) => Number.parseInt(arc, 10))
  const [first = 0, second = 0, ...rest] = arcs
  const bytes: number[] = [first * 40 + second]
  for (const arc of rest) {
    const base128: number[] = [arc & 0x7f]
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) {
      base128.unshift((value & 0x7f) | 0x80)
    }
    bytes.push(...base128)
  }
  return tlv(0x06, Buffer.from(bytes))
}

/** RFC 5280 4.1.2.5: UTCTime for years 1950-2049, GeneralizedTime otherwise; always UTC, seconds precision. */
const time = (date: Date): Buffer => {
  const pad = (n: number) => String(n).padStart(2, "0")
  const year = date.getUTCFullYear()
  const rest = `${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`
  return year >= 1950 && year < 2050
    ? tlv(0x17, Buffer.from(`${pad(year % 100)}${rest}`, "ascii"))
    : tlv(0x18, Buffer.from(`${year}${rest}`, "ascii"))
}

// ---------------------------------------------------------------------------------------
// DER reader (just enough to take fields out of an issuer certificate and a public key)
// ---------------------------------------------------------------------------------------

interface Element {
  readonly tag: number
  /** Offset of the tag byte. */
  readonly start: number
  /** Offset of the first content byte. */
  readonly contentStart: number
  /** Offset just past the element. */
  readonly end: number
}

const readElement = (der: Buffer, offset: number): Element => {
  const tag = der[offset]
  const first = der[offset + 1]
  if (tag === undefined || first === undefined) throw new Error("x509: truncated DER")
  let length = first
  let contentStart = offset + 2
  if (first & 0x80) {
    const count = first & 0x7f
    length = 0
    for (let i = 0; i < count; i++) length = length * 256 + (der[contentStart + i] ?? 0)
    contentStart += count
  }
  const end = contentStart + length
  if (end > der.length) throw new Error("x509: truncated DER")
  return { tag, start: offset, contentStart, end }
}

const childrenOf = (der: Buffer, parent: Element): Element[] => {
  const children: Element[] = []
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readElement(der, offset)
    children.push(child)
    offset = child.end
  }
  return children
}

const child = (der: Buffer, parent: Element, index: number): Element => {
  const found = childrenOf(der, parent)[index]
  if (!found) throw new Error("x509: unexpected certificate structure")
  return found
}

/** The raw subject Name and the SubjectKeyIdentifier (when present) of a DER certificate. */
const readIssuerFields = (certificateDer: Buffer): { subject: Buffer; keyIdentifier: Buffer | undefined } => {
  const tbs = child(certificateDer, readElement(certificateDer, 0), 0)
  const fields = childrenOf(certificateDer, tbs)
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, spki, ...extensions
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0
  const subject = fields[offset + 4]
  if (!subject) throw new Error("x509: issuer certificate has no subject")
  let keyIdentifier: Buffer | undefined
  const extensionsWrapper = fields.find((field) => field.tag === 0xa3)
  if (extensionsWrapper) {
    for (const extension of childrenOf(certificateDer, child(certificateDer, extensionsWrapper, 0))) {
      const parts = childrenOf(certificateDer, extension)
      const [id] = parts
      const value = parts[parts.length - 1]
      if (id && value && certificateDer.subarray(id.start, id.end).equals(OID.subjectKeyIdentifier)) {
        const inner = readElement(certificateDer, value.contentStart) // OCTET STRING inside extnValue
        keyIdentifier = certificateDer.subarray(inner.contentStart, inner.end)
      }
    }
  }
  return { subject: certificateDer.subarray(subject.start, subject.end), keyIdentifier }
}

// ---------------------------------------------------------------------------------------
// Certificate building blocks
// ---------------------------------------------------------------------------------------

const OID = {
  commonName: oid("2.5.4.3"),
  organization: oid("2.5.4.10"),
  basicConstraints: oid("2.5.29.19"),
  keyUsage: oid("2.5.29.15"),
  extKeyUsage: oid("2.5.29.37"),
  subjectAltName: oid("2.5.29.17"),
  subjectKeyIdentifier: oid("2.5.29.14"),
  authorityKeyIdentifier: oid("2.5.29.35"),
  serverAuth: oid("1.3.6.1.5.5.7.3.1"),
  clientAuth: oid("1.3.6.1.5.5.7.3.2"),
  ecdsaWithSha256: oid("1.2.840.10045.4.3.2"),
  sha256WithRsa: oid("1.2.840.113549.1.1.11")
}

/** Subject / issuer distinguished name: one RDN per organization, then the common name. */
export interface DistinguishedName {
  readonly commonName: string
  /** Kubernetes reads these as the user's groups. */
  readonly organizations?: ReadonlyArray<string>
}

const name = (dn: DistinguishedName): Buffer =>
  sequence(
    ...(dn.organizations ?? []).map((org) => set(sequence(OID.organization, utf8String(org)))),
    set(sequence(OID.commonName, utf8String(dn.commonName)))
  )

const extension = (id: Buffer, critical: boolean, value: Buffer): Buffer =>
  critical ? sequence(id, boolean(true), octetString(value)) : sequence(id, octetString(value))

/** KeyUsage bits (RFC 5280 4.2.1.3), bit 0 = most significant bit of the first byte. */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const

const keyUsage = (bits: ReadonlyArray<number>): Buffer => {
  let byte = 0
  for (const bit of bits) byte |= 0x80 >> bit
  // DER: trailing zero bits of a named bit list are dropped and counted as unused.
  let unused = 0
  while (unused < 7 && (byte & (1 << unused)) === 0) unused++
  return bitString(Buffer.from([byte]), unused)
}

/** IPv4 (4 bytes) or IPv6 (16 bytes, `::` and a dotted IPv4 tail allowed) in network order. */
export const ipAddressBytes = (address: string): Buffer => {
  if (isIPv4(address)) return Buffer.from(address.split(".").map((part) => Number.parseInt(part, 10)))
  if (!isIPv6(address)) throw new Error(`x509: not an IP address: ${address}`)
  const groupsOf = (part: string): number[] => {
    if (part === "") return []
    const groups: number[] = []
    for (const piece of part.split(":")) {
      if (isIPv4(piece)) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split(".").map((n) => Number.parseInt(n, 10))
        groups.push((a << 8) | b, (c << 8) | d)
      } else {
        groups.push(Number.parseInt(piece, 16))
      }
    }
    return groups
  }
  const [head = "", tail] = address.split("::")
  const left = groupsOf(head)
  const right = tail === undefined ? [] : groupsOf(tail)
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
  const bytes = Buffer.alloc(16)
  for (const [i, group] of groups.entries()) bytes.writeUInt16BE(group, i * 2)
  return bytes
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
const keyIdentifierOf = (publicKey: crypto.KeyObject): Buffer => {
  const spki = publicKey.export({ type: "spki", format: "der" })
  const bits = child(spki, readElement(spki, 0), 1)
  return crypto
    .createHash("sha1")
    .update(spki.subarray(bits.contentStart + 1, bits.end))
    .digest()
}

const signatureAlgorithm = (key: crypto.KeyObject): Buffer => {
  switch (key.asymmetricKeyType) {
    case "ec":
      return sequence(OID.ecdsaWithSha256) // parameters absent (RFC 5758)
    case "rsa":
      return sequence(OID.sha256WithRsa, nullValue()) // parameters NULL (RFC 4055)
    default:
      throw new Error(`x509: unsupported signing key type ${key.asymmetricKeyType}`)
  }
}

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

export type KeyKind = "ec-p256" | "rsa-2048"

export interface KeyPair {
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"), accepted by Go's and Node's TLS stacks. */
  readonly privateKeyPem: string
  /** SPKI PEM ("BEGIN PUBLIC KEY"). */
  readonly publicKeyPem: string
  readonly privateKey: crypto.KeyObject
  readonly publicKey: crypto.KeyObject
}

export const generateKeyPair = (kind: KeyKind): KeyPair => {
  const { privateKey, publicKey } =
    kind === "ec-p256"
      ? crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
      : crypto.generateKeyPairSync("rsa", { modulusLength: 2048 })
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKey,
    publicKey
  }
}

export type ExtKeyUsage = "serverAuth" | "clientAuth"

export interface CertificateOptions {
  readonly subject: DistinguishedName
  /** The key the certificate is issued for. */
  readonly publicKey: crypto.KeyObject
  /** The CA that signs the certificate. Omit for a self-signed certificate. */
  readonly issuer?: { readonly certificatePem: string; readonly privateKey: crypto.KeyObject }
  /** Private key matching `publicKey`; required (and only used) when self-signed. */
  readonly signingKey?: crypto.KeyObject
  readonly isCA: boolean
  readonly dnsNames?: ReadonlyArray<string>
  readonly ipAddresses?: ReadonlyArray<string>
  readonly extKeyUsage?: ReadonlyArray<ExtKeyUsage>
  readonly validityDays: number
  /** Positive serial number; random 127-bit by default. */
  readonly serial?: bigint
  /** Start of validity; defaults to five minutes ago to tolerate clock skew. */
  readonly notBefore?: Date
}

/** Creates an X.509 v3 certificate and returns it as PEM. */
export const createCertificate = (options: CertificateOptions): string => {
  const signingKey = options.issuer?.privateKey ?? options.signingKey
  if (!signingKey) throw new Error("x509: a self-signed certificate needs signingKey")

  const issuerFields = options.issuer
    ? readIssuerFields(new crypto.X509Certificate(options.issuer.certificatePem).raw)
    : undefined
  const subjectName = name(options.subject)
  const subjectKeyId = keyIdentifierOf(options.publicKey)
  const authorityKeyId = issuerFields
    ? (issuerFields.keyIdentifier ?? keyIdentifierOf(crypto.createPublicKey(signingKey)))
    : subjectKeyId

  const serial = options.serial ?? (BigInt(`0x${crypto.randomBytes(16).toString("hex")}`) >> 1n) | 1n
  if (serial <= 0n) throw new Error("x509: serial must be positive")
  const notBefore = options.notBefore ?? new Date(Date.now() - 5 * 60_000)
  const notAfter = new Date(notBefore.getTime() + options.validityDays * 86_400_000)

  const usage = options.isCA
    ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]
    : options.publicKey.asymmetricKeyType === "rsa"
      ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]
      : [KEY_USAGE.digitalSignature]

  const altNames = [
    ...(options.dnsNames ?? []).map((dns) => implicitPrimitive(2, Buffer.from(dns, "ascii"))), // dNSName
    ...(options.ipAddresses ?? []).map((ip) => implicitPrimitive(7, ipAddressBytes(ip))) // iPAddress
  ]

  const extensions = [
    extension(OID.basicConstraints, true, options.isCA ? sequence(boolean(true)) : sequence()),
    extension(OID.keyUsage, true, keyUsage(usage)),
    ...(options.extKeyUsage?.length
      ? [extension(OID.extKeyUsage, false, sequence(...options.extKeyUsage.map((usage) => OID[usage])))]
      : []),
    ...(altNames.length ? [extension(OID.subjectAltName, false, sequence(...altNames))] : []),
    extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyId)),
    extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, authorityKeyId)))
  ]

  const algorithm = signatureAlgorithm(signingKey)
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.from([2]))), // version v3
    unsignedInteger(bigintToBytes(serial)),
    algorithm,
    issuerFields ? issuerFields.subject : subjectName,
    sequence(time(notBefore), time(notAfter)),
    subjectName,
    options.publicKey.export({ type: "spki", format: "der" }),
    explicit(3, sequence(...extensions))
  )
  // For EC keys node produces the DER Ecdsa-Sig-Value X.509 expects; for RSA PKCS#1 v1.5.
  const signature = crypto.sign("sha256", tbs, signingKey)
  const der = sequence(tbs, algorithm, bitString(signature))

  const base64 = der.toString("base64").replace(/.{1,64}/g, "$&\n")
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`
}
