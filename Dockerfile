# syntax=docker/dockerfile:1
# LLM Gateway image: build with the full toolchain, run with production dependencies only.
#   docker build -t llm-gateway .
#   docker run -p 8080:8080 -e ADMIN_API_KEY=... -e DATABASE_URL=... -e REDIS_URL=... llm-gateway
# Pin NODE_IMAGE to a digest in your registry for reproducible builds.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV CI=true NPM_CONFIG_UPDATE_NOTIFIER=false
# Dependencies first, so source edits reuse this layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build \
  && npm prune --omit=dev --no-audit --no-fund \
  && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    HOST=0.0.0.0 \
    PORT=8080
WORKDIR /app
# Owned by root and read-only to the runtime user: the process cannot rewrite its own code.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY config ./config
# The audit outage spool must be writable by the runtime user; a volume mounted here (compose's
# named volume, the chart's emptyDir/PVC) starts with this owner.
ENV AUDIT_SPOOL_DIR=/var/lib/llm-gateway/audit-spool
RUN mkdir -p /var/lib/llm-gateway/audit-spool && chown -R node:node /var/lib/llm-gateway
# `node` (uid 1000) ships with the official image.
USER node
EXPOSE 8080
# Liveness only: never depends on Postgres, Redis or providers (those are /health/ready's job).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# What `npm start` runs, without npm in between: npm does not pass SIGTERM on to its child, so
# under `npm start` the gateway would never drain; it would be SIGKILLed when the grace period ends.
# Migrations (compiled, no TypeScript toolchain needed):
#   node node_modules/typeorm/cli.js -d dist/apps/gateway/src/data-source.js migration:run
CMD ["node", "dist/apps/gateway/src/main.js"]
