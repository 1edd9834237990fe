# The two commands of the README: `make study` (the seed study + report) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup study test lint docs

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# A .venv made before ablab dropped tensorflow-cpu: one TensorFlow package, not two in one module.
	$(BIN)/pip uninstall --quiet --yes tensorflow-cpu 2>/dev/null || true
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

study: setup
	$(BIN)/ablab-train study=seed

test: setup
	$(BIN)/ruff check src tests benchmarks docs scripts/mlflow-server
	$(BIN)/pytest -q -n 2

lint: setup
	$(BIN)/ruff check src tests benchmarks docs scripts/mlflow-server

# The docs site (mkdocs.yml): --strict fails on a broken link or a page missing from the nav.
docs: setup
	DISABLE_MKDOCS_2_WARNING=true $(BIN)/mkdocs build --strict --site-dir site
