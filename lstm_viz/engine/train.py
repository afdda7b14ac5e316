"""Training: losses with a linear readout, Adam, gradient clipping, a seed.

Everything here is NumPy; gradients come from :mod:`lstm_viz.engine.backprop`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lstm_viz.engine.backprop import iter_parameters
from lstm_viz.engine.readout import Readout, softmax
from lstm_viz.errors import InputError


def mse_loss(pred: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over the masked steps. pred, target (B, T, K); mask (B, T) weights.

    Returns the loss and dL/dpred.
    """
    weight = mask[..., None] / max(float(mask.sum()), 1e-12)
    diff = pred - target
    loss = float(np.sum(weight * diff * diff))
    return loss, 2.0 * weight * diff


def cross_entropy_loss(logits: np.ndarray, target: np.ndarray, mask: np.ndarray) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy over the masked steps. logits (B, T, K); target (B, T) class ids.

    Returns the mean loss (in nats) and dL/dlogits.
    """
    probs = softmax(logits.astype(np.float64))
    B, T, K = probs.shape
    if target.shape != (B, T):
        raise InputError(f"targets must be (B, T) = {(B, T)} class ids, got shape {target.shape}")
    ids = target.astype(np.int64)
    picked = np.take_along_axis(probs, ids[..., None], axis=2)[..., 0]
    total = max(float(mask.sum()), 1e-12)
    loss = float(-np.sum(mask * np.log(np.maximum(picked, 1e-300))) / total)
    grad = probs
    np.put_along_axis(grad, ids[..., None], np.take_along_axis(grad, ids[..., None], axis=2) - 1.0, axis=2)
    grad *= (mask / total)[..., None]
    return loss, grad.astype(logits.dtype)


class Adam:
    """Adam (Kingma & Ba, 2015) updating a list of arrays in place."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-2, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = params
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        correction1 = 1 - self.beta1**self.t
        correction2 = 1 - self.beta2**self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + self.eps)


def clip_by_global_norm(grads: list[np.ndarray], max_norm: float | None) -> float:
    """Scale ``grads`` in place so their joint L2 norm is at most ``max_norm``; return the norm before."""
    norm = float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads)))
    if max_norm is not None and norm > max_norm:
        scale = max_norm / (norm + 1e-12)
        for g in grads:
            g *= scale
    return norm


@dataclass
class TrainProgress:
    """What a training callback receives after every update."""

    step: int
    steps: int
    loss: float
    grad_norm: float
    elapsed: float


@dataclass
class TrainResult:
    losses: list[float] = field(default_factory=list)
    cancelled: bool = False
    steps_done: int = 0

    @property
    def final_loss(self) -> float:
        """Mean of the last 10% of the losses (at least one)."""
        tail = self.losses[-max(1, len(self.losses) // 10) :]
        return float(np.mean(tail)) if tail else float("nan")


def readout_loss(readout: Readout, features: np.ndarray, batch) -> tuple[float, np.ndarray, dict]:
    """Loss of the readout on ``features`` (B, T, H_out); returns loss, dL/dfeatures, readout grads."""
    logits = readout.logits(features)
    if readout.kind == "classification":
        loss, d_logits = cross_entropy_loss(logits, batch.targets, batch.mask)
    else:
        loss, d_logits = mse_loss(logits, batch.targets.astype(logits.dtype), batch.mask)
    W = readout.W.astype(features.dtype)
    flat_f = features.reshape(-1, features.shape[-1])
    flat_d = d_logits.reshape(-1, d_logits.shape[-1])
    grads = {"W": (flat_f.T @ flat_d).astype(np.float64), "b": flat_d.sum(axis=0).astype(np.float64)}
    return loss, d_logits @ W.T, grads


def train(
    model,
    task,
    *,
    steps: int = 1000,
    batch_size: int = 32,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    seed: int = 0,
    dtype=np.float32,
    callback: Callable[[TrainProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train ``model`` (and its readout, created if missing) on ``task`` in place.

    Each step draws a batch from ``task`` with a generator seeded by ``seed``, so a run is
    reproducible. ``callback`` gets a :class:`TrainProgress` after every update;
    ``cancel()`` returning True stops after the current update (the model keeps what it
    learnt so far and the result says ``cancelled``).
    """
    rng = np.random.default_rng(seed)
    if model.readout is None:
        model.readout = Readout.random(
            model.output_size, task.output_size, rng, kind=task.kind, labels=task.output_labels
        )
    readout = model.readout
    if readout.output_size != task.output_size or readout.kind != task.kind:
        raise InputError(
            f"the model's readout has {readout.output_size} {readout.kind} outputs; task {task.name!r} needs "
            f"{task.output_size} {task.kind} outputs"
        )
    params = iter_parameters(model) + [readout.W, readout.b]
    optimizer = Adam(params, lr=lr)
    result = TrainResult()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if cancel is not None and cancel():
            result.cancelled = True
            break
        batch = task.batch(rng, batch_size)
        trace = model.run(batch.x, dtype=dtype)
        loss, d_features, readout_grads = readout_loss(readout, trace.output, batch)
        grads = model.backward(trace, d_features)
        grad_list = [g.astype(np.float64) for g in grads.parameter_list(model)]
        grad_list += [readout_grads["W"], readout_grads["b"]]
        norm = clip_by_global_norm(grad_list, clip)
        optimizer.step(grad_list)
        model.touch()
        result.losses.append(loss)
        result.steps_done = step
        if callback is not None:
            callback(TrainProgress(step, steps, loss, norm, time.perf_counter() - start))
    model.metadata.update(
        task=task.name,
        task_description=task.description,
        input_features=list(task.feature_names),
        training={
            "steps": result.steps_done,
            "batch_size": batch_size,
            "lr": lr,
            "clip": clip,
            "seed": seed,
            "final_loss": result.final_loss,
            "cancelled": result.cancelled,
        },
    )
    if task.vocabulary is not None:
        model.metadata["vocabulary"] = list(task.vocabulary)
    return result
