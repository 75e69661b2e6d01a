// Building blocks for the strippers features declare next to themselves (what each keeps of a
// watched object). Total by construction: a missing or mistyped field becomes an empty value,
// never an exception, so one odd object cannot stop a watch. Plain functions, no Effect.
import type { KubeObject } from "../layers/kube/types.ts"

export type Labels = Readonly<Record<string, string>>

export const emptyLabels: Labels = Object.freeze({})

/** The value as a plain object, or an empty one. */
export const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** The value as a string, or "". */
export const text = (value: unknown): string => (typeof value === "string" ? value : "")

/** The string entries of a map-like value (labels, annotations); others are dropped. */
export const stringMap = (value: unknown): Labels => {
  const r = record(value)
  const keys = Object.keys(r)
  if (keys.length === 0) return emptyLabels
  const out: Record<string, string> = {}
  for (const k of keys) {
    const v = r[k]
    if (typeof v === "string") out[k] = v
  }
  return out
}

export const meta = (o: KubeObject): Record<string, unknown> => record(record(o).metadata)

/** `namespace/name`, or `name` for cluster-scoped objects: the key of every store. */
export const objectKey = (namespace: string, name: string): string => (namespace === "" ? name : `${namespace}/${name}`)

/** The store key of a raw object, from its metadata. */
export const keyOf = (o: KubeObject): string => {
  const m = meta(o)
  return objectKey(text(m.namespace), text(m.name))
}

/**
 * One copy of each repeated value. JSON.parse gives every object its own copy of its namespace,
 * node name and labels; across 150,000 pods sharing them halves the store (measured in
 * bench/slim-layouts.ts). Bounded: past the cap the table starts over, which only costs the
 * sharing, never correctness.
 */
export class Interner<T> {
  private readonly table = new Map<string, T>()
  private readonly cap: number
  constructor(cap: number) {
    this.cap = cap
  }
  get(key: string, value: T): T {
    const known = this.table.get(key)
    if (known !== undefined) return known
    if (this.table.size >= this.cap) this.table.clear()
    this.table.set(key, value)
    return value
  }
}

const strings = new Interner<string>(200_000)
const labelSets = new Interner<Labels>(200_000)

/** The shared copy of a string that many objects repeat (a namespace, a node name). */
export const shared = (s: string): string => strings.get(s, s)

/** The shared, frozen copy of a label set that many objects repeat. */
export const sharedLabels = (labels: Labels): Labels => {
  if (Object.keys(labels).length === 0) return emptyLabels
  return labelSets.get(JSON.stringify(labels), Object.freeze(labels))
}
