#!/usr/bin/env bash
# Fresh-machine setup: Debian runtime libraries when missing, then the pinned Python environment
# in .venv (ROS 2 wheels, torch CPU, franky, MuJoCo, RealSense, Dynamixel, ...), then lad_ros
# itself in editable mode. Idempotent: a second run with nothing to do takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# g++: torch.compile (inductor) builds the policy's CPU kernels at start-up (docs/policy.md)
APT_PACKAGES=(libusb-1.0-0 libosmesa6 g++)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
stamp="$VENV/.requirements-$(sha1sum requirements.txt setup.py | sha1sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages into $VENV (first run: a few minutes)"
  log="$VENV/pip-install.log"
  if ! "$VENV/bin/pip" install --disable-pip-version-check -r requirements.txt >"$log" 2>&1 \
     || ! "$VENV/bin/pip" install --disable-pip-version-check --no-deps -e . >>"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" | tail -40
    echo "setup: pip install failed (full log: $log)" >&2
    exit 1
  fi
  rm -f "$VENV"/.requirements-*
  touch "$stamp"
fi
echo "setup: $VENV ready"
