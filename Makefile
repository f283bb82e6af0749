# Rasid — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run test unit integration bench demo soak devstack-up devstack-down clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@test -x $(BIN)/rasid
	touch $(STAMP)

devstack-up: setup
	$(BIN)/rasid devstack up

devstack-down:
	-$(BIN)/rasid devstack down

run: devstack-up
	$(BIN)/rasid init
	$(BIN)/rasid run

test: devstack-up
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/quality tests/integration tests/faults

unit: setup
	$(BIN)/python -m pytest -q tests/unit

integration: devstack-up
	$(BIN)/python -m pytest -q tests/integration

demo: setup
	$(BIN)/rasid demo

soak: devstack-up
	$(BIN)/python -m tests.soak.run $(SOAK_ARGS)

bench: devstack-up
	$(BIN)/rasid bench

clean:
	rm -rf $(VENV) .pytest_cache .faust-data
