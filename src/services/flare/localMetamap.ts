// The metadata map of a local flare, made while the agent is down: the original's local flare asks
// the API server for it, and so does this one, with the agent's own watches and index for the time
// of one full list of every kind (the CLI's only call to the API server, design.md). Quiet: the
// watches' log lines would land in the middle of the command's output.
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Schedule from "effect/Schedule"
import { renderMetadataMap } from "../../cli/metamapText.ts"
import { ClusterAgentConfig, type ClusterAgentConfigShape } from "../../layers/Config.ts"
import { KubeClient } from "../../layers/KubeClient.ts"
import { Watches } from "../../streams/Watches.ts"
import { Health } from "../Health.ts"
import { MetadataMapper } from "../MetadataMapper.ts"

export const localMetamap = (config: ClusterAgentConfigShape): Effect.Effect<string, Error> =>
  Effect.scoped(
    Effect.gen(function* () {
      const services = yield* Layer.build(
        MetadataMapper.layer.pipe(
          Layer.provide(Watches.layer(MetadataMapper.watches(config))),
          Layer.provide(Layer.mergeAll(KubeClient.layer, Health.layer)),
          Layer.provide(Layer.succeed(ClusterAgentConfig, config))
        )
      )
      const mapper = Context.get(services, MetadataMapper)
      if (!mapper.enabled) return `${renderMetadataMap({ Errors: "the metadata mapper is disabled" })}\n`
      // Until every kind has been listed once (the flare's source timeout bounds the wait).
      yield* Effect.sync(() => mapper.stats()?.synced === true).pipe(
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (synced) => synced })
      )
      return `${renderMetadataMap(JSON.parse(mapper.allNodesJson()))}\n`
    })
  ).pipe(
    Effect.mapError((e) => new Error(`cannot read the cluster: ${e.message}`)),
    Effect.provide(Logger.layer([]))
  )
