"""The unit figures table: each figure recomputed here by brute force from the trace."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lstm_viz.engine.targets import step_losses
from lstm_viz.engine.whatif import Clamp, rerun
from tests.ui.conftest import panel


def shown(window, qtbot):
    p = panel(window, "UnitsPanel")
    p.show()
    p.raise_()
    window.repaint()
    qtbot.waitUntil(lambda: p.figures is not None and p.table.rowCount() > 0, timeout=10000)
    return p


def row_of(p, unit):
    return next(r for r in range(p.table.rowCount()) if p.unit_at_row(r) == unit)


def brute_span(forget, t, fraction=0.5):
    product, k = 1.0, 0
    for s in range(t + 1, len(forget)):
        product *= forget[s]
        k += 1
        if product <= fraction:
            return k, False
    return len(forget) - 1 - t, True


def kaplan_meier_median(spans):
    """The product-limit estimate's median of (k, censored) pairs, written out: the survival
    falls by (1 - events / at risk) at each event time; censored values leave the risk set
    after the events of their time. The first time it reaches one half (inf if never)."""
    survival = 1.0
    for time in sorted({k for k, censored in spans if not censored}):
        at_risk = sum(1 for k, _ in spans if k >= time)
        events = sum(1 for k, censored in spans if k == time and not censored)
        survival *= 1 - events / at_risk
        if survival <= 0.5 + 1e-12:
            return time
    return float("inf")


def test_the_table_shows_span_saturation_and_correlation_of_each_unit(window, qtbot):
    window.open_example("brackets", wait=True)
    p = shown(window, qtbot)
    lt = window.session.trace.layers[0]
    forget = lt.forget[0].astype(np.float64)
    T = forget.shape[0]
    depth = np.cumsum(window.session.trace.x[0, :, 0] - window.session.trace.x[0, :, 1])
    for unit in range(lt.hidden_size):
        cells = [p.table.item(row_of(p, unit), k).text() for k in range(p.table.columnCount())]
        spans = [brute_span(forget[:, unit], t) for t in range(T)]
        assert any(c for _, c in spans)  # the last steps' spans outlast the sequence: censored
        assert float(cells[1]) == kaplan_meier_median(spans)
        for k, gate in enumerate(("forget", "input", "output")):
            g = getattr(lt, gate)[0, :, unit]
            assert cells[2 + 2 * k] == f"{100 * np.mean(g < 0.1):.0f}%"
            assert cells[3 + 2 * k] == f"{100 * np.mean(g > 0.9):.0f}%"
        r = np.corrcoef(lt.cell[0, :, unit].astype(np.float64), depth)[0, 1]
        assert cells[8] == f"{r:+.2f}"
    assert p.table.item(row_of(p, 4), 8).text() == "-0.97"  # the counting unit of the guide


def test_sorting_a_column_orders_the_units_by_it_and_a_click_selects(window, qtbot):
    window.open_example("brackets", wait=True)
    p = shown(window, qtbot)
    p.table.sortByColumn(8, Qt.SortOrder.AscendingOrder)
    rs = [float(t) for t in p.shown_values(8)]
    assert rs == sorted(rs) and rs[0] == pytest.approx(-0.97, abs=0.005)
    p.clicked_row(0, 8)
    assert window.session.selected == [p.unit_at_row(0)]
    assert p.table.item(0, 3).background().color().name() == "#ffe8cc"


def test_ranking_by_switching_off_matches_a_rerun_with_the_unit_held_at_zero(window, qtbot):
    window.open_example("brackets", wait=True)
    p = shown(window, qtbot)
    p.rank.click()
    qtbot.waitUntil(lambda: p.ranking is not None, timeout=20000)
    session = window.session
    model, trace, targets = session.model, session.trace, session.core.targets
    base = np.nanmean(step_losses(model.readout, trace.output, targets)[0])
    for unit in (1, 4):
        off = rerun(
            model, trace, start=0, clamps=[Clamp(0, "forget", 0.0, 0, (unit,)), Clamp(0, "input", 0.0, 0, (unit,))]
        )
        assert np.all(off.layers[0].cell[0, :, unit] == 0) and np.all(off.layers[0].hidden[0, :, unit] == 0)
        change = np.nanmean(step_losses(model.readout, off.output, targets)[0]) - base
        assert float(p.table.item(row_of(p, unit), 9).text()) == pytest.approx(change, rel=2e-3)
    best = int(np.nanargmax(p.ranking.change))
    assert f"Switching off unit {best} raises the mean loss most" in p.note.text()
    assert p.unit_at_row(0) == best  # the table is sorted by it
    assert not p.analyses.strip.isVisible()


def test_find_selects_the_units_that_stay_above_a_threshold_and_says_where(window, qtbot):
    window.open_example("brackets", wait=True)
    p = shown(window, qtbot)
    lt = window.session.trace.layers[0]
    p.find_quantity.setCurrentIndex(p.find_quantity.findData("forget"))
    p.find_threshold.setValue(0.5)
    p.find_from.setValue(10)
    p.find_to.setValue(20)
    p.find_button.click()
    expected = [u for u in range(lt.hidden_size) if np.all(lt.forget[0, 10:21, u] > 0.5)]
    assert expected and window.session.selected == expected
    assert "whose keep (forget) stays above 0.5 from t = 10 to 20" in p.note.text()
    p.find_threshold.setValue(0.995)
    p.find_button.click()
    assert "No unit's keep (forget) stays above 0.995" in p.note.text()


def test_the_span_plot_shows_each_selected_units_span_at_every_step(window, qtbot):
    window.open_example("brackets", wait=True)
    p = shown(window, qtbot)
    window.session.select_units([4, 6])
    forget = window.session.trace.layers[0].forget[0].astype(np.float64)
    for k, unit in enumerate((4, 6)):
        _, ys = p.span_curves[k].getData()
        expected = [brute_span(forget[:, unit], t)[0] for t in range(len(forget))]
        np.testing.assert_array_equal(ys, expected)
    assert p.describe(10, 0).startswith(f"written at t = 10, halved after: unit 4: {brute_span(forget[:, 4], 10)[0]:g}")


def test_a_result_for_another_layer_never_lands_in_the_table(window, qtbot, tmp_path):
    """Changing the layer while the figures of the first are computed: the table shows the
    new layer's units, sized from it, and the late result is dropped."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "two_layers.npy", rng.normal(size=(3000, 3)).astype(np.float32))
    window.open_files(sequence_path=str(tmp_path / "two_layers.npy"), random_spec=([12, 5], 0), wait=True)
    p = shown(window, qtbot)
    session = window.session
    session.set_layer(1)  # while layer 0's figures may still be computing
    qtbot.waitUntil(lambda: p.figures is not None and p.figures.layer == 1, timeout=20000)
    qtbot.wait(200)
    assert p.table.rowCount() == 5 and p.figures.layer == 1
    assert sorted(p.unit_at_row(r) for r in range(5)) == list(range(5))


def test_finished_analyses_are_freed(window, qtbot):
    """Each job held a snapshot of the session (trace, model): finished ones are deleted."""
    from lstm_viz.ui.worker import Job

    window.open_example("brackets", wait=True)
    p = shown(window, qtbot)
    jobs = window.session.jobs
    for _ in range(5):
        p._ask_figures()
        qtbot.waitUntil(lambda: not jobs.current, timeout=10000)
    qtbot.waitUntil(lambda: not jobs.findChildren(Job), timeout=5000)
