"""lstm-viz: see inside an LSTM, every gate and memory cell, step by step.

The engine and the file loaders are importable without Qt::

    from lstm_viz import LSTM
    trace = LSTM.random(8, [32, 32], seed=0).run(x)   # x: (T, D) or (B, T, D)
    trace.layers[0].forget                            # (B, T, H) keep-gate values

In a notebook, ``lstm_viz.render(model, x, panels=["gates"], step=5)`` is a picture shown
inline, and ``lstm_viz.show(model, x)`` opens the window without blocking the kernel.
"""

from lstm_viz.engine import LSTM, RNN, LayerTrace, LSTMLayer, Readout, RNNLayer, Trace, load_trace
from lstm_viz.errors import Cancelled, FileFormatError, InputError, LstmVizError, ModelError

__version__ = "0.1.0"


def load_model(path, **options):
    """Load a model file (format decided from its content); see :func:`lstm_viz.io.load_model`."""
    from lstm_viz.io import load_model as _load_model

    return _load_model(path, **options)


def load_sequence(path, **options):
    """Load a sequence file; see :func:`lstm_viz.io.sequences.load_sequence`."""
    from lstm_viz.io import load_sequence as _load_sequence

    return _load_sequence(path, **options)


def show(model, x=None, **options):
    """Open the window on ``model`` run on ``x`` without blocking (in Jupyter too); see
    :func:`lstm_viz.ui.notebook.show`."""
    from lstm_viz.ui.notebook import show as _show

    return _show(model, x, **options)


def render(model, x=None, **options):
    """A picture of the window or of some panels, displayed inline in a notebook; see
    :func:`lstm_viz.ui.notebook.render`."""
    from lstm_viz.ui.notebook import render as _render

    return _render(model, x, **options)


__all__ = [
    "LSTM",
    "RNN",
    "Cancelled",
    "FileFormatError",
    "InputError",
    "LSTMLayer",
    "LayerTrace",
    "LstmVizError",
    "ModelError",
    "RNNLayer",
    "Readout",
    "Trace",
    "load_model",
    "load_sequence",
    "load_trace",
    "render",
    "show",
]
