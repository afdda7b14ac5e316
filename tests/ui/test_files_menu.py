"""File menu actions: save trace, reload, open recent, drop."""

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from lstm_viz import load_trace


def test_save_trace_writes_what_is_shown(window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    target = tmp_path / "saved.npz"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    window.ask_save_trace()
    saved = load_trace(target)
    np.testing.assert_array_equal(saved.layers[0].cell, window.session.trace.layers[0].cell)
    assert saved.meta["names"] == window.session.sequence.names and saved.meta["request"]["sequence_path"]
    # a what-if run is saved as shown, saying what was changed
    from lstm_viz.engine.whatif import Clamp

    window.run_what_if(None, [Clamp(0, "forget", 0.0, 5, (2,))], {}, wait=True)
    window.ask_save_trace()
    changed = load_trace(target)
    np.testing.assert_array_equal(changed.layers[0].forget[0, 5:, 2], 0.0)
    assert changed.meta["what_if"].startswith("Keep (forget) of unit 2") and changed.meta["names"]


def test_recent_files_and_reload(window, tmp_path):
    x = np.random.default_rng(1).normal(size=(12, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    window.open_files(sequence_path=str(tmp_path / "a.npy"), wait=True)
    actions = window.recent_menu.actions()
    assert actions and actions[0].text() == "a.npy (sequence)"
    np.save(tmp_path / "a.npy", x * 2)  # the file changes on disk
    window.reload()
    window.wait_for_job()
    np.testing.assert_array_equal(window.session.trace.x[0], x * 2)


def test_dropping_a_sequence_opens_it(window, tmp_path, qtbot):
    np.save(tmp_path / "dropped.npy", np.ones((7, 2), np.float32))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "dropped.npy"))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session.trace.length == 7, timeout=10000)
    assert "dropped.npy" in window.windowTitle()
