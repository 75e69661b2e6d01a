// Keeps the authentication settings current: the ConfigMap is read at start and every
// `interval` (CA rotation), and after a failed read again 1 s later, doubling up to `interval`.
// The last good settings stay in force while reads fail. A 403 names the RoleBinding to add.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { KubeClientShape } from "../../layers/KubeClient.ts"
import type { KubeError } from "../../layers/kube/errors.ts"
import { type AuthConfig, authConfigMapName, authConfigMapNamespace, parseAuthConfig } from "./authConfig.ts"

const where = `ConfigMap ${authConfigMapNamespace}/${authConfigMapName}`

/** The log line of a failed read: what to do about it, when we know. */
export const readFailure = (e: KubeError): string => {
  switch (e.reason) {
    case "Forbidden":
      return `cannot read ${where}: forbidden. Add a RoleBinding in namespace ${authConfigMapNamespace} to the Role extension-apiserver-authentication-reader for the agent's ServiceAccount; until then the aggregator's requests are refused (401) and only bearer tokens are accepted`
    case "NotFound":
      return `${where} does not exist: the API server does not run the aggregation layer (--requestheader-client-ca-file); only bearer tokens are accepted`
    default:
      return `cannot read ${where}: ${e.message}`
  }
}

export interface AuthSourceOptions {
  readonly kube: KubeClientShape
  readonly interval: Duration.Duration
  /** Called with the settings of every read whose data differs from the previous one's. */
  readonly onChange: (config: AuthConfig) => void
}

export const makeAuthSource = (options: AuthSourceOptions) => {
  let lastData: string | undefined
  /** One read; true when it succeeded. */
  const refresh: Effect.Effect<boolean> = options.kube.getConfigMap(authConfigMapNamespace, authConfigMapName).pipe(
    Effect.flatMap((cm) =>
      Effect.gen(function* () {
        const data = cm.data ?? {}
        const serialised = JSON.stringify(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        if (serialised === lastData) return true
        const first = lastData === undefined
        lastData = serialised
        const config = parseAuthConfig(data)
        options.onChange(config)
        for (const problem of config.problems) yield* Effect.logWarning(`${where}: ${problem}`)
        yield* Effect.logInfo(
          first
            ? "external metrics API: authentication settings read"
            : "external metrics API: authentication settings changed"
        ).pipe(
          Effect.annotateLogs({
            clientCa: config.clientCa?.certificates.length ?? 0,
            frontProxyCa: config.requestHeader?.ca.certificates.length ?? 0,
            allowedNames: config.requestHeader?.allowedNames.join(",") ?? ""
          })
        )
        return true
      })
    ),
    Effect.catch((e) => Effect.as(Effect.logError(readFailure(e)), false))
  )

  /** Re-reads forever, after a first read done by the caller. */
  const loop = (firstSucceeded: boolean): Effect.Effect<never> =>
    Effect.gen(function* () {
      let failures = firstSucceeded ? 0 : 1
      for (;;) {
        const delay =
          failures === 0
            ? options.interval
            : Duration.min(Duration.seconds(2 ** Math.min(failures - 1, 20)), options.interval)
        yield* Effect.sleep(delay)
        failures = (yield* refresh) ? 0 : failures + 1
      }
    })

  return { refresh, loop }
}
