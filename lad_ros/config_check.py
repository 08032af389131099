"""`lad check-config [FILE ...]`: validate embodiment configs, shipped ones by default."""
from __future__ import annotations

from lad_ros.config import ConfigError
from lad_ros.embodiment import available_embodiments, embodiment_file, load_embodiment_path


def configure(parser) -> None:
    parser.add_argument("files", nargs="*", help="embodiment YAML files (default: all shipped)")


def run(args) -> int:
    files = args.files or [str(embodiment_file(n)) for n in available_embodiments()]
    failures = 0
    for path in files:
        try:
            config = load_embodiment_path(path)
            print(f"ok    {path}: {config.name} ({config.kind}, {config.action_dim} dims)")
        except ConfigError as error:
            failures += 1
            print(f"ERROR {error}")
    return 1 if failures else 0
