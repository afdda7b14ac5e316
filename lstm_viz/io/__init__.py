"""Files in and out: sequences, models, traces. Imports the engine, never Qt.

``load_sequence(path)`` and ``load_model(path)`` decide the format from the file's
content. Every problem is raised as :class:`~lstm_viz.errors.FileFormatError` (a
:class:`~lstm_viz.errors.LstmVizError`) whose message starts with the file's name.
"""

from __future__ import annotations

import os
import re

from lstm_viz.engine.sequence import Sequence
from lstm_viz.engine.trace import load_trace
from lstm_viz.errors import FileFormatError, LstmVizError
from lstm_viz.io.keras_import import HDF5_MAGIC
from lstm_viz.io.native import is_native_model, load_native_model, save_model
from lstm_viz.io.sequences import load_sequence
from lstm_viz.safe_arrays import READ_ERRORS, ZIP_MAGIC, NpzReader, sniff


def detect_model_format(path) -> str:
    """'native', 'pytorch', 'safetensors', 'keras', 'onnx', 'tf-checkpoint' or 'tf-npz', from the content."""
    name = os.fspath(path)
    if (
        name.endswith(".index")
        or re.search(r"\.data-\d{5}-of-\d{5}$", name)
        or (not os.path.exists(name) and os.path.exists(name + ".index"))
    ):
        return "tf-checkpoint"
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
        if any(n.endswith("/kernel.npy") for n in names):
            return "tf-npz"
        raise FileFormatError(path, "a zip archive that is not an lstm-viz, PyTorch or Keras model")
    if head.startswith(HDF5_MAGIC):
        return "keras"
    if len(head) >= 9 and head[8:9] == b"{":
        return "safetensors"
    if os.fspath(path).lower().endswith(".onnx") or head[:1] == b"\x08":
        return "onnx"
    if head.startswith(b"\x80") and len(head) > 1 and head[1] in range(2, 6):
        raise FileFormatError(
            path, "a legacy (non-zip) PyTorch pickle; re-save it with a current torch.save, or as .safetensors"
        )
    raise FileFormatError(path, "unrecognised model format")


def load_model(
    path: str | os.PathLike,
    *,
    prefix: str | None = None,
    forget_bias: float = 1.0,
    cell_clip: float | None = None,
    proj_clip: float | None = None,
):
    """Load a model file and return an :class:`~lstm_viz.engine.LSTM` (or RNN).

    The format is decided from the content. ``prefix`` picks which nn.LSTM to use when a
    PyTorch file holds several (e.g. ``"encoder.rnn."``). For TensorFlow 1 checkpoints,
    which do not store them, ``forget_bias`` (TensorFlow's default 1.0), ``cell_clip``
    and ``proj_clip`` give the values the cells were built with.
    """
    kind = detect_model_format(path)
    tf_options = {"forget_bias": forget_bias, "cell_clip": cell_clip, "proj_clip": proj_clip}
    try:
        model = _import(path, kind, prefix, tf_options)
    except LstmVizError:
        raise
    except (AttributeError, RecursionError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"damaged {kind} model file: {type(exc).__name__}: {exc}") from None
    model.metadata.setdefault("source", os.fspath(path))
    return model


def _import(path, kind: str, prefix: str | None, tf_options: dict):
    if kind == "native":
        with NpzReader(path) as archive:
            return load_native_model(path, archive)
    if kind == "pytorch":
        from lstm_viz.io.torch_files import read_torch_file, walk
        from lstm_viz.io.torch_import import model_from_torch_tensors

        tensors, strings = walk(path, read_torch_file(path))
        return model_from_torch_tensors(path, tensors, strings, prefix)
    if kind == "safetensors":
        from lstm_viz.io.torch_files import read_safetensors
        from lstm_viz.io.torch_import import model_from_torch_tensors

        return model_from_torch_tensors(path, read_safetensors(path), None, prefix)
    if kind == "onnx":
        from lstm_viz.io.onnx_import import load_onnx

        return load_onnx(path)
    if kind == "keras":
        from lstm_viz.io.keras_import import load_keras

        return load_keras(path)
    if kind == "tf-checkpoint":
        from lstm_viz.io.tf_checkpoint import model_from_tf_variables, read_checkpoint

        return model_from_tf_variables(path, read_checkpoint(path), **tf_options)
    if kind == "tf-npz":
        from lstm_viz.io.tf_checkpoint import model_from_tf_variables

        with NpzReader(path) as archive:
            arrays = {name: archive[name] for name in archive.files}
        return model_from_tf_variables(path, arrays, **tf_options)
    raise FileFormatError(path, f"no importer for {kind}")  # pragma: no cover


__all__ = ["Sequence", "load_model", "load_sequence", "load_trace", "save_model"]
