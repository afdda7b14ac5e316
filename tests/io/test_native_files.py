"""The native model file, NumPy sequence files and their failure modes."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_viz import LSTM, RNN, FileFormatError, LstmVizError, load_model, load_sequence, load_trace
from lstm_viz.engine.readout import Readout
from lstm_viz.io import save_model
from tests.conftest import mutated


def test_model_round_trip_keeps_every_option(tmp_path):
    model = LSTM.random(
        3,
        [5, 4],
        seed=0,
        bidirectional=True,
        proj_sizes=[2, 3],
        peepholes=True,
        cell_clip=0.7,
        gate_clip=3.0,
        forget_bias=1.0,
    )
    model.readout = Readout(np.ones((6, 2)), np.zeros(2), kind="classification", labels=["a", "b"])
    model.metadata["vocabulary"] = ["a", "b"]
    path = tmp_path / "m.npz"
    save_model(model, path)
    again = load_model(path)
    assert again.num_layers == 2 and again.is_bidirectional(1)
    layer = again.directions(1)[1]
    assert (layer.cell_clip, layer.gate_clip, layer.forget_bias) == (0.7, 3.0, 1.0)
    assert again.readout.labels == ["a", "b"] and again.metadata["vocabulary"] == ["a", "b"]
    x = np.random.default_rng(0).normal(size=(2, 9, 3))
    np.testing.assert_array_equal(model.run(x).output, again.run(x).output)


def test_rnn_round_trip(tmp_path):
    model = RNN.random(2, [3, 3], seed=1)
    save_model(model, tmp_path / "r.npz")
    again = load_model(tmp_path / "r.npz")
    assert isinstance(again, RNN)
    x = np.ones((4, 2))
    np.testing.assert_array_equal(model.run(x).output, again.run(x).output)


def _native_arrays(tmp_path):
    path = tmp_path / "m.npz"
    save_model(LSTM.random(2, [3], seed=0), path)
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def test_model_files_with_problems_name_the_file_and_the_tensor(tmp_path):
    arrays = _native_arrays(tmp_path)
    cases = {
        "nan.npz": ({**arrays, "l0.W_h": np.full((3, 12), np.nan, np.float32)}, "'l0.W_h' holds NaN"),
        "shape.npz": ({**arrays, "l0.W_h": np.zeros((4, 12), np.float32)}, "W_h must be"),
        "missing.npz": ({k: v for k, v in arrays.items() if k != "l0.b"}, "missing tensor 'l0.b'"),
        "meta.npz": ({**arrays, "meta": np.array("{not json")}, "not valid JSON"),
        "object.npz": ({**arrays, "l0.b": np.array([object()] * 12, dtype=object)}, "holds Python objects, refused"),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        np.savez(path, **content)
        with pytest.raises(FileFormatError, match=message) as info:
            load_model(path)
        assert str(path) in str(info.value)


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "good.npz"
    save_model(LSTM.random(2, [3], seed=0), good)
    data = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.npz").write_bytes(b"")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    (tmp_path / "text.npz").write_text("hello")
    for name in ("cut.npz", "empty.npz", "other.npz", "text.npz", "absent.npz"):
        with pytest.raises(FileFormatError) as info:
            load_model(tmp_path / name)
        assert name in str(info.value)
    with pytest.raises(FileFormatError, match="folder"):
        load_model(tmp_path)


class Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_payloads_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    evil = np.array([Payload(marker)], dtype=object)
    np.save(tmp_path / "evil.npy", evil, allow_pickle=True)
    np.savez(tmp_path / "evil.npz", x=evil)
    arrays = _native_arrays(tmp_path)
    np.savez(tmp_path / "evil_model.npz", **{**arrays, "l0.W_x": evil})
    # A raw pickle renamed to .npy, and a zip whose member is a raw pickle.
    (tmp_path / "raw.npy").write_bytes(pickle.dumps(Payload(marker)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.npy", pickle.dumps(Payload(marker)))
    (tmp_path / "raw.npz").write_bytes(buffer.getvalue())
    for name in ("evil.npy", "evil.npz", "raw.npy", "raw.npz"):
        with pytest.raises(FileFormatError):
            load_sequence(tmp_path / name)
    for name in ("evil_model.npz", "raw.npz", "evil.npz"):
        with pytest.raises(FileFormatError):
            load_model(tmp_path / name)
        with pytest.raises(FileFormatError):
            load_trace(tmp_path / name)
    assert not marker.exists()


def test_numpy_sequences(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(12, dtype=np.float64).reshape(6, 2))
    seq = load_sequence(tmp_path / "one.npy")
    assert seq.values.shape == (1, 6, 2) and seq.values.dtype == np.float32
    assert seq.labels[:3] == ["0", "1", "2"] and seq.feature_names == ["x0", "x1"]
    np.savez(tmp_path / "batch.npz", x=np.zeros((3, 5, 4), np.float32))
    assert load_sequence(tmp_path / "batch.npz").values.shape == (3, 5, 4)
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan]]))
    with pytest.raises(FileFormatError, match="NaN or infinite values \\(first at sequence 0, step 0, feature 1\\)"):
        load_sequence(tmp_path / "nan.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 3)))
    with pytest.raises(FileFormatError, match="empty"):
        load_sequence(tmp_path / "empty.npy")
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(FileFormatError, match=r"expected \(T, D\) or \(B, T, D\)"):
        load_sequence(tmp_path / "flat.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    with pytest.raises(FileFormatError, match="name the sequence 'x'"):
        load_sequence(tmp_path / "two.npz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), prefix=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY\x01\x00"]))
def test_random_bytes_raise_only_documented_errors(tmp_path, data, prefix):
    path = tmp_path / "fuzz.bin"
    path.write_bytes(prefix + data)
    for loader in (load_model, load_sequence, load_trace):
        try:
            loader(path)
        except LstmVizError:
            pass


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255), cut=st.booleans())
def test_mutated_model_and_trace_files_raise_only_documented_errors(tmp_path, position, value, cut):
    model = LSTM.random(2, [3], seed=0)
    good = tmp_path / "good.npz"
    save_model(model, good)
    model.run(np.zeros((4, 2))).save(tmp_path / "trace.npz")
    for source, loader in ((good, load_model), (tmp_path / "trace.npz", load_trace)):
        data = mutated(source.read_bytes(), position, value, cut)
        path = tmp_path / "mutated.npz"
        path.write_bytes(data)
        try:
            loader(path)
        except LstmVizError:
            pass


def _npy_bytes_with_shape(shape, body=b"\0" * 64):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return header.getvalue() + body


def test_huge_header_claims_are_refused_before_allocating(tmp_path):
    (tmp_path / "huge.npy").write_bytes(_npy_bytes_with_shape((10**12,)))
    with pytest.raises(FileFormatError, match="needs .* more than the .* limit; raise it with --max-memory"):
        load_sequence(tmp_path / "huge.npy")
    (tmp_path / "short.npy").write_bytes(_npy_bytes_with_shape((1000, 3)))
    with pytest.raises(FileFormatError, match="truncated"):
        load_sequence(tmp_path / "short.npy")
    with zipfile.ZipFile(tmp_path / "huge.npz", "w") as archive:
        archive.writestr("x.npy", _npy_bytes_with_shape((20_000, 20_000)))
    with pytest.raises(FileFormatError, match="truncated"):
        load_sequence(tmp_path / "huge.npz")


@pytest.mark.parametrize("version", ['"1"', "99", "true", "null"])
def test_meta_with_odd_versions_is_refused(tmp_path, version):
    arrays = _native_arrays(tmp_path)
    meta = str(arrays["meta"]).replace('"version": 1', f'"version": {version}')
    np.savez(tmp_path / "v.npz", **{**arrays, "meta": np.array(meta)})
    with pytest.raises(FileFormatError, match="version"):
        load_model(tmp_path / "v.npz")
    trace_path = tmp_path / "t.npz"
    LSTM.random(2, [3], seed=0).run(np.zeros((3, 2))).save(trace_path)
    with np.load(trace_path) as data:
        raw = {k: data[k] for k in data.files}
    raw["meta"] = np.array(str(raw["meta"]).replace('"version": 1', f'"version": {version}'))
    np.savez(trace_path, **raw)
    with pytest.raises(FileFormatError, match="version"):
        load_trace(trace_path)
