# Entry points for users: `make run`, `make test` and `make bench`. All create .venv on first use.
# `make run ARGS="--threads 1 --quiet"` passes options on to `edgesim run`; SCENARIO=... picks another scenario.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/iot_home.yaml
# Datasets: $EDGESIM_DATA if set, else a ../shared/data folder beside the checkout if there is one,
# else edgesim's default (~/.cache/edgesim/data, downloaded on first use).
EDGESIM_DATA ?= $(abspath $(wildcard ../shared/data))
export EDGESIM_DATA

.PHONY: run test bench install clean

$(BIN)/edgesim: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/edgesim

run: install
	$(BIN)/edgesim run $(SCENARIO) $(ARGS)

# One pytest-xdist worker per CPU (TEST_WORKERS=0 for one process); a file's tests stay on one worker,
# so its module fixtures (the fault-injection reference runs) are made once.
TEST_WORKERS ?= auto
test: install
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# Benchmarks (ratios against bare PyTorch and Flower, measured side by side); writes benchmarks/REPORT.md.
# BENCH_ARGS=--quick for a fast pass. The first run installs Flower into benchmarks/.flower-venv.
bench: install
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) runs
