# The sidecar's roles, for the Docker path. ClickHouse is a server here, so the
# optional embedded engine (chdb, ~550 MB) is left out.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=optional --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY connectors ./connectors
COPY bin ./bin
ENV NODE_ENV=production
ENTRYPOINT ["node", "bin/cqrs-sidecar.mjs"]
