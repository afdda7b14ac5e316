"""The recorded trace: every gate and state of every layer at every timestep.

All arrays are batch-major (B, T, H_l). Quantities the tutorial names but the engine
does not need to store (old, new, tanh(cell), the previous cell) are derived on demand
with the very same float operations the forward pass used, so they are bit-identical
to the values that were computed during the run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from lstm_viz.errors import FileFormatError
from lstm_viz.safe_arrays import ZIP_MAGIC, NpzReader, sniff
from lstm_viz.vocabulary import RECORDED

TRACE_FORMAT = "lstm-viz-trace"
TRACE_VERSION = 1
QUANTITIES = RECORDED  # what every LSTM layer records per step
"""The stored per-layer quantities, in the order of the trace file."""


@dataclass
class Checkpoints:
    """Exact states of one direction every few chunks, kept by a run whose trace is stored
    in a narrower dtype (float16) than it computed in, so that any step's exact numbers can
    be re-computed (:func:`lstm_viz.engine.storage.exact_states`).

    The direction ran in chunks of ``chunk`` steps (backwards from the last chunk when
    ``reverse``); entry j is the state it entered chunk ``j * every`` of that order with
    (entry 0: the initial state). ``hidden`` (n, H_out, B), ``cell`` (n, H, B) or None for a
    tanh RNN, both in the run's dtype.
    """

    hidden: np.ndarray
    cell: np.ndarray | None
    chunk: int
    every: int
    length: int
    reverse: bool

    @property
    def steps(self) -> int:
        """Steps between two checkpoints (the last segment may be shorter)."""
        return self.chunk * self.every

    @property
    def chunks(self) -> int:
        return -(-self.length // self.chunk)

    @property
    def nbytes(self) -> int:
        return self.hidden.nbytes + (0 if self.cell is None else self.cell.nbytes)

    def index(self, step: int) -> int:
        """The checkpoint a re-run of ``step`` starts from."""
        position = step // self.chunk
        order = self.chunks - 1 - position if self.reverse else position
        return order // self.every

    def segment(self, j: int) -> tuple[int, int]:
        """The steps [lo, hi) run from checkpoint j up to the next one."""
        first, stop = j * self.every, min(self.chunks, (j + 1) * self.every)  # chunks, in running order
        if self.reverse:
            first, stop = self.chunks - stop, self.chunks - first
        return first * self.chunk, min(self.length, stop * self.chunk)


class LayerTrace:
    """One layer's (one direction's) recorded states, each (B, T, H) float.

    ``forget``, ``input``, ``candidate``, ``output`` (the read gate) and ``cell`` are
    (B, T, H); ``hidden`` is the layer's output after any projection, (B, T, H_out).
    For a tanh RNN only ``hidden`` is set. A backward direction is stored time-aligned
    (index t holds the state after it consumed x[t]) and has ``reverse_time`` True.
    A bidirectional layer's forward trace holds its backward one in ``reverse``.
    ``checkpoints``: exact states every few steps when the arrays are stored rounded.
    """

    def __init__(
        self,
        *,
        hidden: np.ndarray,
        initial_hidden: np.ndarray,
        forget: np.ndarray | None = None,
        input: np.ndarray | None = None,
        candidate: np.ndarray | None = None,
        output: np.ndarray | None = None,
        cell: np.ndarray | None = None,
        initial_cell: np.ndarray | None = None,
        cell_clip: float | None = None,
        reverse_time: bool = False,
        reverse: LayerTrace | None = None,
        checkpoints: Checkpoints | None = None,
    ):
        self.forget = forget
        self.input = input
        self.candidate = candidate
        self.output = output
        self.cell = cell
        self.hidden = hidden
        self.initial_hidden = initial_hidden
        self.initial_cell = initial_cell
        self.cell_clip = cell_clip
        self.reverse_time = reverse_time
        self.reverse = reverse
        self.checkpoints = checkpoints

    @property
    def is_lstm(self) -> bool:
        return self.cell is not None

    @property
    def hidden_size(self) -> int:
        """H, the number of cells (units)."""
        return (self.cell if self.cell is not None else self.hidden).shape[2]

    @property
    def output_size(self) -> int:
        return self.hidden.shape[2]

    def at(self, batch: int, step: int) -> dict[str, np.ndarray]:
        """Every quantity of one step of one sequence, (H,) each (``hidden`` and
        ``hidden_prev`` (H_out,)), derived with the same operations as the whole-trace
        properties, so the numbers are the same; cheap enough for every frame of playback."""
        previous = step + 1 if self.reverse_time else step - 1
        inside = 0 <= previous < self.hidden.shape[1]
        values = {name: getattr(self, name)[batch, step] for name in ("forget", "input", "candidate", "output")}
        values["cell"] = self.cell[batch, step]
        values["hidden"] = self.hidden[batch, step]
        values["cell_prev"] = self.cell[batch, previous] if inside else self.initial_cell[batch]
        values["hidden_prev"] = self.hidden[batch, previous] if inside else self.initial_hidden[batch]
        values["old"] = values["forget"] * values["cell_prev"]
        values["new"] = values["input"] * values["candidate"]
        values["cell_unclipped"] = values["old"] + values["new"]
        values["tanh_cell"] = np.tanh(values["cell"])
        values["hidden_unprojected"] = values["output"] * values["tanh_cell"]
        return values

    def quantity(self, name: str) -> np.ndarray:
        """Any stored or derived quantity by name (e.g. 'forget', 'old', 'tanh_cell')."""
        value = getattr(self, name, None)
        if not isinstance(value, np.ndarray):
            raise KeyError(f"no quantity {name!r} in this layer trace")
        return value

    @property
    def cell_prev(self) -> np.ndarray:
        """c_{t-1} as seen by step t, (B, T, H): the initial cell then the cell shifted."""
        c = self.cell
        c0 = self.initial_cell[:, None, :]
        if self.reverse_time:
            return np.concatenate([c[:, 1:], c0], axis=1)
        return np.concatenate([c0, c[:, :-1]], axis=1)

    @property
    def hidden_prev(self) -> np.ndarray:
        """h_{t-1} as seen by step t, (B, T, H_out)."""
        h = self.hidden
        h0 = self.initial_hidden[:, None, :]
        if self.reverse_time:
            return np.concatenate([h[:, 1:], h0], axis=1)
        return np.concatenate([h0, h[:, :-1]], axis=1)

    @property
    def old(self) -> np.ndarray:
        """Kept memory, forget * c_{t-1} (the tutorial's Old_t), (B, T, H)."""
        return self.forget * self.cell_prev

    @property
    def new(self) -> np.ndarray:
        """Written memory, input * candidate (the tutorial's New_t), (B, T, H)."""
        return self.input * self.candidate

    @property
    def cell_unclipped(self) -> np.ndarray:
        """old + new before any cell_clip, (B, T, H)."""
        c = self.old
        c += self.new
        return c

    @property
    def tanh_cell(self) -> np.ndarray:
        """tanh(c_t), (B, T, H)."""
        return np.tanh(self.cell)

    @property
    def hidden_unprojected(self) -> np.ndarray:
        """output * tanh(c_t), the hidden state before any projection, (B, T, H)."""
        return self.output * np.tanh(self.cell)

    @property
    def layer_output(self) -> np.ndarray:
        """What the next layer reads: ``hidden``, or [forward | backward] when bidirectional."""
        if self.reverse is None:
            return self.hidden
        return np.concatenate([self.hidden, self.reverse.hidden], axis=2)

    def directions(self) -> list[LayerTrace]:
        return [self] if self.reverse is None else [self, self.reverse]


class Trace:
    """A recorded run: the input ``x`` (B, T, D) and one :class:`LayerTrace` per layer.

    ``meta["storage"]``, for a trace ``LSTM.run`` made, says where its arrays live:
    ``{"where": "memory" or "disk", "dtype": "float32", "float16", ..., "path": the file
    (disk only)}`` (see :mod:`lstm_viz.engine.storage`).
    """

    def __init__(self, x: np.ndarray, layers: list[LayerTrace], meta: dict | None = None):
        self.x = x
        self.layers = layers
        self.meta = dict(meta or {})
        self.embedded: np.ndarray | None = None
        """(B, T, D) what layer 0 read when the model embeds its input, else None."""
        self.computed: int = self.length
        """Steps [0, computed) hold their final values in every layer and direction. A trace
        handed out while it is being recorded (``LSTM.run(..., started=...)``) grows it chunk
        by chunk (stays 0 until the end when a direction runs backwards); else it is T."""

    @property
    def layer_input(self) -> np.ndarray:
        """What layer 0 read: the embedded input, or x itself."""
        return self.x if self.embedded is None else self.embedded

    @property
    def batch_size(self) -> int:
        return self.x.shape[0]

    @property
    def length(self) -> int:
        """T, the number of timesteps."""
        return self.x.shape[1]

    @property
    def output(self) -> np.ndarray:
        """The network's output, the last layer's ``layer_output`` (B, T, ...)."""
        return self.layers[-1].layer_output

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored arrays (the input, every recorded quantity in its
        storage dtype, in memory or on disk, and any checkpoints)."""
        total = self.x.nbytes
        for layer in self.layers:
            for direction in layer.directions():
                for name in QUANTITIES:
                    value = getattr(direction, name)
                    if value is not None:
                        total += value.nbytes
                if direction.checkpoints is not None:
                    total += direction.checkpoints.nbytes
        return total

    def save(self, path: str | os.PathLike, extra: dict[str, np.ndarray] | None = None) -> None:
        """Write the trace file described in DESIGN.md (an uncompressed ``.npz``).

        ``extra`` adds arrays beside the recorded ones under their own keys (the readout's
        predictions, the targets and the loss per step: see ``workbench.why.readout_arrays``);
        readers of the trace ignore keys they do not know."""
        arrays = {"x": np.asarray(self.x, dtype=np.float32)}
        for index, layer in enumerate(self.layers):
            for direction, suffix in zip(layer.directions(), ("", "_reverse")):
                for name in QUANTITIES:
                    value = getattr(direction, name)
                    if value is not None:
                        arrays[f"{name}_l{index}{suffix}"] = value
                arrays[f"initial_hidden_l{index}{suffix}"] = direction.initial_hidden
                if direction.initial_cell is not None:
                    arrays[f"initial_cell_l{index}{suffix}"] = direction.initial_cell
        meta = dict(self.meta)
        meta.pop("storage", None)  # where this copy lives is the file; set again on loading
        meta.update(
            format=TRACE_FORMAT,
            version=TRACE_VERSION,
            layers=[
                {
                    "kind": "lstm" if layer.is_lstm else "rnn",
                    "hidden_size": layer.hidden_size,
                    "output_size": layer.output_size,
                    "bidirectional": layer.reverse is not None,
                    "cell_clip": layer.cell_clip,
                }
                for layer in self.layers
            ],
            conventions={
                "axes": "batch, time, features",
                "gates": "forget, input (write), candidate, output (read); cell; hidden after projection",
                "reverse": "_reverse keys are time-aligned: index t is the state after consuming x[t]",
            },
        )
        for key, value in (extra or {}).items():
            if key in arrays or key == "meta":
                raise ValueError(f"extra array {key!r} would replace a recorded one")
            arrays[key] = value
        arrays["meta"] = np.array(json.dumps(meta))
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)


def load_trace(path: str | os.PathLike) -> Trace:
    """Read a trace file written by :meth:`Trace.save` or ``lstm-viz trace``.

    Raises :class:`~lstm_viz.errors.FileFormatError` naming the file for anything that is
    not a well-formed trace. Never unpickles.
    """
    head = sniff(path)
    if not head.startswith(ZIP_MAGIC):
        raise FileFormatError(path, "not a trace file: expected an .npz archive written by lstm-viz")
    with NpzReader(path) as archive:
        return _trace_from_archive(path, archive)


def _read(path, archive, key: str, ndim: int) -> np.ndarray:
    value = archive[key]
    if value.ndim != ndim or value.dtype.kind != "f":
        raise FileFormatError(path, f"array {key!r} must be {ndim}-D float, found {value.ndim}-D {value.dtype}")
    if not np.all(np.isfinite(value)):
        raise FileFormatError(path, f"array {key!r} holds NaN or infinite values")
    return value


def _trace_from_archive(path, archive) -> Trace:
    meta = archive.meta(TRACE_FORMAT, TRACE_VERSION)
    x = _read(path, archive, "x", 3)
    B, T = x.shape[:2]
    layer_specs = meta.get("layers")
    if not isinstance(layer_specs, list) or not layer_specs:
        raise FileFormatError(path, "'meta' lists no layers")
    layers = []
    for index, spec in enumerate(layer_specs):
        if not isinstance(spec, dict):
            raise FileFormatError(path, f"'meta' layer {index} is not an object")
        clip = spec.get("cell_clip")
        if clip is not None and not isinstance(clip, (int, float)):
            raise FileFormatError(path, f"'meta' layer {index} has a cell_clip that is not a number")
        kind = spec.get("kind", "lstm")
        if kind not in ("lstm", "rnn"):
            raise FileFormatError(path, f"'meta' layer {index} has kind {kind!r}, expected 'lstm' or 'rnn'")
        sizes = {}
        for key in ("hidden_size", "output_size"):
            size = spec.get(key)
            if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
                raise FileFormatError(path, f"'meta' layer {index} has a {key} that is not a positive integer")
            sizes[key] = size
        suffixes = ["", "_reverse"] if spec.get("bidirectional") else [""]
        directions = []
        for suffix in suffixes:
            names = QUANTITIES if kind == "lstm" else ("hidden",)
            fields = {}
            for name in names:
                key = f"{name}_l{index}{suffix}"
                value = _read(path, archive, key, 3)
                if value.shape[:2] != (B, T):
                    raise FileFormatError(
                        path, f"array {key!r} has shape {value.shape}, expected ({B}, {T}, H) to match 'x'"
                    )
                fields[name] = value
            widths = {fields[n].shape[2] for n in names if n != "hidden"}
            if len(widths) > 1:
                raise FileFormatError(
                    path, f"layer {index}{suffix}: gate arrays disagree on the number of units {sorted(widths)}"
                )
            units = fields["cell"].shape[2] if "cell" in fields else fields["hidden"].shape[2]
            out = fields["hidden"].shape[2]
            checks = (("hidden_size", sizes["hidden_size"], units), ("output_size", sizes["output_size"], out))
            for key, expected, found in checks if not suffix else ():  # 'meta' gives the forward sizes
                if expected is not None and expected != found:
                    raise FileFormatError(
                        path, f"layer {index}{suffix}: 'meta' says {key} {expected} but the arrays hold {found}"
                    )
            fields["initial_hidden"] = _read(path, archive, f"initial_hidden_l{index}{suffix}", 2)
            if "cell" in fields:
                fields["initial_cell"] = _read(path, archive, f"initial_cell_l{index}{suffix}", 2)
            for key, width in (("initial_hidden", out), ("initial_cell", units)):
                if key in fields and fields[key].shape != (B, width):
                    raise FileFormatError(
                        path,
                        f"array '{key}_l{index}{suffix}' has shape {fields[key].shape}, expected ({B}, {width}) "
                        "to match the layer's arrays",
                    )
            directions.append(LayerTrace(**fields, cell_clip=spec.get("cell_clip"), reverse_time=bool(suffix)))
        if len(directions) == 2:
            directions[0].reverse = directions[1]
        layers.append(directions[0])
    meta["storage"] = {"where": "memory", "dtype": layers[0].hidden.dtype.name}
    return Trace(x, layers, meta)
