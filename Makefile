# Two entry points: `make run` starts the service with demo users on SQLite, `make test` runs the suite.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# bpmn-js draws the console's diagrams. It comes from npm at build time (no CDN: the machines that run
# the console may have no internet), pinned here, and is not committed.
BPMN_JS_VERSION := 18.31.1
VENDOR := api/console/static/vendor
BPMN_JS := $(VENDOR)/bpmn-navigated-viewer.js

# bpmnlint (npm, pinned in lint/bpmn) checks the shipped diagrams under its recommended rules; any
# problem, warnings included, fails `make lint`.
BPMNLINT := lint/bpmn/node_modules/.bin/bpmnlint

.PHONY: run test lint lint-bpmn bench mutate clean assets

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(BPMN_JS): Makefile
	rm -rf .npm-pack && mkdir -p $(VENDOR) .npm-pack
	cd .npm-pack && npm pack --silent bpmn-js@$(BPMN_JS_VERSION) >/dev/null
	tar -xzf .npm-pack/bpmn-js-$(BPMN_JS_VERSION).tgz -C .npm-pack
	cp .npm-pack/package/dist/assets/diagram-js.css .npm-pack/package/dist/assets/bpmn-js.css $(VENDOR)/
	cp .npm-pack/package/LICENSE $(VENDOR)/bpmn-js-LICENSE
	cp .npm-pack/package/dist/bpmn-navigated-viewer.production.min.js $(BPMN_JS)
	rm -rf .npm-pack

assets: $(BPMN_JS)

run: $(STAMP) $(BPMN_JS)
	$(BIN)/weibao serve --demo

test: $(STAMP) $(BPMN_JS)
	$(BIN)/pytest -q

$(BPMNLINT): lint/bpmn/package.json lint/bpmn/package-lock.json
	cd lint/bpmn && npm ci --silent --no-audit --no-fund
	touch $(BPMNLINT)

lint-bpmn: $(BPMNLINT)
	$(BPMNLINT) -c lint/bpmn/.bpmnlintrc --max-warnings=0 processes/*.bpmn

lint: $(STAMP) lint-bpmn
	$(BIN)/ruff check engine handlers api tests bench lint
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python lint/sizes.py
	$(BIN)/python lint/seams.py

# Mutation score per module (lint/mutation.py); `make mutate MODULES=engine/bpmn/forms.py` for one.
mutate: $(STAMP)
	$(BIN)/python lint/mutation.py --record $(MODULES)

bench: $(STAMP)
	$(BIN)/python -m bench.step_cost

clean:
	rm -rf $(VENV) mutants .pytest_cache .mypy_cache .ruff_cache weibao.sqlite3* $(VENDOR) .npm-pack lint/bpmn/node_modules
