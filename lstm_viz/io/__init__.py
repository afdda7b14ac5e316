"""Files in and out: sequences, models, traces. Imports the engine, never Qt.

``load_sequence(path)`` and ``load_model(path)`` decide the format from the file's
content. Every problem is raised as :class:`~lstm_viz.errors.FileFormatError` (a
:class:`~lstm_viz.errors.LstmVizError`) whose message starts with the file's name.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from lstm_viz.engine.trace import load_trace
from lstm_viz.errors import FileFormatError
from lstm_viz.io.native import is_native_model, load_native_model, save_model
from lstm_viz.io.sequences import Sequence, load_array_sequence

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _head(path, n: int = 8) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(n)
    except FileNotFoundError:
        raise FileFormatError(path, "no such file") from None
    except IsADirectoryError:
        raise FileFormatError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from None


def load_sequence(path: str | os.PathLike) -> Sequence:
    """Load a sequence file; see :class:`Sequence`."""
    head = _head(path)
    if head.startswith(_NPY_MAGIC) or head.startswith(_ZIP_MAGIC):
        return load_array_sequence(path)
    raise FileFormatError(path, "unrecognised sequence format (this release reads .npy and .npz arrays)")


def load_model(path: str | os.PathLike):
    """Load a model file and return an :class:`~lstm_viz.engine.LSTM` (or RNN)."""
    head = _head(path)
    if not head.startswith(_ZIP_MAGIC):
        raise FileFormatError(path, "unrecognised model format (this release reads the native .npz model format)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise FileFormatError(path, f"damaged archive: {exc}") from None
    with archive:
        if is_native_model(archive):
            return load_native_model(path, archive)
    raise FileFormatError(path, "a zip/.npz archive that is not an lstm-viz model (no 'meta' and 'l0.*' tensors)")


__all__ = ["Sequence", "load_model", "load_sequence", "load_trace", "save_model"]
