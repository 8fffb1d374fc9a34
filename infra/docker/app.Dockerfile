# One multi-stage image definition for every app: `--build-arg APP=api|worker|agent|cli`.
# Images cannot be built on the project's own machines (no Docker engine there); CI checks the
# compose file with `docker-compose config`.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json turbo.json tsconfig.base.json ./
COPY apps ./apps
COPY libs ./libs
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund && npx turbo run build --filter=@joblet/${APP:-api}
ARG APP=api
RUN npm prune --omit=dev

FROM node:20-bookworm-slim
ARG APP=api
ENV NODE_ENV=production APP=${APP}
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/apps/${APP}/dist ./dist
COPY --from=build /src/apps/${APP}/package.json ./package.json
CMD ["node", "dist/index.js"]
