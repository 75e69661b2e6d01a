// Why a flare could not be made at all (a missing file is not that: see flare_creation.log).
import * as Schema from "effect/Schema"

export class FlareError extends Schema.TaggedError<FlareError>()("FlareError", {
  detail: Schema.String
}) {
  override get message(): string {
    return this.detail
  }
}
