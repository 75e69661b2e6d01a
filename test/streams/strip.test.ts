import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { KubeObject } from "../../src/layers/kube/types.ts"
import {
  emptyLabels,
  Interner,
  keyOf,
  meta,
  objectKey,
  record,
  shared,
  sharedLabels,
  stringMap,
  text
} from "../../src/streams/strip.ts"

/** Any value a JSON body can hold, and some it cannot (undefined, functions' absence aside). */
const anyValue = fc.oneof(fc.jsonValue(), fc.anything())
const numRuns = 500

describe("record", () => {
  it("keeps a plain object as it is, and makes everything else an empty object", () => {
    const o = { a: 1 }
    expect(record(o)).toBe(o)
    for (const v of [null, undefined, [], [1, 2], "x", "", 0, 1, true, false]) expect(record(v), String(v)).toEqual({})
  })

  it("is total and always gives a non-array object", () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        const r = record(v)
        expect(typeof r).toBe("object")
        expect(r).not.toBeNull()
        expect(Array.isArray(r)).toBe(false)
      }),
      { numRuns }
    )
  })
})

describe("text", () => {
  it("keeps strings and makes everything else empty", () => {
    expect(text("pod-1")).toBe("pod-1")
    expect(text("")).toBe("")
    for (const v of [null, undefined, 1, true, {}, ["a"], { toString: () => "x" }]) expect(text(v)).toBe("")
  })

  it("is total: a string in, the same string out; anything else, empty", () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        expect(text(v)).toBe(typeof v === "string" ? v : "")
      }),
      { numRuns }
    )
  })
})

describe("stringMap", () => {
  it("keeps only the string values", () => {
    expect(stringMap({ app: "web", tier: "", n: 1, b: true, o: { x: "y" }, a: ["z"], nil: null })).toEqual({
      app: "web",
      tier: ""
    })
  })

  it("gives the shared frozen empty labels for nothing, an empty map, or a non-map", () => {
    for (const v of [undefined, null, {}, [], "app=web", 3]) expect(stringMap(v)).toBe(emptyLabels)
    expect(Object.isFrozen(emptyLabels)).toBe(true)
    expect(emptyLabels).toEqual({})
  })

  it("never returns the map it was given (a stripped object holds no part of the raw one)", () => {
    const raw = { app: "web" }
    const labels = stringMap(raw)
    expect(labels).toEqual(raw)
    expect(labels).not.toBe(raw)
  })

  it("is total over any value", () => {
    fc.assert(
      fc.property(anyValue, (v) => {
        const out = stringMap(v)
        for (const value of Object.values(out)) expect(typeof value).toBe("string")
      }),
      { numRuns }
    )
  })

  it("keeps exactly the string entries of any map (label and annotation keys)", () => {
    // `__proto__` is left out: no label or annotation key can be it (they must start alphanumeric).
    const mapKey = fc.string().filter((k) => k !== "__proto__")
    fc.assert(
      fc.property(fc.dictionary(mapKey, fc.jsonValue()), (m) => {
        const expected = Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === "string"))
        expect(stringMap(m)).toEqual(expected)
      }),
      { numRuns }
    )
  })
})

describe("objectKey and keyOf", () => {
  const rows: ReadonlyArray<readonly [string, KubeObject, string]> = [
    ["a namespaced object", { metadata: { namespace: "default", name: "web-1" } }, "default/web-1"],
    ["a cluster-scoped object", { metadata: { name: "node-1" } }, "node-1"],
    ["an empty namespace counts as cluster-scoped", { metadata: { namespace: "", name: "node-1" } }, "node-1"],
    ["no metadata", {}, ""],
    ["metadata that is not an object", { metadata: "x" } as unknown as KubeObject, ""],
    ["metadata that is an array", { metadata: ["x"] } as unknown as KubeObject, ""],
    [
      "a namespace that is not a string",
      { metadata: { namespace: 7, name: "node-1" } } as unknown as KubeObject,
      "node-1"
    ],
    ["a name that is not a string", { metadata: { namespace: "ns", name: 7 } } as unknown as KubeObject, "ns/"]
  ]
  for (const [name, object, key] of rows) {
    it(`keyOf: ${name} → ${JSON.stringify(key)}`, () => {
      expect(keyOf(object)).toBe(key)
    })
  }

  it("objectKey is namespace/name, or the name alone without a namespace", () => {
    expect(objectKey("kube-system", "coredns")).toBe("kube-system/coredns")
    expect(objectKey("", "node-1")).toBe("node-1")
  })

  it("keys of namespaced objects split back into their namespace and name; cluster keys have no slash", () => {
    const dnsName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/)
    fc.assert(
      fc.property(fc.option(dnsName, { nil: undefined }), dnsName, (namespace, name) => {
        const key = keyOf({ metadata: namespace === undefined ? { name } : { namespace, name } })
        expect(key).toBe(namespace === undefined ? name : `${namespace}/${name}`)
        expect(key.split("/")).toEqual(namespace === undefined ? [name] : [namespace, name])
      }),
      { numRuns }
    )
  })

  it("keyOf and meta are total over any metadata", () => {
    fc.assert(
      fc.property(anyValue, anyValue, (metadata, rest) => {
        const o = { metadata, rest } as unknown as KubeObject
        expect(typeof keyOf(o)).toBe("string")
        expect(typeof meta(o)).toBe("object")
      }),
      { numRuns }
    )
  })
})

describe("Interner", () => {
  it("returns the first value given for a key", () => {
    const interner = new Interner<{ readonly v: number }>(10)
    const first = { v: 1 }
    expect(interner.get("k", first)).toBe(first)
    expect(interner.get("k", { v: 2 })).toBe(first)
    const other = { v: 3 }
    expect(interner.get("other", other)).toBe(other)
    expect(interner.get("k", { v: 4 })).toBe(first)
  })

  it("past its cap starts over: it forgets, but keeps answering with a value for the key", () => {
    const interner = new Interner<number>(2)
    expect(interner.get("a", 1)).toBe(1)
    expect(interner.get("a", 2)).toBe(1)
    expect(interner.get("b", 3)).toBe(3)
    // Full: the table starts over with "c".
    expect(interner.get("c", 4)).toBe(4)
    expect(interner.get("a", 5)).toBe(5)
    expect(interner.get("c", 6)).toBe(4)
    expect(interner.get("b", 7)).toBe(7)
  })

  it("always answers with a value given for that key, the first one until the table starts over, and stays bounded", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 200 }),
        (cap, keySeq) => {
          const interner = new Interner<{ readonly key: string; readonly n: number }>(cap)
          const firstGiven = new Map<string, { readonly key: string; readonly n: number }>()
          keySeq.forEach((k, n) => {
            const key = `k${k}`
            const value = { key, n }
            if (!firstGiven.has(key)) firstGiven.set(key, value)
            const got = interner.get(key, value)
            // Never a value given for another key.
            expect(got.key).toBe(key)
            expect(got.n).toBeLessThanOrEqual(n)
            // While no more keys than the cap were ever seen, nothing was forgotten.
            if (firstGiven.size <= cap) expect(got).toBe(firstGiven.get(key))
            // Bounded: the table never holds more than its cap (read through the private field).
            // biome-ignore lint/complexity/useLiteralKeys: `table` is private; bracket access is the escape hatch
            expect(interner["table"].size).toBeLessThanOrEqual(cap)
          })
        }
      ),
      { numRuns }
    )
  })
})

describe("shared and sharedLabels", () => {
  // The tables are module-wide: values unique to this run keep the tests independent.
  const unique = `t${Date.now()}-${Math.random()}`

  it("shared gives back an equal string", () => {
    expect(shared(`${unique}-ns`)).toBe(`${unique}-ns`)
    expect(shared("")).toBe("")
  })

  it("sharedLabels gives one frozen copy per distinct label set", () => {
    const first = { app: `${unique}-web`, tier: "front" }
    const got = sharedLabels(first)
    expect(got).toEqual({ app: `${unique}-web`, tier: "front" })
    expect(Object.isFrozen(got)).toBe(true)
    // An equal set from another object (another JSON.parse) is the same copy.
    expect(sharedLabels({ app: `${unique}-web`, tier: "front" })).toBe(got)
    // A different set is not.
    const other = sharedLabels({ app: `${unique}-web`, tier: "back" })
    expect(other).toEqual({ app: `${unique}-web`, tier: "back" })
    expect(other).not.toBe(got)
  })

  it("sharedLabels of no labels is the shared empty set", () => {
    expect(sharedLabels({})).toBe(emptyLabels)
  })

  it("sharedLabels always gives back equal labels", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => k !== "__proto__"),
          fc.string()
        ),
        (m) => {
          const labels = { ...m, [unique]: "x" }
          expect(sharedLabels({ ...labels })).toEqual(labels)
          expect(sharedLabels({ ...labels })).toBe(sharedLabels({ ...labels }))
        }
      ),
      { numRuns }
    )
  })
})
