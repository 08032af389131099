#!/usr/bin/env bash
# `make sim`: the most complete demo lad_ros has today. Until the simulated cell lands this
# validates the shipped configuration and runs the demos that exist (see README "Status").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
"$PY" -m lad_ros.cli check-config
