"""One plain tanh RNN layer: h_t = tanh(x_t @ W_x + h_{t-1} @ W_h + b)."""

from __future__ import annotations

import numpy as np

from lstm_viz.engine.layer import _as_matrix
from lstm_viz.errors import ModelError


class RNNLayer:
    """W_x (D, H), W_h (H, H), b (H,); float64 masters like :class:`LSTMLayer`."""

    def __init__(self, W_x, W_h, b):
        self.W_x = _as_matrix("W_x", W_x, 2)
        self.W_h = _as_matrix("W_h", W_h, 2)
        self.b = _as_matrix("b", b, 1)
        h = self.W_x.shape[1]
        if h == 0:
            raise ModelError(f"W_x must be (D, H) with H > 0, got shape {self.W_x.shape}")
        if self.W_h.shape != (h, h):
            raise ModelError(f"W_h must be (H, H) = ({h}, {h}), got shape {self.W_h.shape}")
        if self.b.shape != (h,):
            raise ModelError(f"b must be (H,) = ({h},), got shape {self.b.shape}")
        self.version = 0

    input_size = property(lambda self: self.W_x.shape[0])
    hidden_size = property(lambda self: self.W_x.shape[1])
    output_size = property(lambda self: self.W_x.shape[1])

    def parameters(self) -> dict[str, np.ndarray]:
        return {"W_x": self.W_x, "W_h": self.W_h, "b": self.b}

    def options(self) -> dict:
        return {}

    def touch(self) -> None:
        self.version += 1

    def copy(self) -> RNNLayer:
        return RNNLayer(**self.parameters())

    @classmethod
    def random(cls, input_size: int, hidden_size: int, rng: np.random.Generator) -> RNNLayer:
        k = 1.0 / np.sqrt(hidden_size)
        return cls(
            rng.uniform(-k, k, (input_size, hidden_size)),
            rng.uniform(-k, k, (hidden_size, hidden_size)),
            rng.uniform(-k, k, hidden_size),
        )

    def __repr__(self) -> str:
        return f"RNNLayer(D={self.input_size}, H={self.hidden_size})"
