import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { LineSplitter, parseWatchLine } from "../../../src/layers/kube/watchDecoder.ts"

/** Cuts `bytes` at the given offsets (any order, duplicates allowed). */
const cut = (bytes: Uint8Array, offsets: ReadonlyArray<number>): Array<Uint8Array> => {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let start = 0
  for (const p of points) {
    chunks.push(bytes.subarray(start, p))
    start = p
  }
  chunks.push(bytes.subarray(start))
  return chunks
}

const splitAll = (chunks: ReadonlyArray<Uint8Array>): Array<string> => {
  const splitter = new LineSplitter()
  return [...chunks.flatMap((c) => splitter.push(c)), ...splitter.end()]
}

const eventLine = fc
  .record({
    type: fc.constantFrom("ADDED", "MODIFIED", "DELETED", "BOOKMARK"),
    // Full Unicode, so multi-byte characters get cut between chunks.
    name: fc.string({ unit: "grapheme", maxLength: 40 }),
    data: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ unit: "binary", maxLength: 30 }), { maxKeys: 4 })
  })
  .map(({ type, name, data }) => JSON.stringify({ type, object: { metadata: { name }, data } }))

describe("LineSplitter", () => {
  it("any chunking of a body yields the same lines", () => {
    fc.assert(
      fc.property(
        fc.array(eventLine, { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 30 }),
        (lines, finalNewline, offsets) => {
          const body = Buffer.from(lines.join("\n") + (finalNewline ? "\n" : ""), "utf8")
          const got = splitAll(cut(body, offsets))
          expect(got).toEqual(lines)
          expect(got.map((l) => parseWatchLine(l))).toEqual(lines.map((l) => parseWatchLine(l)))
        }
      )
    )
  })

  it("joins a 1 MB line that arrives in 16 KB chunks", () => {
    const big = JSON.stringify({ type: "ADDED", object: { data: { blob: "é".repeat(512 * 1024) } } })
    const body = Buffer.from(`${big}\n{"type":"DELETED","object":{}}`, "utf8")
    const offsets = Array.from({ length: Math.ceil(body.length / 16384) }, (_, i) => i * 16384 + 1)
    const lines = splitAll(cut(body, offsets))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toBe(big)
    expect(parseWatchLine(lines[1] ?? "")).toEqual({ _tag: "Event", event: { type: "DELETED", object: {} } })
  })

  it("emits nothing for an empty body", () => {
    expect(splitAll([])).toEqual([])
    expect(splitAll([new Uint8Array(0)])).toEqual([])
  })
})

describe("parseWatchLine", () => {
  it("decodes events", () => {
    expect(parseWatchLine('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}')).toEqual({
      _tag: "Event",
      event: { type: "BOOKMARK", object: { metadata: { resourceVersion: "7" } } }
    })
  })

  it("returns the Status of an ERROR event", () => {
    const line = '{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}'
    expect(parseWatchLine(line)).toEqual({
      _tag: "Error",
      status: { kind: "Status", code: 410, reason: "Expired", message: "too old" }
    })
  })

  it("skips blank lines", () => {
    expect(parseWatchLine("")).toEqual({ _tag: "Skip" })
    expect(parseWatchLine("  \r")).toEqual({ _tag: "Skip" })
  })

  it.each([
    ['{"type":"ADDED","object":', "invalid JSON"],
    ["[1,2]", "without an object"],
    ['"ADDED"', "not a watch event"],
    ['{"type":"ADDED"}', "without an object"],
    ['{"type":"RENAMED","object":{}}', "unknown watch event type"],
    ['{"object":{}}', "unknown watch event type"]
  ])("%s is malformed (%s)", (line, problem) => {
    const parsed = parseWatchLine(line)
    expect(parsed._tag).toBe("Malformed")
    expect(parsed._tag === "Malformed" ? parsed.problem : "").toContain(problem)
  })
})
