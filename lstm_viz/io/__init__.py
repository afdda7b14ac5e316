"""Files in and out: sequences, models, traces. Imports the engine, never Qt.

``load_sequence(path)`` and ``load_model(path)`` decide the format from the file's
content, with the readers registered in :mod:`lstm_viz.io.formats`. Every problem is
raised as :class:`~lstm_viz.errors.FileFormatError` (a
:class:`~lstm_viz.errors.LstmVizError`) whose message starts with the file's name.
"""

from __future__ import annotations

import os

from lstm_viz.engine.sequence import Sequence
from lstm_viz.engine.trace import load_trace
from lstm_viz.errors import FileFormatError, LstmVizError
from lstm_viz.io.formats import detect, reader
from lstm_viz.io.native import save_model
from lstm_viz.io.sequences import load_sequence
from lstm_viz.safe_arrays import READ_ERRORS


def detect_model_format(path) -> str:
    """The name of the model format of ``path`` (see :mod:`lstm_viz.io.formats`), from its content."""
    return detect(path, "model").name


def load_model(
    path: str | os.PathLike,
    *,
    prefix: str | None = None,
    forget_bias: float = 1.0,
    cell_clip: float | None = None,
    proj_clip: float | None = None,
    format: str | None = None,
):
    """Load a model file and return an :class:`~lstm_viz.engine.LSTM` (or RNN).

    The format is decided from the content. ``prefix`` picks which nn.LSTM to use when a
    PyTorch file holds several (e.g. ``"encoder.rnn."``). For TensorFlow 1 checkpoints,
    which do not store them, ``forget_bias`` (TensorFlow's default 1.0), ``cell_clip``
    and ``proj_clip`` give the values the cells were built with. Each format takes the
    options it declares and ignores the others.
    """
    chosen = reader("model", format) if format else detect(path, "model")
    given = {"prefix": prefix, "forget_bias": forget_bias, "cell_clip": cell_clip, "proj_clip": proj_clip}
    options = {name: given[name] for name in chosen.options if name in given}
    try:
        model = chosen.loader()(path, **options)
    except LstmVizError:
        raise
    except (AttributeError, RecursionError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"damaged {chosen.name} model file: {type(exc).__name__}: {exc}") from None
    model.metadata.setdefault("source", os.fspath(path))
    return model


__all__ = ["Sequence", "detect_model_format", "load_model", "load_sequence", "load_trace", "save_model"]
