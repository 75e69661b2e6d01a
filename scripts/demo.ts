/**
 * `npm run demo` / `bash scripts/demo.sh`: the cluster agent at work on this machine, with no
 * cluster and no Datadog key of one's own. The logic is in dev/demo/demo.ts; scripts/demo.sh sets
 * up Node and the npm packages first, then runs this file.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { demo } from "../dev/demo/demo.ts"

const HELP = `Usage: npm run demo    (or: bash scripts/demo.sh)

Runs the Datadog Cluster Agent against a local Kubernetes control plane and a fake Datadog API:
  1. builds etcd, kube-apiserver and kube-controller-manager from Go modules on first use
     (about 7 minutes on 2 cores, needs Go >= 1.24; cached afterwards), and starts them on 127.0.0.1;
  2. starts the fake Datadog API (any key accepted) and creates a sample workload: namespaces,
     Node objects, pods made Running and Ready by a fake kubelet, Services (their EndpointSlices
     come from the controller), events, and a Deployment with an HPA on a fake Datadog metric;
  3. starts two agent replicas with leader election, event collection, the control-plane check
     and the external metrics provider (its APIService through the API server's aggregator);
  4. prints \`status\`, \`metamap\`, what the fake Datadog API received and the HPA scaling as the
     metric steps up and down;
  5. runs until Ctrl-C, printing how to query it (node-agent API, external metrics, the fake).
Ctrl-C stops everything and removes the demo's temporary files.`

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(HELP)
  process.exit(0)
}

demo.pipe(
  Effect.tapError((e) => Effect.sync(() => console.error(`[demo] failed: ${e.message}`))),
  Effect.scoped,
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // Ctrl-C is the way out: an interruption is a clean stop (exit 0); a failure exits 1.
    teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
  })
)
