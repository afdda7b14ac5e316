"""The Examples menu: the tutorial's own examples and the trained demos, each with a note.

Each example is a folder in ``resources/examples`` (shipped as ``lstm_viz.resources``)
holding ``example.json``: the model and
sequence files (relative to the folder), a title, a guided note, the units to select and
the step to show, and the claim the note makes (checked by the tests).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lstm_viz.errors import FileFormatError
from lstm_viz.workbench.resources import RESOURCES

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

    def request(self):
        """The files to open for this example."""
        from lstm_viz.workbench.loading import OpenRequest

        return OpenRequest(sequence_path=str(self.sequence), model_path=str(self.model))


def load_example(slug: str) -> Example:
    """The example in ``resources/examples/<slug>``; a damaged one raises FileFormatError."""
    folder = EXAMPLES / slug
    path = folder / "example.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return Example(
            slug=slug,
            title=str(info["title"]),
            note=str(info["note"]),
            model=(folder / info["model"]).resolve(),
            sequence=(folder / info["sequence"]).resolve(),
            select=[int(u) for u in info.get("select", [])],
            step=int(info.get("step", 0)),
            claim=dict(info.get("claim", {})),
        )
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # JSON errors are ValueErrors too
        raise FileFormatError(path, f"is not a valid example description: {exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise FileFormatError(path, f"is not a valid example description: missing or wrong {exc}") from None


def example_exists(slug: str) -> bool:
    return slug in ORDER and (EXAMPLES / slug / "example.json").exists()


def examples() -> list[Example]:
    """Every example that is present and readable, tutorial first (a damaged one is left out)."""
    found = []
    for slug in ORDER:
        if (EXAMPLES / slug / "example.json").exists():
            try:
                found.append(load_example(slug))
            except FileFormatError as exc:
                print(f"lstm-viz: {exc}", file=sys.stderr)
    return found
