"""Shared matplotlib helpers for the commands that write figures."""
from __future__ import annotations

from pathlib import Path


def save_figure(figure, out: str | Path, dpi: int) -> Path:
    """Lay out, write (creating the directory), close; returns the path written."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=dpi)
    plt.close(figure)
    return out
