// One server of the command-port benchmark, in its own process so the load generator does not
// share its event loop:
//   node bench/tags-server.ts ours    the agent's NodeAgentApi over a real MetadataMapper
//   node bench/tags-server.ts bare    node:https answering the same bytes to every request
// Prints `{"port":N,"path":"...","bytes":N}` on stdout once listening.
import * as Https from "node:https"
import { Effect, Layer, Redacted, References } from "effect"
import { AuthTokens } from "../src/layers/AuthTokens.ts"
import { ClusterAgentConfig } from "../src/layers/Config.ts"
import { createCertificate, generateKeyPair } from "../src/lib/x509.ts"
import { ClusterId } from "../src/services/ClusterId.ts"
import { MetadataMapper, makeMetadataMapper } from "../src/services/MetadataMapper.ts"
import { NodeAgentApi } from "../src/services/NodeAgentApi.ts"
import type { ClusterStoresShape } from "../src/streams/ClusterStores.ts"
import {
  endpointSlices,
  namespaces,
  nodes,
  pods,
  type SlimEndpointSlice,
  type SlimNamespace,
  type SlimNode,
  type SlimPod,
  type SlimService,
  services
} from "../src/streams/objects.ts"
import { Store } from "../src/streams/store.ts"
import { benchNode, benchToken } from "./tags-shared.ts"

/** One realistic node: 110 pods in 8 namespaces, each backing one or two of 40 services. */
const populatedStores = (): ClusterStoresShape => {
  const stores = {
    pods: new Store<SlimPod>(pods.key),
    nodes: new Store<SlimNode>(nodes.key),
    namespaces: new Store<SlimNamespace>(namespaces.key),
    services: new Store<SlimService>(services.key),
    endpointSlices: new Store<SlimEndpointSlice>(endpointSlices.key)
  }
  const ns = (i: number) => `team-${i % 8}`
  stores.nodes.apply({ _tag: "Apply", object: { name: benchNode, labels: {}, annotations: {} } })
  for (let s = 0; s < 40; s++) stores.services.apply({ _tag: "Apply", object: { namespace: ns(s), name: `svc-${s}` } })
  const slices = new Map<number, Array<{ podNamespace: string; podName: string; nodeName: string }>>()
  for (let p = 0; p < 110; p++) {
    const name = `app-${p}-7d9f8c6b5-x${p.toString(36)}`
    stores.pods.apply({
      _tag: "Apply",
      object: { namespace: ns(p), name, nodeName: benchNode, phase: "Running", ready: true, labels: {} }
    })
    for (const s of p % 3 === 0 ? [p % 40, (p + 8) % 40] : [p % 40]) {
      if (ns(s) !== ns(p)) continue
      slices.set(s, [...(slices.get(s) ?? []), { podNamespace: ns(p), podName: name, nodeName: benchNode }])
    }
  }
  for (const [s, endpoints] of slices) {
    stores.endpointSlices.apply({
      _tag: "Apply",
      object: { namespace: ns(s), name: `svc-${s}-abcde`, serviceName: `svc-${s}`, endpoints }
    })
  }
  return { ...stores, subscribe: () => Effect.void, awaitSynced: Effect.void }
}

const runOurs = Effect.gen(function* () {
  const mapper = yield* makeMetadataMapper(populatedStores())
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
  const mapper = await Effect.runPromise(Effect.scoped(makeMetadataMapper(populatedStores())))
  const body = mapper.nodePodsJson(benchNode).toString("utf8")
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
