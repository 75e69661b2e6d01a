// What a feature asks the watch layer for: a kind (group/version/resource, a namespace or the
// whole cluster, label and field selectors) and the fields it keeps of each object. Declared
// next to the feature, like controller-runtime's per-object cache options: the streams folder
// knows no consumer.
import type { KubeObject, ResourceRef } from "../layers/kube/types.ts"

export interface WatchRequest<T> {
  /** For logs and metrics (`kind` attribute), e.g. "pods". */
  readonly name: string
  /** `namespace` omitted: cluster-scoped, or every namespace. */
  readonly resource: ResourceRef
  readonly labelSelector?: string | undefined
  readonly fieldSelector?: string | undefined
  /**
   * What the feature keeps of an object: a plain record of fields. When several features watch
   * the same kind with the same selectors they share one store, whose objects hold the fields of
   * every stripper; a field two strippers both return must mean the same in both.
   */
  readonly strip: (o: KubeObject) => T
}

/** Requests with equal keys share one list/watch and one store. */
export const watchKey = (r: WatchRequest<unknown>): string => {
  const { group, version, resource, namespace } = r.resource
  // An empty namespace is the same collection as none (the same path): one key for both.
  return `${group}/${version}/${resource} ns=${namespace || "*"} labels=${r.labelSelector ?? ""} fields=${r.fieldSelector ?? ""}`
}

/**
 * One stripper for the requests that share a key: the union of their fields. A single request
 * keeps its own stripper, so the common case costs nothing.
 */
export const unionStrip = (requests: ReadonlyArray<WatchRequest<unknown>>): ((o: KubeObject) => unknown) => {
  const strips = [...new Set(requests.map((r) => r.strip))]
  const [only] = strips
  if (strips.length === 1 && only !== undefined) return only
  return (o) => {
    const out: Record<string, unknown> = {}
    for (const strip of strips) Object.assign(out, strip(o))
    return out
  }
}

/** The requests grouped by key, in declaration order. */
export const groupRequests = (
  requests: ReadonlyArray<WatchRequest<unknown>>
): ReadonlyMap<string, ReadonlyArray<WatchRequest<unknown>>> => {
  const groups = new Map<string, Array<WatchRequest<unknown>>>()
  for (const r of requests) {
    const key = watchKey(r)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [r])
    else group.push(r)
  }
  return groups
}
