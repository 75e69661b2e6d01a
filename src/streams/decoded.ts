// Strippers for kinds a feature reasons about rather than serves (Events, HPAs, ConfigMaps,
// Leases): the object is decoded through the Schema of the fields the feature uses, then
// projected to what it keeps. A malformed object is not a crash and does not stop the watch:
// the store holds a Decode `KubeError` naming the field in its place, for the feature to report
// (an invalid HPA is shown in status, an unreadable Event is logged and skipped).
//
// A store shared by several features merges their strippers' records, so a feature puts its
// decoded value under a field of its own: `strip: (o) => ({ autoscaler: decodeHpa(o) })`.
import * as Result from "effect/Result"
import type { KubeError } from "../layers/kube/errors.ts"
import { objectPath } from "../layers/kube/paths.ts"
import { decodeObjectResult, type WireSchema } from "../layers/kube/schemas.ts"
import type { KubeObject, ResourceRef } from "../layers/kube/types.ts"
import { meta, text } from "./strip.ts"

/** What a decoded stripper keeps: the projection, or why the object could not be read. */
export type Decoded<T> = Result.Result<T, KubeError>

export const decodedStrip =
  <S, T>(resource: ResourceRef, schema: WireSchema<S>, project: (decoded: S) => T) =>
  (o: KubeObject): Decoded<T> => {
    const m = meta(o)
    const path = objectPath({ ...resource, namespace: text(m.namespace) || resource.namespace }, text(m.name))
    return Result.map(decodeObjectResult(schema, "WATCH", path, o), project)
  }
