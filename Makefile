# One entry point for people and CI. `make plan` and `make test` install what they need first.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PLAN_JSON ?= plan.json
PLAN_DIAGRAM ?= architecture.mmd
# pytest workers (pytest-xdist): one per core of the CI machine; `--dist worksteal` below lets a worker that runs
# out of tests take queued ones from the other (the property and fault-injection tests are long).
PYTEST_WORKERS ?= 2

.PHONY: install plan diagram drill-example transcripts lint typecheck pylint unit test bench clean clean-caches

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

plan: install
	$(BIN)/drctl plan --strict --cost --json $(PLAN_JSON) --diagram $(PLAN_DIAGRAM)

# The architecture picture and the cost table of the example stack, regenerated from its plan into
# README.md and docs/architecture.md (tests/unit/test_diagram.py fails when they are stale).
diagram: install
	env -u ENVIRONMENT_SUFFIX $(BIN)/drctl plan --quiet --diagram README.md --diagram docs/architecture.md --cost-markdown README.md

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

# --fail-on: a score of 9.0 still passes with errors in it (E1101 in lib/components/drills.py did);
# an error or fatal message fails the check whatever the score. scripts/pylint_cached.py runs pylint unless
# every file it reads is byte-identical to its last passing run (pylint has no cache of its own).
pylint: install
	$(BIN)/python scripts/pylint_cached.py --fail-under=9.0 --fail-on=E,F lib drctl dr_operations functions/payment_validator functions/watcher policy tests scripts tap.py

# Branch coverage of every first-party package (pyproject.toml [tool.coverage.run] source_pkgs), in all and each.
COVERED_PACKAGES = lib drctl dr_operations functions/payment_validator functions/watcher policy
# The live tests (tests/integration) run against the moto world built from the plan; against a real
# deployment they run with TAPSTACK_LIVE_TARGET unset or `aws` (README "Tests").
# PYTHONDONTWRITEBYTECODE emptied: the tests' processes keep their compiled modules and pytest its rewritten test
# modules in __pycache__ (a warm run skips compiling ~40,000 lines in each worker).
unit: install
	PYTHONDONTWRITEBYTECODE= TAPSTACK_LIVE_TARGET=moto $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal --cov --cov-report=
	$(BIN)/python scripts/coverage_gate.py --fail-under 95 --xml coverage.xml $(COVERED_PACKAGES)

# The four checks run side by side; each prints its output when it finishes. Timings: README "Tests".
#   cold: make clean-caches && time make test        warm: time make test
test: install
	@$(MAKE) --no-print-directory -j4 --output-sync=target lint typecheck pylint unit

# Not a test: the evidence of drills against the test fixtures (docs/drill-evidence-example.md).
drill-example: install
	PYTHONPATH=.:functions $(BIN)/python scripts/drill_example.py

# Not a test: every drctl operations command run against the test fixtures (docs/drctl-transcripts.md).
transcripts: install
	PYTHONPATH=.:functions $(BIN)/python scripts/drctl_transcripts.py

# Not a test: figures for humans (cold import time, requests/s against in-process moto).
bench: install
	PYTHONPATH=.:functions $(BIN)/python scripts/bench_handler.py

# Everything a run reuses (mypy's and pylint's caches, the plans tests share, compiled modules, coverage data), not
# the virtualenv.
clean-caches:
	rm -rf .mypy_cache .pytest_cache .ruff_cache .pylint_cache coverage.xml .coverage .coverage.*
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

clean: clean-caches
	rm -rf $(VENV) $(PLAN_JSON) $(PLAN_DIAGRAM)
