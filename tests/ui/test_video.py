"""Videos out: MP4 and GIF of a range of steps, decoded by a reader that is not ours
(ffmpeg through imageio, Pillow) and compared frame by frame with pictures of those steps."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from lstm_viz.ui import video as video_module
from lstm_viz.ui.video import VideoSpec, frame_image, frame_pixels, settle
from tests.ui.conftest import panel

imageio = pytest.importorskip("imageio.v3", reason="the video extra (imageio) is not installed")
pytest.importorskip("imageio_ffmpeg", reason="the video extra (imageio-ffmpeg) is not installed")


def pictures(window, target, steps, size, scale=1.0):
    """What the window shows at each step, rendered as a picture (not through the video code's loop)."""
    shots = []
    for step in steps:
        window.session.set_step(step)
        settle(window)
        shots.append(frame_pixels(frame_image(window, target, scale), size).astype(np.int16))
    return shots


def run(qtbot, window, *args, **kwargs):
    export = window.export_video(*args, **kwargs)
    assert export is not None, window.last_error
    qtbot.waitUntil(lambda: window.video is None, timeout=60_000)
    return export


def assert_frames_are_the_steps(frames, shots, tolerance):
    """Frame k is the picture of step k: close to it, and closer to it than to any other step's."""
    assert len(frames) == len(shots)
    distinct = [np.abs(shots[i] - shots[j]).mean() for i in range(len(shots)) for j in range(len(shots)) if i != j]
    assert min(distinct) > 0.05  # the steps look different, so a frame shifted by one would show
    for k, frame in enumerate(frames):
        errors = [np.abs(frame.astype(np.int16) - shot).mean() for shot in shots]
        assert errors[k] < tolerance, (k, errors[k])
        assert int(np.argmin(errors)) == k, (k, errors)


def test_an_mp4_holds_one_frame_per_step_of_the_range(qtbot, window, tmp_path):
    window.session.set_step(25)
    gates = panel(window, "GateBarsPanel")
    path = tmp_path / "gates.mp4"
    run(qtbot, window, str(path), 3, 12, fps=5, panel="gates")
    assert "Exported 10 frames (steps 3 to 12) to gates.mp4" in window.status.text()
    from lstm_viz.atomic import _umask

    assert os.listdir(tmp_path) == ["gates.mp4"]  # no temporary file left
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # readable as any new file, not private
    assert window.session.step == 25  # the step the user was on, given back
    frames = list(imageio.imiter(path, plugin="FFMPEG"))
    meta = imageio.immeta(path, plugin="FFMPEG")
    assert meta["fps"] == pytest.approx(5)
    width = gates.width() + gates.width() % 2
    height = gates.height() + 26 + (gates.height() + 26) % 2  # a panel's frames are captioned
    assert frames[0].shape == (height, width, 3)
    # H.264 is lossy: within a few levels of 255 on average
    assert_frames_are_the_steps(frames, pictures(window, gates, range(3, 13), (width, height)), tolerance=4)


def test_a_gif_of_the_window_at_half_size_loops_at_the_frame_rate(qtbot, window, tmp_path):
    path = tmp_path / "window.gif"
    run(qtbot, window, str(path), 20, 25, fps=4, scale=0.5)
    frames = imageio.imread(path, index=None, plugin="pillow", mode="RGB")
    size = (round(window.width() * 0.5), round(window.height() * 0.5))
    assert frames.shape == (6, size[1], size[0], 3)
    from PIL import Image

    with Image.open(path) as gif:
        assert gif.info["duration"] == 250 and gif.info["loop"] == 0
    # a palette of 256 colours per frame: close, not equal
    shots = pictures(window, window, range(20, 26), size, 0.5)
    assert_frames_are_the_steps(list(frames), shots, tolerance=3)


def test_cancelling_stops_at_once_leaves_an_existing_file_as_it_was_and_keeps_the_session(
    qtbot, window, tmp_path, monkeypatch
):
    window.session.set_step(7)
    path = tmp_path / "long.mp4"
    path.write_bytes(b"the video written last week")  # replaced only by a finished video
    drawn = []
    frame_at = video_module.frame_at

    def drawing(*args):
        drawn.append(args[2])
        if len(drawn) == 3:  # the user presses the dialog's Cancel while the third step is drawn
            window.video.dialog.cancel_button.click()
        return frame_at(*args)

    monkeypatch.setattr(video_module, "frame_at", drawing)
    window.export_video(str(path), 0, window.session.core.length - 1, panel="gates")
    qtbot.waitUntil(lambda: window.video is None, timeout=30_000)
    assert drawn == [0, 1, 2]  # no step drawn after the cancel
    assert path.read_bytes() == b"the video written last week" and os.listdir(tmp_path) == ["long.mp4"]
    assert window.session.step == 7 and window.session.loaded is not None
    assert "Video export cancelled" in window.status.text()


def test_bad_requests_are_said_and_nothing_breaks(window, tmp_path, monkeypatch):
    length = window.session.core.length
    assert window.export_video(str(tmp_path / "v.avi"), 0, 3) is None
    assert "v.avi: the video's name must end in .mp4 or .gif" in window.last_error
    assert window.export_video(str(tmp_path / "v.mp4"), 5, length) is None
    assert f"steps 5 to {length} are not within the sequence (0 to {length - 1})" in window.last_error
    assert window.export_video(str(tmp_path / "nowhere" / "v.mp4"), 0, 3) is None
    assert "does not exist" in window.last_error
    assert window.export_video(str(tmp_path / "v.mp4"), 0, 3, fps=500) is None
    assert "frame rate between 1 and 60" in window.last_error
    monkeypatch.setattr(video_module, "GIF_BYTES", 1000)
    assert window.export_video(str(tmp_path / "v.gif"), 0, 3) is None
    assert "too many for a GIF" in window.last_error and "choose MP4" in window.last_error
    assert not any(tmp_path.iterdir())  # nothing was written
    assert window.session.loaded is not None


def test_without_the_extra_the_message_says_how_to_install_it(window, tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name.startswith("imageio"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    assert window.export_video(str(tmp_path / "v.mp4"), 0, 3) is None
    assert "v.mp4: writing MP4 videos needs the ffmpeg encoder (imageio-ffmpeg)" in window.last_error
    assert "pip install 'lstm-viz[video]'" in window.last_error
    from lstm_viz.ui.video import VideoDialog

    dialog = VideoDialog(window)
    assert "pip install 'lstm-viz[video]'" in dialog.summary.text()
    from PySide6.QtWidgets import QDialogButtonBox

    assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()


def test_an_encoder_failure_is_said_with_the_file_and_the_partial_file_goes(qtbot, window, tmp_path, monkeypatch):
    def broken(self):
        raise OSError("No space left on device")

    monkeypatch.setattr(video_module.Encoder, "_writer", broken)
    path = tmp_path / "full.mp4"
    export = window.export_video(str(path), 0, 5)
    assert export is not None
    qtbot.waitUntil(lambda: window.video is None, timeout=30_000)
    assert "full.mp4: the encoder failed: No space left on device" in window.last_error
    assert not path.exists() and os.listdir(tmp_path) == [] and window.session.loaded is not None


def test_the_dialog_offers_the_steps_in_view_and_writes_what_was_chosen(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialog, QFileDialog

    from lstm_viz.ui.video import VideoDialog

    window.session.core.set_time_range(10, 30)
    dialog = VideoDialog(window)
    assert (dialog.first.value(), dialog.last.value()) == (10, 29)
    assert dialog.summary.text().startswith("20 frames of ")
    dialog.what.setCurrentIndex(dialog.what.findData("GateBarsPanel"))
    dialog.last.setValue(13)
    dialog.fps.setValue(2)
    assert dialog.summary.text().startswith("4 frames of ") and "2.0 s long" in dialog.summary.text()
    out = tmp_path / "bars"  # no extension typed: the chosen filter's
    monkeypatch.setattr(dialog.dialog, "exec", lambda: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Animated GIF (*.gif)"))
    dialog.run()
    qtbot.waitUntil(lambda: window.video is None, timeout=60_000)
    assert window.last_error is None, window.last_error
    frames = imageio.imread(str(out) + ".gif", index=None, plugin="pillow")
    assert len(frames) == 4
    # the next video starts from this one's choices, in the folder it went to
    again = VideoDialog(window)
    assert again.fps.value() == 2 and again.what.currentData() == "GateBarsPanel"
    asked = []
    monkeypatch.setattr(again.dialog, "exec", lambda: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a[2]) or ("", ""))
    again.run()
    assert asked == [str(tmp_path / "gatebars.mp4")]


def test_the_command_line_writes_a_video_of_a_panel(tmp_path):
    out = tmp_path / "gates.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "--example", "adding", "--panel", "gates", "--steps", "5:14"]
        + ["--fps", "20", "--video", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "10 frames, steps 5 to 14" in done.stdout
    assert len(list(imageio.imiter(out, plugin="FFMPEG"))) == 10
    bad = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "--steps", "5-9", "--video", str(tmp_path / "x.mp4")],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert bad.returncode == 2 and "--steps must look like 0:99" in bad.stderr


def test_the_file_menu_has_export_video(window):
    actions = {a.text(): a for a in window.menuBar().actions()[0].menu().actions()}
    assert actions["Export &video…"].shortcut().toString() == "Ctrl+Shift+E"


def test_frames_are_padded_to_even_sizes_for_mp4():
    from PySide6.QtGui import QColor, QImage

    image = QImage(5, 3, QImage.Format.Format_ARGB32)
    image.fill(QColor(10, 20, 30))
    pixels = frame_pixels(image, (6, 4))
    assert pixels.shape == (4, 6, 3)
    assert (pixels[:3, :5] == (10, 20, 30)).all() and (pixels[3] == 255).all() and (pixels[:, 5] == 255).all()
    assert VideoSpec("a.mp4", 3, 12).frames == 10


def test_a_panels_frames_say_the_step_and_the_selection(window, qtbot):
    from lstm_viz.ui.export import step_words

    window.session.select_units([2, 5])
    window.session.set_step(12)
    label = window.session.core.label(12)
    assert step_words(window) == f"step 12 ({label!r}) · units 2, 5 selected"
    gates = panel(window, "GateBarsPanel")
    image = frame_pixels(frame_image(window, gates, 1.0), (gates.width(), gates.height() + 26))
    band = image[:26].reshape(-1, 3)
    assert (band == 0xEC).all(axis=1).mean() > 0.8 and (band.max(axis=1) < 80).any()  # grey, with dark words
    assert np.array_equal(image[26:], frame_pixels(gates.grab().toImage(), (gates.width(), gates.height())))
