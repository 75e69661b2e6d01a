// The client certificate of a TLS connection as authentication reads it. Read once per
// connection (the aggregator keeps its connections open), so requests pay nothing for it.
import { X509Certificate } from "node:crypto"
import type { DetailedPeerCertificate, TLSSocket } from "node:tls"
import type { PeerCertificate } from "./authenticate.ts"

const values = (field: unknown): ReadonlyArray<string> =>
  typeof field === "string" ? [field] : Array.isArray(field) ? field.filter((v) => typeof v === "string") : []

const cache = new WeakMap<TLSSocket, PeerCertificate | null>()

const read = (socket: TLSSocket): PeerCertificate | undefined => {
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate | null
  if (leaf === null || leaf.raw === undefined) return undefined
  const chain: Array<X509Certificate> = []
  const seen = new Set<string>()
  for (let c: DetailedPeerCertificate | undefined = leaf; c?.raw !== undefined; c = c.issuerCertificate) {
    if (seen.has(c.fingerprint256)) break
    seen.add(c.fingerprint256)
    chain.push(new X509Certificate(c.raw))
  }
  const subject = leaf.subject as unknown as Record<string, unknown> | undefined
  const commonNames = values(subject?.CN)
  return {
    authorized: socket.authorized,
    // Go's pkix keeps the last CN of the subject.
    commonName: commonNames[commonNames.length - 1] ?? "",
    organizations: values(subject?.O),
    chain
  }
}

/** The connection's client certificate, or undefined when it sent none. */
export const peerCertificate = (socket: TLSSocket): PeerCertificate | undefined => {
  const known = cache.get(socket)
  if (known !== undefined) return known ?? undefined
  const peer = read(socket)
  cache.set(socket, peer ?? null)
  return peer
}
