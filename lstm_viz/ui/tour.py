"""The Tour (Help > Tour): a few short steps that point at each panel and say what to look at.

A bubble next to the panel, a frame around it; Back, Next and Close (or Escape) at any
point. Shown once by itself on the very first start, and from the Help menu after that.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Stop:
    target: str  # a panel's object name, "Transport", or "menu"
    title: str
    text: str


FIRST = Stop(
    "Transport",
    "Move through time",
    "Left and Right step once (Shift: ten steps), Space plays, Home "
    "and End jump to the ends; or drag the slider. The label says which step you are at and what the input "
    "was.",
)
LAST = Stop("menu", "Examples", "The Examples menu has the tutorial's own examples and trained models, each with a "
            "note in the Guide saying which unit to watch. That is the tour: Help > Tour shows it again.")  # fmt: skip


def stops(panels) -> tuple[Stop, ...]:
    """The transport, then every registered panel that has a ``tour`` stop, then the menu."""
    from_panels = [Stop(panel.object_name or panel.__name__, *panel.tour) for panel in panels if panel.tour is not None]
    return (FIRST, *from_panels, LAST)


def _registered() -> tuple[Stop, ...]:
    from lstm_viz.ui.panels import PANELS

    return stops(PANELS)


STOPS = _registered()


class _Frame(QWidget):
    """A coloured frame around the panel being explained; clicks pass through it."""

    def __init__(self, parent):
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.setPen(QPen(QColor("#e8590c"), 4))
        painter.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)


class Tour(QFrame):
    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        self.stops = stops(type(panel) for panel in window.panels)
        self.setObjectName("Tour")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#Tour { background: #fffdf5; border: 2px solid #e8590c; border-radius: 8px; }"
            "#Tour QLabel { background: transparent; }"
        )
        self.setFixedWidth(360)
        layout = QVBoxLayout(self)
        self.counter = QLabel()
        self.counter.setStyleSheet("color: #888;")
        self.heading = QLabel()
        self.heading.setStyleSheet("font-weight: bold; font-size: 13pt;")
        self.heading.setWordWrap(True)
        self.body = QLabel()
        self.body.setWordWrap(True)
        layout.addWidget(self.counter)
        layout.addWidget(self.heading)
        layout.addWidget(self.body)
        buttons = QHBoxLayout()
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.close_button = QPushButton("Close")
        self.back.clicked.connect(lambda: self.go(self.index - 1))
        self.next.clicked.connect(lambda: self.go(self.index + 1))
        self.close_button.clicked.connect(self.finish)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.next)
        layout.addLayout(buttons)
        self.frame = _Frame(window)
        self.escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        self.escape.activated.connect(self.finish)
        self.escape.setEnabled(False)
        self.index = 0
        self.hide()
        self.frame.hide()

    @property
    def stop(self) -> Stop:
        return self.stops[self.index]

    def start(self) -> None:
        self.escape.setEnabled(True)
        self.go(0)

    def go(self, index: int) -> None:
        if index >= len(self.stops):
            self.finish()
            return
        self.index = max(0, index)
        stop = self.stop
        self.counter.setText(f"Tour · {self.index + 1} of {len(self.stops)}")
        self.heading.setText(stop.title)
        self.body.setText(stop.text)
        self.back.setEnabled(self.index > 0)
        self.next.setText("Done" if self.index == len(self.stops) - 1 else "Next")
        target = self.target_rect(stop)
        self.frame.setGeometry(target.adjusted(-3, -3, 3, 3))
        self.frame.show()
        self.frame.raise_()
        self.adjustSize()
        self.move(self.bubble_position(target))
        self.show()
        self.raise_()

    def target_rect(self, stop: Stop) -> QRect:
        """The target's rectangle in the window's coordinates (raising a tabbed panel first)."""
        window = self.window_
        if stop.target == "menu":
            bar = window.menuBar()
            return QRect(bar.mapTo(window, QPoint(0, 0)), bar.size())
        if stop.target == "Transport":
            widget = window.transport
        else:
            widget = next(p for p in window.panels if p.objectName() == stop.target)
            if widget.isHidden():
                widget.show()
            widget.raise_()
        return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())

    def bubble_position(self, target: QRect) -> QPoint:
        """Beside the target where there is room, inside the window."""
        area = self.window_.rect()
        w, h = self.width(), self.height()
        candidates = [
            QPoint(target.right() + 12, target.top() + 20),  # right of it
            QPoint(target.left() - w - 12, target.top() + 20),  # left of it
            QPoint(target.left() + 20, target.bottom() + 12),  # below it
            QPoint(target.center().x() - w // 2, target.center().y() - h // 2),  # over it
        ]
        for point in candidates:
            if area.contains(QRect(point, self.size())):
                return point
        point = candidates[-1]
        return QPoint(min(max(point.x(), 0), area.width() - w), min(max(point.y(), 0), area.height() - h))

    def finish(self) -> None:
        self.escape.setEnabled(False)
        self.hide()
        self.frame.hide()
