// The prototype of the strip-function changes docs/BENCHMARKS.md suggested (nothing here is used
// by the agent): strip functions that share repeated strings and label sets. Its compact metadata
// index went into src/services/metadata/MetadataIndex.ts, which the `ours-lean` scenario of
// bench/metadata-sync.ts and bench/slim-layouts.ts now use.
import type { KubeObject } from "../src/layers/kube/types.ts"
import {
  endpointSlices,
  type Kind,
  type Labels,
  namespaces,
  nodes,
  pods,
  type SlimEndpointSlice,
  type SlimPod,
  services,
  stripEndpointSlice,
  stripPod
} from "../src/streams/objects.ts"

/**
 * One shared copy of each distinct string. JSON.parse copies every string value longer than a
 * few characters, so 150,000 pods carry 150,000 copies of a few hundred namespace and a few
 * thousand node names. (A real one would be bounded or rebuilt on relist.)
 */
export const interner = () => {
  const pool = new Map<string, string>()
  return (s: string): string => {
    const found = pool.get(s)
    if (found !== undefined) return found
    pool.set(s, s)
    return s
  }
}

/** Identical label sets (every pod of a ReplicaSet) share one frozen object. */
export const labelSharer = (intern: (s: string) => string) => {
  const pool = new Map<string, Labels>()
  return (labels: Labels): Labels => {
    const canonical = JSON.stringify(labels)
    const found = pool.get(canonical)
    if (found !== undefined) return found
    const shared: Record<string, string> = {}
    for (const [k, v] of Object.entries(labels)) shared[intern(k)] = intern(v)
    Object.freeze(shared)
    pool.set(canonical, shared)
    return shared
  }
}

/** The five kinds of src/streams/objects.ts with strip functions that share strings. */
export const leanKinds = () => {
  const intern = interner()
  const share = labelSharer(intern)
  const leanPods: Kind<SlimPod> = {
    ...pods,
    strip: (o: KubeObject) => {
      const p = stripPod(o)
      return {
        namespace: intern(p.namespace),
        name: p.name,
        nodeName: intern(p.nodeName),
        phase: intern(p.phase),
        ready: p.ready,
        labels: share(p.labels)
      }
    }
  }
  const leanSlices: Kind<SlimEndpointSlice> = {
    ...endpointSlices,
    strip: (o: KubeObject) => {
      const s = stripEndpointSlice(o)
      return {
        namespace: intern(s.namespace),
        name: s.name,
        serviceName: intern(s.serviceName),
        endpoints: s.endpoints.map((e) => ({
          podNamespace: intern(e.podNamespace),
          podName: e.podName,
          nodeName: intern(e.nodeName)
        }))
      }
    }
  }
  return { pods: leanPods, nodes, namespaces, services, endpointSlices: leanSlices }
}
