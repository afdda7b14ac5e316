"""lstm-viz: see inside an LSTM, every gate and memory cell, step by step.

The engine and the file loaders are importable without Qt::

    from lstm_viz import LSTM
    trace = LSTM.random(8, [32, 32], seed=0).run(x)   # x: (T, D) or (B, T, D)
    trace.layers[0].forget                            # (B, T, H) keep-gate values
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
]
