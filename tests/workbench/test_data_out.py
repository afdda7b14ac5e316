"""Numbers out: trace tables read back by pandas and pyarrow equal the engine's float32
values exactly; LSTMVis's files read as LSTMVis's own data handler reads them."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from lstm_viz.engine import LSTM
from lstm_viz.engine.sequence import Sequence
from lstm_viz.errors import Cancelled, InputError
from lstm_viz.workbench import data_out
from lstm_viz.workbench.data_out import STORED, trace_columns, write_lstmvis, write_trace_table


@pytest.fixture
def batch():
    """Two sequences of 7 and 4 steps (the second zero-padded), two layers of 3 and 2 units."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 7, 2)).astype(np.float32)
    x[1, 4:] = 0
    labels = [list("ab cdef"), ["x", "y", "z z", "w", "", "", ""]]
    sequence = Sequence(
        values=x, labels=labels[0], batch_labels=labels, lengths=np.array([7, 4]), names=["first", "second"]
    )
    model = LSTM.random(2, [3, 2], seed=1)
    return model.run(x), sequence


def expected_rows(trace, sequence):
    rows = []
    for b, n in enumerate(sequence.lengths):
        for t in range(n):
            row = {"sequence": sequence.names[b], "step": t, "label": sequence.batch_labels[b][t]}
            row.update({f"x.x{d}": trace.x[b, t, d] for d in range(2)})
            for l, layer in enumerate(trace.layers):
                for q in STORED:
                    for u in range(layer.hidden.shape[2]):
                        row[f"layer{l}.{q}.{u}"] = getattr(layer, q)[b, t, u]
            rows.append(row)
    return rows


def test_a_csv_trace_table_reads_back_to_the_same_float32_values(batch, tmp_path):
    trace, sequence = batch
    path = tmp_path / "trace.csv"
    seen = []
    rows = write_trace_table(str(path), trace, sequence, progress=lambda d, t: seen.append((d, t)))
    assert rows == 11 and seen[-1] == (11, 11)
    from lstm_viz.atomic import _umask

    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as any new file (a temporary file is private)
    table = pd.read_csv(path, keep_default_na=False)
    assert list(table.columns) == trace_columns(trace, sequence)
    assert len(table.columns) == 3 + 2 + 6 * 3 + 6 * 2
    for k, row in enumerate(expected_rows(trace, sequence)):
        for column, value in row.items():
            got = table[column].iloc[k]
            if isinstance(value, str):
                assert str(got) == value, (k, column)
            elif column == "step":
                assert int(got) == value
            else:  # 9 significant digits: the same float32, bit for bit
                assert np.float32(got) == np.float32(value), (k, column, got, value)


def test_a_parquet_trace_table_keeps_float32_and_the_predictions(batch, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    trace, sequence = batch
    predictions = np.random.default_rng(0).random((2, 7, 3)).astype(np.float32)
    losses = np.random.default_rng(1).random((2, 7)).astype(np.float32)
    path = tmp_path / "trace.parquet"
    write_trace_table(str(path), trace, sequence, predictions, losses)
    table = pq.read_table(path)
    assert str(table.schema.field("layer1.cell.0").type) == "float"
    frame = table.to_pandas()
    assert list(frame["sequence"].astype(str)) == ["first"] * 7 + ["second"] * 4
    second = frame[frame["sequence"] == "second"]
    assert np.array_equal(second["layer1.hidden.1"].to_numpy(), trace.layers[1].hidden[1, :4, 1])
    assert np.array_equal(second["prediction.2"].to_numpy(), predictions[1, :4, 2])
    assert np.array_equal(frame["loss"].to_numpy()[:7], losses[0])
    assert list(second["label"]) == ["x", "y", "z z", "w"]


def test_chunks_write_the_same_table_and_a_cancel_leaves_the_old_file(batch, tmp_path, monkeypatch):
    trace, sequence = batch
    whole = tmp_path / "whole.csv"
    write_trace_table(str(whole), trace, sequence)
    monkeypatch.setattr(data_out, "ROW_VALUES", 100)  # 2 rows a chunk
    chunked = tmp_path / "chunked.csv"
    seen = []
    write_trace_table(str(chunked), trace, sequence, progress=lambda d, t: seen.append(d))
    assert chunked.read_bytes() == whole.read_bytes()
    assert seen == [2, 4, 6, 7, 9, 11]
    chunked.write_text("the previous file\n")
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        write_trace_table(str(chunked), trace, sequence, cancel=cancel)
    assert chunked.read_text() == "the previous file\n"  # untouched, and no temporary left
    assert sorted(os.listdir(tmp_path)) == ["chunked.csv", "whole.csv"]


def test_bad_table_names_and_folders_are_said(batch, tmp_path, monkeypatch):
    trace, sequence = batch
    with pytest.raises(InputError, match=r"t\.xlsx: a table's name must end in \.csv or \.parquet"):
        write_trace_table(str(tmp_path / "t.xlsx"), trace, sequence)
    with pytest.raises(InputError, match="does not exist"):
        write_trace_table(str(tmp_path / "no" / "t.csv"), trace, sequence)
    import builtins

    real = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("No module named 'pyarrow'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with pytest.raises(InputError, match=r"t\.parquet: writing Parquet needs pyarrow.*lstm-viz\[parquet\]"):
        write_trace_table(str(tmp_path / "t.parquet"), trace, sequence)


def test_lstmvis_files_read_as_lstmvis_reads_them(batch, tmp_path):
    """The checks follow LSTMVis's lstmdata/data_handler.py: files named in ``files`` (HDF5
    ending .h5/.hdf5, dictionaries .dict with ``word id`` lines split at white space), every
    ``states.types`` entry an (N, H) matrix in the ``states`` file, the word sequence an (N,)
    array of ids that the dictionary maps back to words."""
    yaml = pytest.importorskip("yaml")
    h5py = pytest.importorskip("h5py")
    trace, sequence = batch
    folder = tmp_path / "project"
    write_lstmvis(str(folder), trace, sequence, name="demo")
    config = yaml.load((folder / "lstm.yml").read_text(), Loader=yaml.SafeLoader)  # LSTMVis uses PyYAML
    assert config["name"] == "demo" and config["description"]
    files = config["files"]
    h5 = {k: h5py.File(folder / v, "r") for k, v in files.items() if v.endswith((".h5", ".hdf5"))}
    dicts = {}
    for key, value in files.items():
        if value.endswith((".dict", ".txt")):
            ids_of = {}
            for line in (folder / value).read_text(encoding="utf-8").splitlines():
                word, i = line.split()  # exactly two fields, as LSTMVis unpacks them
                ids_of[word] = int(i)
            dicts[key] = {i: w for w, i in ids_of.items()}
    ws = config["word_sequence"]
    ids = h5[ws["file"]][ws["path"]][()]
    words = [dicts[ws["dict_file"]][i] for i in ids.tolist()]
    assert words == ["a", "b", "␣", "c", "d", "e", "f", "x", "y", "z␣z", "w"]
    N = len(ids)
    default = config["states"]["file"]
    found = {}
    for entry in config["states"]["types"]:
        matrix = h5[entry.get("file", default)][entry["path"]][()]
        assert matrix.shape[0] == N and matrix.dtype == np.float32
        found[(entry["type"], entry["layer"])] = matrix
    assert sorted(found) == [("output", 1), ("output", 2), ("state", 1), ("state", 2)]
    cells = np.concatenate([trace.layers[1].cell[0, :7], trace.layers[1].cell[1, :4]])
    assert np.array_equal(found[("state", 2)], cells)
    outputs = np.concatenate([trace.layers[0].hidden[0, :7], trace.layers[0].hidden[1, :4]])
    assert np.array_equal(found[("output", 1)], outputs)
    for handle in h5.values():
        handle.close()


def test_a_panels_numbers_at_a_step_and_over_the_sequence(batch):
    from lstm_viz.workbench import Workbench
    from lstm_viz.workbench.data_out import quantity_table
    from lstm_viz.workbench.loading import Loaded

    trace, sequence = batch
    core = Workbench()
    core.show(Loaded(LSTM.random(2, [3, 2], seed=1), sequence, trace, "random"))
    core.set_batch(1)
    core.set_step(2)
    at = quantity_table(core, ("forget", "cell"), None, "step")
    assert list(at.columns) == ["step", "label", "unit", "forget", "cell"]
    assert list(at["unit"]) == [0, 1, 2] and set(at["label"]) == {"z z"}
    assert np.array_equal(at["cell"].to_numpy(), trace.layers[0].cell[1, 2])
    over = quantity_table(core, ("hidden",), [2], "sequence")
    assert list(over.columns) == ["step", "label", "hidden.2"] and len(over) == 4  # the real length
    assert np.array_equal(over["hidden.2"].to_numpy(), trace.layers[0].hidden[1, :4, 2])
