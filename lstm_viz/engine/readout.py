"""A linear readout on top of the network: y_t = h_t @ W + b."""

from __future__ import annotations

import numpy as np

from lstm_viz.engine.layer import _as_matrix
from lstm_viz.errors import ModelError

KINDS = ("regression", "classification")


class Readout:
    """W (H_out, K), b (K,). ``kind`` 'regression' (identity) or 'classification' (softmax).

    ``labels`` names the K outputs (the vocabulary of a text model, for example).
    """

    def __init__(self, W, b, *, kind: str = "regression", labels: list[str] | None = None):
        self.W = _as_matrix("readout W", W, 2)
        self.b = _as_matrix("readout b", b, 1)
        if self.b.shape != (self.W.shape[1],):
            raise ModelError(f"readout b must be ({self.W.shape[1]},), got shape {self.b.shape}")
        if kind not in KINDS:
            raise ModelError(f"readout kind must be one of {KINDS}, got {kind!r}")
        if labels is not None and len(labels) != self.W.shape[1]:
            raise ModelError(f"readout has {self.W.shape[1]} outputs but {len(labels)} labels")
        self.kind = kind
        self.labels = None if labels is None else [str(label) for label in labels]

    input_size = property(lambda self: self.W.shape[0])
    output_size = property(lambda self: self.W.shape[1])

    def parameters(self) -> dict[str, np.ndarray]:
        return {"W": self.W, "b": self.b}

    def logits(self, features: np.ndarray) -> np.ndarray:
        """features (B, T, H_out) -> (B, T, K) before any softmax."""
        return features @ self.W.astype(features.dtype) + self.b.astype(features.dtype)

    def forward(self, features: np.ndarray) -> np.ndarray:
        """Predictions: values for regression, probabilities for classification."""
        y = self.logits(features)
        if self.kind == "classification":
            y = softmax(y)
        return y

    def copy(self) -> Readout:
        return Readout(self.W, self.b, kind=self.kind, labels=self.labels)

    @classmethod
    def random(cls, input_size: int, output_size: int, rng: np.random.Generator, **kwargs) -> Readout:
        k = 1.0 / np.sqrt(input_size)
        return cls(rng.uniform(-k, k, (input_size, output_size)), np.zeros(output_size), **kwargs)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)
