"""The panels. Adding one is a new file here plus one line in ``PANELS``."""

from lstm_viz.ui.panels.gates import GateBarsPanel
from lstm_viz.ui.panels.heatmaps import GateHeatmapsPanel
from lstm_viz.ui.panels.input import InputPanel
from lstm_viz.ui.panels.memory import MemoryPanel
from lstm_viz.ui.panels.trajectories import CellTrajectoryPanel

PANELS = [GateBarsPanel, GateHeatmapsPanel, CellTrajectoryPanel, MemoryPanel, InputPanel]

__all__ = ["PANELS", "CellTrajectoryPanel", "GateBarsPanel", "GateHeatmapsPanel", "InputPanel", "MemoryPanel"]
