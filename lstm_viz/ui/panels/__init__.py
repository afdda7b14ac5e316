"""The panels. Adding one is a new file here plus one line in ``PANELS``: its module and class.

The order is the tour's; where each goes in the default layout is its own ``place``.
"""

from importlib import import_module

PANELS = [
    getattr(import_module(f"{__name__}.{module}"), name)
    for module, name in (
        ("gates", "GateBarsPanel"),
        ("heatmaps", "GateHeatmapsPanel"),
        ("diagram", "CellDiagramPanel"),
        ("trajectories", "CellTrajectoryPanel"),
        ("memory", "MemoryPanel"),
        ("equations", "EquationsPanel"),
        ("input", "InputPanel"),
        ("sequences", "SequencesPanel"),
        ("predictions", "PredictionsPanel"),
        ("attribution", "AttributionPanel"),
        ("gradients", "GradientFlowPanel"),
        ("whatif", "WhatIfPanel"),
        ("typing", "TypingPanel"),
        ("guide", "GuidePanel"),
        ("units", "UnitsPanel"),
        ("saturation", "SaturationPanel"),
        ("weights", "WeightsPanel"),
        ("overview", "OverviewPanel"),
        ("compare", "ComparePanel"),
        ("training", "TrainingPanel"),
    )
]

__all__ = ["PANELS"]
