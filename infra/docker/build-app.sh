#!/bin/sh
# Builds one app inside the image's build stage: `infra/docker/build-app.sh api|worker|agent|cli`.
# 1. turbo builds that app only (esbuild bundle → apps/<app>/dist, libs bundled in, npm packages
#    external); 2. the container health check is bundled the same way next to it.
set -eu
app="$1"
npx turbo run build --filter="@joblet/${app}"
if [ "$app" != cli ]; then
  npx esbuild infra/docker/healthcheck.ts --bundle --platform=node --target=node20 --format=esm \
    --external:bullmq --external:ioredis --external:zod --external:yaml --external:pino --external:minio \
    --log-level=warning --outfile="apps/${app}/dist/healthcheck.js"
fi
test -f "apps/${app}/dist/index.js"
