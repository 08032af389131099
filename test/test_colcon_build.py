"""`colcon build` of the package in a scratch workspace installs what `ros2 run/launch` need."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lad_ros.nodes import NODE_SCRIPTS

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent
SKIP = {".venv", ".git", "build", "install", "log", ".pytest_cache", ".hypothesis", "out",
        "__pycache__"}


def _tracked_files(directory: str) -> list[Path]:
    return sorted(p.relative_to(REPO) for p in (REPO / directory).rglob("*")
                  if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts)


@pytest.fixture(scope="module")
def colcon_install(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("ws")
    shutil.copytree(REPO, workspace / "src" / "lad_ros",
                    ignore=lambda _dir, names: [n for n in names if n in SKIP])
    colcon = Path(sys.executable).parent / "colcon"
    result = subprocess.run([str(colcon), "build", "--event-handlers", "console_direct-"],
                            cwd=workspace, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return workspace / "install"


def test_every_executable_lands_in_lib(colcon_install):
    lib = colcon_install / "lad_ros" / "lib" / "lad_ros"
    for name in ["lad", *NODE_SCRIPTS]:
        executable = lib / name
        assert executable.is_file(), f"{executable} missing"
        assert os.access(executable, os.X_OK)


@pytest.mark.parametrize("directory", ["launch", "config", "models"])
def test_data_files_land_in_share(colcon_install, directory):
    share = colcon_install / "lad_ros" / "share" / "lad_ros"
    expected = _tracked_files(directory)
    if directory != "models":
        assert expected, f"the package ships no {directory}/ files"
    for relative in expected:
        assert (share / relative).is_file(), f"{relative} not installed under {share}"
    assert (share / "package.xml").is_file()
    assert (colcon_install / "lad_ros" / "share" / "ament_index" / "resource_index"
            / "packages" / "lad_ros").is_file()


def test_installed_package_finds_its_share_through_the_ament_index(colcon_install):
    script = (f"source {colcon_install}/setup.bash && cd / && "
              f"{colcon_install}/lad_ros/lib/lad_ros/lad check-config")
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    share = str(colcon_install / "lad_ros" / "share" / "lad_ros")
    assert f"ok    {share}/config/embodiments/faive.yaml" in result.stdout, result.stdout
