#!/usr/bin/env bash
# The whole test suite, from a clean clone: system packages and Redis, npm dependencies, then
# format, lint, import cycles, type checks and every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/system-deps.sh
npm ci --no-audit --no-fund
# The debootstrap root the agent's job tests run in (cached outside the repo; ~1 min once).
npx tsx apps/worker/src/base-root/seed.ts bookworm amd64
npm run lint
npm run typecheck
npm test
