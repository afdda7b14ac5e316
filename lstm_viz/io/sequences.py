"""Sequence files: what the model reads, with a label for every step.

This release reads NumPy arrays (``.npy``, ``.npz``); a 2-D array is one sequence
(T, D), a 3-D array a batch (B, T, D). Never unpickles (``allow_pickle=False``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from lstm_viz.errors import FileFormatError
from lstm_viz.safe_arrays import NPY_MAGIC, NpzReader, load_npy, sniff


@dataclass
class Sequence:
    """Values (B, T, D) float32, one display label per step, a name per feature.

    ``encoding`` says how the values were made ("numeric", "one-hot characters", ...) so
    the app can say "step 17: 'q'".
    """

    values: np.ndarray
    labels: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    encoding: str = "numeric"
    source: str | None = None

    def __post_init__(self):
        B, T, D = self.values.shape
        if not self.labels:
            self.labels = [str(t) for t in range(T)]
        if not self.feature_names:
            self.feature_names = [f"x{d}" for d in range(D)]

    @property
    def batch_size(self) -> int:
        return self.values.shape[0]

    @property
    def length(self) -> int:
        return self.values.shape[1]

    @property
    def width(self) -> int:
        return self.values.shape[2]


def _to_sequence(path, array: np.ndarray, what: str) -> Sequence:
    if array.dtype.kind not in "fiub":
        raise FileFormatError(path, f"{what} has dtype {array.dtype}; expected numbers")
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise FileFormatError(path, f"{what} has shape {array.shape}; expected (T, D) or (B, T, D)")
    if 0 in array.shape:
        raise FileFormatError(path, f"{what} is empty (shape {array.shape})")
    values = np.ascontiguousarray(array, dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.all():
        b, t, d = (int(i) for i in np.argwhere(~finite)[0])
        raise FileFormatError(
            path, f"{what} holds NaN or infinite values (first at sequence {b}, step {t}, feature {d})"
        )
    return Sequence(values, source=os.fspath(path))


def load_array_sequence(path: str | os.PathLike) -> Sequence:
    """A sequence from a ``.npy`` array or the ``x`` (or ``values``, or only) array of a ``.npz``."""
    if sniff(path).startswith(NPY_MAGIC):
        return _to_sequence(path, load_npy(path), "the array")
    with NpzReader(path) as archive:
        names = archive.files
        key = "x" if "x" in names else ("values" if "values" in names else (names[0] if len(names) == 1 else None))
        if key is None:
            raise FileFormatError(path, f"holds arrays {names}; name the sequence 'x' or 'values'")
        return _to_sequence(path, archive[key], f"array {key!r}")
