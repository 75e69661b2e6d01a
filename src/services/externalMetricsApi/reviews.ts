// TokenReview and SubjectAccessReview calls as the authenticator and authorizer use them:
// promises of plain results, failures rejected with a message that says what to fix.
import * as Effect from "effect/Effect"
import type { KubeClientShape } from "../../layers/KubeClient.ts"
import type { KubeError } from "../../layers/kube/errors.ts"
import type { SubjectAccessReview } from "../../layers/kube/types.ts"
import type { TokenReviewResult } from "./authenticate.ts"
import { type ReviewResult, reviewResult } from "./authorize.ts"

/** Runs an effect in the agent's context as a promise (the request listener is plain node). */
export type RunPromise = <A>(effect: Effect.Effect<A>) => Promise<A>

const explain = (what: string, e: KubeError) =>
  e.reason === "Forbidden"
    ? `cannot create ${what}: forbidden. Bind the ClusterRole system:auth-delegator to the agent's ServiceAccount with a ClusterRoleBinding`
    : `cannot create ${what}: ${e.message}`

export class ReviewFailed extends Error {}

const failing = async <A>(what: string, run: RunPromise, effect: Effect.Effect<A, KubeError>): Promise<A> => {
  const outcome = await run(
    Effect.match(effect, {
      onFailure: (e) => ({ ok: false as const, message: explain(what, e) }),
      onSuccess: (value) => ({ ok: true as const, value })
    })
  )
  if (!outcome.ok) throw new ReviewFailed(outcome.message)
  return outcome.value
}

export const tokenReviewer =
  (kube: KubeClientShape, run: RunPromise) =>
  async (token: string): Promise<TokenReviewResult> => {
    const review = await failing(
      "a TokenReview",
      run,
      kube.createTokenReview({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } })
    )
    const status = review.status
    const user = status?.user
    if (status?.authenticated !== true || user?.username === undefined || user.username === "") {
      return { _tag: "Rejected", why: status?.error ?? "not authenticated" }
    }
    return {
      _tag: "Authenticated",
      user: { name: user.username, uid: user.uid, groups: user.groups ?? [], extra: user.extra ?? {} }
    }
  }

export const accessReviewer =
  (kube: KubeClientShape, run: RunPromise) =>
  async (spec: SubjectAccessReview["spec"]): Promise<ReviewResult> =>
    reviewResult(
      await failing(
        "a SubjectAccessReview",
        run,
        kube.createSubjectAccessReview({
          apiVersion: "authorization.k8s.io/v1",
          kind: "SubjectAccessReview",
          spec
        })
      )
    )
