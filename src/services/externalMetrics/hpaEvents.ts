// The Kubernetes Events the provider records on HPAs: the original's Normal event when it takes an
// HPA over, and a Warning per External metric it cannot serve, with the reason. Names are derived
// from the HPA's uid and the message, so that every replica and every restart writes the same
// Event: a second create is a 409 and nothing is recorded twice (until the API server's event TTL
// lets it go). Pure.
import { createHash } from "node:crypto"
import type { CoreEvent } from "../../layers/kube/schemas.ts"
import type { HpaProblem } from "./hpa.ts"
import type { AutoscalerReference } from "./types.ts"

/** The original's reason (sic: the whole sentence is the reason, the message is empty). */
export const handledReason = "Autoscaler is now handled by the Cluster-Agent"
export const invalidMetricReason = "FailedExternalMetric"

const component = "datadog-cluster-agent"

const digest = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 16)

const event = (
  ref: AutoscalerReference,
  suffix: string,
  type: "Normal" | "Warning",
  reason: string,
  message: string,
  identity: string,
  now: Date
): CoreEvent => {
  const time = now.toISOString().replace(/\.\d{3}Z$/, "Z")
  return {
    apiVersion: "v1",
    kind: "Event",
    // An HPA name is at most 253 characters: keep the name within the limit.
    metadata: { name: `${ref.name.slice(0, 200)}.${suffix}`, namespace: ref.namespace },
    involvedObject: {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      name: ref.name,
      namespace: ref.namespace,
      uid: ref.uid
    },
    reason,
    message,
    type,
    source: { component },
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
    reportingComponent: component,
    reportingInstance: identity
  }
}

/** The Normal event recorded once on an HPA the provider serves. */
export const handledEvent = (ref: AutoscalerReference, identity: string, now: Date): CoreEvent =>
  event(ref, `dca-handled-${digest(ref.uid)}`, "Normal", handledReason, "", identity, now)

/** The Warning event of one unservable metric. */
export const problemEvent = (problem: HpaProblem, identity: string, now: Date): CoreEvent =>
  event(
    problem.reference,
    `dca-metric-${digest(`${problem.reference.uid}\n${problem.metricName}\n${problem.reason}`)}`,
    "Warning",
    invalidMetricReason,
    problem.metricName === ""
      ? problem.reason
      : `external metric ${problem.metricName} is not served: ${problem.reason}`,
    identity,
    now
  )
