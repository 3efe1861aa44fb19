# Registrar — every entry point. `make up` and `make test` are the two commands a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
s ?=

.PHONY: help up down ps logs wait-db migrate migration test test-coverage test-all test-ci format lint clean build compose-up compose-down bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

up: ## Start everything locally, detached (s=NAME starts one service)
	@scripts/stack.sh up $(s)

down: ## Stop everything make up started (s=NAME stops one service)
	@scripts/stack.sh down $(s)

ps: ## Show what is running
	@scripts/stack.sh ps

logs: ## Follow one service's log: make logs s=users-api (also edge, redis, db)
	@scripts/stack.sh logs $(s)

wait-db: ## Wait until Postgres is ready
	@scripts/stack.sh wait-db

migrate: ## Apply pending migrations (users-api migrate)
	@scripts/stack.sh migrate

migration: ## Scaffold a migration: make migration name=my_feature
	@scripts/new-migration.sh "$(name)"

build: ## Build all services (debug)
	@swift build

test: ## Lint, then every test against its own Postgres and Redis
	@scripts/test.sh

test-coverage: ## Same as test, with a coverage report
	@COVERAGE=1 scripts/test.sh

test-all: test ## Same as test (kept from the seed)
test-ci: test ## The CI entry (same as test)

bench: ## Release build as shipped, its own stack, load on loopback: bench/results/latest.{md,json} (≈ 2 min + build)
	@bench/run.sh

format: ## Format the Swift sources in place
	@swift format format --in-place --recursive --parallel Package.swift Sources services Tests bench

lint: ## Check formatting only
	@swift format lint --strict --recursive --parallel Package.swift Sources services Tests bench

clean: ## Stop everything and delete local data (.run)
	@scripts/stack.sh clean

compose-up: ## Build the image and start the stack with Docker Compose (needs Docker; set POSTGRES_PASSWORD and INTERNAL_API_TOKEN)
	docker compose -p registrar -f deploy/compose/docker-compose.yml up -d --build

compose-down: ## Stop the Docker Compose stack
	docker compose -p registrar -f deploy/compose/docker-compose.yml down
