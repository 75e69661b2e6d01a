#!/usr/bin/env bash
# Sets everything up on a fresh machine, builds the agent and runs its main job,
# `datadog-cluster-agent start` (configure it with DD_* variables; DD_API_KEY is required).
# Arguments replace `start`, e.g. `bash scripts/start.sh config`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
npm run --silent build
if [ "$#" -eq 0 ]; then set -- start; fi
exec node dist/main.js "$@"
