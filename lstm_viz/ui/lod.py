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
LINE_SCALE = 1.0  # curves' lines are this many times as wide as their pens say (presentation mode)


def scaled_pen(pen):
    """``pen`` (anything mkPen takes) as wide as :data:`LINE_SCALE` makes it."""
    pen = pg.mkPen(pen)
    if LINE_SCALE != 1.0:
        pen = pg.QtGui.QPen(pen)
        pen.setWidthF(max(pen.widthF(), 1.0) * LINE_SCALE)
    return pen


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


class Envelope:
    """The min-max band of a curve's columns: over each column's steps, every pixel from
    the column's min to its max, in one colour; and a line through the columns' means.

    What one curve draws; its view's :class:`BandLayer` paints the bands of all its curves
    together (one image, one pixmap cache). The band is an image made with NumPy in device
    pixels: Qt strokes a path of vertical segments at tens of nanoseconds a pixel (1.3 ms
    for 600 tall columns, measured), a mask of the band costs a fraction of that. The line
    is drawn by the layer too (one polyline in device pixels), not by pyqtgraph's curve
    item, whose data, bounds and path would be worked out again at every zoom frame for
    every curve.
    """

    def __init__(self, curve):
        self.curve = curve
        self.left = self.right = self.low = self.high = np.zeros(0)
        self.means = None
        self.pen = None
        self.draw_line = True
        self.rgba = 0
        self.opaque = True
        self._bounds = QRectF()
        self.layer: BandLayer | None = None

    def set_band(self, left, right, low, high, color, means=None, pen=None) -> None:
        """Columns from ``left`` to ``right`` (in x, contiguous and in order) spanning
        ``low`` to ``high``, in ``color`` (anything mkColor takes); with ``means`` and
        ``pen``, a line through them at the columns' centres."""
        self.left, self.right = np.asarray(left, dtype=np.float64), np.asarray(right, dtype=np.float64)
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self.means = None if means is None else np.asarray(means, dtype=np.float64)
        self.pen = pen
        c = pg.mkColor(color)
        a = c.alpha()  # premultiplied ARGB32
        self.rgba = (a << 24) | ((c.red() * a // 255) << 16) | ((c.green() * a // 255) << 8) | (c.blue() * a // 255)
        self.opaque = a == 255
        finite = np.isfinite(self.low) & np.isfinite(self.high)
        if len(self.left) and finite.any():
            lo, hi = float(self.low[finite].min()), float(self.high[finite].max())
            x0, x1 = float(self.left[0]), float(self.right[-1])
            self._bounds = QRectF(x0, lo, (x1 - x0) or 1e-9, (hi - lo) or 1e-9)
        else:
            self._bounds = QRectF()
        self.changed()

    def clear_band(self) -> None:
        if len(self.left):
            self.set_band([], [], [], [], 0)

    def changed(self) -> None:
        """Have the view's layer paint this band again (made when first needed)."""
        view = self.curve.getViewBox()
        if self.layer is not None and self.layer.view is not view:
            self.layer.forget(self)
        if view is None or not hasattr(view, "addItem"):
            return
        if not len(self.left) and self.layer is None:
            return
        self.layer = BandLayer.of(view)
        self.layer.add(self)

    @property
    def paints(self) -> int:
        """How many times the layer painted (for tests and measurements)."""
        return 0 if self.layer is None else self.layer.paints

    def update(self) -> None:
        if self.layer is not None:
            self.layer.update()

    def getData(self):  # noqa: N802 - as a curve's
        """The line's points (the columns' centres and means)."""
        if self.means is None:
            return np.zeros(0), np.zeros(0)
        return (self.left + self.right) / 2, self.means

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(self._bounds)

    def shown(self) -> bool:
        return len(self.left) > 0 and self.curve.isVisible()

    def pixel_runs(self, transform, width: int, height: int):
        """(x0, y0, first, last): for each device pixel column from x0, the rows (from y0)
        of the band's first and last pixels (first > last where it has none), or None."""
        runs = band_runs(self.left, self.right, self.low[:, None], self.high[:, None], transform, width, height)
        return None if runs is None else (runs[0], runs[1], runs[2][:, 0], runs[3][:, 0])

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


def band_runs(left, right, low, high, transform, width: int, height: int):
    """The device pixels of bands that share their columns: ``left``, ``right`` (n,) in x,
    ``low``, ``high`` (n, k) one band a column of them. Returns (x0, y0, first, last),
    ``first`` and ``last`` (pixel columns from x0, k) the rows (from y0) of each band's
    first and last pixels in each pixel column (first > last where it has none), or None
    when nothing falls inside ``width`` x ``height``."""
    if not len(left) or transform.m12() or transform.m21():  # never rotated in a plot
        return None
    sx, dx, sy, dy = transform.m11(), transform.dx(), transform.m22(), transform.dy()
    if sx <= 0:
        return None
    start = np.floor(left * sx + dx)
    end = np.maximum(np.floor(right * sx + dx), start + 1)  # at least a pixel each
    a, b = low * sy + dy, high * sy + dy
    top, bottom = np.floor(np.fmin(a, b)), np.floor(np.fmax(a, b))
    keep = (bottom >= 0) & (top < height)  # (False where NaN)
    keep &= ((end > 0) & (start < width))[:, None]
    columns = np.flatnonzero(keep.any(axis=1))
    if not len(columns):
        return None
    i0, i1 = int(columns[0]), int(columns[-1]) + 1
    if i0 or i1 < len(start):
        start, end, top, bottom, keep = start[i0:i1], end[i0:i1], top[i0:i1], bottom[i0:i1], keep[i0:i1]
    x0, x1 = max(int(start[0]), 0), min(int(end[-1]), width)
    y0, y1 = max(int(top[keep].min()), 0), min(int(bottom[keep].max()) + 1, height)
    n = x1 - x0
    if n <= 0 or y1 <= y0:
        return None
    at = np.clip(start - x0, 0, n - 1).astype(np.int64)
    first = np.where(keep, np.clip(top - y0, 0, y1 - y0), 1 << 30).astype(np.int64)
    last = np.where(keep, np.clip(bottom - y0, -1, y1 - y0 - 1), -1).astype(np.int64)
    # columns starting in one pixel column: it spans all of them (``at`` never decreases)
    new = np.empty(len(at), dtype=bool)
    new[0] = True
    np.not_equal(at[1:], at[:-1], out=new[1:])
    if not new.all():
        groups = np.flatnonzero(new)
        first, last, at = np.minimum.reduceat(first, groups), np.maximum.reduceat(last, groups), at[groups]
    if len(at) == n:  # a column starts in every pixel column
        return x0, y0, first, last
    # a column wider than a pixel goes on over the pixel columns where none starts
    owner = np.zeros(n, dtype=np.int64)
    owner[at] = np.arange(len(at))
    np.maximum.accumulate(owner, out=owner)
    return x0, y0, first[owner], last[owner]


def band_image(first, last, rgba):
    """(QImage, its pixels) of bands (columns of ``first``/``last``: in each pixel column,
    rows from first to last inside) in their colours (``rgba``, premultiplied ARGB32, one a
    band), painted in order: a band covers those before it (several bands must be opaque).
    The image reads the pixels' buffer: keep them together."""
    k = first.shape[1]
    rows = int(max(last.max(), 0)) + 1
    small = rows < 32768
    kind, unsigned = (np.int16, np.uint16) if small else (np.int32, np.uint32)
    # one band: its colour where inside; several: the number of the last band over each
    # pixel (numbers grow, so a maximum keeps the last), coloured by Qt from a table
    pixels = np.zeros((rows, first.shape[0]), dtype=np.uint32 if k == 1 else np.uint8)
    for j in range(k):
        f, l = first[:, j], last[:, j]
        drawn = l >= f
        if not drawn.any():
            continue
        r0, r1 = int(f[drawn].min()), int(l[drawn].max()) + 1
        # row r is inside when 0 <= r - first <= last - first: one subtraction and one
        # comparison of small integers (a negative difference wraps to a large one); a
        # pixel column without the band gets first below r0 and span 0 (never inside)
        span = np.where(drawn, l - f, 0).astype(kind)
        start = np.where(drawn, f, r0 - 1).astype(kind)
        inside = (np.arange(r0, r1, dtype=kind)[:, None] - start[None, :]).view(unsigned) <= span.view(unsigned)
        if k == 1:
            np.multiply(inside, np.uint32(rgba[0]), out=pixels[r0:r1], dtype=np.uint32)
        else:  # (np.copyto with a mask, or np.where, cost 5-8 times as much)
            np.maximum(pixels[r0:r1], inside.view(np.uint8) * np.uint8(j + 1), out=pixels[r0:r1])
    height, width = pixels.shape
    if k == 1:
        return QImage(pixels.data, width, height, QImage.Format.Format_ARGB32_Premultiplied), pixels
    image = QImage(pixels.data, width, height, width, QImage.Format.Format_Indexed8)
    image.setColorTable([0, *(int(c) for c in rgba)])  # (opaque: premultiplied is plain)
    return image, pixels


class BandLayer(pg.GraphicsObject):
    """The bands and mean lines of every :class:`LodCurve` of a view, painted together:
    bands that share their columns (a panel's curves, read together from one pyramid
    query) are worked out in one pass and drawn as one image, so a zoom frame costs one
    image and one pixmap cache for the view, not one for each curve. Bands come first in
    the curves' order (an opaque band covers the bands under it), then the lines over them.
    """

    def __init__(self, view):
        super().__init__()
        self.view = view
        self.bands: list[Envelope] = []
        self.paints = 0  # how many times it painted (for tests and measurements)
        self.images = 0  # how many band images it made
        self._bounds = QRectF()
        self._dirty = False
        # painted once into a pixmap and blitted until data or view change: a step moves
        # the cursor over it, and drawing the bands again each time cost 3 ms a step (H=256)
        self.setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    @staticmethod
    def of(view) -> BandLayer:
        layer = view.__dict__.get("_band_layer")
        if layer is None:
            layer = BandLayer(view)
            view._band_layer = layer
            view.addItem(layer, ignoreBounds=True)
        return layer

    def add(self, band: Envelope) -> None:
        if not any(b is band for b in self.bands):
            self.bands.append(band)
        self._changed()

    def forget(self, band: Envelope) -> None:
        self.bands = [b for b in self.bands if b is not band]
        band.layer = None
        self._changed()

    def _changed(self) -> None:
        # the bounds are worked out when Qt next asks (once a frame, not once a curve)
        z = min((b.curve.zValue() for b in self.bands), default=0.0) - 0.5  # under the lowest curve
        if z != self.zValue():
            self.setZValue(z)
        if not self._dirty:
            self._dirty = True
            self.prepareGeometryChange()
            self.update()

    def _settle(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        shown = [b for b in self.bands if len(b.left)]
        rect = QRectF()
        for band in shown:
            rect = rect.united(band._bounds) if not rect.isNull() else QRectF(band._bounds)
        self._bounds = rect

    def boundingRect(self) -> QRectF:  # noqa: N802
        self._settle()
        return QRectF(self._bounds)

    def _in_view(self) -> list[Envelope]:
        self.bands = [b for b in self.bands if b.curve.getViewBox() is self.view]
        shown = [b for b in self.bands if b.shown()]
        shown.sort(key=lambda b: b.curve.zValue())  # (stable: the order they were added)
        return shown

    def paint(self, painter, *args) -> None:
        self.paints += 1
        bands = self._in_view()
        if not bands:
            return
        device = painter.device()
        t = painter.transform()
        width, height = device.width(), device.height()
        painter.save()
        painter.resetTransform()
        # consecutive opaque bands on the same columns: one image
        groups: list[list[Envelope]] = []
        for band in bands:
            last = groups[-1][-1] if groups else None
            same = (
                last is not None
                and len(groups[-1]) < 255  # (numbered in one byte)
                and band.opaque
                and last.opaque
                and len(band.left) == len(last.left)
                and (band.left is last.left or np.array_equal(band.left, last.left))
                and np.array_equal(band.right, last.right)
            )
            if same:
                groups[-1].append(band)
            else:
                groups.append([band])
        for group in groups:
            low = np.column_stack([b.low for b in group]) if len(group) > 1 else group[0].low[:, None]
            high = np.column_stack([b.high for b in group]) if len(group) > 1 else group[0].high[:, None]
            runs = band_runs(group[0].left, group[0].right, low, high, t, width, height)
            if runs is None:
                continue
            x0, y0, first, last = runs
            image, _pixels = band_image(first, last, [b.rgba for b in group])
            self.images += 1
            painter.drawImage(x0, y0, image)
        painter.setRenderHint(painter.RenderHint.Antialiasing, False)
        for band in bands:
            if band.draw_line and band.pen is not None:
                lines = band._lines(t)
                if lines:
                    painter.setPen(band.pen)
                    for line in lines:
                        painter.drawPolyline(line)
        painter.restore()


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
        self._init_follow()
        self.unit = 0
        self.among = None  # the units of the other curves drawn with it (see Pyramid.columns)
        self._style = None  # what the last setData styled (its data alone is set while it stays)
        self.points = points
        self.symbols: bool | None = None
        self.symbol_size = symbol_size
        self.color = None
        given = self.opts.get("pen")
        self.pen = None if given is None else pg.mkPen(given)  # the pen asked for (drawn as scaled_pen makes it)
        if self.pen is not None:
            self.opts["pen"] = scaled_pen(self.pen)
        self.columns = None  # the last Columns drawn

    def viewChanged(self, view, oldView):  # noqa: N802 - pyqtgraph's name
        layer = self.envelope.layer
        if layer is not None and layer.view is not view:
            layer.forget(self.envelope)
        super().viewChanged(view, oldView)

    def itemChange(self, change, value):  # noqa: N802 - Qt's name
        result = super().itemChange(change, value)
        Change = pg.QtWidgets.QGraphicsItem.GraphicsItemChange
        envelope = self.__dict__.get("envelope")
        if change in (Change.ItemVisibleHasChanged, Change.ItemZValueHasChanged) and envelope and envelope.layer:
            envelope.layer._changed()  # (shown or hidden with its curve, in its order)
        return result

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
            self.pen = pg.mkPen(pen)
            self.opts["pen"] = scaled_pen(self.pen)
        self._key = None
        self.redraw()

    def rescale(self) -> None:
        """Draw again with the lines as wide as :data:`LINE_SCALE` now says."""
        if self.pen is not None and not self.points:
            self.opts["pen"] = scaled_pen(self.pen)
        self._style = None
        self._key = None
        if self.pyramid is not None:
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
