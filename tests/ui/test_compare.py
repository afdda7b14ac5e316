"""The Compare panel: what it draws for two runs on one sequence."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tests.ui.conftest import panel

pytest.importorskip("scipy", reason="comparing needs the compare extra (SciPy)")
DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "demo")


@pytest.fixture
def compared(window, tmp_path, qtbot):
    shutil.copy(os.path.join(DEMO, "adding_model.npz"), tmp_path / "checkpoint.npz")
    window.compare_with(model_path=str(tmp_path / "checkpoint.npz"), wait=True)
    qtbot.wait(20)
    return panel(window, "ComparePanel")


def test_the_same_model_twice_draws_the_same_rows_and_a_zero_difference(window, compared, qtbot):
    assert compared.isVisible() and not compared._offscreen()
    assert "mean |r| = <b>1.00</b> over 12 pairs" in compared.summary.text() and "weak" not in compared.summary.text()
    assert "Comparing with checkpoint.npz: units matched, mean |r| = 1.00" in window.status.text()
    assert [compared.table.item(i, 2).text() for i in range(12)] == ["+1.00"] * 12
    compared.what.setCurrentIndex(compared.what.findData("cell"))
    qtbot.wait(20)
    a, b = compared.shown_rows("A"), compared.shown_rows("B")
    assert a.shape == b.shape and a.shape[0] == 12 and np.array_equal(a, b)
    compared.mode.setCurrentIndex(compared.mode.findData("difference"))
    qtbot.wait(20)
    assert np.nanmax(np.abs(compared.shown_rows("B"))) == 0.0 and np.array_equal(compared.shown_rows("A"), a)


def test_the_followed_unit_and_its_match_are_drawn_below(window, compared, qtbot):
    compared.table.cellClicked.emit(5, 0)  # a click on A's unit 5 in the list
    qtbot.wait(10)
    assert window.session.core.selected == [5]
    cell = window.session.core.quantity("cell")[:, 5]
    assert np.array_equal(compared.curve_a.getData()[1], cell) and np.array_equal(compared.curve_b.getData()[1], cell)
    assert "A's unit 5 (solid) and of its match, B's unit 5 (dashed): r = +1.00" in compared.pair.text()


def test_a_tanh_rnn_offers_only_its_output(window, qtbot):
    window.compare_with(rnn_seed=1, wait=True)
    qtbot.wait(20)
    compare = panel(window, "ComparePanel")
    assert compare.what.currentData() == "hidden"
    enabled = {compare.what.itemData(i): compare.what.model().item(i).isEnabled() for i in range(compare.what.count())}
    assert enabled == {"forget": False, "input": False, "output": False, "cell": False, "hidden": True}
    assert "correlation of their outputs h(t)" in compare.summary.text()
    match = window.session.core.comparison.match(0)
    # the words follow the figure
    assert ("a weak match (below 0.5)" in compare.summary.text()) == (match.quality < 0.5)


def test_stop_comparing_empties_the_panel(window, compared, qtbot):
    compared.stop.click()
    qtbot.wait(10)
    assert window.session.core.comparison is None
    assert compared.pages.currentIndex() == 0 and "Nothing to compare yet" in compared.nothing.text()
    assert not compared.stop.isEnabled()


def test_a_model_that_does_not_fit_is_said(window, tmp_path):
    from lstm_viz.engine import LSTM
    from lstm_viz.io import save_model

    save_model(LSTM.random(7, [3], seed=0), str(tmp_path / "wide.npz"))
    window.compare_with(model_path=str(tmp_path / "wide.npz"), wait=True)
    assert "the second model cannot read this sequence. Compare models made for the same input." in window.last_error
    assert "reads 7" in window.last_error
    assert window.session.core.comparison is None and window.session.loaded is not None
