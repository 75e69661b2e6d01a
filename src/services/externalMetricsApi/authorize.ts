// Delegated authorization (kubernetes-notes C6): group system:masters is allowed outright (the
// aggregator's availability checks come as system:kube-aggregator in it); anything else is a
// SubjectAccessReview, its allow or deny cached ~10 s. A review that cannot be made is an error,
// never an allow. Forbidden messages are worded like the API server's, so the HPA's condition
// reads the same as for any other resource.
import type { SubjectAccessReview } from "../../layers/kube/types.ts"
import type { User } from "./authenticate.ts"
import type { RequestInfo } from "./requestInfo.ts"
import type { TtlCache } from "./ttlCache.ts"

export type Decision =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "Denied"; readonly reason: string }
  /** The review could not be made (API server down, the agent lacks system:auth-delegator). */
  | { readonly _tag: "Failed"; readonly detail: string }

export type Authorizable = Exclude<RequestInfo, { readonly _tag: "Health" }>

export const mastersGroup = "system:masters"

/** Pure: the SubjectAccessReview spec for a request. */
export const reviewSpec = (user: User, info: Authorizable): SubjectAccessReview["spec"] => {
  const subject = {
    user: user.name,
    groups: user.groups,
    ...(user.uid === undefined ? {} : { uid: user.uid }),
    ...(Object.keys(user.extra).length === 0 ? {} : { extra: user.extra })
  }
  if (info._tag === "NonResource") {
    return { ...subject, nonResourceAttributes: { path: info.path, verb: info.verb } }
  }
  const a = info.attributes
  return {
    ...subject,
    resourceAttributes: {
      namespace: a.namespace,
      verb: a.verb,
      group: a.group,
      version: a.version,
      resource: a.resource,
      ...(a.subresource === "" ? {} : { subresource: a.subresource }),
      ...(a.name === "" ? {} : { name: a.name })
    }
  }
}

/** Pure: the cache key of a review: the whole spec, groups and extra in a stable order. */
export const reviewKey = (spec: SubjectAccessReview["spec"]): string =>
  JSON.stringify([
    spec.user,
    spec.uid ?? "",
    [...(spec.groups ?? [])].sort(),
    Object.entries(spec.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    spec.resourceAttributes ?? null,
    spec.nonResourceAttributes ?? null
  ])

/** Pure: the apiserver's Forbidden message (k8s.io/apiserver responsewriters.forbiddenMessage). */
export const forbiddenMessage = (user: User, info: Authorizable, reason: string): string => {
  const why = reason === "" ? "" : `: ${reason}`
  if (info._tag === "NonResource") {
    return `forbidden: User "${user.name}" cannot ${info.verb} path "${info.path}"${why}`
  }
  const a = info.attributes
  const resource = a.subresource === "" ? a.resource : `${a.resource}/${a.subresource}`
  const qualified = a.group === "" ? a.resource : `${a.resource}.${a.group}`
  const subject = a.name === "" ? `${qualified} is forbidden` : `${qualified} "${a.name}" is forbidden`
  const scope = a.namespace === "" ? "at the cluster scope" : `in the namespace "${a.namespace}"`
  return `${subject}: User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}${why}`
}

/** What one review answered; failures reject and are not cached. */
export type ReviewResult = { readonly allowed: boolean; readonly reason: string }

export const reviewResult = (review: SubjectAccessReview): ReviewResult => ({
  allowed: review.status?.allowed === true && review.status.denied !== true,
  reason: review.status?.reason ?? ""
})

export const authorize = async (
  user: User,
  info: Authorizable,
  cache: TtlCache<ReviewResult>,
  review: (spec: SubjectAccessReview["spec"]) => Promise<ReviewResult>
): Promise<Decision> => {
  if (user.groups.includes(mastersGroup)) return { _tag: "Allowed" }
  const spec = reviewSpec(user, info)
  try {
    const result = await cache.get(reviewKey(spec), () => review(spec))
    return result.allowed ? { _tag: "Allowed" } : { _tag: "Denied", reason: result.reason }
  } catch (e) {
    return { _tag: "Failed", detail: e instanceof Error ? e.message : String(e) }
  }
}
