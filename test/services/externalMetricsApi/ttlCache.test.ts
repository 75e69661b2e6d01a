import { describe, expect, it } from "@effect/vitest"
import { makeTtlCache } from "../../../src/services/externalMetricsApi/ttlCache.ts"

const setup = (maxEntries = 100, ttlMs: (v: string) => number = () => 1_000) => {
  let clock = 0
  const computed: Array<string> = []
  const cache = makeTtlCache<string>({ ttlMs, maxEntries, now: () => clock })
  const get = (key: string) =>
    cache.get(key, async () => {
      computed.push(key)
      return `v-${key}`
    })
  return {
    cache,
    get,
    computed,
    tick: (ms: number) => {
      clock += ms
    }
  }
}

describe("makeTtlCache", () => {
  it("keeps a value until its TTL has passed", async () => {
    const t = setup()
    expect(await t.get("a")).toBe("v-a")
    t.tick(999)
    expect(await t.get("a")).toBe("v-a")
    t.tick(1)
    expect(await t.get("a")).toBe("v-a")
    expect(t.computed).toEqual(["a", "a"])
  })

  it("does not keep values whose TTL is not positive", async () => {
    const t = setup(100, (v) => (v === "v-skip" ? 0 : 1_000))
    await t.get("skip")
    await t.get("skip")
    expect(t.computed).toEqual(["skip", "skip"])
    expect(t.cache.size()).toBe(0)
  })

  it("holds at most maxEntries, dropping the oldest", async () => {
    const t = setup(2)
    await t.get("a")
    await t.get("b")
    await t.get("c")
    expect(t.cache.size()).toBe(2)
    await t.get("b")
    await t.get("c")
    expect(t.computed).toEqual(["a", "b", "c"])
    await t.get("a")
    expect(t.computed).toEqual(["a", "b", "c", "a"])
  })

  it("shares one computation among concurrent callers, and forgets failures", async () => {
    let calls = 0
    let release: (v: string) => void = () => undefined
    const t = setup()
    const slow = () =>
      t.cache.get("k", () => {
        calls++
        return new Promise<string>((resolve) => {
          release = resolve
        })
      })
    const both = Promise.all([slow(), slow()])
    release("done")
    expect(await both).toEqual(["done", "done"])
    expect(calls).toBe(1)

    const failing = () =>
      t.cache.get("f", () => {
        calls++
        throw new Error("boom")
      })
    await expect(failing()).rejects.toThrow("boom")
    await expect(failing()).rejects.toThrow("boom")
    expect(calls).toBe(3)
  })
})
