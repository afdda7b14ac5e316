"""Pictures out: PNG at a scale, SVG and PDF as vectors, each opened by a consumer that is
not Qt (librsvg for SVG, poppler for PDF) and compared with the window's own pixels."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from lstm_viz.ui.export import ExportError, export_picture, panel_named
from tests.ui.conftest import panel

SVG = "{http://www.w3.org/2000/svg}"


def pixels(image: QImage) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).astype(np.int16)


def shrink(a: np.ndarray, k: int) -> np.ndarray:
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    return a[:h, :w].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))


def test_a_png_at_twice_the_size_is_the_window_drawn_again_at_that_resolution(window, tmp_path):
    window.session.set_step(12)
    gates = panel(window, "GateBarsPanel")
    path = tmp_path / "gates.png"
    assert window.export_picture(str(path), panel="gates", scale=2)
    picture = QImage(str(path))
    assert (picture.width(), picture.height()) == (2 * gates.width(), 2 * gates.height())
    screen = pixels(gates.grab().toImage())
    # averaged back to the window's pixels, the picture is the panel as on screen
    difference = np.abs(shrink(pixels(picture), 2) - screen[: picture.height() // 2, : picture.width() // 2])
    assert difference.mean() < 6
    assert "Exported Gates at this step to gates.png" in window.status.text()


def test_an_svg_holds_curves_as_paths_and_words_as_text(window, tmp_path):
    window.session.select_units([2])
    trajectories = panel(window, "CellTrajectoryPanel")
    trajectories.raise_()
    path = tmp_path / "trajectories.svg"
    assert window.export_picture(str(path), panel="CellTrajectoryPanel")
    root = ET.parse(path).getroot()
    words = " ".join("".join(t.itertext()) for t in root.iter(SVG + "text"))
    assert "unit 2" in words and "memory cell c(t)" in words and "step" in words
    # fonts named as renderers outside Qt know them (a browser read Qt's "Sans Serif" as serif)
    families = {e.get("font-family") for e in root.iter() if e.get("font-family")}
    assert families and all(f.endswith(("sans-serif", "serif", "monospace")) for f in families)
    # the curve: one path through the 30 steps, in the picture's own units (no scaling
    # transform left around it: thin in every renderer)
    long_paths = [p for p in root.iter(SVG + "path") if p.get("d", "").count("L") >= 29]
    assert long_paths
    for group in root.iter(SVG + "g"):
        if any(p in long_paths for p in group):
            assert "transform" not in group.attrib


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="librsvg's rsvg-convert is not installed")
def test_the_svg_renders_outside_qt_as_the_window_shows_it(window, tmp_path):
    trajectories = panel(window, "CellTrajectoryPanel")
    trajectories.raise_()
    path = tmp_path / "t.svg"
    assert window.export_picture(str(path), panel="CellTrajectoryPanel")
    png = tmp_path / "t.png"
    subprocess.run(["rsvg-convert", "-o", str(png), str(path)], check=True)
    rendered = pixels(QImage(str(png)))
    screen = pixels(trajectories.grab().toImage())
    h, w = min(rendered.shape[0], screen.shape[0]), min(rendered.shape[1], screen.shape[1])
    assert abs(rendered.shape[1] - screen.shape[1]) <= 1  # the panel's size, in pixels
    difference = np.abs(rendered[:h, :w] - screen[:h, :w])
    assert difference.mean() < 8  # fonts differ a little; curves drawn thick would differ a lot


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_the_pdf_renders_as_the_window_shows_it(window, tmp_path):
    path = tmp_path / "w.pdf"
    assert window.export_picture(str(path))
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", str(path), str(tmp_path / "w")], check=True)
    rendered = pixels(QImage(str(tmp_path / "w.png")))
    screen = pixels(window.grab().toImage())
    assert rendered.shape == screen.shape  # a point of the page is a pixel of the window
    assert np.abs(rendered - screen).mean() < 8


def test_bad_picture_names_are_said_and_nothing_breaks(window, tmp_path):
    assert not window.export_picture(str(tmp_path / "w.gif"))
    assert "w.gif: the picture's name must end in .png" in window.last_error
    assert not window.export_picture(str(tmp_path / "missing" / "w.png"))
    assert "does not exist" in window.last_error
    assert not window.export_picture(str(tmp_path / "w.png"), panel="nope")
    assert "no panel called 'nope'" in window.last_error
    with pytest.raises(ExportError, match="between 0.25 and 8"):
        export_picture(window, str(tmp_path / "w.png"), scale=100)
    assert panel_named(window, "heatmaps").objectName() == "GateHeatmapsPanel"
    assert window.session.loaded is not None  # the session is as it was


def test_the_command_line_writes_a_panel_as_svg(tmp_path):
    out = tmp_path / "gates.svg"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lstm_viz",
            "--example",
            "adding",
            "--step",
            "21",
            "--panel",
            "gates",
            "--screenshot",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and out.exists()
    words = " ".join("".join(t.itertext()) for t in ET.parse(out).getroot().iter(SVG + "text"))
    assert "Keep (forget)" in words
    bad = subprocess.run(
        [sys.executable, "-m", "lstm_viz", "--panel", "nope", "--screenshot", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert bad.returncode == 2 and "no panel called 'nope'" in bad.stderr


def test_the_dialog_saves_what_was_chosen_and_gives_the_keys_back(window, tmp_path, monkeypatch):
    """At a real X display without a window manager, the keys went nowhere after the dialog
    closed (Right did not step); the window now takes the focus back."""
    from PySide6.QtWidgets import QDialog, QFileDialog

    from lstm_viz.ui.export import ExportDialog

    dialog = ExportDialog(window)
    assert dialog.what.itemText(0) == "The whole window" and dialog.what.findData("GateBarsPanel") > 0
    dialog.what.setCurrentIndex(dialog.what.findData("GateBarsPanel"))
    dialog.scale.setCurrentIndex(dialog.scale.findData(2))
    out = tmp_path / "bars.png"
    monkeypatch.setattr(dialog.dialog, "exec", lambda: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    activated = []
    monkeypatch.setattr(window, "activateWindow", lambda: activated.append(True))
    dialog.run()
    gates = panel(window, "GateBarsPanel")
    assert QImage(str(out)).width() == 2 * gates.width()
    assert activated == [True]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_a_scroll_areas_content_stays_inside_it_in_a_vector_picture(window, tmp_path):
    """Qt's PDF and SVG engines drew the numbers under the memory bars past their scroll
    area, over the tabs below it: the picture now shows what the area shows."""
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication

    window.session.select_units(range(12))  # more lines than the area shows
    QApplication.processEvents()
    memory = panel(window, "MemoryPanel")
    area = memory.numbers_area
    assert memory.numbers.height() > area.viewport().height()
    path = tmp_path / "w.pdf"
    assert window.export_picture(str(path))
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", str(path), str(tmp_path / "w")], check=True)
    rendered = pixels(QImage(str(tmp_path / "w.png")))
    screen = pixels(window.grab().toImage())
    top = area.mapTo(window, QPoint(0, 0))
    below = (slice(top.y() + area.height(), top.y() + area.height() + 40), slice(top.x(), top.x() + area.width()))
    assert np.abs(rendered[below] - screen[below]).mean() < 6  # the tabs below, as on screen
    # the lines the area shows, there (as much ink as on screen: the PDF's copy of its
    # pixels is resampled by the renderer, so not pixel for pixel)
    inside = (slice(top.y(), top.y() + area.height()), slice(top.x(), top.x() + area.width()))
    assert abs(rendered[inside].mean() - screen[inside].mean()) < 4
    assert screen[inside].mean() < 235  # (there are lines: not a blank area)


def test_a_panel_behind_a_tab_is_offered_and_comes_to_the_front_to_be_pictured(window, tmp_path):
    from lstm_viz.ui.export import ExportDialog

    equations = panel(window, "EquationsPanel")
    assert equations._offscreen()  # behind the memory panel's tab
    dialog = ExportDialog(window)
    index = dialog.what.findData("EquationsPanel")
    assert index > 0 and dialog.what.itemText(index).endswith("(behind a tab)")
    assert window.export_picture(str(tmp_path / "equations.png"), panel="EquationsPanel")
    assert not equations._offscreen()
    picture = QImage(str(tmp_path / "equations.png"))
    assert (picture.width(), picture.height()) == (equations.width(), equations.height())


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="librsvg's rsvg-convert is not installed")
def test_svg_heatmaps_keep_their_cells_sharp_outside_qt(window, tmp_path):
    """librsvg smooths an embedded picture: a heatmap of 12 rows became a haze. The picture
    is now enlarged, without smoothing, before it is written: rendered, the heatmaps are
    the window's (and the image in the file is larger than the heatmap's own cells)."""
    heatmaps = panel(window, "GateHeatmapsPanel")
    path = tmp_path / "heat.svg"
    assert window.export_picture(str(path), panel="heatmaps")
    png = tmp_path / "heat.png"
    subprocess.run(["rsvg-convert", "-o", str(png), str(path)], check=True)
    rendered = pixels(QImage(str(png)))
    screen = pixels(heatmaps.grab().toImage())
    plot = heatmaps.plots["forget"]
    view = plot.getViewBox()
    box = view.mapRectToScene(view.boundingRect())
    graphics = heatmaps.graphics
    top_left = graphics.mapTo(heatmaps, graphics.mapFromScene(box.topLeft()))
    x0, y0 = top_left.x() + 2, top_left.y() + 2
    x1, y1 = x0 + int(box.width()) - 4, y0 + int(box.height()) - 4
    inside = np.abs(rendered[y0:y1, x0:x1] - screen[y0:y1, x0:x1])
    assert inside.mean() < 6  # blurred (before): 8.6 on average, far more at the cells' edges
    widths = [int(w) for w in re.findall(r'<image[^>]*width="(\d+)"', path.read_text())]
    assert widths and max(widths) > 2 * window.session.core.length


def test_a_panels_picture_can_say_its_step_and_selection_in_a_caption(window, tmp_path):
    window.session.select_units([2, 5])
    window.session.set_step(12)
    gates = panel(window, "GateBarsPanel")
    png = tmp_path / "g.png"
    assert window.export_picture(str(png), panel="gates", scale=2, caption=True)
    picture = QImage(str(png))
    assert (picture.width(), picture.height()) == (2 * gates.width(), 2 * (gates.height() + 26))
    below = shrink(pixels(picture)[52:], 2)  # under the band: the panel as on screen
    screen = pixels(gates.grab().toImage())
    assert np.abs(below - screen[: below.shape[0], : below.shape[1]]).mean() < 6
    svg = tmp_path / "g.svg"
    assert window.export_picture(str(svg), panel="gates", caption=True)
    words = " ".join("".join(t.itertext()) for t in ET.parse(svg).getroot().iter(SVG + "text"))
    label = window.session.core.label(12)
    assert f"step 12 ({label!r}) · units 2, 5 selected" in words  # as text
    assert words.count("Gates at this step") == 1  # the docked panel's own title bar says it, once
    from lstm_viz.ui.export import ExportDialog

    dialog = ExportDialog(window)
    assert dialog.caption.isChecked() and not dialog.caption.isEnabled()  # the window shows them itself
    dialog.what.setCurrentIndex(dialog.what.findData("GateBarsPanel"))
    assert dialog.caption.isEnabled()
