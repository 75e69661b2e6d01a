// Pure: the SelfSubjectAccessReviews of the rights table (one per verb), what their answers mean
// per feature, and the words of the fix: the exact rule to add, and to which Role or ClusterRole.
import type { SelfSubjectAccessReview } from "../../layers/kube/types.ts"
import type { Feature, FeatureRights, Grant, IfMissing, Right, Rule } from "./rights.ts"

/** One verb of one right, as asked of the API server. */
export interface Question {
  readonly feature: Feature
  /** Index of the right in its feature's list. */
  readonly right: number
  readonly verb: string
}

/** What the API server answered to one question; `undefined` allowed: the review could not be made. */
export interface Answer extends Question {
  readonly allowed: boolean | undefined
  /** Why the review could not be made, when it could not. */
  readonly error?: string | undefined
}

export const questions = (table: ReadonlyArray<FeatureRights>): ReadonlyArray<Question> =>
  table.flatMap((f) =>
    f.rights.flatMap((r, right) => r.rule.verbs.map((verb) => ({ feature: f.feature, right, verb })))
  )

/** The review that asks whether the agent may use `verb` of `rule`. */
export const reviewOf = (rule: Rule, verb: string): SelfSubjectAccessReview => ({
  apiVersion: "authorization.k8s.io/v1",
  kind: "SelfSubjectAccessReview",
  spec:
    rule._tag === "NonResource"
      ? { nonResourceAttributes: { path: rule.path, verb } }
      : {
          resourceAttributes: {
            verb,
            group: rule.group,
            resource: rule.resource,
            ...(rule.namespace === undefined ? {} : { namespace: rule.namespace }),
            ...(rule.name === undefined ? {} : { name: rule.name })
          }
        }
})

/** A right some of whose verbs are refused. */
export interface MissingRight {
  readonly right: Right
  readonly verbs: ReadonlyArray<string>
}

export type FeatureState = "granted" | "missing" | "unknown"

export interface FeatureVerdict {
  readonly feature: Feature
  readonly title: string
  readonly ifMissing: IfMissing
  readonly consequence: string
  /**
   * granted: every needed right is granted (rights with a fallback may be missing); missing: a
   * needed right is refused; unknown: a review could not be made and none was refused.
   */
  readonly state: FeatureState
  /** Refused rights, needed ones and those with a fallback. */
  readonly missing: ReadonlyArray<MissingRight>
  /** Why some review could not be made. */
  readonly errors: ReadonlyArray<string>
}

/** Pure: the verdict of each feature from the answers to its questions. */
export const verdicts = (
  table: ReadonlyArray<FeatureRights>,
  answers: ReadonlyArray<Answer>
): ReadonlyArray<FeatureVerdict> =>
  table.map((f) => {
    const mine = answers.filter((a) => a.feature === f.feature)
    const missing: Array<MissingRight> = []
    f.rights.forEach((right, i) => {
      const refused = mine.filter((a) => a.right === i && a.allowed === false).map((a) => a.verb)
      if (refused.length > 0) missing.push({ right, verbs: refused })
    })
    const errors = [...new Set(mine.flatMap((a) => (a.allowed === undefined ? [a.error ?? "no answer"] : [])))]
    const state: FeatureState = missing.some((m) => m.right.fallback === undefined)
      ? "missing"
      : errors.length > 0
        ? "unknown"
        : "granted"
    return {
      feature: f.feature,
      title: f.title,
      ifMissing: f.ifMissing,
      consequence: f.consequence,
      state,
      missing,
      errors
    }
  })

const quoted = (values: ReadonlyArray<string>) => `[${values.map((v) => JSON.stringify(v)).join(", ")}]`

/** The rule to add, in the YAML flow style of a Role's `rules:` entry. */
export const ruleText = (rule: Rule, verbs: ReadonlyArray<string> = rule.verbs): string =>
  rule._tag === "NonResource"
    ? `{nonResourceURLs: ${quoted([rule.path])}, verbs: ${quoted(verbs)}}`
    : `{apiGroups: ${quoted([rule.group])}, resources: ${quoted([rule.resource])}${
        rule.name === undefined ? "" : `, resourceNames: ${quoted([rule.name])}`
      }, verbs: ${quoted(verbs)}}`

export const grantText = (grant: Grant): string =>
  `${grant.kind} ${grant.name}${grant.namespace === undefined ? "" : ` (namespace ${grant.namespace})`}`

/** What the agent may not do, in words: "list, watch events in every namespace". */
export const refusedText = (rule: Rule, verbs: ReadonlyArray<string>): string => {
  if (rule._tag === "NonResource") return `${verbs.join(", ")} ${rule.path}`
  const what = rule.group === "" ? rule.resource : `${rule.resource}.${rule.group}`
  const named = rule.name === undefined ? what : `${what} named ${rule.name}`
  const where = rule.namespace === undefined ? "" : ` in namespace ${rule.namespace}`
  return `${verbs.join(", ")} ${named}${where}`
}

/** The fix for a missing right: the rule to add to the shipped role, or the built-in role to bind. */
export const fixText = (missing: MissingRight): string => {
  const { rule, grant } = missing.right
  if (grant.builtIn === true) {
    const binding =
      grant.kind === "ClusterRole" ? "a ClusterRoleBinding" : `a RoleBinding in namespace ${grant.namespace}`
    return `bind the built-in ${grantText(grant)} to the agent's ServiceAccount with ${binding}`
  }
  return `add to the ${grantText(grant)} the rule ${ruleText(rule, missing.verbs)}`
}

const ifMissingText: Record<IfMissing, string> = {
  notReady: "this replica is not ready until it is granted",
  stopped: "stopped until it is granted (checked again every few minutes)",
  notStarted: "not started; it starts when the agent restarts with the right granted",
  reported: "it keeps trying and fails until it is granted"
}

/** The log line (and status line) of one missing right of a feature. */
export const missingText = (verdict: Pick<FeatureVerdict, "title" | "ifMissing">, missing: MissingRight): string => {
  const { rule, fallback } = missing.right
  const refused = `the agent's ServiceAccount may not ${refusedText(rule, missing.verbs)}`
  const effect =
    fallback === undefined ? `${verdict.title}: ${ifMissingText[verdict.ifMissing]}` : `${verdict.title}: ${fallback}`
  return `RBAC: ${refused}; ${effect}. To fix it, ${fixText(missing)}`
}
