"""Files in and out: sequences, models, traces. Imports the engine, never Qt.

``load_sequence(path)`` and ``load_model(path)`` decide the format from the file's
content. Every problem is raised as :class:`~lstm_viz.errors.FileFormatError` (a
:class:`~lstm_viz.errors.LstmVizError`) whose message starts with the file's name.
"""

from __future__ import annotations

import os

from lstm_viz.engine.trace import load_trace
from lstm_viz.errors import FileFormatError
from lstm_viz.io.native import is_native_model, load_native_model, save_model
from lstm_viz.io.sequences import Sequence, load_sequence
from lstm_viz.safe_arrays import ZIP_MAGIC, NpzReader, sniff


def load_model(path: str | os.PathLike):
    """Load a model file and return an :class:`~lstm_viz.engine.LSTM` (or RNN)."""
    if not sniff(path).startswith(ZIP_MAGIC):
        raise FileFormatError(path, "unrecognised model format (this release reads the native .npz model format)")
    with NpzReader(path) as archive:
        if is_native_model(archive):
            return load_native_model(path, archive)
    raise FileFormatError(path, "a zip/.npz archive that is not an lstm-viz model (no 'meta' and 'l0.W_x' arrays)")


__all__ = ["Sequence", "load_model", "load_sequence", "load_trace", "save_model"]
