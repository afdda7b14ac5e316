"""A long run in the window: the first steps show while the rest is recorded, the cursor
moves within them, and Cancel keeps what was computed."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_viz.workbench.options import RandomSpec


@pytest.fixture
def long_file(tmp_path, window, qtbot):
    path = tmp_path / "long.npy"
    np.save(path, np.random.default_rng(5).normal(size=(400_000, 4)).astype(np.float32))
    # the window's first show has layout passes and paints still queued: done before the run
    # starts, so the run (~2 s here) cannot end before the window reads its first report
    qtbot.wait(300)
    return str(path)


def wait_for_part(window, qtbot, timeout=20_000):
    qtbot.waitUntil(
        lambda: window.core.loaded is not None and window.core.loaded.computing is not None, timeout=timeout
    )


def test_the_first_steps_show_while_the_rest_is_recorded(window, qtbot, long_file):
    window.open_files(sequence_path=long_file, random_spec=RandomSpec(sizes=(32,), seed=0))
    wait_for_part(window, qtbot)
    core = window.core
    shown, total = core.loaded.computing
    assert 0 < shown < total == 400_000 and core.length == shown
    assert window.progress is None  # no modal dialog: the window is usable
    assert window.stream_bar.isVisible() and window.stream_cancel.isVisible()
    assert "of 400,000 steps computed" in window.stream_label.text()
    core.set_step(shown - 1)  # the cursor moves within what is computed
    assert core.step == shown - 1
    core.set_step(shown + 10_000)
    assert core.step == core.length - 1
    window.wait_for_job(60_000)
    assert core.loaded.computing is None and core.length == 400_000
    assert not window.stream_bar.isVisible()
    # the finished run is the engine's run of the whole sequence
    x = np.load(long_file)[None]
    expected = core.model.run(x[:, :1000])
    np.testing.assert_array_equal(core.trace.layers[0].cell[:, :1000], expected.layers[0].cell)


def test_cancel_keeps_the_steps_computed_and_says_so(window, qtbot, long_file):
    window.open_files(sequence_path=long_file, random_spec=RandomSpec(sizes=(32,), seed=0))
    wait_for_part(window, qtbot)
    window.stream_cancel.click()
    core = window.core
    kept, asked = core.loaded.cut
    assert 0 < kept < asked == 400_000 and core.length == kept and core.loaded.computing is None
    assert f"showing the first {kept:,} of 400,000 steps" in window.statusBar().currentMessage()
    assert not window.stream_bar.isVisible()
    core.set_step(kept - 1)
    assert core.step == kept - 1


def test_cancel_before_the_first_steps_keeps_the_previous_session(window, qtbot, long_file):
    before = window.core.loaded
    window.open_files(sequence_path=long_file, random_spec=RandomSpec(sizes=(32,), seed=0))
    window.cancel_job()  # at once: nothing was shown yet
    assert window.core.loaded is before
    assert "previous session is kept" in window.status.text()


def test_reload_keeps_the_selected_units_and_the_menu_says_float16(window, qtbot, long_file):
    window.open_files(sequence_path=long_file, random_spec=RandomSpec(sizes=(32,), seed=0), wait=True)
    window.session.select_units([1, 2, 3])
    window.half_precision.setChecked(True)
    window.reload()
    window.wait_for_job(60_000)
    core = window.core
    assert core.selected == [1, 2, 3]
    assert core.trace.layers[0].cell.dtype == np.float16 and "stored in float16" in window.status.text()


def test_float16_from_the_command_line_checks_the_menu(qtbot, settings, tmp_path, monkeypatch):
    from lstm_viz.cli import open_request, window_parser
    from lstm_viz.ui import app as app_module
    from lstm_viz.ui.main_window import MainWindow

    path = tmp_path / "short.npy"
    np.save(path, np.zeros((50, 2), np.float32))
    made = []
    init = MainWindow.__init__

    def remember(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(MainWindow, "__init__", remember)
    args = window_parser().parse_args(
        [str(path), "--random", "4", "--float16", "--screenshot", str(tmp_path / "s.png")]
    )
    assert app_module.main(args, open_request(args)) == 0
    window = made[-1]
    qtbot.addWidget(window)
    assert window.half_precision.isChecked()
    assert window.core.trace.layers[0].cell.dtype == np.float16
