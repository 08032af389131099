#!/usr/bin/env bash
# `make sim`: the simulated cell. Validates the configuration, then starts franky-sim (a MuJoCo
# FR3 with the Franka Hand on the libfranka protocol), the Dynamixel bus simulator, the arm and
# hand nodes from the same launch plan as `ros2 launch lad_ros cell.launch.py sim:=true`, drives
# arm and hand through timed trajectories, prints what was reached, and stops everything.
# EMBODIMENTS="faive mimic franka_gripper" by default.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
"$PY" -m lad_ros.cli check-config
for embodiment in ${EMBODIMENTS:-faive mimic franka_gripper}; do
  echo
  echo "## simulated cell: $embodiment"
  "$PY" -m lad_ros.cli sim-demo --embodiment "$embodiment"
done
