# One entry point for people and CI. `make plan` and `make test` install what they need first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PLAN_JSON ?= plan.json

.PHONY: install plan diagram lint typecheck pylint unit test bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

plan: install
	$(BIN)/drctl plan --cost --json $(PLAN_JSON)

# The architecture picture and the cost table of the example stack, regenerated from its plan into
# README.md and docs/architecture.md (tests/unit/test_diagram.py fails when they are stale).
diagram: install
	env -u ENVIRONMENT_SUFFIX $(BIN)/drctl plan --quiet --diagram README.md --diagram docs/architecture.md --cost-markdown README.md

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pylint: install
	$(BIN)/pylint --fail-under=9.0 lib drctl dr_operations functions/payment_validator functions/watcher tests scripts tap.py

# The live tests (tests/integration) run against the moto world built from the plan; against a real
# deployment they run with TAPSTACK_LIVE_TARGET unset or `aws` (README "Tests").
unit: install
	TAPSTACK_LIVE_TARGET=moto $(BIN)/pytest --cov --cov-report=term --cov-report=xml:coverage.xml
	$(BIN)/coverage report --include='lib/*' --fail-under=95

test: lint typecheck pylint unit

# Not a test: figures for humans (cold import time, requests/s against in-process moto).
bench: install
	PYTHONPATH=.:functions $(BIN)/python scripts/bench_handler.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache coverage.xml .coverage $(PLAN_JSON)
