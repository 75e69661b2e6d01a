// Pure: decoding of a watch response body. The API server writes one JSON event per line
// (`{"type":"ADDED","object":{...}}\n`) and flushes after each, but TCP chunks cut lines
// anywhere: in the middle of a multi-byte character, or a 1 MB object over many chunks.
// Lines are split on the newline byte (0x0A never occurs inside a UTF-8 sequence) and only
// complete lines are decoded as text, so a character cut in two is never mangled.
import type { StatusLike } from "./errors.ts"
import type { KubeObject, WatchEvent, WatchEventType } from "./types.ts"

const newline = 0x0a

/** Splits a byte stream into lines. Feed chunks with `push`, then call `end` once. */
export class LineSplitter {
  // Bytes of the line being assembled, kept as pieces so a big line costs one concatenation.
  private pending: Array<Uint8Array> = []

  push(chunk: Uint8Array): Array<string> {
    const lines: Array<string> = []
    let start = 0
    for (let i = chunk.indexOf(newline); i !== -1; i = chunk.indexOf(newline, start)) {
      this.pending.push(chunk.subarray(start, i))
      lines.push(this.take())
      start = i + 1
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start))
    return lines
  }

  /** The last line when the body did not end with a newline. */
  end(): Array<string> {
    return this.pending.length === 0 ? [] : [this.take()]
  }

  private take(): string {
    const pieces = this.pending
    this.pending = []
    const bytes = pieces.length === 1 ? (pieces[0] as Uint8Array) : Buffer.concat(pieces)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")
  }
}

/** What one watch line means. */
export type WatchLine<T = KubeObject> =
  | { readonly _tag: "Event"; readonly event: WatchEvent<T> }
  | { readonly _tag: "Error"; readonly status: StatusLike }
  | { readonly _tag: "Skip" }
  | { readonly _tag: "Malformed"; readonly problem: string }

const eventTypes: ReadonlySet<string> = new Set<WatchEventType>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK"])

const excerpt = (line: string): string => (line.length > 200 ? `${line.slice(0, 200)}...` : line)

/**
 * Pure: one line of a watch body. Blank lines carry nothing (`Skip`); anything else that is
 * not an event of a known type with an object is `Malformed` and must end the watch.
 */
export const parseWatchLine = <T = KubeObject>(line: string): WatchLine<T> => {
  if (line.trim() === "") return { _tag: "Skip" }
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (e) {
    return { _tag: "Malformed", problem: `invalid JSON (${(e as Error).message}): ${excerpt(line)}` }
  }
  if (typeof value !== "object" || value === null) {
    return { _tag: "Malformed", problem: `not a watch event: ${excerpt(line)}` }
  }
  const { type, object } = value as { type?: unknown; object?: unknown }
  if (typeof object !== "object" || object === null) {
    return { _tag: "Malformed", problem: `watch event without an object: ${excerpt(line)}` }
  }
  if (type === "ERROR") return { _tag: "Error", status: object as StatusLike }
  if (typeof type !== "string" || !eventTypes.has(type)) {
    return { _tag: "Malformed", problem: `unknown watch event type ${JSON.stringify(type)}` }
  }
  return { _tag: "Event", event: { type: type as WatchEventType, object: object as T } }
}
