"""The Examples menu: the tutorial's own examples and the trained demos, each with a note.

Each example is a folder in ``resources/examples`` (shipped as ``lstm_viz.resources``)
holding ``example.json``: the model and
sequence files (relative to the folder), a title, a guided note, the units to select and
the step to show, and the claim the note makes (checked by the tests).

An example may also hold a walk: ``"walk": [{"text", "step", "select", "claims"}, ...]``,
notes to go through one by one (the guide's Next and Previous, Page Down and Page Up),
each moving the cursor and the selection to where it says. Each claim of a note names a
number the text quotes and how it is measured on the trace (``quantity``, ``unit``,
``steps``, ``stat``; see tests/ui/test_examples.py), with an ``at_least`` or ``at_most``
where the text states a behaviour ("stays near 1"); the tests measure every one.
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
class Note:
    """One note of a walk: its text (HTML), and the step and units it is about."""

    text: str
    step: int = 0
    select: list[int] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)


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
    walk: list[Note] = field(default_factory=list)

    def __post_init__(self):
        if not self.walk:  # a single note: a walk of one
            self.walk = [Note(self.note, self.step, list(self.select))]

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
            walk=[
                Note(
                    text=str(note["text"]),
                    step=int(note.get("step", 0)),
                    select=[int(u) for u in note.get("select", [])],
                    claims=[dict(c) for c in note.get("claims", [])],
                )
                for note in info.get("walk", [])
            ],
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
