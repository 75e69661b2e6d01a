import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect } from "effect"
import { fakeKubeClient } from "../../../dev/fakeKubeClient.ts"
import { KubeError } from "../../../src/layers/KubeClient.ts"
import type { ConfigMap } from "../../../src/layers/kube/types.ts"
import type { AuthConfig } from "../../../src/services/externalMetricsApi/authConfig.ts"
import { makeAuthSource, readFailure } from "../../../src/services/externalMetricsApi/authSource.ts"
import { advance, captureLogs } from "../../support/effectTest.ts"
import { makeCa } from "./pki.ts"

const ca = makeCa("front-proxy-ca")
const configMap = (pem: string): ConfigMap => ({
  metadata: { name: "extension-apiserver-authentication", namespace: "kube-system" },
  data: { "requestheader-client-ca-file": pem, "requestheader-allowed-names": "[]" }
})
const forbidden = new KubeError({
  reason: "Forbidden",
  verb: "GET",
  path: "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication",
  status: 403,
  detail: "forbidden"
})

/** A source whose reads answer from `script` in turn (the last answer repeats), recording when. */
const scripted = (script: ReadonlyArray<ConfigMap | KubeError>) =>
  Effect.gen(function* () {
    const reads: Array<number> = []
    const changes: Array<AuthConfig> = []
    const kube = fakeKubeClient({
      getConfigMap: (namespace, name) =>
        Effect.gen(function* () {
          expect([namespace, name]).toEqual(["kube-system", "extension-apiserver-authentication"])
          reads.push(yield* Clock.currentTimeMillis)
          const answer = script[Math.min(reads.length - 1, script.length - 1)] as ConfigMap | KubeError
          return answer instanceof KubeError ? yield* Effect.fail(answer) : answer
        })
    })
    const source = makeAuthSource({ kube, interval: Duration.minutes(5), onChange: (c) => changes.push(c) })
    return { source, reads, changes }
  })

describe("makeAuthSource", () => {
  it.effect("re-reads every 5 minutes and reports only changes", () =>
    Effect.gen(function* () {
      const other = makeCa("rotated")
      const { source, reads, changes } = yield* scripted([
        configMap(ca.certPem),
        configMap(ca.certPem),
        configMap(other.certPem)
      ])
      expect(yield* source.refresh).toBe(true)
      yield* Effect.forkChild(source.loop(true))
      yield* advance("10 minutes", "10 seconds")
      expect(reads).toEqual([0, 300_000, 600_000])
      expect(changes.map((c) => c.requestHeader?.ca.certificates[0]?.subject)).toEqual([
        "CN=front-proxy-ca",
        "CN=rotated"
      ])
    })
  )

  it.effect("after failures retries at 1, 2, 4 ... s up to the interval, keeping the last good settings", () =>
    Effect.gen(function* () {
      const logs = captureLogs()
      const { source, reads, changes } = yield* scripted([
        configMap(ca.certPem),
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        forbidden,
        configMap(ca.certPem)
      ])
      expect(yield* source.refresh).toBe(true)
      yield* Effect.forkChild(source.loop(true)).pipe(Effect.provide(logs.layer))
      yield* advance("25 minutes", "1 second")
      const gaps = reads.slice(1).map((t, i) => (t - (reads[i] as number)) / 1000)
      // 300 s until the first re-read fails, then 1, 2, 4, ..., 256, capped at 300, then back to 300.
      expect(gaps).toEqual([300, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300])
      expect(changes).toHaveLength(1)
      expect(logs.lines.filter((l) => l.level === "Error")).toHaveLength(10)
    })
  )

  it.effect("a first read that failed is retried 1 s later", () =>
    Effect.gen(function* () {
      const { source, reads } = yield* scripted([forbidden, configMap(ca.certPem)])
      expect(yield* source.refresh).toBe(false)
      yield* Effect.forkChild(source.loop(false))
      yield* advance("3 seconds", "100 millis")
      expect(reads).toEqual([0, 1_000])
    })
  )

  it("says what to do about a failed read", () => {
    expect(readFailure(forbidden)).toMatch(
      /forbidden\. Add a RoleBinding in namespace kube-system to the Role extension-apiserver-authentication-reader for the agent's ServiceAccount/
    )
    expect(
      readFailure(new KubeError({ reason: "NotFound", verb: "GET", path: "/x", status: 404, detail: "" }))
    ).toMatch(/does not exist: the API server does not run the aggregation layer/)
    expect(
      readFailure(new KubeError({ reason: "Transport", verb: "GET", path: "/x", detail: "ECONNREFUSED" }))
    ).toMatch(/cannot read ConfigMap kube-system\/extension-apiserver-authentication: GET \/x: Transport: ECONNREFUSED/)
  })
})
