"""One LSTM layer's parameters, in the canonical layout of DESIGN.md.

Canonical layout: ``W_x`` (D, 4H), ``W_h`` (H_out, 4H), ``b`` (4H,), the four column
blocks in gate order i (input/write), f (forget/keep), g (candidate), o (output/read).
``peepholes`` (3, H) has rows i, f, o; ``W_proj`` (H, P) projects the hidden state so
that H_out is P with a projection and H without.

Parameters are kept as float64 master copies; a run casts them to the run's dtype, so a
float32 model loaded from a framework keeps its exact values.
"""

from __future__ import annotations

import numpy as np

from lstm_viz.errors import ModelError
from lstm_viz.vocabulary import WEIGHT_BLOCKS

FLOAT32_MAX = float(np.finfo(np.float32).max)
"""Parameters are run in float32 by default: larger values would become infinities."""

"""Canonical gate order of the 4H columns."""


def _as_matrix(name: str, value, ndim: int) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{name} is not a numeric array: {exc}") from None
    if array.ndim != ndim:
        raise ModelError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ModelError(f"{name} has {bad} non-finite value(s) (NaN or infinity)")
    if array.size and (largest := float(np.max(np.abs(array)))) > FLOAT32_MAX:
        raise ModelError(
            f"{name} holds values up to {largest:.3g}, beyond float32's range (±{FLOAT32_MAX:.3g}); "
            "they would run as infinities"
        )
    return array


def _as_clip(name: str, value) -> float | None:
    if value is None:
        return None
    try:
        clip = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be a positive number or None, got {value!r}") from None
    if not (clip > 0 and np.isfinite(clip)):
        raise ModelError(f"{name} must be a positive finite number or None, got {value!r}")
    return clip


class LSTMLayer:
    """One LSTM layer (one direction).

    Parameters
    ----------
    W_x : (D, 4H) input weights, columns i, f, g, o.
    W_h : (H_out, 4H) recurrent weights; H_out is P with a projection, else H.
    b : (4H,) bias (frameworks with two biases are summed on import).
    peepholes : (3, H), rows i, f, o; p_i and p_f act on c_{t-1}, p_o on the new c_t.
    cell_clip : clip c_t to [-cell_clip, cell_clip] (TensorFlow's ``cell_clip``).
    gate_clip : clamp the four pre-activations to [-gate_clip, gate_clip] (ONNX ``clip``).
    W_proj : (H, P) projection of o * tanh(c) (PyTorch ``proj_size``, TF ``num_proj``).
    proj_clip : clip the projected output (TF ``proj_clip``).
    forget_bias : added to the forget pre-activation at run time (TF's cells use 1.0).
    go_backwards : read the sequence from its end (Keras ``go_backwards``) when used on its
        own; the trace stays time-aligned. The second layer of a bidirectional pair always
        runs backwards.
    """

    def __init__(
        self,
        W_x,
        W_h,
        b,
        *,
        peepholes=None,
        cell_clip=None,
        gate_clip=None,
        W_proj=None,
        proj_clip=None,
        forget_bias: float = 0.0,
        go_backwards: bool = False,
    ):
        self.go_backwards = bool(go_backwards)
        self.W_x = _as_matrix("W_x", W_x, 2)
        self.W_h = _as_matrix("W_h", W_h, 2)
        self.b = _as_matrix("b", b, 1)
        four_h = self.W_x.shape[1]
        if four_h == 0 or four_h % 4:
            raise ModelError(f"W_x must have 4*H columns (gates i, f, g, o), got shape {self.W_x.shape}")
        hidden = four_h // 4
        self.peepholes = None if peepholes is None else _as_matrix("peepholes", peepholes, 2)
        self.W_proj = None if W_proj is None else _as_matrix("W_proj", W_proj, 2)
        if self.W_proj is not None and (self.W_proj.shape[0] != hidden or self.W_proj.shape[1] == 0):
            raise ModelError(f"W_proj must be (H, P) = ({hidden}, P), got shape {self.W_proj.shape}")
        out = hidden if self.W_proj is None else self.W_proj.shape[1]
        if self.W_h.shape != (out, four_h):
            what = "P (the projection size)" if self.W_proj is not None else "H"
            raise ModelError(
                f"W_h must be (H_out, 4H) = ({out}, {four_h}) with H_out = {what}, got shape {self.W_h.shape}"
            )
        if self.b.shape != (four_h,):
            raise ModelError(f"b must be (4H,) = ({four_h},), got shape {self.b.shape}")
        if self.peepholes is not None and self.peepholes.shape != (3, hidden):
            raise ModelError(
                f"peepholes must be (3, H) = (3, {hidden}) (rows i, f, o), got shape {self.peepholes.shape}"
            )
        self.cell_clip = _as_clip("cell_clip", cell_clip)
        self.gate_clip = _as_clip("gate_clip", gate_clip)
        self.proj_clip = _as_clip("proj_clip", proj_clip)
        if self.proj_clip is not None and self.W_proj is None:
            raise ModelError("proj_clip needs a projection (W_proj)")
        try:
            self.forget_bias = float(forget_bias)
        except (TypeError, ValueError):
            raise ModelError(f"forget_bias must be a number, got {forget_bias!r}") from None
        if not np.isfinite(self.forget_bias):
            raise ModelError(f"forget_bias must be finite, got {forget_bias!r}")
        self.version = 0

    # -- sizes ---------------------------------------------------------------------
    @property
    def input_size(self) -> int:
        """D, the width of the layer's input."""
        return self.W_x.shape[0]

    @property
    def hidden_size(self) -> int:
        """H, the number of memory cells."""
        return self.W_x.shape[1] // 4

    @property
    def output_size(self) -> int:
        """H_out: P with a projection, H without."""
        return self.W_h.shape[0]

    # -- parameters ----------------------------------------------------------------
    def parameters(self) -> dict[str, np.ndarray]:
        """The trainable arrays by name (the float64 masters, not copies)."""
        params = {"W_x": self.W_x, "W_h": self.W_h, "b": self.b}
        if self.peepholes is not None:
            params["peepholes"] = self.peepholes
        if self.W_proj is not None:
            params["W_proj"] = self.W_proj
        return params

    def options(self) -> dict:
        """The non-trainable settings, as plain JSON-ready values."""
        return {
            "forget_bias": self.forget_bias,
            "cell_clip": self.cell_clip,
            "gate_clip": self.gate_clip,
            "proj_clip": self.proj_clip,
            "go_backwards": self.go_backwards,
        }

    def touch(self) -> None:
        """Call after changing parameters in place so cached run copies are rebuilt."""
        self.version += 1

    def gate_block(self, gate: str) -> slice:
        """Column slice of ``gate`` ('input', 'forget', 'candidate', 'output') in W_x, W_h, b."""
        k = WEIGHT_BLOCKS.index(gate)
        h = self.hidden_size
        return slice(k * h, (k + 1) * h)

    def copy(self) -> LSTMLayer:
        return LSTMLayer(**self.parameters(), **self.options())

    @classmethod
    def random(
        cls,
        input_size: int,
        hidden_size: int,
        rng: np.random.Generator,
        *,
        proj_size: int | None = None,
        peepholes: bool = False,
        **options,
    ) -> LSTMLayer:
        """Uniform(-1/sqrt(H), 1/sqrt(H)) initialisation, as PyTorch does."""
        out = hidden_size if proj_size is None else proj_size
        k = 1.0 / np.sqrt(hidden_size)
        W_x = rng.uniform(-k, k, (input_size, 4 * hidden_size))
        W_h = rng.uniform(-k, k, (out, 4 * hidden_size))
        b = rng.uniform(-k, k, 4 * hidden_size)
        extra = {}
        if peepholes:
            extra["peepholes"] = rng.uniform(-k, k, (3, hidden_size))
        if proj_size is not None:
            extra["W_proj"] = rng.uniform(-k, k, (hidden_size, proj_size))
        return cls(W_x, W_h, b, **extra, **options)

    def __repr__(self) -> str:
        parts = [f"D={self.input_size}", f"H={self.hidden_size}"]
        if self.W_proj is not None:
            parts.append(f"P={self.output_size}")
        if self.peepholes is not None:
            parts.append("peepholes")
        for name, value in self.options().items():
            if value is True:
                parts.append(name)
            elif value:
                parts.append(f"{name}={value:g}")
        return f"LSTMLayer({', '.join(parts)})"
