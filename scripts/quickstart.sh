#!/usr/bin/env bash
# The quick start on a fresh Debian host with Node 20, as root: installs what is missing, builds
# the farm, and runs the main job on the embedded single-machine default.
#
# Today the farm's first command is `rnx runtime validate`: this script validates every example
# runtime. Building, deploying and running a job in the runtime join this script as they land.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
t0=$SECONDS
step "system packages and Redis"
bash scripts/system-deps.sh
step "npm dependencies"
npm ci --no-audit --no-fund --loglevel=error
step "build"
npm run build --silent >/dev/null
step "validate the example runtimes"
for dir in examples/*/; do
  node apps/cli/bin/rnx.js runtime validate "$dir"
done
step "done in $((SECONDS - t0)) s"
