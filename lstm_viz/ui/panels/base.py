"""The base of every panel: a dock widget that reads the Session and reacts to its signals."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from lstm_viz.ui.session import Session


class Panel(QDockWidget):
    """Subclasses build their items once in ``build`` and update them in place.

    ``on_trace`` runs when the data, layer or batch sequence changes; ``on_step`` on every
    step (keep it cheap: move cursors, set heights); ``on_selection`` when units are
    selected. ``time_plots`` lists plot items whose x axis is time, for the window to link.
    """

    title = ""
    object_name = ""
    area = Qt.DockWidgetArea.RightDockWidgetArea

    def __init__(self, session: Session, parent=None):
        super().__init__(self.title, parent)
        self.setObjectName(self.object_name)
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.session = session
        self.build()
        session.traceChanged.connect(self._refresh)
        session.viewChanged.connect(self._refresh)
        session.stepChanged.connect(self._step)
        session.selectionChanged.connect(self._selection)

    def build(self) -> None:
        raise NotImplementedError

    def on_trace(self) -> None:
        pass

    def on_step(self, step: int) -> None:
        pass

    def on_selection(self) -> None:
        pass

    def time_plots(self) -> list[pg.PlotItem]:
        return []

    def _refresh(self) -> None:
        if self.session.loaded is not None:
            self.on_trace()
            self.on_selection()
            self.on_step(self.session.step)

    def _step(self, step: int) -> None:
        if self.session.loaded is not None:
            self.on_step(step)

    def _selection(self) -> None:
        if self.session.loaded is not None:
            self.on_selection()
            self.on_step(self.session.step)

    def cursor(self, plot: pg.PlotItem) -> pg.InfiniteLine:
        """A draggable time cursor that moves the Session's step."""
        line = pg.InfiniteLine(
            angle=90, movable=True, pen=pg.mkPen("#444", width=1.5), hoverPen=pg.mkPen("#000", width=3)
        )
        line.setZValue(50)
        line.sigDragged.connect(lambda item: self.session.set_step(int(round(item.value()))))
        plot.addItem(line, ignoreBounds=True)
        return line


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


def unit_ticks(units: int, per_unit: float = 1.0, offset: float = 0.0, most: int = 16):
    """Axis ticks naming units, thinned to at most ``most`` labels."""
    every = max(1, -(-units // most))
    return [[(u * per_unit + offset, str(u)) for u in range(0, units, every)]]
