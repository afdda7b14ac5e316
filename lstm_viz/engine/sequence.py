"""The input the engine runs on, with what a person needs to read it.

A :class:`Sequence` is data, not a file format: the loaders in :mod:`lstm_viz.io` make
them, the application core edits them (typed input, what-if edits), the window shows
their labels. Its ``kind`` says what the features are (numbers, one-hot text, one-hot
bases), as a typed field that code tests, while ``encoding`` is the sentence shown.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field

import numpy as np


class SequenceKind(str, enum.Enum):
    """What the features of a sequence are."""

    NUMBERS = "numbers"
    TEXT = "text"  # one-hot characters or words over ``vocabulary``
    DNA = "dna"  # one-hot bases A, C, G, T (or U), IUPAC codes shared among them


class NumberedSteps(SequenceABC):
    """The labels "start", "start + 1", ... of ``count`` steps, made when read: a million-step
    table labelled by its row numbers need not hold a million strings. Compares equal to the
    list it stands for."""

    def __init__(self, start: int, count: int):
        self.start, self.count = int(start), int(count)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [str(self.start + i) for i in range(*index.indices(self.count))]
        if index < 0:
            index += self.count
        if not 0 <= index < self.count:
            raise IndexError("step label out of range")
        return str(self.start + index)

    def __eq__(self, other) -> bool:
        if isinstance(other, NumberedSteps):
            return (self.start, self.count) == (other.start, other.count)
        return isinstance(other, list | tuple) and len(other) == self.count and list(self) == list(other)

    def __repr__(self) -> str:
        return f"NumberedSteps({self.start}, {self.count})"


@dataclass
class Sequence:
    """Values (B, T, D) float32, one display label per step, a name per feature.

    ``kind`` says what the features are; ``encoding`` describes how the values were made
    for display ("numeric", "one-hot characters", ...); ``vocabulary`` is the token list
    of a one-hot encoding; ``lengths`` (B,) the real length of each sequence (shorter ones
    are zero-padded); ``normalization`` records what was applied: ``{"kind", "offset",
    "scale"}`` with values = (raw - offset) / scale. ``labels`` are for the first
    sequence; ``batch_labels`` has them for every sequence (lists of str, or a read-only
    :class:`NumberedSteps` when they are just the step numbers: ``list(...)`` makes a list);
    ``names`` names each sequence.
    ``options`` records how the file was read (table column roles, fill, ...), as plain
    data, so a trace or a session can say it and read the file the same way again.
    """

    values: np.ndarray
    labels: list[str] | NumberedSteps = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    encoding: str = "numeric"
    source: str | None = None
    vocabulary: list[str] | None = None
    lengths: np.ndarray | None = None
    normalization: dict | None = None
    batch_labels: list[list[str] | NumberedSteps] | None = None
    names: list[str] | None = None
    kind: SequenceKind = SequenceKind.NUMBERS
    options: dict = field(default_factory=dict)

    def __post_init__(self):
        B, T, D = self.values.shape
        if self.batch_labels is None:
            if isinstance(self.labels, NumberedSteps) or not self.labels:
                shared = self.labels if self.labels else NumberedSteps(0, T)
                self.batch_labels = [shared for _ in range(B)]  # read-only: one object serves all
            else:
                self.batch_labels = [list(self.labels) for _ in range(B)]
        if not self.labels:
            first = self.batch_labels[0]
            self.labels = first if isinstance(first, NumberedSteps) else list(first)
        if not self.feature_names:
            self.feature_names = [f"x{d}" for d in range(D)]
        if self.lengths is None:
            self.lengths = np.full(B, T, np.int64)
        if self.names is None:
            self.names = [f"sequence {b}" for b in range(B)]
        self.kind = SequenceKind(self.kind)

    @property
    def batch_size(self) -> int:
        return self.values.shape[0]

    @property
    def length(self) -> int:
        return self.values.shape[1]

    @property
    def width(self) -> int:
        return self.values.shape[2]

    @property
    def is_dna(self) -> bool:
        return self.kind is SequenceKind.DNA

    @property
    def is_text(self) -> bool:
        return self.kind is SequenceKind.TEXT
