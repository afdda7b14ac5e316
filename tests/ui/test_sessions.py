"""Sessions: File > Save session writes one small file that brings the same view back, in
another window, after the files moved together, changed, or went missing; a damaged
session file is said and the current session stays."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PySide6.QtGui import QImage

from lstm_viz.ui.main_window import MainWindow
from lstm_viz.workbench import session_file
from tests.ui.conftest import panel

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "demo")


@pytest.fixture
def files(tmp_path):
    """The demo's model and sequence, copied into a folder of their own."""
    folder = tmp_path / "work"
    folder.mkdir()
    for name in ("adding_model.npz", "adding_sequence.json"):
        shutil.copy(os.path.join(DEMO, name), folder / name)
    return folder


def open_files(window, folder):
    window.open_files(
        model_path=str(folder / "adding_model.npz"), sequence_path=str(folder / "adding_sequence.json"), wait=True
    )
    assert window.session.loaded is not None, window.last_error


@pytest.fixture
def other(qtbot, settings, monkeypatch):
    """A second window, as after a restart."""
    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    win.open_demo(wait=True)
    return win


def arrange(window):
    """A view worth keeping: step, selection, range, panel settings, a closed panel, a clamp."""
    core = window.session.core
    window.session.select_units([2, 5, 7])
    core.set_time_range(4, 22)
    window.session.set_step(17)
    trajectories = panel(window, "CellTrajectoryPanel")
    trajectories.raise_()
    trajectories.choice.setCurrentIndex(trajectories.choice.findData("hidden"))
    heatmaps = panel(window, "GateHeatmapsPanel")
    heatmaps.stat.setCurrentIndex(heatmaps.stat.count() - 1)
    panel(window, "InputPanel").close()
    window.navigate.threshold.setValue(0.25)
    from lstm_viz.engine.whatif import Clamp

    core.rerun([Clamp(layer=0, gate="forget", value=0.0, start=5, units=(2,))], {}).now()


def view(window):
    core = window.session.core
    return {
        "step": core.step,
        "selected": list(core.selected),
        "range": tuple(round(v, 6) for v in core.time_range),
        "trajectories": panel(window, "CellTrajectoryPanel").choice.currentData(),
        "stat": panel(window, "GateHeatmapsPanel").stat.currentText(),
        "input shown": panel(window, "InputPanel").isVisible(),
        "threshold": window.navigate.threshold.value(),
        "cell": core.quantity("cell")[17].tolist(),  # the what-if run's: unit 2 forgot at step 5
        "what if": None if core.what_if is None else core.what_if.description,
    }


def test_a_saved_session_brings_the_same_view_back_in_another_window(window, other, files, tmp_path, qtbot):
    open_files(window, files)
    arrange(window)
    qtbot.wait(20)
    before = view(window)
    assert before["what if"] is not None
    path = tmp_path / "work" / "mine.lvz"
    assert window.save_session(str(path))
    assert "Saved the session to mine.lvz" in window.status.text()
    assert path.stat().st_size < 20_000  # small: the files are referred to, not copied
    from lstm_viz.atomic import _umask

    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    document = json.loads(path.read_text())
    assert document["files"]["model"]["sha256"] and document["files"]["sequence"]["relative"] == "adding_sequence.json"
    assert other.open_session(str(path), wait=True)
    qtbot.wait(50)  # the layout is applied by Qt's event loop
    assert view(other) == before
    assert other.last_warning is None and "Opened the session mine.lvz" in other.status.text()
    recent = [a.text() for a in other.recent_menu.actions()]
    assert "mine.lvz (session)" in recent


def test_files_moved_with_the_session_are_found_beside_it(window, other, files, tmp_path, qtbot):
    open_files(window, files)
    window.session.set_step(9)
    assert window.save_session(str(files / "s.lvz"))
    moved = tmp_path / "elsewhere"
    shutil.move(str(files), str(moved))
    assert other.open_session(str(moved / "s.lvz"), wait=True)
    assert other.session.core.step == 9
    assert other.session.loaded.sequence_path == str(moved / "adding_sequence.json")
    assert "the sequence was found at" in other.last_warning


def test_a_file_that_changed_opens_with_a_warning(window, other, files, qtbot):
    open_files(window, files)
    assert window.save_session(str(files / "s.lvz"))
    data = json.loads((files / "adding_sequence.json").read_text())
    data["values"][0][0] = 0.5 if data["values"][0][0] != 0.5 else 0.25
    (files / "adding_sequence.json").write_text(json.dumps(data))
    assert other.open_session(str(files / "s.lvz"), wait=True)
    assert "the sequence adding_sequence.json changed since the session was saved" in other.last_warning
    assert other.session.loaded.sequence_path == str(files / "adding_sequence.json")


def test_a_missing_file_is_named_and_the_current_session_stays(window, other, files):
    open_files(window, files)
    assert window.save_session(str(files / "s.lvz"))
    os.remove(files / "adding_model.npz")
    before = other.session.loaded
    assert not other.open_session(str(files / "s.lvz"))
    assert "the model adding_model.npz is missing (moved or deleted): it is neither at" in other.last_error
    assert f"nor beside the session in {files}" in other.last_error
    assert other.session.loaded is before


def test_the_user_can_locate_a_missing_file(window, other, files, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from lstm_viz import environment

    open_files(window, files)
    assert window.save_session(str(tmp_path / "s.lvz"))
    hidden = tmp_path / "kept"
    hidden.mkdir()
    shutil.move(str(files / "adding_model.npz"), str(hidden / "renamed.npz"))
    monkeypatch.setattr(environment, "no_dialogs", lambda: False)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: None)
    notices = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: notices.append(a[2]))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(hidden / "renamed.npz"), ""))
    assert other.open_session(str(tmp_path / "s.lvz"), wait=True)
    assert other.session.loaded.model_path == str(hidden / "renamed.npz")
    assert "the model was found at" in other.last_warning
    assert notices and notices[0].startswith("The model was found at")  # a notice, not a warning: nothing changed


@pytest.mark.parametrize(
    "content, said",
    [
        ('{"format": "lstm-viz session", "version": 1, "files": {', "damaged: Expecting"),
        (b"\x80\x04\x95 pickled", "not an lstm-viz session (not text)"),
        ('{"format": "something else"}', "not an lstm-viz session"),
        ('{"format": "lstm-viz session", "version": 99}', "a session of version 99"),
        (
            '{"format": "lstm-viz session", "version": 1, "files": [], "state": {}, "window": {}}',
            "damaged: the record of its files ('files') is missing or of the wrong kind",
        ),
        ("[1, 2, 3]", "not an lstm-viz session"),
    ],
)
def test_a_damaged_session_file_is_said_and_the_current_session_stays(window, tmp_path, content, said):
    path = tmp_path / "bad.lvz"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = window.session.loaded
    assert not window.open_session(str(path))
    assert "bad.lvz: " + said in window.last_error
    assert window.session.loaded is before


def test_what_is_not_a_session_file_is_refused_by_kind(window, tmp_path, monkeypatch):
    assert not window.open_session(str(tmp_path))  # a folder
    assert "not a regular file" in window.last_error
    assert not window.open_session(str(tmp_path / "none.lvz"))
    assert "none.lvz: cannot be read" in window.last_error
    big = tmp_path / "big.lvz"
    big.write_text("{}")
    monkeypatch.setattr(session_file, "MAX_BYTES", 1)
    assert not window.open_session(str(big))
    assert "too large for a session" in window.last_error


def test_a_crash_while_saving_leaves_the_old_session_intact(window, files, monkeypatch):
    open_files(window, files)
    path = files / "s.lvz"
    assert window.save_session(str(path))
    old = path.read_bytes()
    window.session.set_step(3)

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_file.os, "replace", crash)
    assert not window.save_session(str(path))
    assert "s.lvz: could not be written: No space left on device" in window.last_error
    assert path.read_bytes() == old
    assert sorted(p.name for p in files.iterdir()) == ["adding_model.npz", "adding_sequence.json", "s.lvz"]


def test_a_big_file_is_fingerprinted_by_samples(tmp_path, monkeypatch):
    monkeypatch.setattr(session_file, "HASH_WHOLE", 100)
    monkeypatch.setattr(session_file, "HASH_SAMPLE", 10)
    path = tmp_path / "big.bin"
    data = bytearray(np.random.default_rng(0).integers(0, 255, 1000, dtype=np.uint8).tobytes())
    path.write_bytes(bytes(data))
    record = session_file.file_record(str(path), str(tmp_path / "s.lvz"))
    assert "sha256-sampled" in record and record["size"] == 1000
    data[995] ^= 1  # in the last sample
    path.write_bytes(bytes(data))
    assert not session_file.same_content(record, str(path))


def test_the_command_line_opens_a_session(window, files, tmp_path, qtbot):
    open_files(window, files)
    arrange(window)
    qtbot.wait(20)
    path = tmp_path / "cli.lvz"
    assert window.save_session(str(path))
    out = tmp_path / "shot.png"
    done = subprocess.run(
        [sys.executable, "-m", "lstm_viz", str(path), "--screenshot", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    picture = QImage(str(out))
    # the transport says the session's step; the picture is the view saved
    from tests.ui.test_export import pixels

    window.status.setText(f"Opened the session {path.name}")
    qtbot.wait(20)
    mine = pixels(window.grab().toImage())
    theirs = pixels(picture)
    assert theirs.shape == mine.shape
    assert np.abs(theirs - mine).mean() < 3


def _edit(key, value):
    def change(document):
        target = document
        *path, last = key.split(".")
        for part in path:
            target = target[part]
        target[last] = value

    return change


@pytest.mark.parametrize(
    "change, said",
    [
        (_edit("state.view.step", "x"), "the recorded step is not a whole number: 'x'"),
        (_edit("state.view.selected", "abc"), "the recorded selection is not a list of units"),
        (_edit("state.view", [1]), "the recorded view is not a mapping"),
        (_edit("state.open", 5), "damaged"),
        (_edit("state.open.model_options", {"bogus": 1}), "unknown options: bogus"),
        (_edit("state.what_if", [1]), "the recorded what-if is not a mapping of clamps and edits"),
        (
            _edit("state.what_if", {"clamps": [{"layer": 0, "gate": "nope", "value": 1, "start": 0}], "edits": []}),
            "cannot clamp 'nope'",
        ),
        (
            _edit("state.what_if", {"clamps": [{"layer": 9, "gate": "forget", "value": 1, "start": 0}], "edits": []}),
            "layer 9 does not exist",
        ),
        (_edit("state.what_if", {"clamps": [], "edits": [{"step": 99, "row": [1, 2], "label": "a"}]}), "step 99"),
        (_edit("files.model.path", 5), "the record of 'model' is not a file record"),
    ],
)
def test_a_session_with_values_of_the_wrong_kind_is_said_and_nothing_changes(window, files, change, said):
    """Each recorded value is checked before anything is shown: a what-if that cannot be
    made fails with the new data unshown (it is made off the GUI thread, with the data)."""
    open_files(window, files)
    path = files / "s.lvz"
    assert window.save_session(str(path))
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    other = files / "other.npy"
    np.save(other, np.zeros((5, 2), np.float32))
    window.open_files(sequence_path=str(other), wait=True)
    before = window.session.loaded
    window.last_error = None
    window.open_session(str(path), wait=True)
    assert window.last_error is not None and said in window.last_error
    assert window.session.loaded is before and window.session.core.what_if is None
