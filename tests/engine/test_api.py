"""The Python API of DESIGN.md: shapes, batches, states, dtypes, the trace file, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from lstm_viz import LSTM, FileFormatError, InputError, LSTMLayer, LstmVizError, ModelError, load_trace


def test_batch_rows_equal_single_runs_and_sizes_differ_per_layer():
    model = LSTM.random(4, [6, 3, 5], seed=1)
    x = np.random.default_rng(0).normal(size=(3, 20, 4))
    batch = model.run(x)
    assert [lt.cell.shape for lt in batch.layers] == [(3, 20, 6), (3, 20, 3), (3, 20, 5)]
    for b in range(3):
        single = model.run(x[b])
        for lt_batch, lt_single in zip(batch.layers, single.layers):
            np.testing.assert_allclose(lt_batch.hidden[b], lt_single.hidden[0], atol=1e-6)
            np.testing.assert_allclose(lt_batch.forget[b], lt_single.forget[0], atol=1e-6)


def test_a_long_run_crosses_chunk_boundaries_consistently():
    """The input projection is computed in chunks; splitting the run in two must agree."""
    model = LSTM.random(3, [5], seed=2)
    x = np.random.default_rng(1).normal(size=(1, 3000, 3))
    whole = model.run(x, dtype=np.float64).layers[0]
    first = model.run(x[:, :1700], dtype=np.float64).layers[0]
    second = model.run(x[:, 1700:], [(first.hidden[:, -1], first.cell[:, -1])], dtype=np.float64).layers[0]
    np.testing.assert_allclose(whole.cell[:, 1700:], second.cell, atol=1e-12)


def test_float32_by_default_float64_on_request():
    model = LSTM.random(2, [3], seed=0)
    x = np.random.default_rng(0).normal(size=(10, 2))
    t32, t64 = model.run(x), model.run(x, dtype=np.float64)
    assert t32.layers[0].forget.dtype == np.float32 and t64.layers[0].forget.dtype == np.float64
    assert np.abs(t32.layers[0].hidden - t64.layers[0].hidden).max() < 1e-6


def test_every_tutorial_quantity_is_available():
    model = LSTM.random(2, [3], seed=0, forget_bias=1.0)
    lt = model.run(np.random.default_rng(0).normal(size=(2, 8, 2))).layers[0]
    for name in ("forget", "input", "candidate", "output", "old", "new", "cell", "tanh_cell", "hidden"):
        assert lt.quantity(name).shape == (2, 8, 3), name
    np.testing.assert_allclose(lt.old + lt.new, lt.cell, atol=1e-6)
    np.testing.assert_allclose(lt.output * lt.tanh_cell, lt.hidden, atol=1e-6)
    gates = np.stack([lt.forget, lt.input, lt.output])
    assert gates.min() > 0 and gates.max() < 1


def test_stable_sigmoid_no_warnings_for_huge_preactivations():
    W_x = np.array([[1e6, -1e6, 1e6, -1e6]])
    model = LSTM([LSTMLayer(W_x, np.zeros((1, 4)), np.zeros(4))])
    with np.errstate(all="raise"):
        for dtype in (np.float32, np.float64):
            lt = model.run(np.array([[1.0], [-1.0]]), dtype=dtype).layers[0]
            assert lt.input[0, 0, 0] == 1.0 and lt.forget[0, 0, 0] == 0.0 and lt.input[0, 1, 0] == 0.0
            assert np.isfinite(lt.hidden).all()


def test_trace_file_round_trip(tmp_path):
    model = LSTM.random(3, [4, 2], seed=0, bidirectional=True, proj_sizes=[3, 2])
    x = np.random.default_rng(0).normal(size=(2, 7, 3))
    trace = model.run(x)
    path = tmp_path / "trace.npz"
    trace.save(path)
    with np.load(path, allow_pickle=False) as raw:
        names = set(raw.files)
        assert raw["x"].shape == (2, 7, 3) and raw["x"].dtype == np.float32
        assert raw["forget_l0"].shape == (2, 7, 4) and raw["hidden_l0"].shape == (2, 7, 3)
        assert raw["cell_l1_reverse"].shape == (2, 7, 2)
        meta = json.loads(str(raw["meta"]))
    for name in ("forget", "input", "candidate", "output", "cell", "hidden"):
        for key in (f"{name}_l0", f"{name}_l1", f"{name}_l0_reverse", f"{name}_l1_reverse"):
            assert key in names
    assert meta["version"] == 1 and [layer["hidden_size"] for layer in meta["layers"]] == [4, 2]
    loaded = load_trace(path)
    for original, again in zip(trace.layers, loaded.layers):
        for a, b in zip(original.directions(), again.directions()):
            np.testing.assert_array_equal(a.cell, b.cell)
            np.testing.assert_array_equal(a.old, b.old)
            assert b.reverse_time == a.reverse_time
    np.testing.assert_array_equal(loaded.output, trace.output)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a trace file"),
        (b"PK\x03\x04garbage", "damaged or truncated zip archive"),
        (b"hello world", "not a trace file"),
    ],
)
def test_bad_trace_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=message) as info:
        load_trace(path)
    assert str(path) in str(info.value)


def test_trace_with_missing_or_pickled_arrays(tmp_path):
    model = LSTM.random(2, [3], seed=0)
    trace = model.run(np.zeros((4, 2)))
    path = tmp_path / "t.npz"
    trace.save(path)
    with np.load(path) as raw:
        arrays = {k: raw[k] for k in raw.files if k != "cell_l0"}
    np.savez(tmp_path / "missing.npz", **arrays)
    with pytest.raises(FileFormatError, match="missing array 'cell_l0'"):
        load_trace(tmp_path / "missing.npz")
    arrays["cell_l0"] = np.array([object()], dtype=object)
    np.savez(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(FileFormatError):
        load_trace(tmp_path / "pickled.npz")


def test_bad_input_gets_clear_errors():
    model = LSTM.random(3, [4, 2], seed=0)
    with pytest.raises(InputError, match="input has 5 features per step but the model.s first layer expects 3"):
        model.run(np.zeros((6, 5)))
    with pytest.raises(InputError, match="NaN or infinite.*index"):
        model.run(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(InputError, match="NaN or infinite"):
        model.run(np.array([[0.0, np.inf, 1.0]]))
    with pytest.raises(InputError, match="empty"):
        model.run(np.zeros((0, 3)))
    with pytest.raises(InputError, match=r"\(T, D\) or \(B, T, D\)"):
        model.run(np.zeros(3))
    with pytest.raises(InputError, match=r"h0 must be \(B, H_out\) = \(1, 4\)"):
        model.run(np.zeros((5, 3)), [(np.zeros((1, 3)), np.zeros((1, 4))), None])
    with pytest.raises(InputError, match="c0 must be"):
        model.run(np.zeros((5, 3)), [(np.zeros((1, 4)), np.zeros((2, 4))), None])
    with pytest.raises(InputError, match="one entry per layer"):
        model.run(np.zeros((5, 3)), [None])
    with pytest.raises(InputError):
        model.run([["a", "b", "c"]])


def test_bad_models_get_clear_errors():
    good = dict(W_x=np.zeros((3, 8)), W_h=np.zeros((2, 8)), b=np.zeros(8))
    LSTMLayer(**good)
    with pytest.raises(ModelError, match="non-finite"):
        LSTMLayer(**{**good, "W_h": np.full((2, 8), np.nan)})
    with pytest.raises(ModelError, match="4\\*H columns"):
        LSTMLayer(np.zeros((3, 7)), np.zeros((2, 7)), np.zeros(7))
    with pytest.raises(ModelError, match="W_h must be"):
        LSTMLayer(np.zeros((3, 8)), np.zeros((3, 8)), np.zeros(8))
    with pytest.raises(ModelError, match="peepholes"):
        LSTMLayer(**good, peepholes=np.zeros((2, 2)))
    with pytest.raises(ModelError, match="cell_clip"):
        LSTMLayer(**good, cell_clip=-1)
    with pytest.raises(ModelError, match="layer 1 expects input width 5 but layer 0 outputs 2"):
        LSTM([LSTMLayer(**good), LSTMLayer(np.zeros((5, 8)), np.zeros((2, 8)), np.zeros(8))])
    assert issubclass(ModelError, LstmVizError) and issubclass(InputError, LstmVizError)
    # Weights that turn non-finite after construction (a diverged training run) are caught.
    model = LSTM.random(2, [3], seed=0)
    model.run(np.zeros((2, 2)))
    model.directions(0)[0].W_h[0, 0] = np.inf
    model.touch()
    with pytest.raises(ModelError, match="layer 0: W_h holds NaN or infinite"):
        model.run(np.zeros((2, 2)))


def test_progress_and_cancel():
    from lstm_viz import Cancelled

    model = LSTM.random(2, [3, 3], seed=0)
    seen = []
    model.run(np.zeros((5000, 2)), progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (10000, 10000) and len(seen) > 2
    with pytest.raises(Cancelled):
        model.run(np.zeros((5000, 2)), cancel=lambda: True)


def test_engine_and_io_import_without_qt():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'PyQt5', 'PyQt6', 'torch', 'tensorflow'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import numpy as np, lstm_viz, lstm_viz.engine, lstm_viz.io, lstm_viz.io.frameworks\n"
        "print(lstm_viz.LSTM.random(2, [3], seed=0).run(np.zeros((4, 2))).layers[0].cell.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1, 4, 3)"


def test_numbered_step_labels_are_made_when_read():
    from lstm_viz.engine.sequence import NumberedSteps, Sequence

    labels = NumberedSteps(1700, 5)
    assert labels == ["1700", "1701", "1702", "1703", "1704"] and len(labels) == 5
    assert (labels[0], labels[-1], labels[1:3]) == ("1700", "1704", ["1701", "1702"])
    with pytest.raises(IndexError):
        labels[5]
    sequence = Sequence(np.zeros((2, 3, 1), np.float32))  # no labels given: the step numbers
    assert sequence.labels == ["0", "1", "2"] and sequence.batch_labels[1] == ["0", "1", "2"]
    assert isinstance(sequence.labels, NumberedSteps)
