"""Every panel copes with every kind of model: projection and peepholes, bidirectional,
stacked, a plain tanh RNN; teaching panels say what does not apply instead of failing."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lstm_viz import LSTM, RNN
from lstm_viz.io.sequences import Sequence
from lstm_viz.ui.session import Loaded
from tests.ui.conftest import panel

MODELS = {
    "projection": lambda: LSTM.random(3, [6, 4], seed=1, proj_sizes=[2, None], peepholes=True, cell_clip=0.5),
    "bidirectional": lambda: LSTM.random(3, [5, 4], seed=2, bidirectional=True),
    "rnn": lambda: RNN.random(3, [5], seed=3),
}


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_panel_with_this_kind_of_model(window, qtbot, kind):
    model = MODELS[kind]()
    x = np.random.default_rng(0).normal(size=(2, 15, 3)).astype(np.float32)
    window.session.set_loaded(Loaded(model, Sequence(x), model.run(x), kind))
    for p in window.panels:  # every panel on screen, at two steps and on every layer
        p.raise_()
        qtbot.wait(5)
        for layer in range(len(window.session.trace.layers)):
            window.session.set_layer(layer)
            window.session.select_units([1])
            for step in (0, 9):
                window.session.set_step(step)
        if hasattr(p, "settle"):
            p.settle()
    window.session.set_layer(0)
    window.session.select_units([1])
    diagram, equations = panel(window, "CellDiagramPanel"), panel(window, "EquationsPanel")
    diagram.raise_()
    equations.raise_()
    window.session.set_step(4)
    diagram.settle()
    equations.settle()
    lt = window.session.trace.layers[0]
    if kind == "rnn":
        assert "tanh RNN" in diagram.canvas.texts["empty"] and "tanh RNN" in equations.text.toPlainText()
    else:
        assert diagram.canvas.texts["forget"] == f"keep K = {lt.forget[0, 4, 1]:.4f}"
        assert equations.current.gates["forget"].value == pytest.approx(lt.forget[0, 4, 1], abs=2e-6)
    if kind == "projection":  # h mixes every unit: the diagram says so instead of showing a wrong h
        assert "(projected)" in diagram.canvas.texts["hidden"]
        assert "projects" in equations.text.toPlainText()
    whatif = panel(window, "WhatIfPanel")
    whatif.raise_()
    qtbot.wait(5)
    before = window.session.trace
    if kind == "rnn":
        assert not whatif.tutorial.isEnabled()
        whatif.edit.setText("1, 2, 3")
        qtbot.mouseClick(whatif.apply, Qt.MouseButton.LeftButton)
        edited = before.x.copy()
        edited[0, 4] = [1, 2, 3]
        np.testing.assert_allclose(window.session.trace.output, model.run(edited).output, atol=2e-6)
    else:
        qtbot.mouseClick(whatif.tutorial, Qt.MouseButton.LeftButton)
        if kind == "bidirectional":
            assert window.session.trace is before and "backward" in whatif.status.text()
            assert whatif.clamps == [] and whatif.changes.count() == 0  # the failed request is taken back
        else:
            assert np.all(window.session.trace.layers[0].forget[:, 4:, 1] == 0.0)
