"""Pictures of the window or of one panel: PNG at a chosen scale, SVG and PDF as vectors.

The widget paints itself through a QPainter on the target (``QWidget.render``): on an
image scaled up, the plots are drawn again at that resolution (not a stretched
screenshot); on Qt's SVG generator and PDF writer, curves are paths and words are text.
"""

from __future__ import annotations

import os
import re

from PySide6.QtCore import QMarginsF, QPoint, QRect, QRectF, QSize, QSizeF
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter
from PySide6.QtWidgets import QWidget

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".svg": "SVG", ".pdf": "PDF"}
SCALES = (1, 2, 4)
PICTURE_FILTERS = [
    ("PNG image", ".png"),
    ("SVG vector drawing", ".svg"),
    ("PDF document", ".pdf"),
    ("JPEG image", ".jpg"),
]


class ExportError(ValueError):
    """A picture that cannot be written (the message names the file and the reason)."""


def picture_format(path: str) -> str:
    """The format a file name asks for, from its extension."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise ExportError(f"{os.path.basename(path) or path}: the picture's name must end in " + ", ".join(FORMATS))
    return FORMATS[ext]


def export_picture(
    widget: QWidget, path: str, scale: float = 1.0, title: str = "lstm-viz", caption: tuple[str, str] | None = None
) -> QSize:
    """Write a picture of ``widget`` (the window, or a panel) to ``path``; the format from
    its extension. PNG and JPEG at ``scale`` times the widget's size; SVG and PDF at the
    widget's size in points, as vectors. ``caption`` (a title and words: see
    :func:`step_words`) puts a band above the widget saying them (text in SVG and PDF too).
    Returns the picture's size in pixels (or points)."""
    kind = picture_format(path)
    size = widget.size()
    if size.isEmpty():
        raise ExportError(f"{os.path.basename(path)}: there is nothing to draw (the panel is hidden or empty)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ExportError(f"{os.path.basename(path)}: the folder {folder} does not exist")
    if kind in ("PNG", "JPEG"):
        return _raster(widget, path, kind, float(scale), caption)
    if kind == "SVG":
        return _svg(widget, path, title, caption)
    return _pdf(widget, path, title, caption)


def _band(caption) -> int:
    return CAPTION_BAND if caption is not None else 0


def _draw_caption(painter: QPainter, width: float, caption) -> None:
    """The caption band at the top of ``painter``'s coordinates, ``width`` wide, then move
    the painter's origin below it."""
    if caption is None:
        return
    title, words = caption
    band = CAPTION_BAND
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.fillRect(QRectF(0, 0, width, band), QColor("#ececec"))
    painter.setPen(QColor("#202020"))
    font = painter.font()
    font.setPixelSize(14)
    font.setBold(True)
    painter.setFont(font)
    flags = 0x0001 | 0x0080  # left, vertically centred
    left = 6
    if title:
        painter.drawText(QRectF(left, 0, width - left, band), flags, title)
        left += painter.fontMetrics().horizontalAdvance(title) + 14
        font.setBold(False)
    painter.setFont(font)
    painter.drawText(QRectF(left, 0, max(width - left, 0), band), flags, words)
    painter.restore()
    painter.translate(0, band)


def _render(widget: QWidget, painter: QPainter) -> None:
    """The widget and its children through ``painter`` (its transform applies), with the
    plots' items drawn directly: an item Qt caches as a pixmap (curves, axes, cursors)
    would reach a vector file as a stretched bitmap."""
    from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

    cached = []
    for view in widget.findChildren(QGraphicsView) + ([widget] if isinstance(widget, QGraphicsView) else []):
        if view.scene() is None:
            continue
        for item in view.scene().items():
            if item.cacheMode() != QGraphicsItem.CacheMode.NoCache:
                cached.append((item, item.cacheMode()))
                item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
    # An image item (a heatmap) reaches a vector file as its own few pixels, stretched:
    # renderers smooth them (librsvg blurred every heatmap to a haze). Drawn from a copy
    # enlarged without smoothing to twice the pixels it covers, its cells stay cells.
    sharpened = [] if isinstance(painter.device(), QImage) else _sharpen_images(widget)
    # Qt's SVG and PDF engines do not clip a scroll area's content to its viewport (the
    # numbers under the memory bars ran over the tabs below them): what such a viewport
    # shows is drawn as the pixels it shows
    spilled = []
    if not isinstance(painter.device(), QImage):
        from PySide6.QtWidgets import QScrollArea

        for area in widget.findChildren(QScrollArea):
            content, view = area.widget(), area.viewport()
            if content is None or not content.isVisible() or not view.isVisible():
                continue
            if content.width() > view.width() or content.height() > view.height():
                spilled.append((content, view.grab(), view.mapTo(widget, QPoint(0, 0))))
    try:
        for content, _, _ in spilled:
            content.hide()
        widget.render(painter, QPoint(0, 0))
        for _, pixels, where in spilled:
            painter.drawPixmap(where, pixels)
    finally:
        for content, _, _ in spilled:
            content.show()
        for item, mode in cached:
            item.setCacheMode(mode)
        for item, image in sharpened:
            item.qimage = image


def _sharpen_images(widget: QWidget) -> list:
    """Give each image item shown in ``widget`` an enlarged copy of its picture (nearest
    neighbour, at most 16 times each way and 16 million pixels); returns (item, its own
    picture) to put back."""
    import math

    import pyqtgraph as pg
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QGraphicsView

    changed = []
    views = widget.findChildren(QGraphicsView) + ([widget] if isinstance(widget, QGraphicsView) else [])
    for view in views:
        if view.scene() is None or not view.isVisible():
            continue
        for item in view.scene().items():
            if not isinstance(item, pg.ImageItem) or item.image is None or not item.isVisible():
                continue
            if item._renderRequired:
                item.render()
            image = item.qimage
            if image is None or image.isNull():
                continue
            shown = view.mapFromScene(item.mapRectToScene(item.boundingRect())).boundingRect()
            fx = min(16, max(1, 2 * math.ceil(shown.width() / image.width())))
            fy = min(16, max(1, 2 * math.ceil(shown.height() / image.height())))
            if (fx == 1 and fy == 1) or fx * fy * image.width() * image.height() > 16_000_000:
                continue
            size = (image.width() * fx, image.height() * fy)
            item.qimage = image.scaled(
                *size, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation
            )
            changed.append((item, image))
    return changed


def settle(window, limit_s: float = 60.0) -> None:
    """Let the window show its current step whole: pending paced calls made now, the
    analyses they ask for waited for (at most ``limit_s``), every easing finished."""
    import time

    from PySide6.QtWidgets import QApplication

    from lstm_viz.ui.panels.base import Paced

    app = QApplication.instance()
    app.processEvents()
    for panel in window.panels:
        if panel.built and not panel._offscreen():
            for value in list(vars(panel).values()):
                if isinstance(value, Paced):
                    value.flush()
    start = time.monotonic()
    app.processEvents()
    while window.session.jobs.current and time.monotonic() - start < limit_s:
        app.processEvents()
        time.sleep(0.005)
    for panel in window.panels:
        if panel.built:
            panel.settle()
    app.processEvents()


def render_image(widget: QWidget, scale: float = 1.0) -> QImage:
    """``widget`` drawn again at ``scale`` times its size on white (the plots at that
    resolution, not a stretched screenshot): pictures and video frames."""
    size = QSize(round(widget.width() * scale), round(widget.height() * scale))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    painter.scale(scale, scale)
    _render(widget, painter)
    painter.end()
    return image


CAPTION_BAND = 26
"""Pixels (at scale 1) of the caption above a panel's picture in a video or a notebook."""


def step_words(window) -> str:
    """The step shown and the units selected, as a caption says them:
    "step 20 ('(') · units 3, 9 selected"."""
    core = window.session.core
    label = core.label()
    words = f"step {core.step}" + (f" ({label!r})" if label and label != str(core.step) else "")
    selected = list(core.selected)
    if selected:
        shown = ", ".join(str(u) for u in selected[:8]) + ("…" if len(selected) > 8 else "")
        words += f" · unit{'s' if len(selected) > 1 else ''} {shown} selected"
    return words


def caption_for(window, panel) -> tuple[str, str]:
    """A panel's caption: its title when it floats (a docked panel draws its own title
    bar, a floating one has the window manager's), the step and the selected units."""
    return (panel.title if panel.isFloating() else "", step_words(window))


def with_caption(image: QImage, title: str, words: str, scale: float = 1.0) -> QImage:
    """``image`` under a grey band with ``title`` in bold and ``words`` after it (a
    panel drawn alone has no title bar: the window manager draws that)."""
    band = round(CAPTION_BAND * scale)
    out = QImage(image.width(), image.height() + band, QImage.Format.Format_RGB32)
    out.fill(QColor("white"))
    painter = QPainter(out)
    painter.scale(scale, scale)
    _draw_caption(painter, image.width() / scale, (title, words))
    painter.resetTransform()
    painter.drawImage(0, band, image)
    painter.end()
    return out


def _raster(widget: QWidget, path: str, kind: str, scale: float, caption=None) -> QSize:
    if not 0.25 <= scale <= 8:
        raise ExportError(f"{os.path.basename(path)}: a scale between 0.25 and 8, not {scale:g}")
    image = render_image(widget, scale)
    if caption is not None:
        image = with_caption(image, caption[0], caption[1], scale)
    if not image.save(path, kind):
        raise ExportError(f"{os.path.basename(path)}: could not be written (is the folder writable?)")
    return image.size()


def _svg(widget: QWidget, path: str, title: str, caption=None) -> QSize:
    from PySide6.QtSvg import QSvgGenerator

    size = QSize(widget.width(), widget.height() + _band(caption))
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(size)
    generator.setViewBox(QRect(0, 0, size.width(), size.height()))
    generator.setResolution(96)  # a pixel of the window is a CSS pixel (browsers' 96 per inch)
    generator.setTitle(title)
    generator.setDescription("made with lstm-viz")
    painter = QPainter()
    if not painter.begin(generator):
        raise ExportError(f"{os.path.basename(path)}: could not be written (is the folder writable?)")
    _draw_caption(painter, widget.width(), caption)
    _render(widget, painter)
    painter.end()
    _bake_thin_lines(path)
    return size


_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _bake_thin_lines(path: str) -> None:
    """Put the coordinates of Qt's one-pixel lines (cosmetic pens) in the picture's own
    units, and name the fonts as renderers outside Qt know them.

    Qt writes a plot's curve in the plot's data units under a group's transform, with
    ``vector-effect="non-scaling-stroke"`` to keep the line one pixel wide; browsers honour
    that, but not every renderer does (librsvg draws such a curve as a band as tall as a
    data unit). Here every group whose children are only such paths gets its transform
    applied to their points and dropped, so the lines are thin in any renderer."""
    import xml.etree.ElementTree as ET

    from PySide6.QtGui import QFont, QFontInfo

    ns = "http://www.w3.org/2000/svg"
    ET.register_namespace("", ns)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    tree = ET.parse(path)
    families = {}  # Qt writes its aliases ("Sans Serif"): the font it drew with, then the generic family
    for element in tree.iter():
        family = element.get("font-family")
        if family is not None:
            if family not in families:
                resolved = QFontInfo(QFont(family)).family()
                generic = (
                    "monospace" if "mono" in family.lower() else "serif" if "serif" == family.lower() else "sans-serif"
                )
                families[family] = f"'{resolved}', {generic}"
            element.set("font-family", families[family])
    for group in tree.iter(f"{{{ns}}}g"):
        matrix = group.get("transform", "")
        children = list(group)
        if not matrix.startswith("matrix(") or not children:
            continue
        shapes = {f"{{{ns}}}{tag}" for tag in ("path", "polyline", "polygon", "rect")}
        if not all(c.tag in shapes and c.get("vector-effect") == "non-scaling-stroke" for c in children):
            continue
        a, b, c, d, e, f = (float(v) for v in matrix[len("matrix(") : -1].split(","))

        def through(x, y):
            return f"{a * x + c * y + e:.6g},{b * x + d * y + f:.6g}"

        for child in children:
            tag = child.tag.rsplit("}", 1)[1]
            if tag == "path":
                child.set("d", _transform_path(child.get("d", ""), a, b, c, d, e, f))
                continue
            if tag == "rect":  # its corners, as a polygon (a rotation turns a rect)
                x, y = float(child.get("x", 0)), float(child.get("y", 0))
                w, h = float(child.get("width", 0)), float(child.get("height", 0))
                for name in ("x", "y", "width", "height"):
                    child.attrib.pop(name, None)
                child.tag = f"{{{ns}}}polygon"
                child.set(
                    "points", " ".join(through(px, py) for px, py in ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))
                )
                continue
            values = [float(v) for v in _NUMBER.findall(child.get("points", ""))]  # polyline, polygon
            child.set("points", " ".join(through(x, y) for x, y in zip(values[0::2], values[1::2])))
        del group.attrib["transform"]
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _transform_path(d: str, a, b, c, d_, e, f) -> str:
    """An SVG path of absolute commands (Qt writes M, L, C and Z) through a matrix."""
    out = []
    for command, numbers in re.findall(r"([MLCZmlcz])([^MLCZmlcz]*)", d):
        values = [float(v) for v in _NUMBER.findall(numbers)]
        points = []
        for x, y in zip(values[0::2], values[1::2]):
            points.append(f"{a * x + c * y + e:.6g},{b * x + d_ * y + f:.6g}")
        out.append(command + " ".join(points))
    return " ".join(out)


def _pdf(widget: QWidget, path: str, title: str, caption=None) -> QSize:
    from PySide6.QtGui import QPdfWriter

    size = QSize(widget.width(), widget.height() + _band(caption))
    writer = QPdfWriter(path)
    writer.setTitle(title)
    writer.setCreator("lstm-viz")
    writer.setResolution(72)  # a pixel of the window is a point of the page
    page = QPageSize(
        QSizeF(size.width(), size.height()), QPageSize.Unit.Point, "window", QPageSize.SizeMatchPolicy.ExactMatch
    )
    writer.setPageLayout(QPageLayout(page, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter()
    if not painter.begin(writer):
        raise ExportError(f"{os.path.basename(path)}: could not be written (is the folder writable?)")
    _draw_caption(painter, widget.width(), caption)
    _render(widget, painter)
    painter.end()
    return size


def panel_named(window, name: str):
    """The panel called ``name`` (its object name or its title, any case; "gates" finds
    GateBarsPanel), or an ExportError listing the names."""
    wanted = name.strip().lower()
    panels = list(window.panels)
    for panel in panels:
        if wanted in (
            panel.objectName().lower(),
            panel.title.lower(),
            panel.objectName().lower().removesuffix("panel"),
        ):
            return panel
    matches = [p for p in panels if wanted and wanted in (p.objectName() + " " + p.title).lower()]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(p.objectName().removesuffix("Panel").lower() for p in panels)
    raise ExportError(f"no panel called {name!r} (one of: {names})")


def what_box(window):
    """A list to choose the whole window or one panel that is open (on screen, or behind
    a tab: it comes to the front to be drawn); its data is the panel's object name (None:
    the window)."""
    from PySide6.QtWidgets import QComboBox

    box = QComboBox()
    box.addItem("The whole window", None)
    for panel in window.panels:
        if not panel.isHidden():
            behind = " (behind a tab)" if panel._offscreen() else ""
            box.addItem(panel.title + behind, panel.objectName())
    return box


def bring_forward(panel) -> None:
    """Show ``panel`` at the front of its tabs, laid out and drawn, before it is pictured."""
    from PySide6.QtWidgets import QApplication

    if panel.isHidden():
        panel.show()
    panel.raise_()
    for _ in range(3):
        QApplication.processEvents()


def ask_export_path(window, title: str, stem: str | None, fallback: str, filters: list[tuple[str, str]]) -> str | None:
    """The save dialog of an export: in the folder the last export went to, proposing the
    panel's name (object name ``stem``, or ``fallback``) with the first filter's extension;
    a name typed without a known extension gets the chosen filter's. ``filters`` are
    (description, ".ext") pairs. Gives the keyboard back to the window and remembers the
    folder; None when nothing was chosen."""
    from PySide6.QtWidgets import QFileDialog

    default = (stem or fallback).removesuffix("Panel").lower() + filters[0][1]
    described = ";;".join(f"{words} (*{ext})" for words, ext in filters)
    path, chosen = QFileDialog.getSaveFileName(window, title, window.export_path(default), described)
    window.activateWindow()  # the keyboard back to the window (no window manager gives it back)
    if not path:
        return None
    if os.path.splitext(path)[1].lower() not in {ext for _, ext in filters}:
        path += next((ext for words, ext in filters if chosen.startswith(words)), filters[0][1])
    window.exported_to(path)
    return path


class ExportDialog:
    """File > Export picture…: what (the window or a panel on screen), the scale of a PNG,
    then where; the format follows the file name's extension (PNG, JPEG, SVG, PDF)."""

    def __init__(self, window):
        from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout

        self.window = window
        self.dialog = QDialog(window)
        self.dialog.setWindowTitle("Export picture")
        form = QFormLayout(self.dialog)
        self.what = what_box(window)
        form.addRow("Picture of", self.what)
        self.scale = QComboBox()
        for scale in SCALES:
            self.scale.addItem(f"{scale}x" + (" (screen)" if scale == 1 else " (print)"), scale)
        self.scale.setToolTip("For PNG and JPEG: pixels per pixel of the window. SVG and PDF are vectors.")
        form.addRow("PNG scale", self.scale)
        from PySide6.QtWidgets import QCheckBox

        self.caption = QCheckBox("Caption: the panel's title, the step and the selected units")
        self.caption.setChecked(True)
        self.what.currentIndexChanged.connect(lambda _: self.caption.setEnabled(self.what.currentData() is not None))
        self.caption.setEnabled(False)  # the whole window shows them itself
        form.addRow(self.caption)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.dialog.accept)
        buttons.rejected.connect(self.dialog.reject)
        form.addRow(buttons)

    def run(self) -> None:
        from PySide6.QtWidgets import QDialog

        if self.dialog.exec() != QDialog.DialogCode.Accepted:
            self.window.activateWindow()
            return
        name = self.what.currentData()
        path = ask_export_path(self.window, "Export picture", name, "window", PICTURE_FILTERS)
        if path:
            self.window.export_picture(
                path, panel=name, scale=self.scale.currentData(), caption=self.caption.isChecked()
            )
