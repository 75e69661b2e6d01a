import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { agentWatches } from "../src/Agent.ts"
import { ClusterAgentConfig } from "../src/layers/Config.ts"
import { watchKey } from "../src/streams/request.ts"

const configWith = (env: Record<string, string>) =>
  Effect.gen(function* () {
    return yield* ClusterAgentConfig
  }).pipe(Effect.provide(ClusterAgentConfig.fromEnv({ DD_API_KEY: "k".repeat(32), ...env })))

const watchesWith = (env: Record<string, string>) =>
  Effect.map(configWith(env), (config) => agentWatches(config).map((r) => r.name))

describe("the agent's wiring", () => {
  it.effect("declares the metadata mapper's five kinds by default, each once", () =>
    Effect.gen(function* () {
      expect(yield* watchesWith({})).toEqual(["pods", "nodes", "namespaces", "services", "endpointslices"])
    })
  )

  it.effect("watches nothing for a feature that is off", () =>
    Effect.gen(function* () {
      expect(yield* watchesWith({ DD_KUBERNETES_COLLECT_METADATA_TAGS: "false" })).toEqual([])
      expect(yield* watchesWith({ DD_USE_METADATA_MAPPER: "false" })).toEqual([])
    })
  )

  it.effect("no two declared requests of different features collide by accident", () =>
    Effect.gen(function* () {
      const config = yield* configWith({})
      const keys = agentWatches(config).map(watchKey)
      expect(new Set(keys).size).toBe(keys.length)
    })
  )
})
