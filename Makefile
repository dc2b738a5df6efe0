# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# dynalite (a DynamoDB implementation) for the online-store tests and benchmark, pinned in package-lock.json.
NODE_STAMP := node_modules/.installed-stamp

# dbt reads profiles from DBT_PROFILES_DIR; unless the user has a `featurestore` profile of their own,
# use profiles.example.yml (copied into .dbt/, which git ignores).
ifeq ($(origin DBT_PROFILES_DIR), undefined)
  ifeq ($(shell grep -qs '^featurestore:' $(HOME)/.dbt/profiles.yml && echo own),own)
    DBT_PROFILES_DIR := $(HOME)/.dbt
  else
    DBT_PROFILES_DIR := $(CURDIR)/.dbt
  endif
endif
export DBT_PROFILES_DIR

# The demo's raw data: two weeks of a 2,000-user news service; values are shown as of its last evening.
DEMO_USERS ?= 2000
DEMO_DAYS ?= 14
DEMO_START ?= 2026-10-01
DEMO_AS_OF ?= 2026-10-14T20:00:00
# The demo's "present" is DEMO_AS_OF: the sync puts online the values valid then (`--now`; the groups also
# hold rows pre-computed for the following days, when windows empty), and the lookup judges expiry then.
# DEMO_USER was active that evening: the offline (show) and online (online get) values agree, non-zero.
DEMO_USER ?= 5
RAW_DIR ?= data/raw
export FEATURESTORE_RAW_PATH := $(RAW_DIR)

.PHONY: help setup chromium demo test lint dbt-build pytest bench bench-online bench-pit athena-smoke clean

help:
	@echo "make demo   set up, generate demo data, build the feature store locally, show it"
	@echo "make test   set up, lint (ruff, sqlfluff, mypy), dbt build + tests, pytest"
	@echo "make bench  benchmarks (minutes to an hour; see docs/benchmarks.md)"
	@echo "make bench-online  online store benchmark against dynalite (minutes; docs/benchmarks_online.md)"
	@echo "make bench-pit  point-in-time join benchmark (about 10 minutes; docs/benchmarks.md)"
	@echo "make athena-smoke  build the demo on a real AWS account (needs credentials; see docs/athena.md)"
	@echo "make clean  remove generated data, dbt artifacts and the virtualenv"

$(STAMP): python/pyproject.toml requirements/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements/constraints.txt -e 'python[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(DBT_PROFILES_DIR)/profiles.yml: profiles.example.yml
	@mkdir -p $(DBT_PROFILES_DIR)
	cp profiles.example.yml $@

# Chromium from the OS packages, for the feature catalog's browser test (tests/pipeline/test_catalog.py);
# where the OS has no apt-get, setup says so and that test skips with the same reason.
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		echo "installing chromium (Debian package) for the catalog's browser test"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "setup: no apt-get on this OS, so no Chromium: the catalog's browser test will be skipped"; fi

setup: $(STAMP) $(NODE_STAMP) $(DBT_PROFILES_DIR)/profiles.yml chromium

$(RAW_DIR)/.complete: $(STAMP) Makefile
	$(BIN)/featurestore demo-data --out $(RAW_DIR) --users $(DEMO_USERS) --days $(DEMO_DAYS) --start $(DEMO_START)
	@touch $@

dbt-build: setup $(RAW_DIR)/.complete
	$(BIN)/dbt build --target local

demo: dbt-build
	$(BIN)/featurestore list --now $(DEMO_AS_OF)
	$(BIN)/featurestore validate
	$(BIN)/featurestore show user_engagement --as-of $(DEMO_AS_OF) --limit 5
	$(BIN)/featurestore show article_popularity --as-of $(DEMO_AS_OF) --limit 5
	$(BIN)/featurestore training-set --spine main_training_sets.impression_click_labels --spine-time shown_at \
		--features user_engagement:clicks_7d,user_engagement:ctr_24h,article_popularity:ctr_1h,user_category_affinity:click_share_30d \
		--out target/impression_click_training_set.parquet
	$(BIN)/featurestore show user_engagement $(DEMO_USER) --as-of $(DEMO_AS_OF)
	$(BIN)/featurestore sync --now $(DEMO_AS_OF)
	$(BIN)/featurestore online get user_engagement $(DEMO_USER) --now $(DEMO_AS_OF)
	@# Freshness as of the demo's present; exit 1 (a late group) is shown, not fatal; 2 (stale) is.
	$(BIN)/featurestore status --now $(DEMO_AS_OF) || [ $$? -eq 1 ]
	$(BIN)/dbt docs generate --static --target local --quiet
	$(BIN)/featurestore catalog --out target/catalog --now $(DEMO_AS_OF)

lint: setup
	$(BIN)/ruff check --config python/pyproject.toml python tests benchmarks
	$(BIN)/ruff format --check --config python/pyproject.toml python tests benchmarks
	$(BIN)/sqlfluff lint models tests/dbt
	$(BIN)/mypy --config-file python/pyproject.toml python/src/featurestore

# pytest-xdist: one worker per core (tests mostly wait on dbt and DuckDB subprocesses); a file's tests stay on
# one worker, so module fixtures (a built project, a moto server) are built once. 370 s instead of 616 s on 2 cores.
PYTEST_WORKERS ?= auto
pytest: setup $(RAW_DIR)/.complete
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

test: lint dbt-build pytest

# Benchmarks (not part of `make test`): results go to $(BENCH_DIR)/results.md, for docs/benchmarks.md.
BENCH_SIZES ?= 1M,10M,50M
BENCH_DIR ?= /tmp/fs-bench
bench: setup
	$(BIN)/python benchmarks/bench_incremental.py --sizes $(BENCH_SIZES) --work-dir $(BENCH_DIR) \
		--out $(BENCH_DIR)/results.md --with-backfill

# Online store: sync throughput and lookup latency against dynalite on loopback (not part of `make test`).
BENCH_ONLINE_ENTITIES ?= 100000
bench-online: setup
	$(BIN)/python benchmarks/bench_online.py --entities $(BENCH_ONLINE_ENTITIES) --out docs/benchmarks_online.md

# Point-in-time joins: the macro (ASOF, window) against range join + ROW_NUMBER and a bare ASOF, 1M labels x 15M
# feature rows, then the window method at twice the data (not part of `make test`; about 10 minutes).
bench-pit: setup
	$(BIN)/python benchmarks/bench_pit_join.py --work-dir $(BENCH_DIR)-pit --out $(BENCH_DIR)-pit/results.md

# A smoke test on a real AWS account, never run by CI: loads the demo's raw data into S3 and Glue, builds
# everything on Athena with all tests, runs one micro-batch (staging tables + feature groups) under the writer
# leases, and prints the data each step scanned; then syncs the online groups to DynamoDB, builds a training
# set on Athena, and compacts the feature groups (`maintain`), printing their Iceberg file counts before and after.
ATHENA_SCHEMA := $(or $(FEATURESTORE_ATHENA_SCHEMA),featurestore)
athena-smoke: setup $(RAW_DIR)/.complete
	@test -n "$${FEATURESTORE_S3_DATA_DIR:-}" && test -n "$${FEATURESTORE_S3_STAGING_DIR:-}" || { \
		echo "athena-smoke: set FEATURESTORE_S3_DATA_DIR, FEATURESTORE_S3_STAGING_DIR and AWS credentials"; \
		echo "(see 'Pointing it at a real AWS account' in README.md and docs/athena.md)"; exit 2; }
	$(BIN)/dbt parse --target athena
	$(BIN)/featurestore athena load-raw --data $(RAW_DIR) \
		--s3-uri $(patsubst %/,%,$(FEATURESTORE_S3_DATA_DIR))/raw/
	$(BIN)/dbt build --target athena
	$(BIN)/featurestore athena bytes-scanned
	$(BIN)/featurestore run --target athena --select config.materialized:incremental
	$(BIN)/featurestore athena bytes-scanned
	FEATURESTORE_TARGET=athena FEATURESTORE_ONLINE_BACKEND=dynamodb $(BIN)/featurestore sync --now $(DEMO_AS_OF)
	FEATURESTORE_TARGET=athena FEATURESTORE_ONLINE_BACKEND=dynamodb \
		$(BIN)/featurestore online get user_engagement $(DEMO_USER) --now $(DEMO_AS_OF)
	FEATURESTORE_TARGET=athena $(BIN)/featurestore training-set \
		--spine $(ATHENA_SCHEMA)_training_sets.impression_click_labels --spine-time shown_at \
		--features user_engagement:clicks_7d,user_engagement:ctr_24h,article_popularity:ctr_1h,user_category_affinity:click_share_30d \
		--out target/athena_impression_click_training_set.parquet
	FEATURESTORE_TARGET=athena $(BIN)/featurestore maintain --show-files

clean:
	rm -rf target dbt_packages logs data .dbt $(VENV) node_modules
