"""The Examples menu: the tutorial's own examples and the trained demos, each with a note.

Each example is a folder in ``resources/examples`` holding ``example.json``: the model and
sequence files (relative to the folder), a title, a guided note, the units to select and
the step to show, and the claim the note makes (checked by the tests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from lstm_viz.engine.tasks import RESOURCES

EXAMPLES = RESOURCES / "examples"
ORDER = ("tutorial_cell", "tutorial_stack", "adding", "brackets", "sine", "text")


@dataclass
class Example:
    slug: str
    title: str
    note: str
    model: Path
    sequence: Path
    select: list[int] = field(default_factory=list)
    step: int = 0
    claim: dict = field(default_factory=dict)


def load_example(slug: str) -> Example:
    folder = EXAMPLES / slug
    info = json.loads((folder / "example.json").read_text(encoding="utf-8"))
    return Example(
        slug=slug,
        title=info["title"],
        note=info["note"],
        model=(folder / info["model"]).resolve(),
        sequence=(folder / info["sequence"]).resolve(),
        select=[int(u) for u in info.get("select", [])],
        step=int(info.get("step", 0)),
        claim=dict(info.get("claim", {})),
    )


def examples() -> list[Example]:
    """Every example that is present, tutorial first."""
    return [load_example(slug) for slug in ORDER if (EXAMPLES / slug / "example.json").exists()]
