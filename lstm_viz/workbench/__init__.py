"""The application core: session state and use cases, shared by the window and the command line.

Qt-free. ``Workbench`` holds what is shown and announces changes (psygnal signals);
:mod:`~lstm_viz.workbench.loading` is the one load policy; options are plain data::

    from lstm_viz.workbench import OpenRequest, Workbench
    bench = Workbench()
    bench.open(OpenRequest(sequence_path="prices.csv", model_path="model.pt")).now()
    bench.set_step(10); bench.quantity("forget")      # (T, H) of the current layer
"""

from lstm_viz.workbench.loading import Loaded, OpenRequest, WidthMismatch, load, trace_meta
from lstm_viz.workbench.options import ModelOptions, RandomSpec, SequenceOptions
from lstm_viz.workbench.workbench import Prediction, WhatIf, Work, Workbench

__all__ = [
    "Loaded",
    "ModelOptions",
    "OpenRequest",
    "Prediction",
    "RandomSpec",
    "SequenceOptions",
    "WhatIf",
    "WidthMismatch",
    "Work",
    "Workbench",
    "load",
    "trace_meta",
]
