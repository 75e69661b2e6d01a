/**
 * Request bodies as Datadog reads them: Content-Encoding (gzip, deflate, zstd) undone first,
 * then JSON parsed, multipart forms split into fields and files, anything else kept as text.
 */
import * as zlib from "node:zlib"

export interface UploadedFile {
  readonly filename: string
  readonly contentType: string
  readonly bytes: Buffer
}

export interface FormBody {
  readonly fields: Readonly<Record<string, string>>
  readonly files: Readonly<Record<string, UploadedFile>>
}

export interface DecodedBody {
  readonly raw: Buffer
  readonly body: unknown
  readonly error?: string
}

const inflate = (bytes: Buffer): Buffer => {
  try {
    return zlib.inflateSync(bytes)
  } catch {
    return zlib.inflateRawSync(bytes) // some clients send raw deflate without the zlib wrapper
  }
}

const decoders: Record<string, (bytes: Buffer) => Buffer> = {
  gzip: (bytes) => zlib.gunzipSync(bytes),
  "x-gzip": (bytes) => zlib.gunzipSync(bytes),
  deflate: inflate,
  zstd: (bytes) => zlib.zstdDecompressSync(bytes),
  zstd1: (bytes) => zlib.zstdDecompressSync(bytes), // what @datadog/datadog-api-client sends for zstd
  identity: (bytes) => bytes
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** Undoes each listed Content-Encoding, last applied first. */
const decodeContent = (bytes: Buffer, contentEncoding: string | undefined): Buffer => {
  const codings = (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "")
  let out = bytes
  for (const coding of codings.reverse()) {
    const decode = decoders[coding]
    if (decode === undefined) throw new Error(`unsupported Content-Encoding "${coding}"`)
    try {
      out = decode(out)
    } catch (error) {
      throw new Error(`body is not valid ${coding}: ${message(error)}`)
    }
  }
  return out
}

const parseForm = async (bytes: Buffer, contentType: string): Promise<FormBody> => {
  const form = await new Request("http://fake.invalid/", {
    method: "POST",
    headers: { "content-type": contentType },
    body: new Uint8Array(bytes)
  }).formData()
  const fields: Record<string, string> = {}
  const files: Record<string, UploadedFile> = {}
  for (const [name, value] of form.entries()) {
    if (typeof value === "string") fields[name] = value
    else
      files[name] = {
        filename: value.name,
        contentType: value.type,
        bytes: Buffer.from(await value.arrayBuffer())
      }
  }
  return { fields, files }
}

export const decodeBody = async (
  bytes: Buffer,
  headers: Readonly<Record<string, string | undefined>>
): Promise<DecodedBody> => {
  let raw: Buffer
  try {
    raw = decodeContent(bytes, headers["content-encoding"])
  } catch (error) {
    return { raw: bytes, body: undefined, error: message(error) }
  }
  if (raw.length === 0) return { raw, body: undefined }
  const contentType = (headers["content-type"] ?? "").toLowerCase()
  if (contentType.startsWith("multipart/form-data")) {
    try {
      return { raw, body: await parseForm(raw, headers["content-type"] ?? "") }
    } catch (error) {
      return { raw, body: undefined, error: `malformed multipart form: ${message(error)}` }
    }
  }
  const text = raw.toString("utf8")
  if (contentType === "" || contentType.includes("json")) {
    try {
      return { raw, body: JSON.parse(text) }
    } catch (error) {
      if (contentType !== "") return { raw, body: text, error: `malformed JSON: ${message(error)}` }
    }
  }
  return { raw, body: text }
}
