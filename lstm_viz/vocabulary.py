"""The names of what an LSTM computes, defined once: code names, the two vocabularies a
learner meets (the framework's forget/input/output and the tutorial's keep/write/read),
the tutorial's letters, colours and the orders in which they come.

Imports nothing of lstm-viz: the engine, the core and the window all read it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Quantity:
    name: str  # the code name: a key of the trace and of LayerTrace.quantity
    label: str  # what the window calls it, both vocabularies where there are two
    letter: str  # the tutorial's symbol: K(t), I(t), C(t), O(t), Cell(t), Output(t)...
    color: str
    axis: str  # a plot axis of it over time
    signed: bool  # takes negative values (else between 0 and 1)


_ALL = (
    Quantity("forget", "Keep (forget)", "K", "#1f77b4", "keep (forget) gate f(t)", False),
    Quantity("input", "Write (input)", "I", "#ff7f0e", "write (input) gate i(t)", False),
    Quantity("candidate", "Candidate", "C", "#9467bd", "candidate g(t)", True),
    Quantity("output", "Read (output)", "O", "#2ca02c", "read (output) gate o(t)", False),
    Quantity("cell", "Memory cell c", "Cell", "#d62728", "memory cell c(t)", True),
    Quantity("hidden", "Output h", "Output", "#17becf", "output h(t)", True),
    Quantity("old", "Old = keep x c(t-1)", "Old", "#6baed6", "old = keep x c(t-1)", True),
    Quantity("new", "New = write x candidate", "New", "#fdae6b", "new = write x candidate", True),
    Quantity("tanh_cell", "tanh(c)", "tanh(Cell)", "#e377c2", "tanh(c(t))", True),
)

QUANTITIES: dict[str, Quantity] = {q.name: q for q in _ALL}
"""Every quantity by code name, in the order the window lists them."""

GATES = ("forget", "input", "output")
"""The three sigmoid gates, as the window shows them: keep, write, read."""

GATES_AND_CANDIDATE = ("forget", "input", "candidate", "output")
"""The four activations of a step: what what-if can clamp."""

RECORDED = (*GATES_AND_CANDIDATE, "cell", "hidden")
"""What the engine records at every step (the trace file's keys, per layer)."""

DERIVED = ("old", "new", "tanh_cell")
"""Computed from the recorded ones on demand (old = f·c(t-1), new = i·g, tanh(c))."""

WEIGHT_BLOCKS = ("input", "forget", "candidate", "output")
"""The order of the four column blocks of W_x, W_h and b (the canonical i, f, g, o)."""

LABELS = {name: q.label for name, q in QUANTITIES.items()}
COLORS = {name: q.color for name, q in QUANTITIES.items()}
