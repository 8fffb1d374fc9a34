# syntax=docker/dockerfile:1.7
#
# One Dockerfile for every app of the farm; the target picks the app (from the repository root):
#
#   docker build -f infra/docker/app.Dockerfile --target api    -t joblet-farm/api .
#   docker build -f infra/docker/app.Dockerfile --target worker -t joblet-farm/worker .
#   docker build -f infra/docker/app.Dockerfile --target agent  -t joblet-farm/agent .
#   docker build -f infra/docker/app.Dockerfile --target cli    -t joblet-farm/rnx .
#   (multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ...)
#
# Stages: `manifests` (every package.json + the lockfile) → `source` (npm ci with dev tools, then
# the sources) → `build-<app>` (turbo builds that app only) and, in parallel, `prod-<app>` (npm ci
# --omit=dev for that workspace only) → the small runtime image `<app>`, which holds
# node_modules of production dependencies and the bundled dist/ (libs are bundled in by esbuild).
#
# These images cannot be built on the project's own machines (no Docker engine there): the
# project checks docker-compose.yml with `docker-compose config` only. Build them on a Docker host.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- every workspace manifest and the lockfile, so `npm ci` layers are reused until one changes.
# This stage reruns on any source change, but its output (package.json files only) is then
# identical, and BuildKit reuses every stage that copies from it.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /context
COPY . .
RUN mkdir /manifests \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /manifests \; \
 && cp package-lock.json /manifests/

# ---- all dependencies (dev included: turbo, esbuild, typescript) and the sources.
FROM ${NODE_IMAGE} AS source
ENV TURBO_TELEMETRY_DISABLED=1 npm_config_update_notifier=false npm_config_fund=false
WORKDIR /src
COPY --from=manifests /manifests ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit
COPY . .

FROM source AS build-api
RUN sh infra/docker/build-app.sh api
FROM source AS build-worker
RUN sh infra/docker/build-app.sh worker
FROM source AS build-agent
RUN sh infra/docker/build-app.sh agent
FROM source AS build-cli
RUN sh infra/docker/build-app.sh cli

# ---- production dependencies of one workspace. The @joblet/* links point at libs/ sources that
# the image does not contain: the libs are bundled into dist/, so the links are removed.
FROM ${NODE_IMAGE} AS prod-base
ENV npm_config_update_notifier=false npm_config_fund=false
WORKDIR /src
COPY --from=manifests /manifests ./

FROM prod-base AS prod-api
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace=@joblet/api --no-audit && rm -rf node_modules/@joblet
FROM prod-base AS prod-worker
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace=@joblet/worker --no-audit && rm -rf node_modules/@joblet
FROM prod-base AS prod-agent
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace=@joblet/agent --no-audit && rm -rf node_modules/@joblet
FROM prod-base AS prod-cli
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --workspace=@joblet/cli --no-audit && rm -rf node_modules/@joblet

# ---- runtime base: Node, tini, nothing else. The monorepo layout is kept (/app/node_modules,
# /app/apps/<app>/dist) so module resolution is exactly what it is in development.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# tini as PID 1 reaps the orphans of builds and jobs and forwards SIGTERM to node only (not to
# the process group: `-g` would kill running builds/jobs before the app can drain them).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["/usr/bin/tini", "--"]
# Every app drains on SIGTERM (node's default for `docker stop` is SIGTERM too; stated for clarity).
STOPSIGNAL SIGTERM

# ---- the API: stateless, runs as the unprivileged `node` user (uid 1000) of the base image.
FROM runtime AS api
WORKDIR /app
COPY --from=prod-api /src/node_modules ./node_modules
COPY --from=prod-api /src/apps/api ./apps/api
COPY --from=build-api /src/apps/api/dist ./apps/api/dist
WORKDIR /app/apps/api
USER node
ENV API_HOST=0.0.0.0 API_PORT=7070
EXPOSE 7070
HEALTHCHECK --interval=15s --timeout=10s --start-period=20s --retries=3 \
  CMD ["node", "dist/healthcheck.js", "api", "live"]
CMD ["node", "dist/index.js"]

# ---- a build worker. Runs as root, and the container must be privileged: builds need mount,
# PID, IPC and UTS namespaces, pivot_root, overlayfs mounts, cgroup limits (bubblewrap as root),
# debootstrap (mknod, chroot) and, to build a foreign arch, registering qemu in binfmt_misc.
# slirp4netns gives builds egress-only networking (WORKER_BUILD_NETWORK=isolated, /dev/net/tun).
# Builds are rootless: their root is host uid 100000 (uidmap's newuidmap, /etc/subuid below;
# WORKER_BUILD_SUBID_BASE must match).
FROM runtime AS worker
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      bubblewrap debootstrap debian-archive-keyring gpgv wget zstd tar qemu-user-static \
      slirp4netns uidmap \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'root:100000:65536' >> /etc/subuid \
 && echo 'root:100000:65536' >> /etc/subgid
WORKDIR /app
COPY --from=prod-worker /src/node_modules ./node_modules
COPY --from=prod-worker /src/apps/worker ./apps/worker
COPY --from=build-worker /src/apps/worker/dist ./apps/worker/dist
WORKDIR /app/apps/worker
# Base roots and download caches; per-build overlay upper dirs. Both must be real filesystems
# (volumes), not the image's overlayfs: an overlay upper dir cannot live on overlayfs.
VOLUME ["/var/cache/joblet-farm", "/var/lib/joblet-farm/work"]
# Liveness: the worker's /livez on its loopback (the process answering; never Redis).
ENV WORKER_HEALTH_PORT=9465
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "dist/healthcheck.js", "worker", "live"]
CMD ["node", "dist/index.js"]

# ---- an execution-node agent. Root and privileged for the same reasons as the worker (jobs run
# in bubblewrap sandboxes with their own namespaces and cgroup limits); jobs themselves run as a
# non-root uid with every capability dropped.
FROM runtime AS agent
# slirp4netns: jobs run with --network egress.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap zstd tar slirp4netns \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=prod-agent /src/node_modules ./node_modules
COPY --from=prod-agent /src/apps/agent ./apps/agent
COPY --from=build-agent /src/apps/agent/dist ./apps/agent/dist
WORKDIR /app/apps/agent
VOLUME ["/opt/joblet/runtimes", "/var/lib/joblet/work"]
# Liveness: the agent's /livez on its loopback (the process answering; never Redis).
ENV AGENT_HEALTH_PORT=9466
HEALTHCHECK --interval=15s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "dist/healthcheck.js", "agent", "live"]
# Small idle footprint (< 80 MB RSS): see apps/agent/README.md.
ENV MALLOC_MMAP_THRESHOLD_=65536
CMD ["node", "--lite-mode", "--max-semi-space-size=1", "dist/index.js"]

# ---- `rnx` for CI: `docker run --rm -e RNX_SERVER -e RNX_TOKEN -v "$PWD:/work" joblet-farm/rnx
# runtime validate /work/runtime.yaml`. Unprivileged.
FROM runtime AS cli
WORKDIR /app
COPY --from=prod-cli /src/node_modules ./node_modules
COPY --from=prod-cli /src/apps/cli ./apps/cli
COPY --from=build-cli /src/apps/cli/dist ./apps/cli/dist
COPY --from=build-cli /src/apps/cli/bin ./apps/cli/bin
RUN ln -s /app/apps/cli/bin/rnx.js /usr/local/bin/rnx
USER node
WORKDIR /work
ENTRYPOINT ["/usr/bin/tini", "--", "rnx"]
CMD ["--help"]
