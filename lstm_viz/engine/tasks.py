"""Built-in training tasks chosen so that the gates do visible work.

- ``adding``: two values are marked in a stream of random numbers; at the end the net
  must output their sum. It has to *write* at each marker, *keep* through the noise and
  *read* at the end.
- ``brackets``: a stream of '(', ')' and 'a'; the net reports the nesting depth at every
  step, so a cell has to count up and down.
- ``sine``: a noisy sine wave of random frequency and phase; predict the next clean value.
- ``text``: next-character prediction on a public-domain text (one-hot characters).

Each task draws batches from a NumPy generator, so training is reproducible from a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_viz.errors import InputError


def _alice() -> str:
    """The text of Alice shipped in the package ``lstm_viz.resources``."""
    from importlib.resources import files

    return files("lstm_viz.resources").joinpath("text", "alice.txt").read_text(encoding="utf-8")


@dataclass
class Batch:
    """x (B, T, D) float32; targets (B, T, K) float32 or (B, T) class ids; mask (B, T) weights."""

    x: np.ndarray
    targets: np.ndarray
    mask: np.ndarray


@dataclass
class Example:
    """One demo sequence: x (T, D), a display label per step, the targets."""

    x: np.ndarray
    labels: list[str]
    targets: np.ndarray


class Task:
    name = ""
    description = ""
    kind = "regression"
    feature_names: list[str] = []
    output_labels: list[str] | None = None
    vocabulary: list[str] | None = None

    def __init__(self, length: int):
        if int(length) < 2:
            raise InputError(f"task length must be at least 2, got {length}")
        self.length = int(length)

    @property
    def input_size(self) -> int:
        return len(self.feature_names)

    @property
    def output_size(self) -> int:
        return 1 if self.output_labels is None else len(self.output_labels)

    def batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        raise NotImplementedError

    def labels(self, x: np.ndarray) -> list[str]:
        """Display labels for the steps of one sequence x (T, D)."""
        return [str(t) for t in range(len(x))]

    # What the task wants at each step, in words, as the window shows it.
    target_description = ""

    def targets(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The task's targets for inputs x (B, T, D) computed from the inputs alone:
        ``(values, mask)`` as :class:`~lstm_viz.engine.targets.Targets` holds them."""
        raise NotImplementedError

    def example(self, seed: int = 0) -> Example:
        batch = self.batch(np.random.default_rng(seed), 1)
        return Example(batch.x[0], self.labels(batch.x[0]), batch.targets[0])


class AddingTask(Task):
    name = "adding"
    description = "Sum the two marked values of a random stream (write at the marks, keep, read at the end)."
    feature_names = ["value", "marker"]
    output_labels = ["sum"]

    def __init__(self, length: int, min_length: int | None = None):
        super().__init__(length)
        if min_length is not None and not 2 <= int(min_length) <= self.length:
            raise InputError(f"the shortest adding sequence must be from 2 to {self.length} steps, got {min_length}")
        self.min_length = None if min_length is None else int(min_length)

    def batch(self, rng, batch_size):
        B, T = batch_size, self.length
        if self.min_length is not None:  # a length for each batch, from min_length to length
            T = int(rng.integers(self.min_length, self.length + 1))
        x = np.zeros((B, T, 2), np.float32)
        x[:, :, 0] = rng.uniform(0, 1, (B, T))
        half = T // 2
        first = rng.integers(0, half, B)
        second = rng.integers(half, T - 1, B) if T - 1 > half else np.full(B, half)
        rows = np.arange(B)
        x[rows, first, 1] = 1.0
        x[rows, second, 1] = 1.0
        targets = np.zeros((B, T, 1), np.float32)
        targets[:, -1, 0] = x[rows, first, 0] + x[rows, second, 0]
        mask = np.zeros((B, T), np.float32)
        mask[:, -1] = 1.0
        return Batch(x, targets, mask)

    def labels(self, x):
        return [f"{v:.2f}" + ("*" if m else "") for v, m in x[:, :2]]

    target_description = "the sum of the marked values, at the last step"

    def targets(self, x):
        B, T, _ = x.shape
        values = np.zeros((B, T, 1))
        values[:, -1, 0] = np.sum(x[:, :, 0] * (x[:, :, 1] == 1), axis=1)
        mask = np.zeros((B, T), bool)
        mask[:, -1] = True
        return values, mask


class BracketsTask(Task):
    name = "brackets"
    description = "Report the bracket nesting depth at every step of a stream of '(', ')' and 'a'."
    feature_names = ["(", ")", "a"]
    vocabulary = ["(", ")", "a"]  # saved with a trained model: a text of brackets only reads as these 3
    output_labels = ["depth"]

    def __init__(self, length: int, max_depth: int = 6):
        super().__init__(length)
        self.max_depth = max_depth

    def batch(self, rng, batch_size):
        B, T = batch_size, self.length
        x = np.zeros((B, T, 3), np.float32)
        targets = np.zeros((B, T, 1), np.float32)
        depth = np.zeros(B, np.int64)
        draws = rng.uniform(size=(B, T))
        for t in range(T):
            u = draws[:, t]
            p_open = np.where(depth == 0, 0.4, np.where(depth >= self.max_depth, 0.0, 0.3))
            p_close = np.where(depth == 0, 0.0, np.where(depth >= self.max_depth, 0.4, 0.3))
            opens = u < p_open
            closes = (u >= p_open) & (u < p_open + p_close)
            symbol = np.where(opens, 0, np.where(closes, 1, 2))
            x[np.arange(B), t, symbol] = 1.0
            depth = depth + opens - closes
            targets[:, t, 0] = depth
        return Batch(x, targets, np.ones((B, T), np.float32))

    def labels(self, x):
        return [self.feature_names[int(k)] for k in np.argmax(x, axis=1)]

    target_description = "the nesting depth after this step"

    def targets(self, x):
        depth = np.cumsum(x[:, :, 0] - x[:, :, 1], axis=1)
        return depth[..., None].astype(np.float64), np.ones(x.shape[:2], bool)


class SineTask(Task):
    name = "sine"
    description = "Predict the next value of a noisy sine wave of random frequency and phase."
    feature_names = ["signal"]
    output_labels = ["next value"]

    def __init__(self, length: int, noise: float = 0.1):
        super().__init__(length)
        self.noise = noise

    def batch(self, rng, batch_size):
        B, T = batch_size, self.length
        omega = rng.uniform(0.15, 0.6, (B, 1))
        phase = rng.uniform(0, 2 * np.pi, (B, 1))
        t = np.arange(T + 1)[None, :]
        clean = np.sin(omega * t + phase)
        x = (clean[:, :T] + rng.normal(0, self.noise, (B, T)))[..., None].astype(np.float32)
        targets = clean[:, 1:, None].astype(np.float32)
        mask = np.ones((B, T), np.float32)
        mask[:, :3] = 0.0  # the frequency cannot be known from the first steps
        return Batch(x, targets, mask)

    def labels(self, x):
        return [f"{v:+.2f}" for v in x[:, 0]]

    # The model was trained on the clean wave, which the input does not carry: here the
    # target is the next noisy input, so the noise counts in the loss.
    target_description = "the next input value"

    def targets(self, x):
        B, T, _ = x.shape
        values = np.zeros((B, T, 1))
        values[:, :-1, 0] = x[:, 1:, 0]
        mask = np.ones((B, T), bool)
        mask[:, :3] = False  # as in training: the frequency cannot be known from the first steps
        mask[:, -1] = False
        return values, mask


class TextTask(Task):
    name = "text"
    description = "Predict the next character of a public-domain text (one-hot characters)."
    kind = "classification"

    def __init__(self, length: int, text: str | None = None):
        super().__init__(length)
        if text is None:
            text = _alice()
        text = " ".join(text.split())
        if len(text) < self.length + 2:
            raise InputError(f"the text has {len(text)} characters; the task needs more than {self.length + 1}")
        self.text = text
        self.vocabulary = sorted(set(text))
        self.feature_names = list(self.vocabulary)
        self.output_labels = list(self.vocabulary)
        index = {ch: k for k, ch in enumerate(self.vocabulary)}
        self.codes = np.array([index[ch] for ch in text], np.int64)

    def encode(self, text: str) -> np.ndarray:
        """One-hot (T, V) of ``text``; characters outside the vocabulary are rows of zeros."""
        index = {ch: k for k, ch in enumerate(self.vocabulary)}
        x = np.zeros((len(text), len(self.vocabulary)), np.float32)
        for t, ch in enumerate(text):
            if ch in index:
                x[t, index[ch]] = 1.0
        return x

    def batch(self, rng, batch_size):
        B, T = batch_size, self.length
        starts = rng.integers(0, len(self.codes) - T - 1, B)
        windows = self.codes[starts[:, None] + np.arange(T + 1)[None, :]]
        x = np.zeros((B, T, len(self.vocabulary)), np.float32)
        np.put_along_axis(x, windows[:, :T, None], 1.0, axis=2)
        return Batch(x, windows[:, 1:], np.ones((B, T), np.float32))

    def labels(self, x):
        return [self.vocabulary[int(k)] if row.any() else "?" for k, row in zip(np.argmax(x, axis=1), x)]

    target_description = "the next character"

    def targets(self, x):
        return next_token_targets(x)


def next_token_targets(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For one-hot x (B, T, V): the next step's token id, where the next step has one."""
    B, T, _ = x.shape
    values = np.zeros((B, T), np.int64)
    mask = np.zeros((B, T), bool)
    values[:, :-1] = np.argmax(x[:, 1:], axis=2)
    mask[:, :-1] = x[:, 1:].max(axis=2) > 0
    return values, mask


TASKS = {"adding": AddingTask, "brackets": BracketsTask, "sine": SineTask, "text": TextTask}
DEFAULT_LENGTHS = {"adding": 30, "brackets": 40, "sine": 60, "text": 40}


def get_task(name: str, length: int | None = None, **options) -> Task:
    """A built-in task by name, with its default sequence length unless ``length`` is given."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}; the built-in tasks are {', '.join(TASKS)}")
    return TASKS[name](DEFAULT_LENGTHS[name] if length is None else length, **options)
