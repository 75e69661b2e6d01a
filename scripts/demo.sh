#!/usr/bin/env bash
# The demo (`npm run demo`): sets up Node 24 and the npm packages (scripts/setup.sh), then runs
# scripts/demo.ts, which builds and starts a local control plane and the fake Datadog API, runs two
# agent replicas against a sample workload and prints what they do, until Ctrl-C. `--help` says more.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[demo] Node.js >= 22.19 and the npm packages (scripts/setup.sh) ..."
. scripts/setup.sh
exec node scripts/demo.ts "$@"
