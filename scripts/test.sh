#!/usr/bin/env bash
# Sets everything up on a fresh machine and runs the whole test suite: Node 24, npm
# dependencies, the control-plane binaries (built from Go modules on first use, then cached),
# then vitest. Arguments go to vitest (e.g. a file filter).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
bash scripts/control-plane/build.sh >/dev/null
exec npx vitest run "$@"
