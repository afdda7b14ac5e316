"""The base of every panel: a dock widget that reads the Session and reacts to its signals."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QSizePolicy, QWidget

from lstm_viz.ui.session import Session
from lstm_viz.workbench.navigation import MIN_SPAN

# Legends sit over the data: a light backing keeps them readable over curves.
LEGEND_BRUSH = (255, 255, 255, 215)

AREAS = {
    "left": Qt.DockWidgetArea.LeftDockWidgetArea,
    "right": Qt.DockWidgetArea.RightDockWidgetArea,
    "top": Qt.DockWidgetArea.TopDockWidgetArea,
    "bottom": Qt.DockWidgetArea.BottomDockWidgetArea,
}


@dataclass(frozen=True)
class Place:
    """Where a panel goes in the default layout.

    First in a side of the window (``area``), or ``below`` another panel, or in a ``tab``
    next to one (by object name). ``height`` is its share of its column, ``width`` the
    column's share of the window (for the first panel of a side); ``front`` brings it to
    the front of its tabs.
    """

    area: str = "right"
    below: str | None = None
    tab: str | None = None
    height: int = 0
    width: int = 0
    front: bool = False

    @property
    def anchor(self) -> str | None:
        return self.below or self.tab


class Panel(QDockWidget):
    """Subclasses build their items once in ``build`` and update them in place.

    ``on_trace`` runs when the data, layer or batch sequence changes; ``on_step`` on every
    step (keep it cheap: move cursors, set heights); ``on_selection`` when units are
    selected. ``time_plots`` lists plot items whose x axis is time, for the window to link.

    What the window derives from the class: ``title`` (dock title and View menu),
    ``place`` (the default layout), ``tour`` (a (heading, text) stop of Help > Tour, in
    the order the panels are registered), and ``requests``, the names of the requests the
    panel may send with :meth:`request` (see ``lstm_viz.ui.session.REQUESTS``).
    """

    title = ""
    object_name = ""  # defaults to the class name
    place = Place()
    tour: tuple[str, str] | None = None
    requests: tuple[str, ...] = ()

    def __init__(self, session: Session, parent=None):
        super().__init__(self.title, parent)
        self.setObjectName(self.object_name or type(self).__name__)
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.session = session
        self.empty_note = None  # what an empty window shows instead of empty axes (see _frame_empty)
        self.hover_text = ""  # what hovering last showed (also shown as a tooltip)
        self._stale = False  # a step arrived while the panel was off screen
        self._stale_trace = False  # so did new data or a new selection
        # The content is built when the panel first comes on screen (or something asks for
        # it): a dozen panels behind tabs need not cost start-up their plots and menus.
        self._built = self._building = False
        self.built_hooks: list = []  # called with the panel once its content exists
        self.setWidget(QWidget())
        self.visibilityChanged.connect(self._shown)
        session.traceChanged.connect(self._refresh)
        session.viewChanged.connect(self._refresh)
        session.stepChanged.connect(self._step)
        session.selectionChanged.connect(self._selection)
        session.rangeChanged.connect(self._range)

    def build(self) -> None:
        raise NotImplementedError

    @property
    def built(self) -> bool:
        return self._built

    def ensure_built(self) -> None:
        """Build the content now if it is not yet (see ``build``)."""
        if self._built or self._building:
            return
        self._building = True
        try:
            self.build()
            plain_axes(self)
            self._frame_empty()
        finally:
            self._building = False
        self._built = True
        self._stale_trace = self.session.loaded is not None  # shows the data at the next refresh
        if self.session.loaded is not None:
            self.show_time_range()
        pending, self._pending_settings = self.__dict__.get("_pending_settings"), None
        if pending:
            self.apply_session_settings(pending)
        for hook in self.built_hooks:
            hook(self)

    # -- settings kept in a session file --------------------------------------------------
    remembered: tuple[str, ...] = ()
    """Names of this panel's setting widgets (combo boxes, check boxes, spin boxes) that a
    session file keeps."""

    def session_settings(self) -> dict:
        """The values of the ``remembered`` widgets (a panel not built yet: those it was
        given), as plain data."""
        if not self._built:
            return dict(self.__dict__.get("_pending_settings") or {})
        from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox

        values = {}
        for name in self.remembered:
            widget = getattr(self, name)
            if isinstance(widget, QComboBox):
                data = widget.currentData()
                values[name] = (
                    {"data": data} if isinstance(data, str | int | float | bool) else {"text": widget.currentText()}
                )
            elif isinstance(widget, QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, QAbstractSpinBox):
                values[name] = widget.value()
        return values

    def apply_session_settings(self, values: dict) -> None:
        """Set the ``remembered`` widgets from ``values`` (from :meth:`session_settings`);
        names or values this panel does not know are left alone. A panel not built yet
        applies them when it is built."""
        if not isinstance(values, dict):
            return
        if not self._built:
            self._pending_settings = dict(values)
            return
        from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

        for name in self.remembered:
            if name not in values:
                continue
            widget, value = getattr(self, name), values[name]
            if isinstance(widget, QComboBox) and isinstance(value, dict):
                index = widget.findData(value["data"]) if "data" in value else widget.findText(str(value.get("text")))
                if index >= 0:
                    widget.setCurrentIndex(index)
            elif isinstance(widget, QCheckBox) and isinstance(value, bool):
                widget.setChecked(value)
            elif isinstance(widget, QDoubleSpinBox) and isinstance(value, int | float) and not isinstance(value, bool):
                widget.setValue(float(value))
            elif isinstance(widget, QSpinBox) and isinstance(value, int) and not isinstance(value, bool):
                widget.setValue(value)

    def __getattr__(self, name: str):
        # Only for names not found: what ``build`` makes. Asking for one builds the panel.
        state = self.__dict__
        if name.startswith("__") or state.get("_built", True) or state.get("_building", True):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        self.ensure_built()
        if self.session.loaded is not None and not self._offscreen():
            self._refresh()  # asked for while on screen, before its deferred build ran
        return getattr(self, name)

    # What a panel shows before anything is loaded, instead of axes with nothing on them.
    empty_text = "Open a sequence (Ctrl+O) or an example (Examples menu)"

    def _frame_empty(self) -> None:
        """Put the built content in a stack behind a centred note, shown until data arrives."""
        from PySide6.QtWidgets import QLabel, QStackedWidget

        content = self.widget()
        if not self.empty_text or content is None or self.session.loaded is not None:
            return
        stack = QStackedWidget()
        self.empty_note = QLabel(self.empty_text)
        self.empty_note.setObjectName("EmptyNote")
        self.empty_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_note.setWordWrap(True)
        self.empty_note.setStyleSheet("color: #777; font-size: 12pt; background: white;")
        stack.addWidget(self.empty_note)
        stack.addWidget(content)
        self.setWidget(stack)

    def _show_content(self) -> None:
        if self.empty_note is not None:
            stack = self.widget()
            stack.setCurrentIndex(1)
            stack.removeWidget(self.empty_note)
            self.empty_note.deleteLater()
            self.empty_note = None

    def on_trace(self) -> None:
        pass

    def on_step(self, step: int) -> None:
        pass

    def on_selection(self) -> None:
        pass

    def time_plots(self) -> list[pg.PlotItem]:
        return []

    def request(self, name: str, *args) -> None:
        """Ask the window to carry out a request this panel declares in ``requests``."""
        self.session.request(self, name, *args)

    def request_failed(self, name: str, message: str) -> None:
        """A request of this panel could not be carried out; say so where the user looks."""

    def numbers(self, scope: str):
        """The numbers this panel shows as a pandas DataFrame, at this step (``scope``
        "step") or over the whole sequence ("sequence"); None for a panel without numbers
        to export (File > Export data)."""
        return None

    def settle(self) -> None:
        """Finish any animation now (screenshots show the step itself)."""

    def _offscreen(self) -> bool:
        """Closed, behind another tab, or in a window not shown: nothing of it is on screen.

        A floating panel is never behind a tab; its own region can be empty when its content
        covers all of it (an opaque plot, with the title bar drawn by the window manager)."""
        if self.isHidden():
            return True
        if self.isFloating():
            return not self.isVisible() or self.isMinimized()
        return self.visibleRegion().isEmpty()

    def _refresh(self) -> None:
        if self.session.loaded is None:
            return
        if self._offscreen():  # rebuilt when it comes on screen (see _shown)
            self._stale_trace = True
            return
        self.ensure_built()
        self._show_content()
        self._stale_trace = self._stale = False
        for axis in self.__dict__.get("step_axes", ()):
            axis.refresh()
        self.on_trace()
        self.show_time_range()
        self.on_selection()
        self.on_step(self.session.step)

    def show_time_range(self) -> None:
        """Show the core's range of steps in this panel's time plots, with the sequence's
        ends as their limits (zoom and pan stay inside it)."""
        core = self.session.core
        length = max(core.length, 1)
        t0, t1 = core.time_range
        for plot in self.time_plots():
            plot.vb.setLimits(xMin=0, xMax=length, minXRange=min(MIN_SPAN, length))
            plot.setXRange(t0, t1, padding=0)

    def _range(self, t0: float, t1: float) -> None:
        # also off screen: setting a range is cheap (the level-of-detail items redraw when painted)
        if self.session.loaded is not None and self._built:
            self.show_time_range()
            if not self._offscreen() and not self._stale_trace:
                # pyqtgraph moves the items to the new range (and the level-of-detail items
                # redraw) when the view paints: they change during the paint, and the view
                # paints a second time. Done now, the view paints once.
                scenes = []
                for plot in self.time_plots():
                    scene = plot.scene()
                    if scene is None or any(scene is s for s in scenes):
                        continue
                    if any(v.isVisible() and not v.viewport().visibleRegion().isEmpty() for v in scene.views()):
                        scenes.append(scene)  # (a plot on a page not shown keeps what it drew)
                for scene in scenes:
                    scene.prepareForPaint()

    def _step(self, step: int) -> None:
        if self.session.loaded is None:
            return
        if self._offscreen():
            # caught up when shown again: Qt emits visibilityChanged when a tab comes to
            # the front and on every show event
            self._stale = True
            return
        if self._stale_trace or not self._built:  # came on screen before its visibilityChanged arrived
            self._refresh()
            return
        self.on_step(step)

    def _selection(self) -> None:
        if self.session.loaded is None:
            return
        if self._offscreen() or self._stale_trace or not self._built:
            self._stale_trace = True
            self._refresh()  # rebuilds now if on screen, else when shown
            return
        self.on_selection()
        self.on_step(self.session.step)

    def _shown(self, visible: bool) -> None:
        if not visible:
            return
        if not self._built:
            # Built just after, not inside, the show that made it visible: the window's first
            # show maps it at once (a script that focuses it and sends keys finds it mapped;
            # the keys wait in the queue for the panels) instead of after every panel is made.
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, self._build_shown)
            return
        if self.session.loaded is None:
            return
        if self._stale_trace:
            self._refresh()
            return
        if self._stale:
            self._stale = False
            self.on_step(self.session.step)

    def _build_shown(self) -> None:
        if self._built or self._offscreen():
            return
        self.ensure_built()
        self._shown(True)

    def show_hover(self, text: str | None) -> None:
        """Show the exact value under the mouse as a tooltip and in the window's status bar
        (``None`` hides them). The status bar shows it whatever the window manager does with
        tooltips (none shows them for a window that is not active)."""
        from PySide6.QtGui import QCursor
        from PySide6.QtWidgets import QMainWindow, QToolTip

        changed = (text or "") != self.hover_text
        self.hover_text = text or ""
        window = self.parentWidget()
        bar = window.statusBar() if isinstance(window, QMainWindow) else None
        if text:
            QToolTip.showText(QCursor.pos(), text, self)
            if bar is not None and changed:
                bar.showMessage(text.replace("\n", " · "))
        else:
            QToolTip.hideText()
            if bar is not None and changed:
                bar.clearMessage()

    def hover_scene(self, plot: pg.PlotWidget | pg.PlotItem, handler) -> None:
        """Call ``handler(x, y)`` in data coordinates as the mouse moves over ``plot``'s view
        (a plot widget, or a plot item already in a layout's scene)."""
        item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
        view = item.vb

        def moved(scene_pos):
            if self.session.loaded is None:
                return
            if not view.sceneBoundingRect().contains(scene_pos):
                self.show_hover(None)
                return
            point = view.mapSceneToView(scene_pos)
            self.show_hover(handler(point.x(), point.y()))

        item.scene().sigMouseMoved.connect(moved)
        # leaving the plot altogether moves nothing over its scene: the readout goes then
        watched = self.__dict__.setdefault("_left_views", [])
        for widget in item.scene().views():
            if not any(widget is w for w in watched):
                watched.append(widget)
                # on the view, not its viewport: the viewport's paint events would all pass
                # through this filter (in Python); the view gets few events, Leave among them
                widget.installEventFilter(_Left(lambda: self.show_hover(None), widget))

    def click_scene(self, plot: pg.PlotWidget | pg.PlotItem, handler) -> None:
        """Call ``handler(x, y, modifiers)`` in data coordinates on a left click in ``plot``'s view."""
        item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
        view = item.vb

        def clicked(event):
            if self.session.loaded is None or event.button() != Qt.MouseButton.LeftButton:
                return
            if not view.sceneBoundingRect().contains(event.scenePos()):
                return
            point = view.mapSceneToView(event.scenePos())
            if handler(point.x(), point.y(), event.modifiers()):
                event.accept()

        item.scene().sigMouseClicked.connect(clicked)

    def go_to_step_at(self, x: float) -> bool:
        """Go to the step at ``x`` of a time plot (what a click there does); False outside."""
        step = int(round(x))
        if 0 <= step < self.session.length:
            self.session.set_step(step)
            return True
        return False

    def select_unit(self, unit: int, modifiers) -> None:
        """A click selects ``unit`` alone; Ctrl+click adds or removes it."""
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.session.select_units(set(self.session.selected) ^ {unit})
        else:
            self.session.select_units([unit])

    @staticmethod
    def text_line(rich: bool = False):
        """A label for a panel's line of words: wrapped, selectable (to copy a number)."""
        from PySide6.QtWidgets import QLabel

        label = QLabel()
        if rich:
            label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def step_axis(self) -> StepAxis:
        """A time axis for one of this panel's plots, kept in step with the shown sequence."""
        axis = StepAxis(self.session)
        self.__dict__.setdefault("step_axes", []).append(axis)
        return axis

    def curves_over_time(self, legend_columns: int = 4) -> pg.PlotWidget:
        """A plot of curves over the steps: the step axis (dates where there are), the legend
        above the data, a time cursor (``self.line``), thinned drawing of long curves."""
        plot = pg.PlotWidget(axisItems={"bottom": self.step_axis()})  # made with it, never swapped in
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        self.legend = legend_above(plot, legend_columns)
        self.line = self.cursor(plot.getPlotItem())
        self.hover_scene(plot, self.describe)
        cache_axes(plot)
        return plot

    def show_legend(self, entries: list[tuple[pg.GraphicsObject, str]]) -> None:
        """Put ``entries`` (item, name) in ``self.legend``, rebuilding it only when they change:
        a legend in the plot's layout costs about 1 ms an entry to rebuild, and each sample
        draws its item's current pen anyway."""
        key = [(id(item), name) for item, name in entries]
        if key == getattr(self, "_legend_key", None):
            return
        self._legend_key = key
        self.legend.clear()
        for item, name in entries:
            self.legend.addItem(item, name)

    def cursor(self, plot: pg.PlotItem) -> pg.InfiniteLine:
        """A draggable time cursor that moves the Session's step."""
        line = pg.InfiniteLine(
            angle=90, movable=True, pen=pg.mkPen("#444", width=1.5), hoverPen=pg.mkPen("#000", width=3)
        )
        line.setZValue(50)
        line.sigDragged.connect(lambda item: self.session.set_step(int(round(item.value()))))
        plot.addItem(line, ignoreBounds=True)
        return line


class OneUnitPanel(Panel):
    """A panel about one unit: a "Unit" box that follows the first selected unit and can
    be set apart from the selection. Subclasses put ``unit_bar()`` in their layout and
    redraw in ``unit_changed``."""

    unit_tooltip = ""

    def unit_bar(self):
        from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Unit"))
        self.unit = QSpinBox()
        self.unit.setToolTip(self.unit_tooltip)
        self.unit.valueChanged.connect(lambda _: self.unit_changed())
        bar.addWidget(self.unit)
        return bar

    def unit_changed(self) -> None:
        pass

    def on_trace(self):
        self.unit.blockSignals(True)
        self.unit.setRange(0, self.session.layer_trace.hidden_size - 1)
        self.unit.blockSignals(False)

    def on_selection(self):
        if self.session.selected:
            self.unit.blockSignals(True)
            self.unit.setValue(self.session.selected[0])
            self.unit.blockSignals(False)


class RowText(QLabel):
    """A one-line message in a panel's control row: as wide as the row gives it, whatever it
    says (a long message is cut, and whole in its tooltip), so a message never widens the
    dock it is in."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)


class StepText(QLabel):
    """A label whose text changes at every step, selectable while the mouse is over it.

    A selectable label lays its text out as a rich-text document at every change (about
    1 ms a step at 16 lines, measured); a plain one only draws it. The text can still be
    selected and copied: it becomes selectable when the mouse comes over it and stays so
    while something is selected.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)

    def setText(self, text: str) -> None:
        """Show ``text``, at a fixed size that changes only when the text needs it: a label
        that may change size asks its parents to lay themselves out again at every change."""
        metrics = self.fontMetrics()
        lines = text.split("\n")
        margin = 2 * self.margin() + 4
        width = max(metrics.horizontalAdvance(line) for line in lines) + margin
        height = metrics.lineSpacing() * len(lines) + margin
        if width > self.width() or height != self.height() or width < self.width() - 40:
            self.setFixedSize(width + 20, height)  # a little room: the numbers' widths vary
        super().setText(text)

    def enterEvent(self, event) -> None:
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        if not self.hasSelectedText():
            self.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        super().leaveEvent(event)


class _Left(QObject):
    """Calls ``then()`` when the mouse leaves the widget it filters."""

    def __init__(self, then, parent):
        super().__init__(parent)
        self.then = then

    def eventFilter(self, obj, event):  # noqa: N802
        if event.type() == QEvent.Type.Leave:
            self.then()
        return False


class Bars(pg.BarGraphItem):
    """pyqtgraph's bars, with their bounding rectangle worked out once per change.

    pyqtgraph computes it, and the size of a pixel in the item's coordinates, at every
    call: Qt asks for it a dozen times a frame, for bars whose data changes once a step.
    """

    _bounds: QRectF | None = None

    def setOpts(self, **opts) -> None:
        self._bounds = None
        super().setOpts(**opts)

    def viewTransformChanged(self) -> None:
        self._bounds = None  # the padding of half a pen is in pixels
        super().viewTransformChanged()

    def boundingRect(self) -> QRectF:
        if self._bounds is None:
            self._bounds = super().boundingRect()
        return QRectF(self._bounds)


def cache_static(item) -> None:
    """Paint ``item`` once into a pixmap and reuse it until its data or the view changes.

    Curves and images do not change from step to step; only cursors and markers move.
    """
    from PySide6.QtGui import QPixmapCache
    from PySide6.QtWidgets import QGraphicsItem

    # Every cached curve and image holds a pixmap the size of its plot: the default 10 MB
    # pixmap cache would evict them between frames.
    QPixmapCache.setCacheLimit(max(QPixmapCache.cacheLimit(), 256 * 1024))
    target = getattr(item, "curve", item)  # a PlotDataItem paints through its PlotCurveItem
    target.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def cache_axes(plot) -> None:
    """Cache the axes of ``plot`` (a PlotItem or PlotWidget) as pixmaps: a moving cursor
    touches their edge every step, and redrawing their text costs more than a blit."""
    from PySide6.QtWidgets import QGraphicsItem

    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class Markers(pg.GraphicsObject):
    """Round markers (short horizontal dashes, or triangles pointing right) of a fixed size
    in pixels at data points.

    A ScatterPlotItem does far more than moving markers need (per-spot styles, picking,
    a symbol atlas); this draws a few shapes and costs almost nothing to move.
    """

    def __init__(
        self, size: float = 10.0, pen="#000", brush=(255, 255, 255, 220), dash: bool = False, arrow: bool = False
    ):
        super().__init__()
        self.size = float(size)
        self.pen = pg.mkPen(pen)
        self.brush = pg.mkBrush(brush)
        self.dash = dash
        self.arrow = arrow
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self._bounds = QRectF()

    def setData(self, x, y) -> None:
        self.prepareGeometryChange()
        self.x = np.asarray(x, dtype=float).ravel()
        self.y = np.asarray(y, dtype=float).ravel()
        self._bounds = QRectF()
        self.update()

    def getData(self):
        return self.x, self.y

    def boundingRect(self) -> QRectF:
        if self._bounds.isNull() and len(self.x):
            px, py = self.pixelWidth() or 0.0, self.pixelHeight() or 0.0
            half_x, half_y = (self.size / 2 + 2) * px, (self.size / 2 + 2) * py
            self._bounds = QRectF(
                float(self.x.min()) - half_x,
                float(self.y.min()) - half_y,
                float(self.x.max() - self.x.min()) + 2 * half_x,
                float(self.y.max() - self.y.min()) + 2 * half_y,
            )
        return self._bounds

    def viewTransformChanged(self):
        self.prepareGeometryChange()
        self._bounds = QRectF()

    def paint(self, painter, *args):
        if not len(self.x):
            return
        transform = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        painter.setPen(self.pen)
        painter.setBrush(self.brush)
        r = self.size / 2
        for x, y in zip(self.x, self.y):
            p = transform.map(QPointF(x, y))
            if self.dash:
                painter.drawLine(QPointF(p.x() - r, p.y()), QPointF(p.x() + r, p.y()))
            elif self.arrow:
                painter.drawPolygon(
                    [QPointF(p.x() - r, p.y() - r), QPointF(p.x() + r, p.y()), QPointF(p.x() - r, p.y() + r)]
                )
            else:
                painter.drawEllipse(p, r, r)
        painter.restore()


def plain_axes(widget) -> None:
    """No SI prefix or scale factor on any axis of ``widget``'s plots.

    pyqtgraph writes "step (x0.001)" with ticks from -400 to 400 on an empty range, and
    "selected unit (x0.001)" when one unit is shown: steps and units are whole numbers.
    """
    from pyqtgraph import AxisItem, GraphicsView

    for view in widget.findChildren(GraphicsView):
        for item in view.scene().items():
            if isinstance(item, AxisItem):
                plain_axis(item)


DATED = re.compile(r"^\d{4}-\d{2}(-\d{2})?([ T]\d{2}:\d{2}(:\d{2})?)?$")


class StepAxis(pg.AxisItem):
    """A time axis that writes the steps' own labels when the sequence has a time column
    (a table's dates, times or years) or dated labels, and step numbers otherwise. Ticks are
    spaced so that the labels never run into each other."""

    def __init__(self, session, **kwargs):
        super().__init__("bottom", **kwargs)
        self.session = session
        self.labels: list[str] | None = None  # the steps' labels, when they are times
        self.named = True  # shows its name ("step", "step (date)") under the ticks
        self.setLabel("step")
        # major and minor ticks, not a third level of up to one tick every two pixels: the
        # ticks are worked out again at every zoom or pan frame (0.39 ms an axis vs 0.65)
        self.setStyle(maxTickLevel=1)

    def refresh(self) -> None:
        """Follow the shown sequence (call when the data or the batch sequence changes)."""
        s = self.session
        labels = None if s.loaded is None else s.sequence.batch_labels[s.batch]
        roles = {} if s.loaded is None else (s.sequence.options.get("table") or {}).get("roles", {})
        column = next((name for name, role in roles.items() if role == "time"), None)
        dated = bool(labels) and DATED.match(labels[0]) is not None
        self.labels = labels if labels and (column is not None or dated) else None
        if self.named:
            self.setLabel("step" if self.labels is None else f"step ({column or 'time'})")
        self.picture = None
        self.update()

    def tickSpacing(self, minVal, maxVal, size):
        if self.labels is None:
            return super().tickSpacing(minVal, maxVal, size)
        from PySide6.QtGui import QFontMetricsF

        sample = self.labels[:: max(1, len(self.labels) // 50)]  # about fifty, ends included
        widest = max(len(label) for label in [*sample, self.labels[-1]])
        pixels = QFontMetricsF(self.font()).averageCharWidth() * widest + 24  # a label and a gap
        fit = max(1.0, size / pixels)
        step = (maxVal - minVal) / fit
        decade = 10 ** np.floor(np.log10(max(step, 1.0)))
        for nice in (1, 2, 5, 10):  # 1, 2 or 5 x a power of ten: about ``fit`` labels at any length
            if nice * decade >= step:
                return [(float(nice * decade), 0.0)]
        return [(float(10 * decade), 0.0)]

    def tickStrings(self, values, scale, spacing):
        if self.labels is None:
            return super().tickStrings(values, scale, spacing)
        shown = []
        for value in values:
            step = int(round(value))
            inside = abs(value - step) < 1e-6 and 0 <= step < len(self.labels)
            shown.append(self.labels[step] if inside else "")
        return shown


class Paced:
    """A throttled or debounced call by superqt (``qthrottled``/``qdebounced``), made on the
    first call: importing superqt costs about 60 ms, which start-up need not pay for panels
    that are not used yet."""

    def __init__(self, kind: str, func, ms: int, parent):
        self.kind, self.func, self.ms, self.parent = kind, func, ms, parent
        self._paced = None

    def _get(self):
        if self._paced is None:
            from superqt.utils import qdebounced, qthrottled

            if self.kind == "throttle":  # at once, then at most every ``ms``, ending on the last call
                self._paced = qthrottled(self.func, self.ms, leading=True, parent=self.parent)
            else:  # once calls have paused for ``ms``
                self._paced = qdebounced(self.func, self.ms, parent=self.parent)
        return self._paced

    def __call__(self, *args):
        self._get()(*args)

    def cancel(self) -> None:
        if self._paced is not None:
            self._paced.cancel()

    def flush(self) -> None:
        """Make a pending call now."""
        if self._paced is not None:
            self._paced.flush(restart_timer=False)

    def timeout(self) -> int:
        return self.ms


def points(length: int, color) -> dict:
    """Curve options that draw each value as a dot on sequences too short for lines to
    show (a one-step sequence has no line at all), and plain lines otherwise."""
    if length > 12:
        return {"symbol": None}
    return {"symbol": "o", "symbolSize": 7, "symbolBrush": color, "symbolPen": None}


def legend_above(plot, columns: int) -> pg.LegendItem:
    """A legend in a row of its own above the plot's data, so it never covers any.

    Items added to the plot with a ``name`` go into it, as with ``addLegend``."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    legend = pg.LegendItem(colCount=columns, horSpacing=18, verSpacing=-4)
    item.layout.removeItem(item.titleLabel)  # the (empty) title's row holds the legend
    item.titleLabel.hide()
    item.layout.addItem(legend, 0, 1)
    item.legend = legend
    return legend


def plain_axis(axis) -> None:
    """One axis without SI prefix or scale factor. Switching the prefix off in pyqtgraph
    0.14 keeps the scale it computed last (a heatmap showed units 0 to 3000 for 3 units),
    so the ranges where a prefix may apply are emptied first and the scale is reset."""
    axis.setSIPrefixEnableRanges(())
    axis.enableAutoSIPrefix(False)


def integer_steps(plot, length: int) -> None:
    """Whole steps on a short time axis (no 0.5 ticks); automatic ticks on long ones."""
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    axis = item.getAxis("bottom")
    if length <= 40:
        axis.setTickSpacing(major=1 if length <= 12 else 5, minor=1)
    else:
        axis.setTickSpacing()


def unit_ticks(units: int, per_unit: float = 1.0, offset: float = 0.0, most: int = 16):
    """Axis ticks naming units, thinned to at most ``most`` labels."""
    every = max(1, -(-units // most))
    return [[(u * per_unit + offset, str(u)) for u in range(0, units, every)]]
