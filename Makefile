# Two entry points: `make run` starts the service with demo users on SQLite, `make test` runs the suite.
# Both create .venv and install what they need on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench mutate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/weibao serve --demo

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check engine handlers api tests bench lint
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python lint/sizes.py
	$(BIN)/python lint/seams.py

# Mutation score per module (lint/mutation.py); `make mutate MODULES=engine/bpmn/forms.py` for one.
mutate: $(STAMP)
	$(BIN)/python lint/mutation.py $(MODULES)

bench: $(STAMP)
	$(BIN)/python -m bench.step_cost

clean:
	rm -rf $(VENV) mutants .pytest_cache .mypy_cache .ruff_cache weibao.sqlite3*
