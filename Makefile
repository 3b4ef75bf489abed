# The two commands: `make run` (set up, demo data, serve) and `make test` (set up, whole suite).
# Both install what they need on a fresh Debian machine; see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app apoa
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup stop bench translations

setup:
	@scripts/dev.sh setup

run: setup
	@eval "$$(scripts/dev.sh services apoa)"; \
	$(FLASK) db upgrade; \
	$(FLASK) regions import --skip-unchanged; \
	$(FLASK) demo seed; \
	echo "[apoa] serving on http://$(HOST):$(PORT)"; \
	exec $(FLASK) run --host $(HOST) --port $(PORT)

# pytest's exit code 5 (no tests collected) is a failure here, never a silent pass.
test: setup
	@eval "$$(scripts/dev.sh services apoa)"; \
	status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "[apoa] pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$status

stop:
	@scripts/dev.sh stop

bench: setup
	@eval "$$(scripts/dev.sh services apoa)"; \
	$(BIN)/python bench/region_lookup.py; \
	$(BIN)/python bench/submit.py; \
	$(BIN)/python bench/maps.py; \
	$(BIN)/python bench/summaries.py

translations: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o apoa/translations/messages.pot apoa templates
	$(BIN)/pybabel update --no-fuzzy-matching -i apoa/translations/messages.pot -d apoa/translations
	$(BIN)/pybabel compile -d apoa/translations
