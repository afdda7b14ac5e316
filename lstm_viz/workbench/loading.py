"""Opening a sequence and a model: the one load policy for the window and the command line.

:func:`load` is pure: it reads the files a :class:`OpenRequest` names (keeping what the
request leaves out from the ``current`` load), runs the model, and returns a new
:class:`Loaded`; nothing is changed until the caller shows the result. It may run in a
worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lstm_viz import limits
from lstm_viz.engine import LSTM, Trace
from lstm_viz.engine.sequence import Sequence
from lstm_viz.engine.storage import Store
from lstm_viz.errors import InputError
from lstm_viz.limits import format_bytes
from lstm_viz.workbench.options import ModelOptions, RandomSpec, SequenceOptions

Progress = Callable[[int, int], None]
CancelFlag = Callable[[], bool]


def _no_progress(done: int, total: int) -> None:
    pass


def _never() -> bool:
    return False


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class WidthMismatch(InputError):
    """The sequence's features do not fit the model's input. ``request`` opens the same
    sequence with a random model sized to it (what the window offers in one click)."""

    def __init__(self, message: str, request: OpenRequest):
        super().__init__(message)
        self.request = request


@dataclass
class OpenRequest:
    """What to open. Leave ``sequence_path`` out to keep the current sequence, ``model_path``
    and ``random`` out to keep the current model; ``random`` builds a new random model sized
    to the sequence being opened."""

    sequence_path: str | None = None
    model_path: str | None = None
    random: RandomSpec | None = None
    sequence_options: SequenceOptions = field(default_factory=SequenceOptions)
    model_options: ModelOptions = field(default_factory=ModelOptions)
    dtype: str = "float32"
    store_dtype: str | None = None  # "float16": the trace stored in half precision

    def __post_init__(self):
        if self.model_path is not None and self.random is not None:
            raise InputError("open a model file or make a random model, not both")
        self.sequence_path = None if self.sequence_path is None else os.fspath(self.sequence_path)
        self.model_path = None if self.model_path is None else os.fspath(self.model_path)

    def with_random_model(self, sequence: Sequence | None = None) -> OpenRequest:
        from dataclasses import replace

        return replace(self, model_path=None, random=self.random or RandomSpec())

    def to_dict(self) -> dict:
        return {
            "sequence_path": self.sequence_path,
            "model_path": self.model_path,
            "random": None if self.random is None else self.random.to_dict(),
            "sequence_options": self.sequence_options.to_dict(),
            "model_options": self.model_options.to_dict(),
            "dtype": self.dtype,
            "store_dtype": self.store_dtype,
        }

    @classmethod
    def from_dict(cls, data: dict) -> OpenRequest:
        if not isinstance(data, dict):
            raise InputError(f"an open request must be a mapping, got {type(data).__name__}")
        random = data.get("random")
        return cls(
            sequence_path=data.get("sequence_path"),
            model_path=data.get("model_path"),
            random=None if random is None else RandomSpec.from_dict(random),
            sequence_options=SequenceOptions.from_dict(data.get("sequence_options")),
            model_options=ModelOptions.from_dict(data.get("model_options")),
            dtype=str(data.get("dtype", "float32")),
            store_dtype=None if data.get("store_dtype") is None else str(data["store_dtype"]),
        )


@dataclass
class Loaded:
    """What one load produced: model, sequence and trace, replaced together, and the request
    that reproduces them (files and options; ``None`` paths mean made in memory)."""

    model: object
    sequence: Sequence
    trace: Trace
    model_description: str
    model_path: str | None = None
    sequence_path: str | None = None
    example: object | None = None  # the Examples entry this came from, with its note
    request: OpenRequest | None = None
    computing: tuple[int, int] | None = None  # (steps shown, steps in all) while still recorded
    cut: tuple[int, int] | None = None  # (steps kept, steps asked for) when the run was cancelled

    @property
    def description(self) -> str:
        """What a title says: the sequence and the model."""
        name = os.path.basename(os.path.normpath(self.sequence_path)) if self.sequence_path else "sequence"
        return f"{name} · {self.model_description}"

    @property
    def notes(self) -> list[str]:
        """What the user should know: the loaders' notes (a readout dropped, a prefix chosen...)
        and whether unnormalised values saturate the gates."""
        notes = [str(n) for n in self.model.metadata.get("notes", [])]
        storage = self.trace.meta.get("storage") or {}
        if storage.get("dtype") == "float16":
            notes.append(
                "The trace is stored in half precision (float16): values keep about 3 significant digits "
                "(rounding errors at most 0.05% of the value, or 6e-8 below 6e-5); the equations panel "
                "recomputes its step exactly."
            )
        if storage.get("where") == "disk":
            notes.append(
                f"The trace ({format_bytes(self.trace.nbytes)}) is larger than the memory budget "
                f"({format_bytes(limits.max_bytes())}), so it is recorded to a temporary file on disk, deleted "
                "when it is closed (the budget: --max-memory)."
            )
        if self.cut is not None:
            kept, asked = self.cut
            notes.append(f"Cancelled: showing the first {kept:,} of {asked:,} steps, the part computed.")
        saturation = saturation_note(self)
        if saturation:
            notes.append(saturation)
        return notes


SATURATED = 0.01  # a gate within this of 0 or 1 no longer moves with its input
SATURATED_SHARE = 0.5  # more than this share of the first layer's gate values saturated: say so


SATURATION_SAMPLE = 1_000_000
"""Gate values per gate enough to measure the saturated share: a longer trace is measured on
evenly spaced steps (the share of a million values is within 0.1% of the whole's)."""


def saturated_share(trace: Trace) -> float | None:
    """The share of the first layer's keep, write and read values within SATURATED of 0 or 1."""
    layer = trace.layers[0]
    if not layer.is_lstm:
        return None
    B, T, H = layer.forget.shape
    every = max(1, (B * T * H) // SATURATION_SAMPLE)
    gates = (layer.forget[:, ::every], layer.input[:, ::every], layer.output[:, ::every])
    shares = [np.mean((g < SATURATED) | (g > 1 - SATURATED)) for g in gates]
    return float(np.mean(shares))


def saturation_note(loaded: Loaded) -> str | None:
    """Suggest normalising when the sequence was read as raw numbers and most gate values of
    the first layer are saturated (the figure quoted is measured on the trace)."""
    sequence = loaded.sequence
    if sequence.normalization is not None or not sequence.kind.value == "numbers":
        return None
    share = saturated_share(loaded.trace)
    if share is None or share <= SATURATED_SHARE:
        return None
    peak = float(np.abs(sequence.values).max())
    return (
        f"{share:.0%} of the gate values are within {SATURATED} of 0 or 1 (the values reach {peak:.4g}): "
        "the gates barely move. Normalise the sequence (z-score) to see them work."
    )


def load(
    request: OpenRequest,
    current: Loaded | None = None,
    progress: Progress = _no_progress,
    cancel: CancelFlag = _never,
    started: Callable[[Loaded], None] | None = None,
) -> Loaded:
    """Read what ``request`` names, keep the rest of ``current``, and record the trace.

    ``started(loaded)`` (see :mod:`lstm_viz.workbench.streaming`) is called once the trace's
    storage exists, with the Loaded whose trace the engine is about to fill."""
    from lstm_viz.io import load_model, load_sequence

    model = None if current is None else current.model
    model_description = None if current is None else current.model_description
    model_path = None if current is None else current.model_path
    if request.model_path is not None:
        model = load_model(request.model_path, **request.model_options.loader_options())
        model_description = os.path.basename(request.model_path)
        model_path = request.model_path
    from_model = model is not None and request.random is None
    metadata = model.metadata if from_model else {}
    options = request.sequence_options
    sequence_path = request.sequence_path
    if sequence_path is None and current is not None:
        # the sequence shown stays, read as it was read; a new model reads its file again,
        # so that the model's vocabulary and scale apply to it
        sequence_path = current.sequence_path
        if current.request is not None:
            options = current.request.sequence_options
    normalize = options.normalize or metadata.get("normalization") or "none"
    reread = request.sequence_path is not None or (request.model_path is not None and sequence_path is not None)
    if reread:
        sequence = load_sequence(
            sequence_path,
            normalize=normalize,
            fill=options.fill,
            text_mode=options.text_mode,
            vocabulary=metadata.get("vocabulary"),
            **({"table": options.table} if options.table else {}),
        )
    elif current is not None:
        sequence = current.sequence
    else:
        raise InputError("open a sequence first")
    current_random = None if current is None or current.request is None else current.request.random
    resize = (
        request.model_path is None and request.random is None and model is not None and model_path is None
        and current_random is not None and sequence.width != model.input_size
    )  # fmt: skip
    if request.random is not None or model is None or resize:
        # a random model is made for its sequence: a new width gets the same sizes and seed, resized
        spec = request.random or (current_random if resize else None) or RandomSpec()
        model = LSTM.random(sequence.width, spec.sizes, seed=spec.seed)
        model_description = spec.describe()
        model_path = None
    if sequence.width != model.input_size:
        name = os.path.basename(sequence_path) if sequence_path else "the sequence"
        raise WidthMismatch(
            f"{name} has {plural(sequence.width, 'feature')} per step but the model ({model_description}) "
            f"reads {model.input_size}. Open a sequence made for this model, or open {name} with a random "
            "model sized to it.",
            OpenRequest(
                sequence_path=sequence_path,
                random=request.random or RandomSpec(),
                sequence_options=options,
                dtype=request.dtype,
            ),
        )
    dtype = np.float64 if request.dtype == "float64" else np.float32
    kept = OpenRequest(
        sequence_path=sequence_path,
        model_path=model_path,
        random=None if model_path is not None else _random_of(request, current),
        sequence_options=options,
        model_options=request.model_options if request.model_path else _model_options_of(current),
        dtype=request.dtype,
        store_dtype=request.store_dtype,
    )

    def loaded(trace: Trace) -> Loaded:
        return Loaded(
            model=model,
            sequence=sequence,
            trace=trace,
            model_description=model_description,
            model_path=model_path,
            sequence_path=sequence_path,
            request=kept,
        )

    extra = {} if started is None else {"started": lambda trace: started(loaded(trace))}
    # above the memory budget the trace is recorded to a file (see engine.storage)
    store = Store(dtype=request.store_dtype)
    trace = model.run(sequence.values, dtype=dtype, progress=progress, cancel=cancel, store=store, **extra)
    return loaded(trace)


def _random_of(request: OpenRequest, current: Loaded | None) -> RandomSpec | None:
    if request.random is not None:
        return request.random
    if current is not None and current.request is not None:
        return current.request.random
    return RandomSpec()


def _model_options_of(current: Loaded | None) -> ModelOptions:
    if current is not None and current.request is not None:
        return current.request.model_options
    return ModelOptions()


def trace_meta(loaded: Loaded) -> dict:
    """What a saved trace records about where it came from and how the input was read."""
    sequence = loaded.sequence
    meta = {
        "sequence": loaded.sequence_path,
        "model_source": loaded.model_path or loaded.model_description,
        "encoding": sequence.encoding,
        "kind": sequence.kind.value,
        "feature_names": list(sequence.feature_names),
        "names": list(sequence.names),
        "labels": list(sequence.labels[:100_000]),
        "batch_labels": [list(labels[:100_000]) for labels in sequence.batch_labels],
        "lengths": np.asarray(sequence.lengths).tolist(),
        "normalization": sequence.normalization,
        "read_options": dict(sequence.options),
    }
    if loaded.request is not None:
        meta["request"] = loaded.request.to_dict()
    if loaded.notes:
        meta["notes"] = loaded.notes
    return meta
