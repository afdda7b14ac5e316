"""Two runs on one sequence: the open model (A) and a second one (B), unit by unit.

B is another model file (another training checkpoint of the same model, another
framework's export), or a random model: an LSTM, or a tanh RNN of the same sizes. It runs
on A's sequence. Units have no names across models, so B's units are matched to A's, layer
by layer: the correlation over the steps of every sequence of the batch of each pair's
memory cells c(t) (hidden states h(t) when either layer has no cell: a tanh RNN), and the
assignment that maximizes the sum of |r| over the pairs (the Hungarian method: SciPy's
``linear_sum_assignment``, an optional extra). ``r`` keeps its sign: a unit of B that does
what A's does with the opposite sign is a match with r < 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lstm_viz.errors import InputError

COMPARE_EXTRA = "pip install 'lstm-viz[compare]'"
WEAK = 0.5
"""A mean |r| below this is called a weak match: at r = 0.5 a pair shares a quarter of its
variance (r squared), so below it most of what the units do differs."""


@dataclass
class Match:
    """Units of B matched to A's units of one layer: ``order[i]`` is B's unit for A's unit
    i (-1: none, B having fewer units), ``r[i]`` their correlation (NaN: none)."""

    order: np.ndarray
    r: np.ndarray
    quantity: str  # what was correlated: "cell" or "hidden"

    @property
    def quality(self) -> float:
        """Mean |r| over the matched pairs."""
        matched = self.order >= 0
        return float(np.mean(np.abs(self.r[matched]))) if matched.any() else float("nan")

    @property
    def weak(self) -> bool:
        """Mean |r| below :data:`WEAK`: most pairs are units that do different things."""
        return not self.quality >= WEAK


def correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H_a, H_b) Pearson correlations of the columns of ``a`` (N, H_a) and ``b`` (N, H_b);
    0 for a column that does not vary."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    na, nb = np.sqrt((a**2).sum(axis=0)), np.sqrt((b**2).sum(axis=0))
    a = np.divide(a, na, out=np.zeros_like(a), where=na > 1e-12)
    b = np.divide(b, nb, out=np.zeros_like(b), where=nb > 1e-12)
    return np.clip(a.T @ b, -1.0, 1.0)


def match_units(a: np.ndarray, b: np.ndarray, quantity: str = "cell") -> Match:
    """Match the columns of ``b`` to those of ``a`` (see the module's text)."""
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError as exc:
        raise InputError(f"matching units needs SciPy, an optional extra: {COMPARE_EXTRA}") from exc
    r = correlations(a, b)
    rows, cols = linear_sum_assignment(-np.abs(r))
    order = np.full(r.shape[0], -1, np.int64)
    matched_r = np.full(r.shape[0], np.nan)
    order[rows] = cols
    matched_r[rows] = r[rows, cols]
    return Match(order, matched_r, quantity)


def _steps(layer_trace, name: str, lengths) -> np.ndarray:
    """(N, H): ``name`` at every real step of every sequence of the batch, one after another."""
    values = layer_trace.quantity(name)
    return np.concatenate([values[b, : int(n)] for b, n in enumerate(lengths)])


def match_layers(trace_a, trace_b, lengths) -> list[Match]:
    """A match per layer both models have (the first ``min`` layers)."""
    matches = []
    for la, lb in zip(trace_a.layers, trace_b.layers):
        name = "cell" if la.is_lstm and lb.is_lstm else "hidden"
        matches.append(match_units(_steps(la, name, lengths), _steps(lb, name, lengths), name))
    return matches


@dataclass
class Comparison:
    """B's run on A's sequence and the matches of its units, layer by layer."""

    loaded: object  # a Loaded: B's model, A's sequence, B's trace
    matches: list[Match]
    description: str

    def match(self, layer: int) -> Match | None:
        return self.matches[layer] if 0 <= layer < len(self.matches) else None


def random_rnn(current, seed: int = 0):
    """A random tanh RNN with A's layer sizes, for the sequence A reads."""
    from lstm_viz.engine import RNN

    model = current.model
    return RNN.random(model.input_size, list(model.hidden_sizes), seed=seed)


def compare(current, request=None, model=None, progress=None, cancel=None) -> Comparison:
    """Run B on the sequence ``current`` (a Loaded) shows: the model file of ``request``
    (an OpenRequest with a ``model_path`` and its options, or ``random`` sizes), or
    ``model`` itself; then match its units to A's."""
    from lstm_viz.workbench.loading import Loaded, WidthMismatch, load

    progress = progress or (lambda done, total: None)
    cancel = cancel or (lambda: False)
    if model is not None:
        if model.input_size != current.model.input_size:
            raise InputError(
                f"the second model reads {model.input_size} features a step; this sequence has "
                f"{current.model.input_size}"
            )
        trace = model.run(current.trace.x, progress=progress, cancel=cancel)
        sizes = ", ".join(str(h) for h in model.hidden_sizes)
        kind = "tanh RNN" if not trace.layers[0].is_lstm else "LSTM"
        loaded = Loaded(model, current.sequence, trace, f"a random {kind} ({sizes} units)")
    else:
        if request is None or (request.model_path is None and request.random is None):
            raise InputError("choose the second model: a model file, or a random model")
        placeholder = replace(current, model=None, trace=None)  # the sequence, read as A read it
        try:
            loaded = load(replace(request, sequence_path=None), placeholder, progress, cancel)
        except WidthMismatch as exc:  # its advice is for the open model: say it for B
            what = str(exc).split(". ")[0].rstrip(".")  # "x.txt has 3 features per step but the model (b.npz) reads 7"
            raise InputError(
                f"{what}: the second model cannot read this sequence. Compare models made for the same input."
            ) from None
    lengths = current.sequence.lengths
    if lengths is None:
        lengths = np.full(current.trace.batch_size, current.trace.length)
    lengths = np.minimum(lengths, min(current.trace.length, loaded.trace.length))
    matches = match_layers(current.trace, loaded.trace, lengths)
    return Comparison(loaded, matches, loaded.model_description)
