// One server of the command-port benchmark, in its own process so the load generator does not
// share its event loop:
//   node bench/tags-server.ts ours    the agent's NodeAgentApi over a real MetadataMapper
//   node bench/tags-server.ts bare    node:https answering the same bytes to every request
// Prints `{"port":N,"path":"...","bytes":N}` on stdout once listening.
import * as Https from "node:https"
import { Duration, Effect, Layer, Redacted, References, type Scope, Stream } from "effect"
import { AuthTokens } from "../src/layers/AuthTokens.ts"
import { ClusterAgentConfig } from "../src/layers/Config.ts"
import { createCertificate, generateKeyPair } from "../src/lib/x509.ts"
import { ClusterId } from "../src/services/ClusterId.ts"
import { MetadataMapper, makeMetadataMapper } from "../src/services/MetadataMapper.ts"
import type { SlimEndpoint, SlimNamespace, SlimPod, SlimService } from "../src/services/metadata/objects.ts"
import { NodeAgentApi } from "../src/services/NodeAgentApi.ts"
import { type Reflected, reflect } from "../src/streams/reflector.ts"
import type { Keyed, WatcherEvent } from "../src/streams/store.ts"
import { objectKey } from "../src/streams/strip.ts"
import { benchNode, benchToken } from "./tags-shared.ts"

/** A synced store of `objects`, as the watch layer hands it to a feature (one LIST, no changes). */
const listed = <T>(name: string, objects: ReadonlyArray<Keyed<T>>): Effect.Effect<Reflected<T>, never, Scope.Scope> =>
  reflect(
    name,
    Stream.fromIterable<WatcherEvent<T>>([{ _tag: "Init" }, { _tag: "InitPage", objects }, { _tag: "InitDone" }]),
    Duration.hours(1)
  )

/** One realistic node: 110 pods in 8 namespaces, each backing one or two of 40 services; the mapper caught up. */
const populatedMapper = Effect.gen(function* () {
  const ns = (i: number) => `team-${i % 8}`
  const services: Array<Keyed<SlimService>> = []
  for (let s = 0; s < 40; s++)
    services.push({ key: objectKey(ns(s), `svc-${s}`), object: { namespace: ns(s), name: `svc-${s}` } })
  const pods: Array<Keyed<SlimPod>> = []
  const slices = new Map<number, Array<SlimEndpoint>>()
  for (let p = 0; p < 110; p++) {
    const name = `app-${p}-7d9f8c6b5-x${p.toString(36)}`
    pods.push({
      key: objectKey(ns(p), name),
      object: { namespace: ns(p), name, nodeName: benchNode, phase: "Running", ready: true, labels: {} }
    })
    for (const s of p % 3 === 0 ? [p % 40, (p + 8) % 40] : [p % 40]) {
      if (ns(s) !== ns(p)) continue
      slices.set(s, [...(slices.get(s) ?? []), { podNamespace: ns(p), podName: name, nodeName: benchNode }])
    }
  }
  const { mapper, caughtUp } = yield* makeMetadataMapper({
    pods: yield* listed("pods", pods),
    nodes: yield* listed("nodes", [{ key: benchNode, object: { name: benchNode, labels: {}, annotations: {} } }]),
    namespaces: yield* listed<SlimNamespace>("namespaces", []),
    services: yield* listed("services", services),
    endpointSlices: yield* listed(
      "endpointslices",
      [...slices].map(([s, endpoints]) => ({
        key: objectKey(ns(s), `svc-${s}-abcde`),
        object: { namespace: ns(s), name: `svc-${s}-abcde`, serviceName: `svc-${s}`, endpoints }
      }))
    )
  })
  yield* caughtUp
  return mapper
})

const runOurs = Effect.gen(function* () {
  const mapper = yield* populatedMapper
  const body = mapper.nodePodsJson(benchNode).toString("utf8")
  const layer = NodeAgentApi.layer.pipe(
    Layer.provide([
      ClusterAgentConfig.fromEnv({ DD_CLUSTER_AGENT_CMD_PORT: process.env.BENCH_PORT ?? "15105" }),
      Layer.succeed(
        AuthTokens,
        AuthTokens.of({ cluster: Redacted.make(benchToken), local: Redacted.make("x".repeat(64)) })
      ),
      Layer.succeed(MetadataMapper, mapper),
      Layer.succeed(ClusterId, ClusterId.of({ get: Effect.succeed("00000000-0000-0000-0000-000000000000") }))
    ])
  )
  yield* Effect.gen(function* () {
    const api = yield* NodeAgentApi
    process.stdout.write(
      `${JSON.stringify({ port: api.port, path: `/api/v1/tags/pod/${benchNode}`, bytes: body.length })}\n`
    )
    yield* Effect.never
  }).pipe(Effect.provide(layer))
}).pipe(Effect.scoped, Effect.provideService(References.MinimumLogLevel, "None"))

const runBare = async () => {
  const body = await Effect.runPromise(
    Effect.scoped(Effect.map(populatedMapper, (mapper) => mapper.nodePodsJson(benchNode).toString("utf8")))
  )
  const keys = generateKeyPair("ec-p256")
  const cert = createCertificate({
    subject: { commonName: "bench" },
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    isCA: false,
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    validityDays: 1
  })
  const server = Https.createServer({ cert, key: keys.privateKeyPem, minVersion: "TLSv1.2" }, (_req, res) => {
    res.writeHead(200, {
      "content-type": "text/plain; charset=utf-8",
      "content-length": String(Buffer.byteLength(body))
    })
    res.end(body)
  })
  server.listen(Number(process.env.BENCH_PORT ?? "15106"), "0.0.0.0", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    process.stdout.write(`${JSON.stringify({ port, path: `/api/v1/tags/pod/${benchNode}`, bytes: body.length })}\n`)
  })
}

if (process.argv[2] === "ours") {
  Effect.runFork(
    runOurs.pipe(
      Effect.catchCause((cause) =>
        Effect.sync(() => {
          process.stderr.write(`ours: ${String(cause)}\n`)
          process.exit(1)
        })
      )
    )
  )
} else if (process.argv[2] === "bare") void runBare()
else {
  process.stderr.write("usage: node bench/tags-server.ts ours|bare\n")
  process.exit(2)
}
