# Two entry points: `make demo` (the main job) and `make test`.
# Both create .venv if it is missing and install hepgen with the pins in constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hepgen-installed

.PHONY: demo test lint format install bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-cache-dir -c constraints.txt -e '.[test,dask,onnx,hepdata]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hepgen quickstart

# One single-threaded pytest worker per core (pytest-xdist; a test file stays on one worker, so its module fixtures
# are built once). Workers with the default threads oversubscribe the cores: 583 s against 314 s on 2 cores.
# OMP_NUM_THREADS=2 make test runs the same with two threads per worker.
test: $(STAMP)
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/python -m pytest -n auto --dist loadfile

# ruff (pinned in constraints.txt): the formatter's check and the linter, as configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_reader.py

clean:
	rm -rf $(VENV) results runs .pytest_cache
