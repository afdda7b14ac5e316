"""The cell diagram: one LSTM unit drawn as the classic diagram, with live numbers.

The memory cell line runs along the top (kept through the keep gate's multiply, added to
at the plus node); the three sigmoid gates and the tanh candidate sit below, fed by the
previous output and the input; the read gate's multiply sends the output out on the
right. Every wire shows its value at this step, gate glyphs fill with their activation and
the cell line's width and colour follow the memory. Values ease between steps (the numbers
shown are always the exact ones); playback never skips a step. Hover any element for its
two names, its equation and its value. "Whole layer" adds a bar strip of every unit's
value on each wire.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEasingCurve, QPointF, QRectF, Qt, QVariantAnimation
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QCheckBox, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import OneUnitPanel, Place
from lstm_viz.ui.style import QUANTITY_COLORS

WIDTH, HEIGHT = 1000.0, 540.0  # the drawing's own coordinates, scaled to the widget
CELL_Y, GATE_Y, WRITE_Y, INPUT_Y = 95.0, 335.0, 215.0, 450.0
GATE_X = {"forget": 260.0, "input": 420.0, "candidate": 570.0, "output": 725.0}
ADD_X, TANH_X, RIGHT = 520.0, 845.0, 950.0
BOX_W, BOX_H = 92.0, 62.0
EASE_MS = 160  # longest ease between steps; shorter when steps come faster


def label_spots() -> dict[str, tuple[QRectF, Qt.AlignmentFlag]]:
    """Where each wire's value is written, in the drawing's coordinates."""
    return {
        "cell_prev": (QRectF(40, CELL_Y - 44, 210, 26), Qt.AlignmentFlag.AlignLeft),
        "old": (QRectF(GATE_X["forget"] + 24, CELL_Y - 44, 220, 26), Qt.AlignmentFlag.AlignLeft),
        "cell": (QRectF(ADD_X + 24, CELL_Y - 44, 300, 26), Qt.AlignmentFlag.AlignLeft),
        "new": (QRectF(ADD_X + 10, (CELL_Y + WRITE_Y) / 2 - 13, 200, 26), Qt.AlignmentFlag.AlignLeft),
        "forget": (QRectF(GATE_X["forget"] - 210, WRITE_Y - 13, 200, 26), Qt.AlignmentFlag.AlignRight),
        "input": (QRectF(GATE_X["input"] - 200, WRITE_Y + 28, 192, 26), Qt.AlignmentFlag.AlignRight),
        "candidate": (QRectF(GATE_X["candidate"] + 8, WRITE_Y + 28, 200, 26), Qt.AlignmentFlag.AlignLeft),
        # below the read glyph, right of the wire coming up into it: clear of the × and every wire
        "output": (QRectF(GATE_X["output"] + 8, GATE_Y + BOX_H / 2 + 6, 200, 26), Qt.AlignmentFlag.AlignLeft),
        "tanh_cell": (QRectF(TANH_X - 242, WRITE_Y - 13, 200, 26), Qt.AlignmentFlag.AlignRight),
        "hidden": (QRectF(TANH_X + 22, GATE_Y - 34, 200, 26), Qt.AlignmentFlag.AlignLeft),
        "hidden_prev": (QRectF(40, INPUT_Y - 32, 300, 26), Qt.AlignmentFlag.AlignLeft),
        "x": (QRectF(150, HEIGHT - 52, 420, 26), Qt.AlignmentFlag.AlignLeft),
    }


@dataclass(frozen=True)
class Element:
    """Something on the diagram the mouse can point at."""

    key: str
    names: str  # both vocabularies
    equation: str
    area: QRectF


ELEMENTS = {
    "cell_prev": ("Previous memory cell c(t−1) — the tutorial's Cell(t−1)", "what the cell held after the last step"),
    "forget": ("Keep gate K(t) — the forget gate f(t)", "K(t) = σ(W_K·[S(t−1), x(t)] + B_K)"),
    "input": ("Write gate I(t) — the input gate i(t)", "I(t) = σ(W_I·[S(t−1), x(t)] + B_I)"),
    "candidate": ("Candidate C(t) — the cell input g(t)", "C(t) = tanh(W_C·[S(t−1), x(t)] + B_C)"),
    "output": ("Read gate O(t) — the output gate o(t)", "O(t) = σ(W_O·[S(t−1), x(t)] + B_O)"),
    "old": ("Old memory kept, Old(t) = f(t)·c(t−1)", "Old(t) = K(t) × Cell(t−1)"),
    "new": ("New memory written, New(t) = i(t)·g(t)", "New(t) = I(t) × C(t)"),
    "cell": ("Memory cell c(t) — the tutorial's Cell(t)", "Cell(t) = Old(t) + New(t)"),
    "tanh_cell": ("Squashed memory tanh(c(t))", "tanh(Cell(t))"),
    "hidden": ("Output h(t) — the tutorial's Output(t), S(t) for the next step", "Output(t) = O(t) × tanh(Cell(t))"),
    "hidden_prev": ("Previous output h(t−1) — the tutorial's S(t−1)", "what the layer sent out at the last step"),
    "x": ("Input x(t)", "this step's input to the layer"),
}
SIGNED = {"cell_prev", "candidate", "old", "new", "cell", "tanh_cell", "hidden", "hidden_prev"}


_EASING = QEasingCurve(QEasingCurve.Type.OutCubic)


def _ease(p: float) -> float:
    return _EASING.valueForProgress(p)


class DiagramCanvas(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(360, 200)
        self.target: dict[str, float] = {}
        self.shown: dict[str, float] = {}
        self.start: dict[str, float] = {}
        self.vectors: dict[str, np.ndarray] = {}
        self.texts: dict[str, str] = {}
        self.vector_mode = False
        self.unit = 0
        self.input_text = ""
        self.animation = QVariantAnimation(self)
        self.animation.setStartValue(0.0)
        self.animation.setEndValue(1.0)
        self.animation.valueChanged.connect(self._tick)
        self.elements = self._elements()
        self._last_change = 0.0

    # -- data ---------------------------------------------------------------------------
    def set_values(self, values: dict[str, float], vectors: dict[str, np.ndarray], texts: dict[str, str]):
        now = time.perf_counter()
        gap_ms = (now - self._last_change) * 1000
        self._last_change = now
        self.vectors, self.texts = vectors, texts
        self.target = dict(values)
        if not self.shown or set(self.shown) != set(values):
            self.shown = dict(values)
            self.update()
            return
        # Ease from what is on screen now; never longer than most of the gap between steps.
        self.start = dict(self.shown)
        duration = int(min(EASE_MS, 0.7 * gap_ms))
        self.animation.stop()
        if duration < 15:
            self.shown = dict(values)
            self.update()
            return
        self.animation.setDuration(duration)
        self.animation.start()

    def _tick(self, progress):
        p = _ease(float(progress))
        self.shown = {k: self.start.get(k, v) + (v - self.start.get(k, v)) * p for k, v in self.target.items()}
        self.update()

    # -- geometry -------------------------------------------------------------------------
    def _transform(self):
        scale = min(self.width() / WIDTH, self.height() / HEIGHT)
        dx = (self.width() - WIDTH * scale) / 2
        dy = (self.height() - HEIGHT * scale) / 2
        return scale, dx, dy

    def to_diagram(self, pos: QPointF) -> QPointF:
        scale, dx, dy = self._transform()
        return QPointF((pos.x() - dx) / scale, (pos.y() - dy) / scale)

    def from_diagram(self, point: QPointF) -> QPointF:
        scale, dx, dy = self._transform()
        return QPointF(point.x() * scale + dx, point.y() * scale + dy)

    @staticmethod
    def _elements() -> dict[str, Element]:
        def box(cx, cy, w, h):
            return QRectF(cx - w / 2, cy - h / 2, w, h)

        areas = {
            "cell_prev": QRectF(40, CELL_Y - 40, GATE_X["forget"] - 60, 60),
            "old": QRectF(GATE_X["forget"] + 20, CELL_Y - 40, ADD_X - GATE_X["forget"] - 40, 60),
            "cell": QRectF(ADD_X + 20, CELL_Y - 40, RIGHT - ADD_X - 20, 60),
            "new": box(ADD_X, (CELL_Y + WRITE_Y) / 2, 150, WRITE_Y - CELL_Y - 36),
            "tanh_cell": box(TANH_X, WRITE_Y, 150, 60),
            "hidden": QRectF(TANH_X + 20, GATE_Y - 40, RIGHT - TANH_X, 60),
            "hidden_prev": QRectF(30, INPUT_Y - 32, 200, 50),
            "x": QRectF(100, INPUT_Y + 15, 260, 70),
        }
        for gate, x in GATE_X.items():
            areas[gate] = box(x, GATE_Y, BOX_W + 10, BOX_H + 10)
        return {key: Element(key, *ELEMENTS[key], area) for key, area in areas.items()}

    def element_at(self, pos: QPointF) -> Element | None:
        point = self.to_diagram(pos)
        for element in self.elements.values():
            if element.area.contains(point):
                return element
        return None

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("white"))
        if not self.shown:
            painter.setPen(QColor("#666"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.texts.get("empty", "No LSTM layer"))
            return
        scale, dx, dy = self._transform()
        painter.translate(dx, dy)
        painter.scale(scale, scale)
        v = self.shown
        self._wires(painter, v)
        for gate in GATE_X:
            self._gate(painter, gate, v[gate])
        self._node(painter, QPointF(GATE_X["forget"], CELL_Y), "×")
        self._node(painter, QPointF(ADD_X, CELL_Y), "+")
        self._node(painter, QPointF(ADD_X, WRITE_Y), "×")
        self._node(painter, QPointF(TANH_X, GATE_Y), "×")
        self._tanh(painter, v["tanh_cell"])
        self._labels(painter)
        if self.vector_mode:
            self._strips(painter)
        painter.end()

    def _cell_pen(self, value: float) -> QPen:
        magnitude = min(abs(value), 2.0) / 2.0
        color = QColor(QUANTITY_COLORS["cell"]) if value >= 0 else QColor("#1f5fd6")
        color.setAlphaF(0.35 + 0.65 * magnitude)
        pen = QPen(color, 2.5 + 11 * magnitude)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        return pen

    def _wires(self, painter, v):
        # the memory cell line, segment by segment: c(t-1), old, c(t)
        painter.setPen(self._cell_pen(v["cell_prev"]))
        painter.drawLine(QPointF(40, CELL_Y), QPointF(GATE_X["forget"] - 18, CELL_Y))
        painter.setPen(self._cell_pen(v["old"]))
        painter.drawLine(QPointF(GATE_X["forget"] + 18, CELL_Y), QPointF(ADD_X - 18, CELL_Y))
        painter.setPen(self._cell_pen(v["cell"]))
        painter.drawLine(QPointF(ADD_X + 18, CELL_Y), QPointF(RIGHT, CELL_Y))
        self._arrow(painter, QPointF(RIGHT, CELL_Y))
        thin = QPen(QColor("#555"), 2.2)
        painter.setPen(thin)
        # gates up to their multiplies
        painter.drawLine(QPointF(GATE_X["forget"], GATE_Y - BOX_H / 2), QPointF(GATE_X["forget"], CELL_Y + 18))
        painter.drawPolyline(
            [
                QPointF(GATE_X["input"], GATE_Y - BOX_H / 2),
                QPointF(GATE_X["input"], WRITE_Y),
                QPointF(ADD_X - 18, WRITE_Y),
            ]
        )
        painter.drawPolyline(
            [
                QPointF(GATE_X["candidate"], GATE_Y - BOX_H / 2),
                QPointF(GATE_X["candidate"], WRITE_Y),
                QPointF(ADD_X + 18, WRITE_Y),
            ]
        )
        painter.setPen(QPen(QColor(QUANTITY_COLORS["new"]).darker(130), 2.2 + 4 * min(abs(v["new"]), 1.0)))
        painter.drawLine(QPointF(ADD_X, WRITE_Y - 18), QPointF(ADD_X, CELL_Y + 18))
        painter.setPen(thin)
        # the cell down through tanh into the read multiply, the read gate across
        painter.drawLine(QPointF(TANH_X, CELL_Y), QPointF(TANH_X, WRITE_Y - 20))
        painter.drawLine(QPointF(TANH_X, WRITE_Y + 20), QPointF(TANH_X, GATE_Y - 18))
        painter.drawLine(QPointF(GATE_X["output"] + BOX_W / 2, GATE_Y), QPointF(TANH_X - 18, GATE_Y))
        hidden_pen = QPen(QColor(QUANTITY_COLORS["hidden"]).darker(120), 2.5 + 5 * min(abs(v["hidden"]), 1.0))
        painter.setPen(hidden_pen)
        painter.drawLine(QPointF(TANH_X + 18, GATE_Y), QPointF(RIGHT, GATE_Y))
        self._arrow(painter, QPointF(RIGHT, GATE_Y))
        # h(t-1) and x(t) along the bottom, up into every gate
        painter.setPen(QPen(QColor("#555"), 2.2))
        painter.drawLine(QPointF(40, INPUT_Y), QPointF(GATE_X["output"], INPUT_Y))
        painter.drawLine(QPointF(140, HEIGHT - 20), QPointF(140, INPUT_Y))
        for x in GATE_X.values():
            painter.drawLine(QPointF(x, INPUT_Y), QPointF(x, GATE_Y + BOX_H / 2))
            self._arrow(painter, QPointF(x, GATE_Y + BOX_H / 2), up=True)
        painter.setBrush(QColor("#555"))
        painter.drawEllipse(QPointF(140, INPUT_Y), 4, 4)

    def _arrow(self, painter, tip: QPointF, up: bool = False):
        path = QPainterPath()
        if up:
            path.moveTo(tip)
            path.lineTo(tip + QPointF(-6, 11))
            path.lineTo(tip + QPointF(6, 11))
        else:
            path.moveTo(tip + QPointF(8, 0))
            path.lineTo(tip + QPointF(-6, -7))
            path.lineTo(tip + QPointF(-6, 7))
        path.closeSubpath()
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#444"))
        painter.drawPath(path)
        painter.restore()

    def _node(self, painter, center: QPointF, symbol: str):
        painter.save()
        painter.setPen(QPen(QColor("#333"), 2))
        painter.setBrush(QColor("#fffbe6"))
        painter.drawEllipse(center, 18, 18)
        font = QFont()
        font.setPixelSize(24)
        painter.setFont(font)
        painter.drawText(QRectF(center.x() - 18, center.y() - 19, 36, 36), Qt.AlignmentFlag.AlignCenter, symbol)
        painter.restore()

    def _tanh(self, painter, value: float):
        painter.save()
        rect = QRectF(TANH_X - 36, WRITE_Y - 20, 72, 40)
        painter.setPen(QPen(QColor("#333"), 2))
        painter.setBrush(QColor(QUANTITY_COLORS["tanh_cell"]).lighter(170))
        painter.drawRoundedRect(rect, 18, 18)
        font = QFont()
        font.setPixelSize(17)
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "tanh")
        painter.restore()

    def _gate(self, painter, gate: str, value: float):
        painter.save()
        rect = QRectF(GATE_X[gate] - BOX_W / 2, GATE_Y - BOX_H / 2, BOX_W, BOX_H)
        color = QColor(QUANTITY_COLORS[gate])
        glow = QColor(color)
        glow.setAlphaF(0.12 + 0.3 * (abs(value) if gate == "candidate" else value))
        painter.setPen(QPen(glow, 10))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(-3, -3, 3, 3), 10, 10)
        painter.setPen(QPen(QColor("#333"), 2))
        painter.setBrush(QColor("white"))
        painter.drawRoundedRect(rect, 8, 8)
        fill = QColor(color)
        fill.setAlphaF(0.55)
        inner = rect.adjusted(2, 2, -2, -2)
        if gate == "candidate":  # from the middle: up for positive, down for negative
            mid = inner.center().y()
            height = inner.height() / 2 * max(-1.0, min(1.0, value))
            part = QRectF(inner.left(), mid - max(height, 0), inner.width(), abs(height))
        else:
            height = inner.height() * max(0.0, min(1.0, value))
            part = QRectF(inner.left(), inner.bottom() - height, inner.width(), height)
        painter.fillRect(part, fill)
        font = QFont()
        font.setPixelSize(22)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#111"))
        symbol = "tanh" if gate == "candidate" else "σ"
        painter.drawText(rect.adjusted(0, 4, 0, -18), Qt.AlignmentFlag.AlignCenter, symbol)
        font.setPixelSize(13)
        font.setBold(False)
        painter.setFont(font)
        name = {"forget": "keep", "input": "write", "candidate": "candidate", "output": "read"}[gate]
        painter.drawText(rect.adjusted(0, 0, 0, -4), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, name)
        painter.restore()

    def _labels(self, painter):
        """The exact numbers (never eased) on every wire."""
        font = QFont()
        font.setPixelSize(16)
        painter.setFont(font)
        t = self.texts
        spots = label_spots()
        for key, (rect, align) in spots.items():
            if key in t:
                painter.setPen(QColor(QUANTITY_COLORS.get(key, "#222")).darker(150))
                painter.drawText(rect, align | Qt.AlignmentFlag.AlignVCenter, t[key])
        font.setPixelSize(14)
        painter.setFont(font)
        painter.setPen(QColor("#666"))
        painter.drawText(QRectF(0, HEIGHT - 26, WIDTH - 10, 24), Qt.AlignmentFlag.AlignRight, t.get("caption", ""))

    def _strips(self, painter):
        """Every unit's value on each wire, as a small bar strip (the selected unit dark)."""
        # (corner, width) of each strip, placed where no wire, glyph or label is
        spots = {
            "cell_prev": (QPointF(45, CELL_Y + 14), 150.0),
            "old": (QPointF(GATE_X["forget"] + 30, CELL_Y + 14), 150.0),
            "cell": (QPointF(ADD_X + 30, CELL_Y + 14), 150.0),
            "new": (QPointF(ADD_X + 14, (CELL_Y + WRITE_Y) / 2 + 16), 130.0),
            "forget": (QPointF(GATE_X["forget"] - 170, WRITE_Y + 16), 150.0),
            "input": (QPointF(GATE_X["forget"] + 14, WRITE_Y + 58), 130.0),
            "candidate": (QPointF(GATE_X["candidate"] + 14, WRITE_Y + 58), 130.0),
            "output": (QPointF(GATE_X["output"] + 12, GATE_Y + BOX_H / 2 + 36), 120.0),
            "hidden": (QPointF(TANH_X + 14, GATE_Y - 66), 130.0),
            "tanh_cell": (QPointF(TANH_X + 42, WRITE_Y - 12), 105.0),
        }
        h = 24.0
        for key, (corner, w) in spots.items():
            values = self.vectors.get(key)
            if values is None or not len(values):
                continue
            painter.save()
            frame = QRectF(corner.x(), corner.y(), w, h)
            painter.setPen(QPen(QColor("#bbb"), 1))
            painter.setBrush(QColor(255, 255, 255, 230))
            painter.drawRect(frame)
            n = len(values)
            bar = w / n
            signed = key in SIGNED
            base = frame.center().y() if signed else frame.bottom()
            span = h / 2 - 1 if signed else h - 2
            limit = max(1.0, float(np.abs(values).max())) if signed else 1.0
            color = QColor(QUANTITY_COLORS.get(key, "#555"))
            light = QColor(color)
            light.setAlphaF(0.45)
            rects, chosen = [], None
            for k, value in enumerate(values):
                height = float(value) / limit * span
                r = QRectF(
                    frame.left() + k * bar, base - max(height, 0), max(bar - (0.5 if bar > 2 else 0), 0.6), abs(height)
                )
                if k == self.unit:
                    chosen = r
                else:
                    rects.append(r)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(light)
            painter.drawRects(rects)
            if chosen is not None:
                painter.setBrush(color.darker(160))
                painter.drawRect(chosen.adjusted(-0.5, 0, 0.5, 0))
            painter.restore()

    # -- hover --------------------------------------------------------------------------
    def describe(self, element: Element) -> str:
        value = self.texts.get(element.key, "")
        return f"{element.names}\n{element.equation}\n{value}"


class CellDiagramPanel(OneUnitPanel):
    title = "Cell diagram"
    remembered = ("vector",)
    place = Place(tab="CellTrajectoryPanel")
    tour = (
        "One unit, drawn as the classic diagram",
        "The memory line runs along the top: "
        "multiplied by the keep gate, added to by write x candidate. Every wire shows its value at this step.",
    )
    unit_tooltip = "The unit drawn (the first selected unit by default)"

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(4, 2, 4, 2)
        bar = self.unit_bar()
        self.vector = QCheckBox("whole layer")
        self.vector.setToolTip("Add a bar strip of every unit's value on each wire (the drawn unit dark)")
        self.vector.toggled.connect(self._vector_mode)
        bar.addWidget(self.vector)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.canvas = DiagramCanvas()
        self.canvas.mouseMoveEvent = self._mouse_moved
        self.canvas.leaveEvent = lambda event: self.show_hover(None)
        layout.addWidget(self.canvas, 1)
        self.setWidget(container)

    def _vector_mode(self, on: bool):
        self.canvas.vector_mode = on
        self._show(animate=False)

    def _mouse_moved(self, event):
        element = self.canvas.element_at(event.position())
        self.show_hover(None if element is None or not self.canvas.shown else self.canvas.describe(element))

    def unit_changed(self):
        self._show(animate=False)

    def on_step(self, step):
        self._show(animate=True)

    def values_at(self, step: int, unit: int) -> tuple[dict[str, float], dict[str, np.ndarray], dict[str, str]]:
        """The numbers on the wires at ``step`` (scalars for ``unit``, vectors for the layer)."""
        s = self.session
        b = s.batch
        step_values = s.layer_trace.at(b, step)  # the engine's numbers for this step
        entry = s.model.layers[s.layer]
        layer = entry[0] if isinstance(entry, tuple | list) else entry
        projected = getattr(layer, "W_proj", None) is not None  # h(t) then mixes every unit
        shown = ("forget", "input", "candidate", "output", "cell", "cell_prev", "old", "new", "tanh_cell")
        vec = {name: step_values[name] for name in shown}
        vec["hidden"] = step_values["hidden_unprojected" if projected else "hidden"]
        h_prev = step_values["hidden_prev"]
        values = {key: float(array[unit]) for key, array in vec.items()}
        values["hidden_prev"] = float(h_prev[unit]) if not projected else float(np.linalg.norm(h_prev))
        label = s.label(step)
        if s.sequence.vocabulary is not None:
            x_text = f"x(t) = {label!r}"
        else:
            row = s.trace.x[b, step]
            shown = ", ".join(f"{v:.3g}" for v in row[:6])
            x_text = f"x(t) = [{shown}{', …' if len(row) > 6 else ''}]"
        if s.layer > 0:
            x_text = "x(t) = the layer below's output"
        texts = {
            "cell_prev": f"c(t−1) = {values['cell_prev']:+.4f}",
            "forget": f"keep K = {values['forget']:.4f}",
            "input": f"write I = {values['input']:.4f}",
            "candidate": f"candidate C = {values['candidate']:+.4f}",
            "output": f"read O = {values['output']:.4f}",
            "old": f"old = {values['old']:+.4f}",
            "new": f"new = {values['new']:+.4f}",
            "cell": f"c(t) = {values['cell']:+.4f}",
            "tanh_cell": f"tanh c = {values['tanh_cell']:+.4f}",
            "hidden": (
                f"m(t) = {values['hidden']:+.4f} (projected)" if projected else f"h(t) = {values['hidden']:+.4f}"
            ),
            "hidden_prev": (
                f"‖h(t−1)‖ = {values['hidden_prev']:.4f}" if projected else f"h(t−1) = {values['hidden_prev']:+.4f}"
            ),
            "x": x_text,
            "caption": f"unit {unit} · layer {s.layer} · t = {step}",
        }
        return values, vec, texts

    def _show(self, animate: bool):
        s = self.session
        if s.loaded is None:
            return
        if not s.layer_trace.is_lstm:
            self.canvas.shown, self.canvas.texts = {}, {"empty": "A plain tanh RNN has no gates or memory cell."}
            self.canvas.update()
            return
        unit = min(self.unit.value(), s.layer_trace.hidden_size - 1)
        self.canvas.unit = unit
        values, vectors, texts = self.values_at(s.step, unit)
        if not animate:
            self.canvas.shown = {}
        self.canvas.set_values(values, vectors, texts)

    def settle(self) -> None:
        """Finish any easing at once (for screenshots and tests)."""
        self.canvas.animation.stop()
        self.canvas.shown = dict(self.canvas.target)
        self.canvas.update()
