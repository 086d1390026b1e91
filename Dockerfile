# syntax=docker/dockerfile:1
# The bot's image: compiled in a build stage that has a C++ toolchain, run from a slim stage without it, as a non-root user.
# docs/deployment.md says how to build, run and monitor it.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build

# better-sqlite3 is a native addon: when no prebuilt binary fits (or none can be downloaded), node-gyp
# compiles it from source, which needs python3, make and g++.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so a change to src/ reuses this layer.
COPY package.json package-lock.json ./
# This image's npm is 10.x, whose `npm ci` runs every dependency's install scripts. npm 11 runs only the
# ones package.json's allowScripts approves (better-sqlite3, esbuild, oracledb); if the base image moves
# to npm 11, that list is what keeps better-sqlite3 building, so keep it in step with the native deps.
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Drop the dev dependencies but keep the compiled addon: a fresh production install would compile it again.
RUN npm prune --omit=dev --no-audit --no-fund

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

ENV NODE_ENV=production \
    DBACCESS_CONFIG=/app/config/environments.yml \
    DBACCESS_DB=/data/dbaccess.sqlite

WORKDIR /app

# Owned by root and read-only to the bot: the process cannot change its own code.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# A sample only; mount the real environments file at /app/config/environments.yml.
COPY config/environments.example.yml ./config/

# The state database (requests and the audit log; never a password) lives on a volume, so it survives a
# new image. The official image's `node` user (uid 1000) owns it.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node

# 3000: Slack's requests (/slack/events; unused in Socket Mode). 9090: /healthz, /readyz, /metrics.
EXPOSE 3000 9090

# Liveness only (the process answers); readiness, which asks the databases, is for /readyz. Node itself
# makes the request: the slim image has no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OPS_PORT||9090)+'/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]

# node is PID 1: main.ts handles SIGTERM itself (stops the timer, Slack and the pools), so `docker stop` is clean.
CMD ["node", "dist/main.js"]
