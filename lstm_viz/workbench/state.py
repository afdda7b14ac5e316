"""The session as plain data: written out as JSON and read back into a Workbench.

Files are recorded by path with the options they were read with; a sequence made in
memory (typed text, edited numbers) is recorded by its values. What-if clamps and input
edits are recorded so the changed run can be made again.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lstm_viz.engine.sequence import Sequence, SequenceKind
from lstm_viz.engine.whatif import Clamp
from lstm_viz.errors import InputError
from lstm_viz.workbench.loading import OpenRequest, load

STATE_VERSION = 1


def clamp_to_dict(clamp: Clamp) -> dict:
    return {
        "layer": clamp.layer,
        "gate": clamp.gate,
        "value": float(clamp.value),
        "start": clamp.start,
        "units": None if clamp.units is None else list(clamp.units),
    }


def clamp_from_dict(data: dict) -> Clamp:
    try:
        units = data.get("units")
        return Clamp(
            layer=int(data["layer"]),
            gate=str(data["gate"]),
            value=float(data["value"]),
            start=int(data["start"]),
            units=None if units is None else tuple(int(u) for u in units),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"a recorded clamp is incomplete or wrong: {exc}") from None


def _sequence_to_dict(sequence: Sequence) -> dict:
    return {
        "values": sequence.values.tolist(),
        "labels": [list(labels) for labels in sequence.batch_labels],
        "feature_names": list(sequence.feature_names),
        "encoding": sequence.encoding,
        "kind": sequence.kind.value,
        "vocabulary": sequence.vocabulary,
        "names": list(sequence.names),
        "lengths": np.asarray(sequence.lengths).tolist(),
        "normalization": _plain(sequence.normalization),
        "options": dict(sequence.options),
    }


def _plain(value):
    """NumPy numbers and arrays inside a dict as JSON-able lists and floats."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    return value


def _sequence_from_dict(data: dict) -> Sequence:
    try:
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf: refused just below
            values = np.asarray(data["values"], np.float32)
        if values.ndim != 3 or not np.isfinite(values).all():
            raise ValueError("values must be finite numbers of shape (sequences, steps, features)")
        return Sequence(
            values,
            batch_labels=[[str(v) for v in labels] for labels in data["labels"]],
            feature_names=[str(v) for v in data["feature_names"]],
            encoding=str(data.get("encoding", "numeric")),
            kind=SequenceKind(data.get("kind", "numbers")),
            vocabulary=data.get("vocabulary"),
            names=[str(v) for v in data.get("names", [])] or None,
            lengths=None if data.get("lengths") is None else np.asarray(data["lengths"], np.int64),
            normalization=data.get("normalization"),
            options=dict(data.get("options") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"a recorded sequence is incomplete or wrong: {exc}") from None


def session_state(workbench) -> dict:
    loaded = workbench.loaded
    if loaded is None:
        return {"version": STATE_VERSION, "open": None}
    request = loaded.request or OpenRequest(sequence_path=loaded.sequence_path, model_path=loaded.model_path)
    state = {
        "version": STATE_VERSION,
        "open": request.to_dict(),
        "view": {
            "step": workbench.step,
            "batch": workbench.batch,
            "layer": workbench.layer,
            "selected": list(workbench.selected),
        },
        "what_if": None,
    }
    if loaded.sequence_path is None:
        state["sequence"] = _sequence_to_dict(loaded.sequence)
    if loaded.model_path is None and request.random is None:
        raise InputError("the model was made in memory and has no file; save it first")
    what_if = workbench.what_if
    if what_if is not None:
        state["what_if"] = {
            "batch": what_if.batch,
            "clamps": [clamp_to_dict(c) for c in what_if.clamps],
            "edits": [
                {"step": int(t), "row": np.asarray(row, np.float64).tolist(), "label": label}
                for t, (row, label) in sorted(what_if.edits.items())
            ],
        }
    return state


def _whole(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InputError(f"the recorded {name} is not a whole number: {value!r}")
    return int(value)


def _checked_view(view) -> dict:
    """The recorded view with whole numbers for step, batch and layer, and a list of whole
    numbers (or None) for the selection; an InputError naming what is wrong otherwise."""
    if view is None:
        return {"step": 0, "batch": 0, "layer": 0, "selected": None}
    if not isinstance(view, dict):
        raise InputError(f"the recorded view is not a mapping: {view!r}")
    checked = {key: _whole(view.get(key, 0), key) for key in ("step", "batch", "layer")}
    selected = view.get("selected")
    if selected is not None and not isinstance(selected, list):
        raise InputError(f"the recorded selection is not a list of units: {selected!r}")
    checked["selected"] = None if selected is None else [_whole(u, "unit") for u in selected]
    return checked


def restore_work(workbench, state: dict):
    """A Work that opens what ``state`` names, re-runs any what-if (both off the owner's
    thread), then shows them and sets the view. Every recorded value is checked before
    anything is shown: a state that cannot be restored whole raises InputError, in
    ``restore_work`` or in the Work's ``run``, and the session shown stays."""
    from lstm_viz.workbench.workbench import Work, Workbench

    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        raise InputError(f"not a session of version {STATE_VERSION}")
    if state.get("open") is None:
        raise InputError("the session has nothing open")
    try:
        request = OpenRequest.from_dict(state["open"])
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"the recorded files and options are incomplete or wrong: {exc}") from None
    memory = state.get("sequence")
    if memory is not None and not isinstance(memory, dict):
        raise InputError("the recorded sequence is not a mapping")
    view = _checked_view(state.get("view"))
    recorded = state.get("what_if") or {}
    if not isinstance(recorded, dict) or not all(isinstance(recorded.get(k, []), list) for k in ("clamps", "edits")):
        raise InputError("the recorded what-if is not a mapping of clamps and edits")
    clamps = [clamp_from_dict(c) for c in recorded.get("clamps", [])]
    try:
        edits = {int(e["step"]): (np.asarray(e["row"], np.float32), str(e["label"])) for e in recorded.get("edits", [])}
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"a recorded input edit is incomplete or wrong: {exc}") from None
    what_if_batch = _whole(recorded.get("batch", view["batch"]), "sequence of the what-if")

    def run(progress, cancel):
        if memory is not None:
            from lstm_viz.workbench.loading import Loaded

            sequence = _sequence_from_dict(memory)
            base = load(replace(request, sequence_path=None), _placeholder(sequence, Loaded), progress, cancel)
        else:
            base = load(request, None, progress, cancel)
        what_if = None
        if clamps or edits:  # made here, from the new data: a wrong clamp fails before anything is shown
            scratch = Workbench()
            scratch.loaded = base
            what_if = scratch.rerun(clamps, edits, batch=what_if_batch).run(progress, cancel)
        return base, what_if

    def apply(result):
        loaded, what_if = result
        workbench.show(loaded)
        workbench.set_batch(view["batch"])
        workbench.set_layer(view["layer"])
        if view["selected"] is not None:
            workbench.select_units(view["selected"])
        workbench.set_step(view["step"])
        if what_if is not None:
            workbench.show_what_if(what_if)

    return Work(run, apply, "Opening the session…")


def _placeholder(sequence, loaded_type):
    """A 'current' load holding only an in-memory sequence, for :func:`load` to keep."""
    return loaded_type(model=None, sequence=sequence, trace=None, model_description="", request=None)
