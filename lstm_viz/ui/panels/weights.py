"""Weights: each layer's input, recurrent and bias weights, split by gate and named.

One heatmap per gate (keep, write, candidate, read): rows are the layer's units, columns
what the weight multiplies (an input feature, or another unit's output h(t-1)). The
selected units' rows are outlined; for recurrent weights their columns too (what each
selected unit's output feeds back into every gate). Hover gives the exact value, where it
sits in the engine (W_x[j, block + u]) and, for imported models, the framework's own
tensor name and index it came from.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from lstm_viz.engine.provenance import weight_source as source
from lstm_viz.errors import LstmVizError
from lstm_viz.ui.panels.base import Panel, Place, cache_axes, unit_ticks
from lstm_viz.ui.style import QUANTITY_LABELS
from lstm_viz.vocabulary import GATES_AND_CANDIDATE, WEIGHT_BLOCKS

BLOCKS = (
    ("W_x", "input weights W_x (what each gate takes from the input)"),
    ("W_h", "recurrent weights W_h (what each gate takes from h(t-1))"),
    ("b", "biases b"),
)
OUTLINE = pg.mkPen("#e8590c", width=2)


def weight_source(model, layer: int, block: str, gate: str, unit: int, column: int | None) -> str | None:
    """The framework's own tensor name and index of one weight, when the importer recorded it."""
    try:
        return source(model, layer, block, gate, unit, column)
    except LstmVizError:  # a block the provenance does not describe: say nothing rather than guess
        return None


class WeightsPanel(Panel):
    title = "Weights"
    remembered = ("block",)
    place = Place(tab="GuidePanel")
    tour = (
        "The weights, gate by gate",
        "Each layer's input, recurrent and bias weights, one heatmap per gate: rows are "
        "units. The selected units are outlined; hover for a weight's value and where it came from.",
    )

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show"))
        self.block = QComboBox()
        for key, label in BLOCKS:
            self.block.addItem(label, key)
        self.block.currentIndexChanged.connect(lambda _: self._selection())
        bar.addWidget(self.block)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.graphics = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphics, 1)
        self.info = QLabel("Hover a weight for its value and where it came from.")
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.info)
        self.setWidget(container)
        self.plots, self.images, self.outlines = {}, {}, {}
        colors = pg.colormap.get("CET-D1")
        for col, gate in enumerate(GATES_AND_CANDIDATE):
            plot = self.graphics.addPlot(row=0, col=col)
            plot.setTitle(QUANTITY_LABELS[gate], size="9pt")
            plot.setMouseEnabled(x=True, y=True)
            plot.hideButtons()
            cache_axes(plot)
            image = pg.ImageItem()
            image.setLookupTable(colors.getLookupTable(nPts=256))
            plot.addItem(image)
            outline = pg.PlotCurveItem(pen=OUTLINE, connect="pairs")
            plot.addItem(outline, ignoreBounds=True)
            if col:
                plot.setYLink(self.plots[GATES_AND_CANDIDATE[0]])
                plot.getAxis("left").setStyle(showValues=False)
            self.plots[gate], self.images[gate], self.outlines[gate] = plot, image, outline
            self.hover_scene(plot, lambda x, y, gate=gate: self.describe(gate, x, y))
            self.click_scene(plot, lambda x, y, m, gate=gate: self.clicked(gate, x, y, m))
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=colors, interactive=False, width=12)
        self.graphics.addItem(self.bar, row=0, col=len(GATES_AND_CANDIDATE))
        self.values: dict[str, np.ndarray] = {}  # gate -> (units, columns) as shown

    # -- data ---------------------------------------------------------------------------
    @property
    def block_name(self) -> str:
        return self.block.currentData()

    def layer_object(self):
        model = self.session.core.model
        entry = model.layers[self.session.core.layer]
        return entry[0] if isinstance(entry, tuple) else entry

    def column_names(self, count: int) -> list[str]:
        """What each column multiplies, in words."""
        core = self.session.core
        if self.block_name == "W_h":
            return [f"h of unit {j} (t-1)" for j in range(count)]
        if self.block_name == "b":
            return ["bias"]
        if core.layer > 0:
            return [f"h of unit {j} of layer {core.layer - 1}" for j in range(count)]
        if core.model.embedding is not None:
            return [f"embedding dimension {j}" for j in range(count)]
        names = list(core.sequence.feature_names)
        return [repr(names[j]) if j < len(names) else f"x{j}" for j in range(count)]

    def on_trace(self):
        self.model = self.session.core.model
        is_lstm = self.model.kind == "lstm"
        self.graphics.setVisible(is_lstm)
        if not is_lstm:
            self.info.setText(
                "A tanh RNN has no gates: its weights form one block, h(t) = tanh(W_x x + W_h h(t-1) + b)."
            )

    def on_selection(self):
        if self.model.kind != "lstm":
            return
        layer = self.layer_object()
        name = self.block_name
        matrix = np.asarray(getattr(layer, name), dtype=np.float64)
        if name == "b":
            matrix = matrix[None, :]
        H = layer.hidden_size
        self.columns = self.column_names(matrix.shape[0])
        limit = float(np.abs(matrix).max()) or 1.0
        self.bar.setLevels((-limit, limit))
        selected = self.session.selected
        for gate in GATES_AND_CANDIDATE:
            block = matrix[:, layer.gate_block(gate)]  # (columns, units)
            self.values[gate] = block.T  # rows are units
            self.images[gate].setImage(np.ascontiguousarray(block.T), autoLevels=False, levels=(-limit, limit))
            self.images[gate].setRect(QRectF(0, 0, block.shape[0], H))
            plot = self.plots[gate]
            plot.setXRange(0, block.shape[0], padding=0)
            plot.setYRange(0, H, padding=0)
            plot.getAxis("left").setTicks(unit_ticks(H, offset=0.5))
            plot.getAxis("bottom").setTicks(self.column_ticks(block.shape[0]))
            self.outlines[gate].setData(*self._outline(selected, block.shape[0], H, name == "W_h"))
        self.plots[GATES_AND_CANDIDATE[0]].setLabel("left", f"unit of layer {self.session.core.layer}")
        for plot in self.plots.values():  # on every plot: the linked rows line up only at equal heights
            plot.setLabel("bottom", self.column_axis())

    def column_axis(self) -> str:
        core = self.session.core
        if self.block_name == "b":
            return "bias"
        if self.block_name == "W_h":
            return "from unit (its h(t-1))"
        if core.layer > 0:
            return f"from unit of layer {core.layer - 1}"
        return "embedding dimension" if core.model.embedding is not None else "input feature"

    def column_ticks(self, count: int):
        """Feature names under the columns when they are few and short, else unit numbers."""
        core = self.session.core
        plain = self.block_name == "W_x" and core.layer == 0 and core.model.embedding is None
        names = list(core.sequence.feature_names)
        if plain and count <= 12 and len(names) == count and all(len(n) <= 8 for n in names):
            return [[(j + 0.5, names[j]) for j in range(count)]]
        if self.block_name == "b":
            return [[]]
        return unit_ticks(count, offset=0.5, most=6)

    @staticmethod
    def _outline(units, width: int, height: int, columns_too: bool):
        """Pairs of points tracing a box around each selected row (and column)."""
        xs, ys = [], []

        def box(x0, y0, x1, y1):
            for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
                xs.extend((a[0], b[0]))
                ys.extend((a[1], b[1]))

        everyone = len(units) == height
        for u in [] if everyone else units:
            box(0, u, width, u + 1)
            if columns_too and u < width:
                box(u, 0, u + 1, height)
        return np.array(xs, float), np.array(ys, float)

    # -- mouse ----------------------------------------------------------------------------
    def at(self, gate: str, x: float, y: float) -> tuple[int, int] | None:
        values = self.values.get(gate)
        if values is None:
            return None
        unit, column = int(np.floor(y)), int(np.floor(x))
        if 0 <= unit < values.shape[0] and 0 <= column < values.shape[1]:
            return unit, column
        return None

    def describe(self, gate: str, x: float, y: float) -> str | None:
        hit = self.at(gate, x, y)
        if hit is None:
            return None
        unit, column = hit
        text = self.weight_text(gate, unit, column)
        self.info.setText(text)
        return text

    def weight_text(self, gate: str, unit: int, column: int) -> str:
        """One weight in words: gate, unit, what it multiplies, value, engine and file names."""
        core = self.session.core
        layer = self.layer_object()
        name = self.block_name
        value = self.values[gate][unit, column]
        offset = WEIGHT_BLOCKS.index(gate) * layer.hidden_size + unit
        where = f"b[{offset}]" if name == "b" else f"{name}[{column}, {offset}]"
        what = "" if name == "b" else f" ← {self.columns[column]}"
        text = f"{QUANTITY_LABELS[gate]} · unit {unit}{what} · {value:+.5f} · engine {where}"
        if name == "b" and gate == "forget" and getattr(layer, "forget_bias", 0.0):
            text += f" (the run adds forget_bias {layer.forget_bias:g})"
        source = weight_source(core.model, core.layer, name, gate, unit, None if name == "b" else column)
        if source:
            text += f" · from {source}"
        return text

    def clicked(self, gate: str, x: float, y: float, modifiers) -> bool:
        hit = self.at(gate, x, y)
        if hit is None:
            return False
        self.select_unit(hit[0], modifiers)
        return True
