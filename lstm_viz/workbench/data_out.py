"""Numbers out: the trace as a table (CSV, Parquet), a panel's numbers, and LSTMVis's files.

A trace table has a row per step of every sequence of the batch (padding left out):
``sequence`` (its name), ``step``, ``label`` (the step's label: a character, a date), the
inputs ``x.<feature>``, then for each layer ``layer<l>.<quantity>.<unit>`` for the stored
quantities (``forget``, ``input``, ``output``, ``candidate``, ``cell``, ``hidden``: the
keep, write and read gates, the candidate, c(t) and h(t)), then the readout's
``prediction.<k>`` and the ``loss`` where the model has them. Values are the engine's
float32 numbers: CSV writes them with 9 significant digits, which read back to the same
float32; Parquet keeps them as float32.

Written chunk by chunk (``progress(done, total)``, ``cancel()``) to a temporary file in
the same folder, then moved over the target: a failed or cancelled export leaves no file
and never a half-written one.

LSTMVis (Strobelt et al.; github.com/HendrikStrobelt/LSTMVis) reads a folder with
``lstm.yml``, an HDF5 file of states (one (N, H) matrix per layer and type, N the
positions of the whole corpus), an HDF5 file of word ids (N,) and a dictionary file of
``word id`` lines; :func:`write_lstmvis` writes those, the sequences of a batch one after
another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import numpy as np

from lstm_viz import atomic
from lstm_viz.errors import Cancelled, InputError

STORED = ("forget", "input", "output", "candidate", "cell", "hidden")
TABLE_FORMATS = {".csv": "CSV", ".parquet": "Parquet"}
ROW_VALUES = 4_000_000
"""Values of a table chunk (rows x columns): a few tens of MB at a time."""
PARQUET_EXTRA = "pip install 'lstm-viz[parquet]'"


def table_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in TABLE_FORMATS:
        raise InputError(f"{os.path.basename(path) or path}: a table's name must end in .csv or .parquet")
    return TABLE_FORMATS[ext]


def _sequence_names(sequence) -> list[str]:
    B = sequence.values.shape[0]
    names = list(sequence.names or [])
    return names if len(names) == B else [f"sequence {b}" for b in range(B)]


def _lengths(sequence, trace) -> np.ndarray:
    T = trace.length
    lengths = sequence.lengths if sequence.lengths is not None else np.full(trace.batch_size, T)
    return np.minimum(np.asarray(lengths, dtype=np.int64), T)


def trace_columns(trace, sequence, predictions=None, losses=None) -> list[str]:
    """The columns of :func:`trace_chunks`, in order."""
    columns = ["sequence", "step", "label"] + [f"x.{name}" for name in sequence.feature_names]
    for l, layer in enumerate(trace.layers):
        names = STORED if layer.is_lstm else ("hidden",)
        H = layer.hidden.shape[2]
        columns += [f"layer{l}.{q}.{u}" for q in names for u in range(H)]
    if predictions is not None:
        columns += [f"prediction.{k}" for k in range(predictions.shape[2])]
    if losses is not None:
        columns.append("loss")
    return columns


def trace_chunks(trace, sequence, predictions=None, losses=None, rows: int | None = None) -> Iterator:
    """The trace table as pandas DataFrames of at most ``rows`` rows (by default about
    :data:`ROW_VALUES` values each), sequence after sequence."""
    import pandas as pd

    columns = trace_columns(trace, sequence, predictions, losses)
    rows = rows or max(1, ROW_VALUES // len(columns))
    names = _sequence_names(sequence)
    for b, n in enumerate(_lengths(sequence, trace)):
        labels = sequence.batch_labels[b]
        for t0 in range(0, int(n), rows):
            t1 = min(int(n), t0 + rows)
            data = {
                "sequence": pd.Categorical([names[b]] * (t1 - t0), categories=names),
                "step": np.arange(t0, t1, dtype=np.int64),
                "label": [str(labels[t]) if t < len(labels) else "" for t in range(t0, t1)],
            }
            for d, name in enumerate(sequence.feature_names):
                data[f"x.{name}"] = np.asarray(trace.x[b, t0:t1, d], dtype=np.float32)
            for l, layer in enumerate(trace.layers):
                names_q = STORED if layer.is_lstm else ("hidden",)
                for q in names_q:
                    block = np.asarray(getattr(layer, q)[b, t0:t1], dtype=np.float32)
                    for u in range(block.shape[1]):
                        data[f"layer{l}.{q}.{u}"] = block[:, u]
            if predictions is not None:
                for k in range(predictions.shape[2]):
                    data[f"prediction.{k}"] = np.asarray(predictions[b, t0:t1, k], dtype=np.float32)
            if losses is not None:
                data["loss"] = np.asarray(losses[b, t0:t1], dtype=np.float32)
            yield pd.DataFrame(data, columns=columns)


def table_rows(trace, sequence) -> int:
    return int(_lengths(sequence, trace).sum())


def write_table(
    path: str,
    chunks: Iterator,
    total_rows: int,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> int:
    """Write DataFrame ``chunks`` to ``path`` (CSV or Parquet by its extension) through a
    temporary file moved over it at the end. Returns the rows written."""
    kind = table_format(path)
    name = os.path.basename(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{name}: the folder {folder} does not exist")
    if kind == "Parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise InputError(f"{name}: writing Parquet needs pyarrow, an optional extra: {PARQUET_EXTRA}") from exc
    temporary = atomic.temporary_beside(path)
    done = 0
    writer = None
    try:
        for k, chunk in enumerate(chunks):
            if cancel is not None and cancel():
                raise Cancelled()
            if kind == "CSV":
                chunk.to_csv(temporary, mode="w" if k == 0 else "a", header=k == 0, index=False, float_format="%.9g")
            else:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(temporary, table.schema)
                writer.write_table(table)
            done += len(chunk)
            if progress is not None:
                progress(done, total_rows)
        if writer is not None:
            writer.close()
            writer = None
        atomic.publish(temporary, path)
    except OSError as exc:
        raise InputError(f"{name}: could not be written: {exc.strerror or exc}") from exc
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(temporary):
            os.remove(temporary)
    return done


def write_trace_table(path, trace, sequence, predictions=None, losses=None, progress=None, cancel=None) -> int:
    """The whole trace (every sequence, layer and unit) as a table: see the module's text."""
    return write_table(
        path, trace_chunks(trace, sequence, predictions, losses), table_rows(trace, sequence), progress, cancel
    )


# -- LSTMVis --------------------------------------------------------------------------------
def _token(label: str) -> str:
    """A dictionary word: LSTMVis splits each line of its dictionary at white space, so a
    word has none and is never empty."""
    word = "".join({"\t": "⇥", "\n": "↵", "\r": "↵"}.get(c, "␣") if c.isspace() else c for c in str(label))
    return word or "∅"


def write_lstmvis(folder: str, trace, sequence, name: str = "lstm-viz", description: str = "") -> dict:
    """LSTMVis's project folder: ``lstm.yml``, ``states.h5`` (for each layer ``states<l>``,
    the cell states c(t), and ``output<l>``, the outputs h(t), as (N, H) float32; for a
    plain RNN layer its h(t) as both), ``train.h5`` (``word_ids``, (N,) int32) and
    ``words.dict`` (``word id`` lines), N the steps of the batch's sequences one after
    another. Layers are numbered from 1 as LSTMVis does. Returns the configuration."""
    try:
        return _write_lstmvis(folder, trace, sequence, name, description)
    except OSError as exc:
        raise InputError(f"{folder}: the LSTMVis files could not be written: {exc.strerror or exc}") from exc


def _write_lstmvis(folder, trace, sequence, name, description) -> dict:
    import h5py

    os.makedirs(folder, exist_ok=True)
    lengths = _lengths(sequence, trace)
    words: dict[str, int] = {}
    ids = []
    for b, n in enumerate(lengths):
        labels = sequence.batch_labels[b]
        for t in range(int(n)):
            word = _token(labels[t] if t < len(labels) else str(t))
            ids.append(words.setdefault(word, len(words)))
    types = []
    with h5py.File(os.path.join(folder, "states.h5"), "w") as states:
        for l, layer in enumerate(trace.layers, start=1):
            cell = layer.cell if layer.is_lstm else layer.hidden
            for kind, path, values in (("state", f"states{l}", cell), ("output", f"output{l}", layer.hidden)):
                data = np.concatenate([np.asarray(values[b, : int(n)], np.float32) for b, n in enumerate(lengths)])
                states.create_dataset(path, data=data)
                types.append({"type": kind, "layer": l, "path": path})
    with h5py.File(os.path.join(folder, "train.h5"), "w") as train:
        train.create_dataset("word_ids", data=np.asarray(ids, dtype=np.int32))
    with open(os.path.join(folder, "words.dict"), "w", encoding="utf-8") as handle:
        for word, i in words.items():
            handle.write(f"{word} {i}\n")
    config = {
        "name": name,
        "description": description or name,
        "files": {"states": "states.h5", "train": "train.h5", "words": "words.dict"},
        "word_sequence": {"file": "train", "path": "word_ids", "dict_file": "words"},
        "states": {"file": "states", "types": types},
    }
    with open(os.path.join(folder, "lstm.yml"), "w", encoding="utf-8") as handle:
        handle.write("# LSTMVis project written by lstm-viz (YAML; each value in JSON form)\n")
        for key, value in config.items():
            handle.write(f"{key}: {json.dumps(value, ensure_ascii=False)}\n")
    return config


# -- a panel's numbers ----------------------------------------------------------------------
def quantity_table(core, quantities, units=None, scope: str = "step"):
    """The numbers of ``quantities`` (names of :data:`lstm_viz.vocabulary.QUANTITIES`) of the
    current layer and sequence for ``units`` (None: all), as a DataFrame. ``scope`` "step":
    a row per unit at the current step (columns ``unit`` and the quantities); "sequence":
    a row per step (``step``, ``label``, then ``<quantity>.<unit>``)."""
    import pandas as pd

    T = core.length
    arrays = {q: core.quantity(q)[:T] for q in quantities}
    H = next(iter(arrays.values())).shape[1] if arrays else 0
    units = list(range(H)) if units is None else [int(u) for u in units]
    if scope == "step":
        t = core.step
        data = {"unit": units}
        data.update({q: np.asarray(a[t, units], dtype=np.float32) for q, a in arrays.items()})
        frame = pd.DataFrame(data)
        frame.insert(0, "step", t)
        frame.insert(1, "label", core.label(t))
        return frame
    if scope != "sequence":
        raise ValueError(f"scope is 'step' or 'sequence', not {scope!r}")
    data = {"step": np.arange(T), "label": [core.label(t) for t in range(T)]}
    for q, a in arrays.items():
        for u in units:
            data[f"{q}.{u}"] = np.asarray(a[:, u], dtype=np.float32)
    return pd.DataFrame(data)


def input_table(core, scope: str = "step"):
    """The input the model read (after the sequence's encoding), one column a feature."""
    import pandas as pd

    T = core.length
    x = core.trace.x[core.batch, :T]
    names = [f"x.{name}" for name in core.sequence.feature_names]
    steps = [core.step] if scope == "step" else list(range(T))
    data = {"step": steps, "label": [core.label(t) for t in steps]}
    for d, name in enumerate(names):
        data[name] = np.asarray(x[steps, d], dtype=np.float32)
    return pd.DataFrame(data)


def prediction_table(core, scope: str = "step"):
    """The readout's output at each step (and the loss where there is a target), or None
    for a model without a readout."""
    import pandas as pd

    predictions = core.predictions
    if predictions is None:
        return None
    T = core.length
    steps = [core.step] if scope == "step" else list(range(T))
    data = {"step": steps, "label": [core.label(t) for t in steps]}
    for k in range(predictions.shape[2]):
        data[f"prediction.{k}"] = np.asarray(predictions[core.batch, steps, k], dtype=np.float32)
    losses = core.losses
    if losses is not None:
        data["loss"] = np.asarray(losses[core.batch, steps], dtype=np.float32)
    return pd.DataFrame(data)
