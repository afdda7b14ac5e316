"""The real app in a real X window (Xvfb), not the offscreen platform."""

import os
import shutil
import subprocess
import sys
import time

import pytest
from PySide6.QtGui import QImage

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")


def test_app_starts_in_a_real_x_window_and_renders(tmp_path):
    display = f":{90 + os.getpid() % 50}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    try:
        time.sleep(1.0)
        env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path))
        out = tmp_path / "x11.png"
        result = subprocess.run(
            [sys.executable, "-m", "lstm_viz", "--screenshot", str(out), "--step", "10"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        image = QImage(str(out))
        assert image.width() == 1600 and image.height() == 1000
        assert len({image.pixel(x, y) for x in range(0, 1600, 9) for y in range(0, 1000, 9)}) > 50
    finally:
        server.terminate()
        server.wait(10)


# -- the transport keys at a real X display: real key events, sent by the X server -----------

needs_xdotool = pytest.mark.skipif(
    shutil.which("xdotool") is None or shutil.which("import") is None,
    reason="xdotool and ImageMagick's import are needed to type and look at a real window",
)


def _free_display() -> str:
    for number in range(90 + os.getpid() % 50, 400):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and not os.path.exists(f"/tmp/.X{number}-lock"):
            return f":{number}"
    pytest.skip("no free X display number")


class RealWindow:
    """The app started as a user starts it, in an Xvfb display without a window manager."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.display = _free_display()
        self.server = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
        self.env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path), LSTM_VIZ_NO_DIALOGS="1")
        self.env.pop("XDG_CONFIG_HOME", None)
        self.app = None
        self.shots = 0

    def start(self):
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{self.display[1:]}"):
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        self.app = subprocess.Popen(
            [sys.executable, "-m", "lstm_viz", "--fresh-layout"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Qt makes a 1x1 helper window of the same name too: the one of the window's size
        self.xdotool("search", "--sync", "--name", "lstm-viz", timeout=30)
        deadline = time.monotonic() + 15
        while True:
            seen = []
            for wid in self.xdotool("search", "--name", "lstm-viz").split():
                seen.append(self.xdotool("getwindowgeometry", wid))
                if "Geometry: 1600x1000" in seen[-1]:
                    self.wid = wid
                    return
            assert time.monotonic() < deadline, f"no 1600x1000 lstm-viz window appeared: {seen}"
            time.sleep(0.1)

    def xdotool(self, *args, timeout=10) -> str:
        result = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def shot(self) -> QImage:
        self.shots += 1
        path = self.tmp / f"shot{self.shots}.png"
        subprocess.run(["import", "-window", "root", str(path)], env=self.env, check=True, timeout=10)
        return QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)

    def wait_for(self, rect, different_from: QImage, timeout=5.0) -> QImage:
        """The next screenshot whose ``rect`` differs from ``different_from``'s."""
        deadline = time.monotonic() + timeout
        while True:
            image = self.shot()
            if image.copy(rect) != different_from.copy(rect) or time.monotonic() > deadline:
                return image
            time.sleep(0.1)

    def close(self):
        for process in (self.app, self.server):
            if process is not None:
                process.terminate()
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def _rect_in_window(widget, window):
    from PySide6.QtCore import QRect

    return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())


def _pixels(image: QImage):
    import numpy as np

    image = image.convertToFormat(QImage.Format.Format_RGB32)
    data = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return data[:, : image.width() * 4].reshape(image.height(), image.width(), 4)[..., :3].astype(np.int32)


def shown_step(twin, real_label: QImage, steps=range(12)) -> int | None:
    """Which step's label the real window shows (None: none clearly). The offscreen twin
    draws each candidate; X and offscreen rendering differ by a few grey levels, not by a digit."""
    rect = _rect_in_window(twin.transport.position, twin)
    seen = _pixels(real_label)
    distances = {}
    for step in steps:
        twin.session.set_step(step)
        drawn = _pixels(twin.grab().toImage().copy(rect))
        distances[step] = abs(drawn - seen).mean()
    best = min(distances, key=distances.get)
    return best if distances[best] < 0.5 * sorted(distances.values())[1] else None


def wait_for_step(real, twin, rect, expected: int, timeout=8.0, steps=range(12)):
    """Screenshots until the label shows ``expected``; the step last shown and its screenshot."""
    deadline = time.monotonic() + timeout
    while True:
        image = real.shot()
        step = shown_step(twin, image.copy(rect), steps)
        if step == expected or time.monotonic() > deadline:
            if step != expected:
                image.save(str(real.tmp / "unexpected.png"))
            return step, image
        time.sleep(0.1)


@needs_xdotool
def test_transport_keys_work_at_first_show_in_a_real_window(tmp_path, window):
    """Right x 3 sent by the X server to the window just shown moves to step 3, and after a
    click into the speed box Right still steps (the box does not swallow it)."""
    twin = window  # the same window, offscreen: where the label and the speed box are
    assert twin.size().width() == 1600 and twin.size().height() == 1000
    label = _rect_in_window(twin.transport.position, twin)
    speed = _rect_in_window(twin.transport.speed, twin)
    real = RealWindow(tmp_path)
    try:
        real.start()
        geometry = real.xdotool("getwindowgeometry", real.wid)
        assert "Position: 0,0" in geometry and "1600x1000" in geometry, geometry
        # what a script does: the first window of that name and the keys at once. There is no
        # window manager to give it the keyboard focus: the window takes it itself (without,
        # the first keys went nowhere until a click)
        assert real.xdotool("search", "--name", "lstm-viz").split() == [real.wid]  # only the window
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["xdotool", "getwindowfocus"], env=real.env, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            != real.wid
        ):
            assert time.monotonic() < deadline, "the window did not take the keyboard focus"
            time.sleep(0.05)
        step, before = wait_for_step(real, twin, label, 0, timeout=15)  # the first frame already shows the demo
        assert step == 0
        real.xdotool("key", "--delay", "30", "Right", "Right", "Right")
        step, after = wait_for_step(real, twin, label, 3)
        assert step == 3, "Right x 3 right after start-up did not move to step 3"
        assert after.copy(speed) == before.copy(speed)  # the speed box was not edited

        # a click into the speed box, then Right: still steps
        x, y = speed.x() + 20, speed.center().y()
        real.xdotool("mousemove", str(x), str(y), "click", "1")
        clicked = real.wait_for(speed, after)  # the box shows it has the focus
        assert clicked.copy(speed) != after.copy(speed), "the click did not reach the speed box"
        real.xdotool("key", "Right")
        step, _ = wait_for_step(real, twin, label, 4)
        assert step == 4, "Right after a click in the speed box did not step"

        # Ctrl+G, a step typed, Enter: there; then N: the next step where the first selected
        # unit's write gate rises above 0.5 (the navigation bar's defaults), computed by the twin
        every = range(30)
        real.xdotool("key", "ctrl+g")
        real.xdotool("type", "--delay", "40", "20")
        real.xdotool("key", "Return")
        step, _ = wait_for_step(real, twin, label, 20, steps=every)
        assert step == 20, "Ctrl+G 20 Enter did not go to step 20"
        twin.session.set_step(20)
        expected = twin.core.next_event("input", twin.core.selected[0], 0.5, "up")
        assert expected is not None and expected > 20  # on the demo: at the second mark, t = 21
        real.xdotool("key", "n")
        step, _ = wait_for_step(real, twin, label, expected, steps=every)
        assert step == expected, f"N did not go to the next event at t = {expected}"

        # a dialog opened and closed (Model > Train…, then Escape): the keys come back to the
        # window (no window manager gives the focus back; they went nowhere until a click)
        real.xdotool("key", "ctrl+t")
        dialog = real.xdotool("search", "--sync", "--name", "^Train", timeout=20).split()[0]
        real.xdotool("windowfocus", "--sync", dialog)
        real.xdotool("key", "Escape")
        deadline = time.monotonic() + 10
        while subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "^Train"], env=real.env, capture_output=True, text=True
        ).stdout.strip():
            assert time.monotonic() < deadline, "Escape did not close the Train dialog"
            time.sleep(0.05)
        real.xdotool("key", "Right")
        step, _ = wait_for_step(real, twin, label, expected + 1, steps=every)
        assert step == expected + 1, "Right after a dialog closed did not step"
    finally:
        real.close()


@needs_xdotool
def test_page_keys_walk_the_guide_and_f11_presents_in_a_real_window(tmp_path, window):
    """The demo opens on the first note of its guide: Page Down x 2 moves to the steps of
    the next two notes, Page Up back; F11 hides the menu bar (presentation mode) and F11
    again brings it back, keys sent by the X server to the window just shown."""
    twin = window
    label = _rect_in_window(twin.transport.position, twin)
    menu = _rect_in_window(twin.menuBar(), twin)
    walk = twin.core.example.walk
    assert len(walk) >= 3 and twin.core.note == 0
    steps = range(twin.session.length)
    real = RealWindow(tmp_path)
    try:
        real.start()
        step, before = wait_for_step(real, twin, label, walk[0].step, timeout=15, steps=steps)
        assert step == walk[0].step
        real.xdotool("key", "--delay", "60", "Next")
        step, _ = wait_for_step(real, twin, label, walk[1].step, steps=steps)
        assert step == walk[1].step, "Page Down did not go to the second note's step"
        real.xdotool("key", "Next")
        step, _ = wait_for_step(real, twin, label, walk[2].step, steps=steps)
        assert step == walk[2].step, "Page Down did not go to the third note's step"
        real.xdotool("key", "Prior")
        step, shown = wait_for_step(real, twin, label, walk[1].step, steps=steps)
        assert step == walk[1].step, "Page Up did not go back to the second note's step"

        real.xdotool("key", "F11")
        presenting = real.wait_for(menu, shown)
        assert presenting.copy(menu) != shown.copy(menu), "F11 did not hide the menu bar"
        real.xdotool("key", "F11")
        back = real.wait_for(menu, presenting)
        assert back.copy(menu) == shown.copy(menu), "F11 again did not bring the menu bar back as it was"
        time.sleep(0.5)
        geometry = real.xdotool("getwindowgeometry", real.wid)
        assert "1600x1000" in geometry, f"F11 twice: the window is not its size again: {geometry}"
    finally:
        real.close()
