"""The panels. Adding one is a new file here plus one line in ``PANELS``.

The order is the tour's; where each goes in the default layout is its own ``place``.
"""

from lstm_viz.ui.panels.diagram import CellDiagramPanel
from lstm_viz.ui.panels.equations import EquationsPanel
from lstm_viz.ui.panels.gates import GateBarsPanel
from lstm_viz.ui.panels.guide import GuidePanel
from lstm_viz.ui.panels.heatmaps import GateHeatmapsPanel
from lstm_viz.ui.panels.input import InputPanel
from lstm_viz.ui.panels.memory import MemoryPanel
from lstm_viz.ui.panels.trajectories import CellTrajectoryPanel
from lstm_viz.ui.panels.typing import TypingPanel
from lstm_viz.ui.panels.whatif import WhatIfPanel

PANELS = [
    GateBarsPanel,
    GateHeatmapsPanel,
    CellDiagramPanel,
    CellTrajectoryPanel,
    MemoryPanel,
    EquationsPanel,
    InputPanel,
    WhatIfPanel,
    TypingPanel,
    GuidePanel,
]

__all__ = [
    "PANELS",
    "CellDiagramPanel",
    "CellTrajectoryPanel",
    "EquationsPanel",
    "GateBarsPanel",
    "GateHeatmapsPanel",
    "GuidePanel",
    "InputPanel",
    "MemoryPanel",
    "TypingPanel",
    "WhatIfPanel",
]
