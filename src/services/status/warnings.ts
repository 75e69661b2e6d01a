// Pure: configuration the agent accepts and runs with, but that is probably not what was meant.
// The status page lists these under "Configuration Warnings"; each is also logged at start by
// the feature it concerns.
import * as Option from "effect/Option"
import type { ClusterAgentConfigShape } from "../../layers/Config.ts"
import { eventCollectionWarnings } from "../EventCollector.ts"
import type { ApiserverCheckInstance } from "../kubernetesApiserver/instance.ts"

export const configurationWarnings = (
  config: ClusterAgentConfigShape,
  instance: ApiserverCheckInstance
): ReadonlyArray<string> => [
  ...eventCollectionWarnings(config, instance),
  ...(config.externalMetricsEnabled && !config.leaderElection
    ? [
        "the external metrics provider runs with leader election off: every replica queries Datadog and writes the ConfigMap; run one replica or set DD_LEADER_ELECTION=true"
      ]
    : []),
  ...(Option.isNone(config.authToken)
    ? [
        `DD_CLUSTER_AGENT_AUTH_TOKEN is not set: node agents must present the token of ${config.clusterTokenFilePath}, which each replica creates for itself when missing; set the same token on every replica and node agent`
      ]
    : [])
]
