"""Where the shipped files are: the package ``lstm_viz.resources`` (the top-level
``resources/`` folder of the source tree, installed inside the wheel)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(*parts: str) -> Path:
    """The path of a shipped file, e.g. ``resource("demo", "adding_model.npz")``."""
    return Path(str(files("lstm_viz.resources").joinpath(*parts)))


RESOURCES = resource()
