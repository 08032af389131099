# lad_ros developer entry points. Every target sets up .venv first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
export MUJOCO_GL ?= osmesa
export PYOPENGL_PLATFORM ?= osmesa

.PHONY: setup test test-fast bench sim clean

setup:
	@bash scripts/setup.sh

## the whole test suite (unit, property and integration tests)
test: setup
	$(PY) -m pytest

## unit and property tests only (no rclpy nodes, simulators or protocol peers)
test-fast: setup
	$(PY) -m pytest -m "not integration"

## every benchmark; each prints a table and a last summary line
bench: setup
	$(PY) -m lad_ros.cli bench all

## the most complete demo there is (see README): the simulated cell once it exists
sim: setup
	bash scripts/sim.sh

clean:
	rm -rf build install log .pytest_cache
