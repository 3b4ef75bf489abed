# The two commands: `make run` (set up, demo data, serve) and `make test` (set up, whole suite).
# Both install what they need on a fresh Debian machine; see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app apoa
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup stop lint bench bench-smoke translations scale-demo

# Packages, the private (durable) PostgreSQL and Redis with their addresses in instance/.env, the
# schema and the regions: afterwards every `flask --app apoa ...` of README works as written.
setup:
	@scripts/dev.sh setup
	@scripts/dev.sh services apoa --durable >/dev/null
	@$(FLASK) db upgrade
	@$(FLASK) regions import --skip-unchanged

# gunicorn in the foreground; the job worker, the scheduler and the mail sink in the background
# (logs in instance/log). Ctrl-C stops them all; `make stop` also stops PostgreSQL and Redis.
run: setup
	@$(FLASK) demo seed
	@scripts/dev.sh serve $(HOST) $(PORT)

# pytest's exit code 5 (no tests collected) is a failure here, never a silent pass.
test: setup
	@eval "$$(scripts/dev.sh services apoa)"; \
	status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "[apoa] pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$status

# Beyond one machine (README): nginx over two app instances, a worker, Redis, a PostgreSQL primary
# and its streaming replica, all under instance/scale. Foreground; Ctrl-C stops it all.
scale-demo:
	@scripts/dev.sh setup
	@scripts/scale-demo.sh run

# ruff with pyproject.toml's rules (line length 100; tests, bench and migrations 120).
lint:
	@scripts/dev.sh setup
	@$(BIN)/ruff check .

# Everything `make run` started: gunicorn, worker, scheduler, mail sink, PostgreSQL, Redis.
stop:
	@scripts/dev.sh stop

# The full benchmarks, whose figures bench/RESULTS.md records (the 1M-report ones keep their
# databases between runs; submit.py refuses a server without fsync/synchronous_commit).
bench: setup
	@eval "$$(scripts/dev.sh services apoa)"; \
	$(BIN)/python bench/region_lookup.py; \
	$(BIN)/python bench/submit.py; \
	$(BIN)/python bench/whatsapp.py; \
	$(BIN)/python bench/maps.py; \
	$(BIN)/python bench/summaries.py; \
	$(BIN)/python bench/guests.py; \
	$(BIN)/python bench/page_weight.py

# Every benchmark at --scale smoke against a database of its own, made afresh (apoa_bench_smoke):
# fails when a benchmark breaks, never because a target is missed at that scale.
bench-smoke: setup
	@eval "$$(scripts/dev.sh services apoa)"; $(BIN)/python bench/smoke.py

translations: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o apoa/translations/messages.pot apoa templates
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i apoa/translations/messages.pot -d apoa/translations
	$(BIN)/pybabel compile -d apoa/translations
