"""What the model should have said at each step, and what it lost by saying otherwise.

A :class:`Targets` holds, for every step of every sequence of a trace, either the wanted
value(s) of a regression readout or the wanted class id of a classifier, with a mask
saying which steps have a target at all (the adding problem has one, at the last step).
The per-step loss is the one the built-in tasks train with: the squared error summed
over the outputs for regression, the cross-entropy -log p(target) in nats for
classification.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_viz.engine.readout import Readout, softmax
from lstm_viz.errors import InputError


@dataclass
class Targets:
    """``values`` (B, T, K) floats for regression or (B, T) class ids for classification;
    ``mask`` (B, T) bool, True where the step has a target; ``description`` says in words
    what the target is ("the next character", "the sum of the two marked values")."""

    values: np.ndarray
    mask: np.ndarray
    description: str

    def check(self, readout: Readout, batch: int, length: int) -> None:
        shape = (batch, length) if readout.kind == "classification" else (batch, length, readout.output_size)
        if self.values.shape != shape:
            raise InputError(f"targets must have shape {shape} for this readout, got {self.values.shape}")
        if self.mask.shape != (batch, length):
            raise InputError(f"the target mask must have shape {(batch, length)}, got {self.mask.shape}")


def step_losses(readout: Readout, features: np.ndarray, targets: Targets) -> np.ndarray:
    """Loss at every step, (B, T) float64; NaN where the step has no target.

    ``features`` (B, T, H_out) is the network's output (``trace.output``)."""
    B, T, _ = features.shape
    targets.check(readout, B, T)
    logits = readout.logits(features.astype(np.float64))
    if readout.kind == "classification":
        probs = softmax(logits)
        ids = np.where(targets.mask, targets.values, 0).astype(np.int64)
        picked = np.take_along_axis(probs, ids[..., None], axis=2)[..., 0]
        loss = -np.log(np.maximum(picked, 1e-300))
    else:
        diff = logits - targets.values.astype(np.float64)
        loss = np.sum(diff * diff, axis=-1)
    return np.where(targets.mask, loss, np.nan)


def loss_gradient(readout: Readout, features: np.ndarray, targets: Targets, batch: int, step: int) -> np.ndarray:
    """d(loss at ``step`` of sequence ``batch``)/d``features``: zero except at that step.

    The loss is :func:`step_losses`' (squared error summed, or cross-entropy in nats)."""
    B, T, _ = features.shape
    targets.check(readout, B, T)
    if not targets.mask[batch, step]:
        raise InputError(f"step {step} has no target (the target is {targets.description})")
    d = np.zeros(features.shape, np.float64)
    f = features[batch, step].astype(np.float64)
    logits = readout.logits(f[None, None])[0, 0]
    W = readout.W.astype(np.float64)
    if readout.kind == "classification":
        d_logits = softmax(logits)
        d_logits[int(targets.values[batch, step])] -= 1.0
    else:
        d_logits = 2.0 * (logits - targets.values[batch, step].astype(np.float64))
    d[batch, step] = d_logits @ W.T
    return d.astype(features.dtype)
