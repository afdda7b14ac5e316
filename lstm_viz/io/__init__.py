"""Files in and out: sequences, models, traces. Imports the engine, never Qt.

``load_sequence(path)`` and ``load_model(path)`` decide the format from the file's
content. Every problem is raised as :class:`~lstm_viz.errors.FileFormatError` (a
:class:`~lstm_viz.errors.LstmVizError`) whose message starts with the file's name.
"""

from __future__ import annotations

import os

from lstm_viz.engine.trace import load_trace
from lstm_viz.errors import FileFormatError
from lstm_viz.io.keras_import import HDF5_MAGIC
from lstm_viz.io.native import is_native_model, load_native_model, save_model
from lstm_viz.io.sequences import Sequence, load_sequence
from lstm_viz.safe_arrays import ZIP_MAGIC, NpzReader, sniff


def detect_model_format(path) -> str:
    """'native', 'pytorch', 'safetensors', ... from the file's content."""
    head = sniff(path, 16)
    if head.startswith(ZIP_MAGIC):
        with NpzReader(path) as archive:
            if is_native_model(archive):
                return "native"
            names = archive.names
        if any(name.endswith("/data.pkl") and name.count("/") == 1 for name in names):
            return "pytorch"
        if "config.json" in names and "model.weights.h5" in names:
            return "keras"
        raise FileFormatError(path, "a zip archive that is not an lstm-viz, PyTorch or Keras model")
    if head.startswith(HDF5_MAGIC):
        return "keras"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    if head.startswith(b"\x80") and len(head) > 1 and head[1] in range(2, 6):
        raise FileFormatError(
            path, "a legacy (non-zip) PyTorch pickle; re-save it with a current torch.save, or as .safetensors"
        )
    raise FileFormatError(path, "unrecognised model format")


def load_model(path: str | os.PathLike, *, prefix: str | None = None):
    """Load a model file and return an :class:`~lstm_viz.engine.LSTM` (or RNN).

    The format is decided from the content. ``prefix`` picks which nn.LSTM to use when a
    PyTorch file holds several (e.g. ``"encoder.rnn."``).
    """
    kind = detect_model_format(path)
    if kind == "native":
        with NpzReader(path) as archive:
            return load_native_model(path, archive)
    if kind == "pytorch":
        from lstm_viz.io.torch_files import read_torch_file, walk
        from lstm_viz.io.torch_import import model_from_torch_tensors

        tensors, strings = walk(path, read_torch_file(path))
        model = model_from_torch_tensors(path, tensors, strings, prefix)
    elif kind == "safetensors":
        from lstm_viz.io.torch_files import read_safetensors
        from lstm_viz.io.torch_import import model_from_torch_tensors

        model = model_from_torch_tensors(path, read_safetensors(path), None, prefix)
    elif kind == "keras":
        from lstm_viz.io.keras_import import load_keras

        model = load_keras(path)
    else:  # pragma: no cover - detect_model_format names only the kinds above
        raise FileFormatError(path, f"no importer for {kind}")
    model.metadata.setdefault("source", os.fspath(path))
    return model


__all__ = ["Sequence", "load_model", "load_sequence", "load_trace", "save_model"]
