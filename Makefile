# PCRM — run `make help` for the list. Every target works as root on a fresh Debian machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
export DJANGO_SETTINGS_MODULE ?= pcrm_site.settings
# The demo world, seeding and `bench` (the devtools app) are wanted by every make target here.
export PCRM_DEVTOOLS ?= 1

.PHONY: help setup services stop status migrate seed run prod worker beat test test-fast screenshots lint deadcode format bench

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

setup: ## Install what is missing: apt packages, .venv from the lock, npm packages (idempotent)
	@scripts/bootstrap.sh

services: setup ## Start PostgreSQL, Redis and the MESH sandbox (only what is not running)
	@scripts/services.sh start

stop: ## Stop the services that `make services` started
	@scripts/services.sh stop

status: ## Show which services are up
	@scripts/services.sh status

migrate: services ## Apply database migrations
	@$(PY) manage.py migrate --noinput

seed: migrate ## Load reference data and the demo world if the database is empty
	@$(PY) manage.py seed_demo --if-empty

run: seed ## Start everything, load the demo world, serve http://127.0.0.1:8000 (Ctrl-C stops all)
	@scripts/run.sh

prod: setup ## Run as production does: gunicorn (DEBUG=0), whitenoise, worker + beat, JSON logs (docs/deployment.md)
	@scripts/prod.sh

test: services ## Set up, run every test (unit, integration, browser), stop what was started
	@scripts/test.sh

screenshots: services ## Refresh docs/screenshots/ (the README's pictures) from the browser tests
	@PCRM_SCREENSHOTS=$(CURDIR)/docs/screenshots scripts/test.sh -m browser

lint: setup ## ruff check, ruff format --check and the import-linter contracts (pyproject.toml)
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/lint-imports --no-cache

deadcode: setup ## List production code nothing in production uses (vulture, filtered: scripts/dead_code.py)
	@.venv/bin/python scripts/dead_code.py

format: setup ## Apply ruff's fixes and formatting
	@.venv/bin/ruff check --fix .
	@.venv/bin/ruff format .

bench: services ## Run a benchmark: make bench AREA=codec
	@$(PY) manage.py bench $(AREA) --json
