"""The NumPy engine: parameters, the recording forward pass, the trace, BPTT, training.

Imports NumPy only (no Qt, no file-format libraries).
"""

from lstm_viz.engine.layer import LSTMLayer
from lstm_viz.engine.network import LSTM, RNN
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.rnn_layer import RNNLayer
from lstm_viz.engine.sequence import Sequence, SequenceKind
from lstm_viz.engine.trace import LayerTrace, Trace, load_trace

__all__ = [
    "LSTM",
    "LSTMLayer",
    "LayerTrace",
    "RNN",
    "RNNLayer",
    "Readout",
    "Sequence",
    "SequenceKind",
    "Trace",
    "load_trace",
]
