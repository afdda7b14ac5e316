"""The files lstm-viz ships: the demo, the examples, the text of Alice, the icon.

Installed as the package ``lstm_viz.resources`` (see pyproject.toml), so they travel with
the wheel; find them with :func:`lstm_viz.workbench.resources.resource`.
"""
