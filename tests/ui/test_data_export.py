"""File > Export data and Export for LSTMVis, from the window: what the file holds equals
what the panels show, long exports run in a worker, bad requests are said."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.ui.conftest import panel


def test_the_gate_panels_numbers_at_this_step_are_its_bars(window, tmp_path):
    window.session.set_step(12)
    path = tmp_path / "gates.csv"
    assert window.export_data(str(path), panel="gates", scope="step")
    table = pd.read_csv(path)
    core = window.session.core
    assert list(table.columns) == ["step", "label", "unit", "forget", "input", "output"]
    assert len(table) == core.quantity("forget").shape[1] and set(table["step"]) == {12}
    for name in ("forget", "input", "output"):
        assert np.array_equal(table[name].to_numpy(np.float32), core.quantity(name)[12])
    # what the bars show: the keep bar of unit 3 is as high as the file says
    bars = panel(window, "GateBarsPanel")
    assert bars.shown_heights("forget")[3] == pytest.approx(table["forget"][3], abs=1e-6)
    assert "Exported the numbers of “Gates at this step” at step 12 to gates.csv (12 rows x 6 columns)" in (
        window.status.text()
    )


def test_the_trajectories_numbers_over_the_sequence_are_the_selected_units_curves(window, tmp_path):
    window.session.select_units([2, 5])
    path = tmp_path / "curves.csv"
    assert window.export_data(str(path), panel="trajectories", scope="sequence")
    table = pd.read_csv(path)
    core = window.session.core
    assert list(table.columns) == ["step", "label", "cell.2", "cell.5"] and len(table) == core.length
    assert np.array_equal(table["cell.5"].to_numpy(np.float32), core.quantity("cell")[:, 5])


def test_the_whole_trace_is_written_in_a_worker(window, tmp_path, qtbot):
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "trace.parquet"
    assert window.export_data(str(path))
    qtbot.waitUntil(lambda: not window.session.jobs.running("export"), timeout=30_000)
    frame = pq.read_table(path).to_pandas()
    core = window.session.core
    assert len(frame) == core.length
    H = core.quantity("cell").shape[1]
    assert np.array_equal(frame[f"layer0.cell.{H - 1}"].to_numpy(), core.trace.layers[0].cell[0, : core.length, H - 1])
    assert "Exported the trace to trace.parquet" in window.status.text()


def test_bad_data_requests_are_said_and_the_session_stays(window, tmp_path):
    assert not window.export_data(str(tmp_path / "t.xlsx"), panel="gates")
    assert "t.xlsx: a table's name must end in .csv or .parquet" in window.last_error
    assert not window.export_data(str(tmp_path / "t.csv"), panel="diagram")
    assert "has no numbers to export" in window.last_error
    assert not window.export_data(str(tmp_path / "t.csv"), panel="nope")
    assert "no panel called 'nope'" in window.last_error
    assert list(tmp_path.iterdir()) == [] and window.session.loaded is not None


def test_the_dialog_lists_the_panels_with_numbers(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog, QFileDialog

    from lstm_viz.ui.data_export import DataDialog

    dialog = DataDialog(window)
    names = [dialog.what.itemData(i) for i in range(dialog.what.count())]
    assert names[0] is None and "GateBarsPanel" in names and "InputPanel" in names
    # a panel behind a tab is offered too, and said to be
    predictions = names.index("PredictionsPanel")
    assert dialog.what.itemText(predictions).endswith("(behind a tab)")
    assert not dialog.scope.isEnabled()  # the whole trace: every step
    assert "30 rows" in dialog.note.text()
    dialog.what.setCurrentIndex(names.index("InputPanel"))
    assert dialog.scope.isEnabled()
    out = tmp_path / "input"
    monkeypatch.setattr(dialog.dialog, "exec", lambda: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "CSV table (*.csv)"))
    dialog.run()
    table = pd.read_csv(str(out) + ".csv")
    assert len(table) == window.session.core.length and "x.value" in table.columns


def test_an_lstmvis_project_from_the_window(window, tmp_path):
    h5py = pytest.importorskip("h5py")
    folder = tmp_path / "demo"
    assert window.export_lstmvis(str(folder), wait=True)
    assert sorted(p.name for p in folder.iterdir()) == ["lstm.yml", "states.h5", "train.h5", "words.dict"]
    with h5py.File(folder / "states.h5", "r") as states:
        assert states["states1"].shape == (window.session.core.length, window.session.core.quantity("cell").shape[1])
    assert "Wrote an LSTMVis project" in window.status.text()
