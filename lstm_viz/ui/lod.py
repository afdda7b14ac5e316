"""pyqtgraph items that draw a level-of-detail pyramid (``lstm_viz.workbench.lod``).

What they draw is proportional to the view's pixels, not to the number of steps: when the
view's x range or width changes they ask the pyramid for about one column per pixel of the
visible steps and redraw from that. A curve draws per column a vertical min-max segment
joined by the means (the exact polyline once steps are wider than pixels); an image draws
one column of pixels per column (means, or another statistic), placed with ``setRect`` so
that x stays in steps. Neither ever holds more than the visible range's columns.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

SYMBOL_STEPS = 12  # a curve showing this many steps or fewer marks each value with a dot
DEFAULT_WIDTH = 1000  # pixel columns assumed before the view is laid out


def view_columns(item) -> tuple[float, float, int] | None:
    """The view's x range and its width in pixels, for ``item`` in a ViewBox."""
    view = item.getViewBox()
    if view is None:
        return None
    (x0, x1), _ = view.viewRange()
    width = int(round(view.width()))
    return x0, x1, width if width > 1 else DEFAULT_WIDTH


def steps_in(x0: float, x1: float) -> tuple[int, int]:
    """The steps to draw for a view from ``x0`` to ``x1``: those inside, and one more at an
    edge that falls between steps (so lines run to the edge)."""
    return int(math.floor(x0)), int(math.ceil(x1)) + 1


class _FollowsView:
    """Redraw when the view's x range or width changes (mixed into a GraphicsObject).

    A change only marks the item stale and asks for a paint; the columns are computed just
    before the scene paints (pyqtgraph's ``sigPrepareForPaint``). A plot that is not on
    screen (a panel behind a tab) is never painted, so it costs nothing however often its
    range changes (playback turning pages); ``set_source`` draws at once."""

    def _init_follow(self):
        self.pyramid = None
        self._key = None
        self._drawing = False
        self._stale = False
        self._resized_view = None
        self._scene = None
        self.redraws = 0  # how many times it drew (for tests and measurements)

    def viewChanged(self, view, oldView):  # noqa: N802 - pyqtgraph's name
        super().viewChanged(view, oldView)
        if self._resized_view is not None:
            try:
                self._resized_view.sigResized.disconnect(self._follow)
            except (TypeError, RuntimeError):
                pass
            self._resized_view = None
        if view is not None and hasattr(view, "sigResized"):
            view.sigResized.connect(self._follow)
            self._resized_view = view
        scene = self.scene()
        if scene is not self._scene:
            if self._scene is not None:
                try:
                    self._scene.sigPrepareForPaint.disconnect(self._prepare)
                except (TypeError, RuntimeError):
                    pass
            if scene is not None and hasattr(scene, "sigPrepareForPaint"):
                scene.sigPrepareForPaint.connect(self._prepare)
            self._scene = scene
        self._follow()

    def viewRangeChanged(self, *args):  # noqa: N802
        if isinstance(self, pg.PlotDataItem):  # takes the signal's arguments; GraphicsItem's takes none
            super().viewRangeChanged(*args)
        else:
            super().viewRangeChanged()
        self._follow()

    def _follow(self, *args) -> None:
        if self.pyramid is not None:
            self._stale = True
            self.update()

    def _prepare(self) -> None:
        if self._stale and self.isVisible():
            self._stale = False
            self.redraw()

    def redraw(self, force: bool = False) -> None:
        """Draw the columns of the visible steps, unless they are those drawn already."""
        if self.pyramid is None or self._drawing:
            return
        where = view_columns(self)
        x0, x1, width = where if where is not None else (0.0, float(self.pyramid.length), DEFAULT_WIDTH)
        t0, t1 = self._steps(x0, x1)
        t0, t1 = max(0, t0), min(self.pyramid.length, t1)
        key = (t0, t1, width, id(self.pyramid), self.pyramid.length, self._what())
        if key == self._key and not force:
            return
        self._key = key
        self._stale = False
        self._drawing = True
        try:
            self.redraws += 1
            self._draw(t0, t1, width)
        finally:
            self._drawing = False

    def _what(self):
        return None

    def _steps(self, x0: float, x1: float) -> tuple[int, int]:
        return steps_in(x0, x1)

    def _draw(self, t0: int, t1: int, width: int) -> None:
        raise NotImplementedError


class Envelope(pg.GraphicsObject):
    """The min-max band of a curve's columns: over each column's steps, every pixel from
    the column's min to its max, in one colour; and a line through the columns' means.

    The band is painted as one image made with NumPy in device pixels: Qt strokes a path
    of vertical segments at tens of nanoseconds a pixel (1.3 ms for 600 tall columns,
    measured), a mask of the band costs a fraction of that. The line is drawn here too
    (one polyline in device pixels), not by pyqtgraph's curve item, whose data, bounds and
    path would be worked out again at every zoom frame for every curve.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.left = self.right = self.low = self.high = np.zeros(0)
        self.means = None
        self.pen = None
        self.draw_line = True
        self.rgba = 0
        self._bounds = QRectF()
        self.paints = 0  # how many times it painted (for tests and measurements)
        # painted once into a pixmap and blitted until data or view change: a step moves
        # the cursor over it, and drawing the line again each time cost 3 ms a step (H=256)
        self.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_band(self, left, right, low, high, color, means=None, pen=None) -> None:
        """Columns from ``left`` to ``right`` (in x, contiguous and in order) spanning
        ``low`` to ``high``, in ``color`` (anything mkColor takes); with ``means`` and
        ``pen``, a line through them at the columns' centres."""
        self.prepareGeometryChange()
        self.left, self.right = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self.means = None if means is None else np.asarray(means, dtype=np.float64)
        self.pen = pen
        c = pg.mkColor(color)
        a = c.alpha()  # premultiplied ARGB32
        self.rgba = (a << 24) | ((c.red() * a // 255) << 16) | ((c.green() * a // 255) << 8) | (c.blue() * a // 255)
        finite = np.isfinite(self.low) & np.isfinite(self.high)
        if len(self.left) and finite.any():
            lo, hi = float(self.low[finite].min()), float(self.high[finite].max())
            x0, x1 = float(self.left[0]), float(self.right[-1])
            self._bounds = QRectF(x0, lo, (x1 - x0) or 1e-9, (hi - lo) or 1e-9)
        else:
            self._bounds = QRectF()
        self.update()

    def clear_band(self) -> None:
        if len(self.left):
            self.set_band([], [], [], [], 0)

    def getData(self):  # noqa: N802 - as a curve's
        """The line's points (the columns' centres and means)."""
        if self.means is None:
            return np.zeros(0), np.zeros(0)
        return (self.left + self.right) / 2, self.means

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(self._bounds)

    def pixel_runs(self, transform, width: int, height: int):
        """(x0, y0, first, last): for each device pixel column from x0, the rows (from y0)
        of the band's first and last pixels (first > last where it has none), or None."""
        if not len(self.left) or transform.m12() or transform.m21():  # never rotated in a plot
            return None
        sx, dx, sy, dy = transform.m11(), transform.dx(), transform.m22(), transform.dy()
        if sx <= 0:
            return None
        start = np.floor(self.left * sx + dx)
        end = np.maximum(np.floor(self.right * sx + dx), start + 1)  # at least a pixel each
        a, b = self.low * sy + dy, self.high * sy + dy
        top, bottom = np.floor(np.fmin(a, b)), np.floor(np.fmax(a, b))
        keep = np.isfinite(top) & np.isfinite(bottom) & (end > 0) & (start < width) & (bottom >= 0) & (top < height)
        if not keep.any():
            return None
        start, end, top, bottom = start[keep], end[keep], top[keep], bottom[keep]
        x0, x1 = max(int(start[0]), 0), min(int(end[-1]), width)
        y0, y1 = max(int(top.min()), 0), min(int(bottom.max()) + 1, height)
        n = x1 - x0
        if n <= 0 or y1 <= y0:
            return None
        at = np.clip(start - x0, 0, n - 1).astype(np.int64)
        first = np.full(n, 1 << 30, dtype=np.int64)
        last = np.full(n, -1, dtype=np.int64)
        # columns starting in one pixel column: it spans all of them
        np.minimum.at(first, at, np.clip(top - y0, 0, y1 - y0).astype(np.int64))
        np.maximum.at(last, at, np.clip(bottom - y0, -1, y1 - y0 - 1).astype(np.int64))
        # a column wider than a pixel goes on over the pixel columns where none starts
        started = np.zeros(n, dtype=bool)
        started[at] = True
        owner = np.maximum.accumulate(np.where(started, np.arange(n), 0))
        return x0, y0, first[owner], last[owner]

    def paint(self, painter, *args) -> None:
        self.paints += 1
        device = painter.device()
        t = painter.transform()
        x0, y0, image, _pixels, lines = (*self._image(t, device.width(), device.height()), self._lines(t))
        if image is None and not lines:
            return
        painter.save()
        painter.resetTransform()
        if image is not None:
            painter.drawImage(x0, y0, image)
        if lines and self.draw_line:
            painter.setRenderHint(painter.RenderHint.Antialiasing, False)
            painter.setPen(self.pen)
            for line in lines:
                painter.drawPolyline(line)
        painter.restore()

    def _lines(self, transform) -> list:
        """The line through the means in device pixels: one polyline per run of columns
        that have a mean (a column of missing values breaks it)."""
        if self.means is None or self.pen is None or not len(self.means):
            return []
        x = (self.left + self.right) / 2 * transform.m11() + transform.dx()
        y = self.means * transform.m22() + transform.dy()
        finite = np.isfinite(y)
        edges = np.flatnonzero(np.diff(np.concatenate([[False], finite, [False]]).astype(np.int8)))
        lines = []
        for a, b in zip(edges[::2], edges[1::2]):
            if b - a < 2:
                continue
            polygon = pg.functions.create_qpolygonf(b - a)
            points = pg.functions.ndarray_from_qpolygonf(polygon)
            points[:, 0], points[:, 1] = x[a:b], y[a:b]
            lines.append(polygon)
        return lines

    def _image(self, transform, width: int, height: int):
        """(x0, y0, QImage, its pixels) of the band in device pixels (image None: nothing to draw)."""
        runs = self.pixel_runs(transform, width, height)
        if runs is None:
            return 0, 0, None, None
        x0, y0, first, last = runs
        span = last - first  # negative: nothing in that pixel column
        rows = np.arange(int(max(last.max(), 0)) + 1, dtype=np.int32)[:, None]
        # row r is inside when 0 <= r - first <= span: one subtraction and one comparison
        # of small integers over the image (a negative difference wraps to a large one)
        inside = (rows - first.astype(np.int32)[None, :]).view(np.uint32) <= span.astype(np.int32)[None, :].view(
            np.uint32
        )
        inside &= (span >= 0)[None, :]
        pixels = inside.astype(np.uint32)
        pixels *= np.uint32(self.rgba)
        image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], QImage.Format.Format_ARGB32_Premultiplied)
        return x0, y0, image, pixels  # (the image reads the pixels' buffer: kept together)


class LodCurve(_FollowsView, pg.PlotDataItem):
    """One column of a pyramid (one unit, one feature) as a curve over the steps.

    ``points=True`` draws dots only (targets): at each step, or at each column's min and
    max. Otherwise a line: per pixel column the run of pixels from the column's min to its
    max (an :class:`Envelope`) under a line through the means, or the exact polyline when
    the visible steps are no more than the pixels, with a dot at each step when there are
    at most ``SYMBOL_STEPS`` of them (or always, with ``symbols=True``: a sparse curve of
    isolated values).
    """

    def __init__(self, *, points: bool = False, symbol_size: float = 7, **opts):
        super().__init__([], [], connect="finite", **opts)
        self.envelope = Envelope(self)
        self.envelope.setZValue(-1)
        self._init_follow()
        self.unit = 0
        self.among = None  # the units of the other curves drawn with it (see Pyramid.columns)
        self._style = None  # what the last setData styled (its data alone is set while it stays)
        self.points = points
        self.symbols: bool | None = None
        self.symbol_size = symbol_size
        self.color = None
        self.columns = None  # the last Columns drawn

    # pyqtgraph's own thinning and clipping would work on what this already thinned
    def setDownsampling(self, *args, **kwargs):  # noqa: N802
        pass

    def setClipToView(self, *args, **kwargs):  # noqa: N802
        pass

    def set_source(
        self, pyramid, unit: int = 0, *, pen=None, color=None, symbols: bool | None = None, among=None
    ) -> None:
        """Draw column ``unit`` of ``pyramid`` with ``pen``; dots in ``color``. ``among``: the
        columns that other curves of the same plot draw (their values are read together)."""
        self.pyramid, self.unit = pyramid, int(unit)
        self.among = None if among is None else np.unique(np.asarray(list(among), dtype=np.int64))
        self._style = None
        self.color = color if color is not None else (pen.color() if isinstance(pen, pg.QtGui.QPen) else pen)
        self.symbols = symbols
        if pen is not None and not self.points:
            self.opts["pen"] = pg.mkPen(pen)
        self._key = None
        self.redraw()

    def clear_source(self) -> None:
        """Draw nothing and let go of the pyramid (and what its source reads)."""
        self.pyramid = None
        self.columns = None
        self._key = None
        self.envelope.clear_band()
        self.setData([], [])

    def _what(self):
        return self.unit, self.points, self.symbols

    def dataBounds(self, ax, frac=1.0, orthoRange=None):  # noqa: N802 - pyqtgraph's name
        if self._style == "band":  # the envelope holds what is drawn
            rect = self.envelope.boundingRect()
            if rect.isNull():
                return None, None
            return (rect.left(), rect.right()) if ax == 0 else (rect.top(), rect.bottom())
        return super().dataBounds(ax, frac, orthoRange)

    def _draw(self, t0: int, t1: int, width: int) -> None:
        if t1 <= t0:
            self.columns = None
            self.envelope.clear_band()
            self.setData([], [])
            return
        cols = self.pyramid.columns(t0, t1, width, units=[self.unit], among=self.among)
        self.columns = cols
        dots = {"symbol": "o", "symbolSize": self.symbol_size, "symbolBrush": self.color}
        dots["symbolPen"] = pg.mkPen(self.color) if self.points else None
        if cols.steps == 1:
            x, y = cols.starts, cols.means[:, 0]
            if y.dtype == np.float16:  # a trace stored in half precision: drawn as float32 (exactly)
                y = y.astype(np.float32)
            show_dots = self.points or self.symbols or (self.symbols is None and len(x) <= SYMBOL_STEPS)
        else:
            if self.points:  # the column's extremes: a single value is one dot
                x = np.repeat(cols.centers, 2)
                y = np.column_stack([cols.mins[:, 0], cols.maxs[:, 0]]).ravel()
            else:  # the means, over the band from each column's min to its max
                x, y = cols.centers, cols.means[:, 0].astype(np.float32)
            show_dots = self.points or bool(self.symbols)
        if cols.steps > 1 and not self.points:
            pen = pg.mkPen(self.opts["pen"])
            half = cols.steps / 2
            line_here = not self.symbols  # (a sparse curve's dots are pyqtgraph's, over its line)
            self.envelope.set_band(
                cols.centers - half,
                cols.centers + half,
                cols.mins[:, 0],
                cols.maxs[:, 0],
                pen.color(),
                y if line_here else None,
                pen if line_here else None,
            )
            if line_here:
                if self._style != "band":  # the band draws the line: pyqtgraph's curve item holds nothing
                    self.setData([], [])
                    self._style = "band"
                self.informViewBoundsChanged()  # its bounds are the band's (dataBounds)
                return
        else:
            self.envelope.clear_band()
        if not show_dots:
            dots = {"symbol": None}
        # a line through a column of pixels a step: drawn without antialiasing, which costs
        # three to five times as much and blurs nothing that a column of pixels shows
        smooth = cols.steps == 1
        style = (smooth, show_dots, self.points, self.symbol_size, repr(self.color), id(self.opts["pen"]))
        if style == self._style:  # the data only: pyqtgraph restyles everything it is given
            self.setData(x, y)
        elif self.points:
            self.setData(x, y, pen=None, antialias=smooth, **dots)
        else:
            self.setData(x, y, antialias=smooth, **dots)
        self._style = style


class LodImage(_FollowsView, pg.ImageItem):
    """Rows x steps of a pyramid: rows are its columns (units) in ``rows`` order (row 0 at
    the bottom), at about one image column per pixel of the visible steps.

    ``stat`` is what a column of several steps shows: "mean" (the colour the steps
    average to), "max", "min", or "extreme" (the min or the max, whichever is further
    from 0: a sparse signed signal keeps its peaks).
    """

    def __init__(self, stat: str = "mean", **kwargs):
        super().__init__(**kwargs)
        self._init_follow()
        self.row_order = None
        self.color_levels = (0.0, 1.0)
        self.stat = stat
        self.rows_y0, self.rows_height = 0.0, None
        self.x_shift = 0.0
        self.columns = None

    def set_source(
        self,
        pyramid,
        rows=None,
        *,
        levels=(0.0, 1.0),
        y0: float = 0.0,
        height: float | None = None,
        x_shift: float = 0.0,
    ):
        """Show ``pyramid``'s columns ``rows`` (all, in order, if None) as rows from ``y0``
        (each 1 high, or all of them ``height`` high together). Step t's pixels span
        [t + x_shift, t + 1 + x_shift) (-0.5: centred on the step, as curves' points are)."""
        self.pyramid = pyramid
        self.row_order = None if rows is None else np.asarray(rows, dtype=np.int64)
        self.color_levels = tuple(levels)
        self.rows_y0, self.rows_height = float(y0), height
        self.x_shift = float(x_shift)
        self._key = None
        self.redraw()

    def _steps(self, x0: float, x1: float) -> tuple[int, int]:
        # step t's pixels span [t + x_shift, t + 1 + x_shift): those that meet the view
        return int(math.floor(x0 - self.x_shift)), int(math.ceil(x1 - self.x_shift))

    def set_stat(self, stat: str) -> None:
        self.stat = stat
        self.redraw()

    def clear_source(self) -> None:
        self.pyramid = None
        self.columns = None
        self._key = None
        self.clear()

    def _what(self):
        order = None if self.row_order is None else self.row_order.tobytes()
        return self.stat, order, self.rows_y0, self.rows_height, self.color_levels, self.x_shift

    def _draw(self, t0: int, t1: int, width: int) -> None:
        if t1 <= t0:
            self.columns = None
            self.clear()
            return
        stats = ("min", "max") if self.stat == "extreme" else (self.stat,)
        cols = self.pyramid.columns(t0, t1, width, units=self.row_order, stats=stats)
        self.columns = cols
        if self.stat == "extreme":
            values = np.where(np.abs(cols.maxs) >= np.abs(cols.mins), cols.maxs, cols.mins)
        else:
            values = {"mean": cols.means, "max": cols.maxs, "min": cols.mins}[self.stat]
        image = np.ascontiguousarray(values.T, dtype=np.float32)
        rows = image.shape[0]
        self.setImage(image, autoLevels=False, levels=self.color_levels)
        height = rows if self.rows_height is None else self.rows_height
        x0 = float(cols.starts[0]) + self.x_shift
        self.setRect(QRectF(x0, self.rows_y0, float(len(cols.starts) * cols.steps), float(height)))
