#!/usr/bin/env bash
# The quick start on a fresh Debian host with Node 20, as root: installs what is missing, builds
# the farm, starts it on this machine (Redis, API, a worker for this host's architecture and the
# local agent), builds examples/python-3.11, waits until it is installed on this node, and runs a
# job in it. Running it again is fast and changes nothing (cached build, already installed).
# `rnx farm up` saves the farm's admin token in your rnx config (~/.rnx/rnx-config.yml, 0600, or
# RNX_CONFIG) under the farm's URL; the `rnx` commands below find it there by that URL.
#
# Settings (environment): JOBLET_FARM_DIR (state, default /var/lib/joblet-farm), RUNTIMES_DIR
# (default /opt/joblet/runtimes), FARM_PORT (default 7070), FARM_PREFIX (default joblet),
# FARM_CACHE_DIR (base roots and package caches, default /var/cache/joblet-farm).
set -euo pipefail
cd "$(dirname "$0")/.."

FARM_DIR=${JOBLET_FARM_DIR:-/var/lib/joblet-farm}
RUNTIMES=${RUNTIMES_DIR:-/opt/joblet/runtimes}
PORT=${FARM_PORT:-7070}
PREFIX=${FARM_PREFIX:-joblet}
CACHE=${FARM_CACHE_DIR:-/var/cache/joblet-farm}
export JOBLET_FARM_DIR=$FARM_DIR RNX_SERVER="http://127.0.0.1:$PORT"
rnx() { node apps/cli/bin/rnx.js "$@"; }

# Elapsed seconds with one decimal, from bash's EPOCHREALTIME (no subprocess per step).
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
since() { local ms=$(($(now_ms) - $1)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }
t_all=$(now_ms)
step() { t_step=$(now_ms); printf '\n==> %s\n' "$*"; }
took() { printf '    (%s s)\n' "$(since "$t_step")"; }

step "system packages and Redis"
bash scripts/system-deps.sh
took
step "npm dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
took
step "build"
npx turbo run build --output-logs=errors-only >/dev/null
took
step "start the farm on this machine"
rnx farm up --dir "$FARM_DIR" --port "$PORT" --prefix "$PREFIX" --runtimes-dir "$RUNTIMES" \
  --cache-dir "$CACHE"
took
step "build examples/python-3.11 and deploy it to this node"
rnx runtime build --wait-deploy examples/python-3.11
took
step "run a job in it"
rnx job run --runtime=python-3.11 python3 -c "import sys; print(sys.version)"
took
printf '\nDone in %s s. Try: rnx runtime list, rnx runtime info python-3.11, rnx farm status; stop with: rnx farm down\n' \
  "$(since "$t_all")"
