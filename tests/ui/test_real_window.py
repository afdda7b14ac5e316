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
