"""Presentation mode, for a classroom: large fonts and thick lines, the window full screen
and every control hidden but the transport (and the guide's Previous and Next). One key
(F11) turns it on and off; everything comes back as it was."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLayout,
    QLineEdit,
    QWidget,
)

from lstm_viz.ui import lod

FONT_SCALE = 1.6  # text this many times as large
LINE_SCALE = 2.5  # curves and cursors this many times as wide
KEEP = "presentation_keep"  # a widget with this property set stays shown (the guide's Previous/Next)
INPUTS = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit)


def control_rows(root: QWidget) -> list[QWidget]:
    """The widgets of ``root``'s rows of controls: every widget of a horizontal row that
    holds a button, a box or a field and no plot (labels of the row included)."""
    found: list[QWidget] = []

    def widgets_of(layout: QLayout) -> list[QWidget]:
        out = []
        for i in range(layout.count()):
            item = layout.itemAt(i)
            if item.widget() is not None:
                out.append(item.widget())
            elif item.layout() is not None:
                out.extend(widgets_of(item.layout()))
        return out

    def visit(layout: QLayout) -> None:
        if layout is None:
            return
        if layout.__class__.__name__ == "QHBoxLayout":
            members = widgets_of(layout)
            inputs = [w for w in members if isinstance(w, INPUTS)]
            plots = [w for w in members if isinstance(w, pg.GraphicsView) or w.findChild(pg.GraphicsView)]
            if inputs and not plots:
                kept = any(bool(w.property(KEEP)) for w in members)
                if not kept:
                    found.extend(w for w in members if isinstance(w, (*INPUTS, QLabel)) or not w.findChildren(QWidget))
                    return
        for i in range(layout.count()):
            item = layout.itemAt(i)
            if item.layout() is not None:
                visit(item.layout())
            elif item.widget() is not None and item.widget().layout() is not None:
                visit(item.widget().layout())

    visit(root.layout())
    return found


class Presentation(QObject):
    """Turns a main window's presentation mode on and off (``toggle``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.active = False
        self._saved: dict = {}
        self._hidden: list[QWidget] = []
        self._pens: list = []  # (item, pen as it was)
        self._fonts: list = []  # (item, font as it was)
        self._legends: list = []  # (legend, its label size as it was)
        self.hint = QLabel("Presentation mode: F11 to leave", window)
        self.hint.setStyleSheet(
            "background: rgba(30, 30, 30, 190); color: white; padding: 6px 10px; border-radius: 4px"
        )
        self.hint.hide()
        self._again = QTimer(self, singleShot=True, interval=0)  # panels rebuilt: thicken again
        self._again.timeout.connect(self._apply_plots)
        session = window.session
        for signal in (session.traceChanged, session.selectionChanged, session.viewChanged):
            signal.connect(self._changed)

    def toggle(self) -> None:
        self.leave() if self.active else self.enter()

    def enter(self) -> None:
        if self.active:
            return
        self.active = True
        window, app = self.window, QApplication.instance()
        self._saved = {
            "font": QFont(app.font()),
            "state": window.windowState(),
            "geometry": window.geometry(),
            "docks": window.saveState(),
            "menu": window.menuBar().isVisible(),
            "navigate": window.navigate.isVisible(),
            "status": window.statusBar().isVisible(),
        }
        font = QFont(app.font())
        font.setPointSizeF(font.pointSizeF() * FONT_SCALE)
        app.setFont(font)
        self._fonts_changed()
        lod.LINE_SCALE = LINE_SCALE
        window.menuBar().setVisible(False)
        window.navigate.setVisible(False)
        window.statusBar().setVisible(False)
        self._hidden = []
        self._hidden_actions = []
        for act in window.transport.extras():  # the transport keeps its buttons, slider and position
            if act.isVisible():
                widget = window.transport.widgetForAction(act)
                self._hidden_actions.append((act, widget, widget is not None and widget.isEnabled()))
                act.setVisible(False)
        for panel in window.panels:
            if panel.widget() is not None:
                for widget in control_rows(panel.widget()):
                    if widget.isVisibleTo(panel.widget()):
                        widget.setVisible(False)
                        self._hidden.append(widget)
        self._apply_plots()
        window.setWindowState(window.windowState() | Qt.WindowState.WindowFullScreen)
        self._show_hint()

    def leave(self) -> None:
        if not self.active:
            return
        self.active = False
        window, app = self.window, QApplication.instance()
        lod.LINE_SCALE = 1.0
        app.setFont(self._saved["font"])
        self._fonts_changed()
        for widget in self._hidden:
            try:
                widget.setVisible(True)
            except RuntimeError:  # deleted since
                pass
        self._hidden = []
        for act, widget, enabled in getattr(self, "_hidden_actions", []):
            act.setVisible(True)
            if widget is not None:  # (the tool bar enables a widget it shows again)
                widget.setEnabled(enabled)
        self._hidden_actions = []
        self._restore_plots()
        window.menuBar().setVisible(self._saved["menu"])
        window.navigate.setVisible(self._saved["navigate"])
        window.statusBar().setVisible(self._saved["status"])
        window.setWindowState(self._saved["state"])
        framed = not self._saved["state"] & (Qt.WindowState.WindowFullScreen | Qt.WindowState.WindowMaximized)
        # the panels' minimum sizes with the normal font first: laid out with the large one,
        # they held the window wider than the screen
        QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        if framed:
            window.setGeometry(self._saved["geometry"])  # (without a window manager it would stay screen-sized)
        QApplication.sendPostedEvents(None, 0)  # the window at its size again, then its docks
        window.restoreState(self._saved["docks"])  # the docks as they were, not as they grew back
        if hasattr(window, "settle_layout"):
            window.settle_layout()
        if framed and window.geometry() != self._saved["geometry"]:
            window.setGeometry(self._saved["geometry"])
        self.hint.hide()

    def _fonts_changed(self) -> None:
        for panel in self.window.panels:  # panels that write their own sizes (the guide's note)
            if hasattr(type(panel), "font_changed"):  # (on the class: a panel builds itself for unknown names)
                panel.font_changed()

    # -- plots -----------------------------------------------------------------------------
    def _changed(self, *args) -> None:
        if self.active:
            self._again.start()

    def _items(self):
        for view in self.window.findChildren(pg.GraphicsView):
            scene = view.scene()
            if scene is not None:
                yield from scene.items()

    def _apply_plots(self) -> None:
        """Thick curves and cursors, large axis text, in every plot (items made since the
        mode began too)."""
        if not self.active:
            return
        big = QFont(QApplication.instance().font())
        seen_pens = {id(item) for item, _ in self._pens}
        seen_fonts = {id(item) for item, _ in self._fonts} | {id(item) for item, _ in self._legends}
        for item in self._items():
            if isinstance(item, lod.LodCurve):
                if id(item) not in seen_pens:
                    self._pens.append((item, None))
                    item.rescale()
            elif isinstance(item, pg.InfiniteLine) and id(item) not in seen_pens:
                self._pens.append((item, pg.mkPen(item.pen)))
                pen = pg.mkPen(item.pen)
                pen.setWidthF(max(pen.widthF(), 1.0) * LINE_SCALE)
                item.setPen(pen)
            elif isinstance(item, pg.LegendItem) and id(item) not in seen_fonts:
                self._legends.append((item, item.opts["labelTextSize"]))
                self._legend_size(item, f"{big.pointSizeF():.1f}pt")
            elif isinstance(item, pg.AxisItem) and id(item) not in seen_fonts:
                self._fonts.append(
                    (item, (item.style.get("tickFont"), QFont(item.label.font()), item.textWidth, item.textHeight))
                )
                item.setTickFont(big)
                item.label.setFont(big)
                item.picture = None
                item.update()

    @staticmethod
    def _legend_size(legend, size: str) -> None:
        legend.opts["labelTextSize"] = size
        for _, label in legend.items:
            label.setAttr("size", size)
            label.setText(label.text)  # (pyqtgraph applies the size when the text is set)
        legend.updateSize()

    def _restore_plots(self) -> None:
        for item, pen in self._pens:
            try:
                if pen is None:
                    item.rescale()
                else:
                    item.setPen(pen)
            except RuntimeError:
                pass
        for legend, size in self._legends:
            try:
                self._legend_size(legend, size)
            except RuntimeError:
                pass
        self._legends = []
        for item, (tick, label, width, height) in self._fonts:
            try:
                item.setTickFont(tick)
                item.label.setFont(label)
                item.textWidth, item.textHeight = width, height  # (pyqtgraph keeps the widest text's room)
                item._updateWidth() if item.orientation in ("left", "right") else item._updateHeight()
                item.picture = None
                item.update()
            except RuntimeError:
                pass
        self._pens, self._fonts = [], []

    def _show_hint(self) -> None:
        def place():
            if self.active:
                self.hint.adjustSize()
                self.hint.move(self.window.width() - self.hint.width() - 16, 8)
                self.hint.raise_()
                self.hint.show()

        QTimer.singleShot(0, place)  # once the window is full screen
        QTimer.singleShot(4000, self.hint.hide)
