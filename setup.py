"""ament_python build of lad_ros: `colcon build` on a ROS 2 workstation, or pip in a venv."""
import os
import sys
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "lad_ros"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lad_ros.nodes import NODE_SCRIPTS  # noqa: E402  (plain dict, imports nothing else)


def data_tree(source_dir):
    """(install dir, [files]) pairs that mirror source_dir under share/lad_ros."""
    pairs = []
    for root, _dirs, files in os.walk(source_dir):
        paths = [os.path.join(root, f) for f in files if not f.startswith(".")]
        if paths:
            pairs.append((os.path.join("share", PACKAGE, root), paths))
    return pairs


setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        *data_tree("config"),
        *data_tree("models"),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="lad_ros maintainers",
    maintainer_email="lad-ros@users.noreply.invalid",
    description="Latent Action Diffusion on a ROS 2 robot cell",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "lad = lad_ros.cli:main",
            *[f"{name} = {target}" for name, target in NODE_SCRIPTS.items()],
        ],
    },
)
