# The two commands a newcomer needs: `make demo` and `make test`. Both create and reuse .venv by themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP     := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck pytest dist-check bench eval clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed: run make PYTHON=python3.11 ...")'
	@echo "Creating the virtual environment $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip

# What the demo needs: the project and its runtime dependencies (pip shows each download; first run only).
$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing support-agent and its runtime dependencies into $(VENV) (first run only) ..."
	$(BIN)/python -m pip install --progress-bar on -e .
	@touch $@

# What the tests need on top: pytest, ruff, mypy, the PostgreSQL driver, the packaging tools.
$(DEV_STAMP): $(RUNTIME_STAMP)
	@echo "Installing the test, lint and packaging tools into $(VENV) (first run only) ..."
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

demo: $(RUNTIME_STAMP)
	$(BIN)/support-agent demo

test: lint typecheck pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/pytest

# The sdist and wheel built, installed with pip, pipx and uv tool into fresh environments, every command run.
dist-check: $(DEV_STAMP)
	$(BIN)/pytest -m distribution tests/test_distribution.py

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

eval: $(DEV_STAMP)
	$(BIN)/python -m evaluation

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
