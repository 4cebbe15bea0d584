# cqrs-sidecar: the two commands are `make up` and `make test`.
# With a Docker engine (docker info works) `make up` uses docker-compose.yml;
# otherwise (and always with NATIVE=1) it runs the native stack in stack/.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CLI := node_modules/.bin/tsx src/main/cli.ts
DOCKER := $(shell [ -z "$(NATIVE)" ] && docker info >/dev/null 2>&1 && echo yes)

.PHONY: help deps up down status token logs clean test test-unit bench lint typecheck attach verify detach

help:
	@echo "make up      start the whole pipeline with the demo domain (idempotent); MARIADB=1 also starts MariaDB,"
	@echo "             PROMETHEUS=1 also Prometheus on :9090 (PROMETHEUS_PORT) with the alert rules (docs/operations.md)"
	@echo "make test    install what is missing, start the stack, run all tests"
	@echo "make down    stop what make up started    make status / make logs / make clean"
	@echo "make token   the API tokens make up keeps in .stack/tokens, and how to use them: eval \"\$$(make -s token)\""
	@echo "make bench   run the benchmarks (results in bench/results/)"
	@echo "make attach DATABASE_URL=… SCHEMA=…|TABLES=…   capture an existing database; make verify / make detach"

# npm packages, installed when package.json or the lock changed since the last install.
# `npm install` (not `npm ci`): the lock holds only the platform packages of chdb that
# the registry serves, and `npm ci` refuses a lock without all of them.
node_modules/.installed: package.json package-lock.json
	@command -v node >/dev/null || { echo "error: Node.js 20+ is required (apt-get install nodejs npm, or nvm)"; exit 1; }
	npm install --no-audit --no-fund
	@touch $@
deps: node_modules/.installed

up: deps
ifeq ($(DOCKER),yes)
	@bash stack/stack.sh token >/dev/null
	docker compose --env-file "$${STACK_DIR:-.stack}/tokens" up -d --build --wait
	@bash stack/stack.sh token
else
	bash stack/stack.sh up
	$(CLI) migrate
	$(CLI) kafka-ping
	$(CLI) connectors
	bash stack/stack.sh app
	@bash stack/stack.sh status
endif

down:
ifeq ($(DOCKER),yes)
	docker compose down
else
	bash stack/stack.sh down
endif

status:
	@bash stack/stack.sh status
# The tokens make up generated (.stack/tokens, mode 600) as shell lines: eval "$(make -s token)".
token:
	@bash stack/stack.sh token
logs:
	bash stack/stack.sh logs
clean:
	bash stack/stack.sh clean

test: deps
	bash stack/stack.sh install-test
	MARIADB=1 bash stack/stack.sh up
	$(CLI) migrate
	$(CLI) connectors
	node_modules/.bin/vitest run

test-unit: deps
	node_modules/.bin/vitest run test/unit

bench: deps
	MARIADB=1 bash stack/stack.sh up
	$(CLI) migrate
	$(CLI) connectors
	bash bench/run.sh

# Attach to an existing database (docs/attach.md):
#   make attach DATABASE_URL=postgres://… SCHEMA=crm,billing [NAME=erp] [KEYLESS=skip|full] [CHECK=1]
#   make attach DATABASE_URL=… TABLES=crm.orders,crm.lines [NAME=erp]     (ADD=billing.refunds: add tables)
#   make verify [NAME=erp] [DATABASE_URL=…]     make detach [NAME=erp] [DATABASE_URL=…] [DROP_DATA=1]
ATTACH_ARGS = $(if $(DATABASE_URL),--database-url '$(DATABASE_URL)') --name $(or $(NAME),legacy)
attach: deps
	$(CLI) attach $(ATTACH_ARGS) $(if $(ADD),--add $(ADD),$(if $(TABLES),--tables $(TABLES)) $(if $(SCHEMA),--schema $(SCHEMA))) $(if $(KEYLESS),--keyless $(KEYLESS)) $(if $(CHECK),--check)
# verify may read ClickHouse through the read API: it needs the read token make up keeps.
verify: deps
	READ_API_TOKEN="$${READ_API_TOKEN:-$$(sed -n 's/^READ_API_TOKEN=//p' "$${STACK_DIR:-.stack}/tokens" 2>/dev/null)}" \
	  $(CLI) verify $(ATTACH_ARGS)
detach: deps
	$(CLI) detach $(ATTACH_ARGS) $(if $(DROP_DATA),--drop-data)

lint: deps
	node_modules/.bin/biome check src test bench
typecheck: deps
	node_modules/.bin/tsc -p tsconfig.json --noEmit
