# syntax=docker/dockerfile:1
# Datadog Cluster Agent (TypeScript). Multi-stage: build with dev dependencies, ship only the
# compiled code and production dependencies on the Node 24 runtime, as a non-root user.
# Works with a read-only root filesystem: the agent writes only under /etc/datadog-agent
# (tokens, conf.d copied from /conf.d) and /tmp, which are volumes (emptyDirs in deploy/).

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-info.ts scripts/bundle.ts scripts/
COPY docker/runtime-modules.ts docker/
COPY src src
ARG GIT_COMMIT=""
# dist/ is the agent bundled with what it uses from effect, without comments, lazy parts in their
# own chunks (scripts/bundle.ts; idle RSS 66.6 MB instead of 81.6, docs/BENCHMARKS.md); then
# node_modules keeps only the packages the bundle leaves external, without their type declarations
# and source maps (docker/runtime-modules.ts).
RUN GIT_COMMIT="$GIT_COMMIT" npm run build \
 && npm prune --omit=dev \
 && node docker/runtime-modules.ts node_modules

FROM node:24-bookworm-slim
# Memory settings (docs/BENCHMARKS.md):
# - MALLOC_MMAP_THRESHOLD_ and a 16 MB young generation keep the RSS after the initial LISTs
#   close to the heap (-200 MB at 150,000 pods);
# - MALLOC_ARENA_MAX=2: two malloc arenas instead of one per thread (-1.5 MB idle);
# - --expose-gc lets the agent run one memory-reducing collection once it is idle
#   (src/lib/idleGc.ts: -20 MB idle).
ENV NODE_ENV=production \
    DOCKER_DD_AGENT=true \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS="--max-semi-space-size=16 --expose-gc" \
    PATH="/opt/datadog-agent/bin:${PATH}"
RUN groupadd --system --gid 10001 dd-agent \
 && useradd --system --uid 10001 --gid dd-agent --home-dir /opt/datadog-agent --shell /usr/sbin/nologin dd-agent \
 && mkdir -p /opt/datadog-agent/bin /etc/datadog-agent /conf.d \
 && chown dd-agent:dd-agent /etc/datadog-agent
WORKDIR /opt/datadog-agent
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY docker/entrypoint.sh /entrypoint.sh
# The kubernetes_apiserver check's default options, as the original ships them, in /conf.d: the
# entrypoint copies /conf.d into /etc/datadog-agent/conf.d at every start, so they are there
# whatever is mounted at /etc/datadog-agent (the Deployment's emptyDir, which would hide files
# the image put there). A conf.yaml mounted under /conf.d/kubernetes_apiserver.d/ wins over them.
COPY docker/conf.d/ /conf.d/
RUN ln -s /opt/datadog-agent/dist/main.js /opt/datadog-agent/bin/datadog-cluster-agent \
 && chmod 0755 /entrypoint.sh /opt/datadog-agent/dist/main.js
USER 10001:10001
VOLUME ["/etc/datadog-agent", "/tmp"]
EXPOSE 5005 5000 8443
ENTRYPOINT ["/entrypoint.sh"]
CMD ["datadog-cluster-agent", "start"]
