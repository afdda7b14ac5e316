"""Bad files by class: hangs, wrong exception types, memory bombs (issue 9, section 4).

Every bad input ends in :class:`~lstm_viz.errors.LstmVizError` whose message names the
file and what is wrong, promptly, before anything big is allocated.
"""

import collections
import io
import json
import os
import pickle
import subprocess
import sys
import threading
import types
import zipfile

import numpy as np
import pytest

from lstm_viz import FileFormatError, LstmVizError, limits, load_model
from lstm_viz.engine import LSTM, load_trace
from lstm_viz.errors import InputError
from lstm_viz.io import load_sequence
from lstm_viz.io.tf_checkpoint import read_checkpoint

PROMPT = 10.0
"""Seconds a refusal may take; a loader that blocks on a pipe would wait forever."""


def promptly(call, *args, **kwargs):
    """Run ``call`` in a daemon thread; return what it raised, or fail when it blocks."""
    outcome = {}

    def target():
        try:
            outcome["value"] = call(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(PROMPT)
    if thread.is_alive():
        pytest.fail(f"{getattr(call, '__name__', call)} blocked for {PROMPT} s")
    return outcome.get("error")


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    yield path
    try:  # free a reader stuck in open() after a regression, so the test run can end
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


LOADERS = {
    "load_sequence": load_sequence,
    "load_model": load_model,
    "load_trace": load_trace,
}


# -- 1. hangs: only regular files are read --------------------------------------------------
@pytest.mark.parametrize("loader", LOADERS)
def test_a_named_pipe_is_refused_without_opening_it(fifo, loader):
    error = promptly(LOADERS[loader], fifo)
    assert isinstance(error, FileFormatError), error
    assert str(error).startswith(str(fifo)) and "not a regular file (a named pipe)" in str(error)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("loader", LOADERS)
def test_endless_devices_are_refused(device, loader):
    error = promptly(LOADERS[loader], device)
    assert isinstance(error, FileFormatError), error
    assert str(error).startswith(device) and "not a regular file (a device)" in str(error)


@pytest.mark.parametrize("loader", ["load_sequence", "load_model", "load_trace"])
def test_a_folder_is_refused(tmp_path, loader):
    error = promptly(LOADERS[loader], tmp_path)
    assert isinstance(error, FileFormatError), error
    assert str(error).startswith(str(tmp_path)) and "not a regular file (a folder)" in str(error)


def test_a_symlink_to_a_regular_file_is_followed_and_one_to_a_device_refused(tmp_path):
    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.save(tmp_path / "real.npy", values)
    (tmp_path / "link.npy").symlink_to(tmp_path / "real.npy")
    np.testing.assert_array_equal(load_sequence(tmp_path / "link.npy").values[0], values)
    (tmp_path / "zero.npy").symlink_to("/dev/zero")
    with pytest.raises(FileFormatError, match="zero.npy: is not a regular file \\(a device\\)"):
        load_sequence(tmp_path / "zero.npy")


def test_importers_check_the_files_they_open_themselves(tmp_path, fifo):
    """Each importer stats its file, even when called directly, bypassing the detection."""
    from lstm_viz.io.keras_import import load_keras
    from lstm_viz.io.onnx_import import load_onnx
    from lstm_viz.io.torch_files import read_safetensors, read_torch_file

    for reader in (load_keras, load_onnx, read_torch_file, read_safetensors):
        error = promptly(reader, fifo)
        assert isinstance(error, FileFormatError) and "named pipe" in str(error), (reader, error)
    # TF checkpoints: the .index and the data shard are both checked
    prefix = tmp_path / "ckpt"
    os.mkfifo(str(prefix) + ".index")
    error = promptly(read_checkpoint, prefix)
    assert isinstance(error, FileFormatError) and "ckpt.index: is not a regular file" in str(error)
    try:
        os.close(os.open(str(prefix) + ".index", os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_the_trace_command_refuses_pipes_and_devices_with_one_line(tmp_path, fifo):
    model = tmp_path / "model.npz"
    from lstm_viz.io import save_model

    save_model(LSTM.random(2, 3), model)
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float32))
    cases = [
        (["trace", str(fifo), "--random", "3"], str(fifo)),
        (["trace", "/dev/zero", "--random", "3"], "/dev/zero"),
        (["trace", str(tmp_path / "x.npy"), "--model", str(fifo)], str(fifo)),
        (["trace", str(tmp_path / "x.npy"), "--model", "/dev/urandom"], "/dev/urandom"),
        # a folder is read as a batch of its files: the pipe among them is refused by name
        (["trace", str(tmp_path), "--model", str(model)], str(fifo)),
    ]
    for argv, named in cases:
        done = subprocess.run(
            [sys.executable, "-m", "lstm_viz", *argv, "-o", str(tmp_path / "t.npz"), "-q"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2, (argv, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"lstm-viz: error: {named}: is not a regular file"), done.stderr
        assert "Traceback" not in done.stderr


# -- 2. wrong exception types ------------------------------------------------------------------
def _npy(shape, descr="<f4", body=b"\0" * 64):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    return header.getvalue() + body


@pytest.mark.parametrize(
    "shape, message",
    [
        ((-1, 3), "negative size in its shape"),
        ((3, -5), "negative size in its shape"),
        ((0, 3), "is empty"),
        ((2**40, 2**40), "needs .* more than the .* limit"),
        ((2**62, 2**62, 16), "needs .* more than the .* limit"),
    ],
)
def test_bad_numpy_headers_are_file_format_errors(tmp_path, shape, message):
    path = tmp_path / "bad.npy"
    path.write_bytes(_npy(shape))
    with pytest.raises(FileFormatError, match=message) as info:
        load_sequence(path)
    assert str(info.value).startswith(str(path))
    archive = tmp_path / "bad.npz"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x.npy", _npy(shape))
    with pytest.raises(FileFormatError, match=message):
        load_sequence(archive)


@pytest.mark.parametrize("number", ["1" + "0" * 400, "-" + "9" * 1000, "1e400", "1" + "0" * 5000])
def test_huge_json_numbers_are_file_format_errors(tmp_path, number):
    path = tmp_path / "huge.json"
    path.write_text(f"[[1, 2], [{number}, 3]]")
    with pytest.raises(FileFormatError) as info:
        load_sequence(path)
    assert str(info.value).startswith(str(path))
    assert any(word in str(info.value) for word in ("too large", "infinite", "not valid JSON")), info.value


# Crafted torch.save files: a pickle that names torch's own globals, written without torch.
def _fake_torch(monkeypatch):
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - never called, only named
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage = type("FloatStorage", (), {"__module__": "torch"})
    torch.FloatStorage = storage
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return _rebuild_tensor_v2, storage


class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Tensor:
    def __init__(self, rebuild, storage, offset, size, stride):
        self.rebuild, self.args = rebuild, (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return self.rebuild, self.args


def torch_file(path, monkeypatch, tensors: dict, storages: dict):
    """``tensors``: name -> (storage key, offset, size, stride); ``storages``: key -> float32 array."""
    rebuild, storage_type = _fake_torch(monkeypatch)
    refs = {key: _Storage(key, value.size) for key, value in storages.items()}
    state = collections.OrderedDict(
        (name, _Tensor(rebuild, refs[key], offset, size, stride))
        for name, (key, offset, size, stride) in tensors.items()
    )
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=2)
    pickler.persistent_id = lambda obj: (
        ("storage", storage_type, obj.key, "cpu", obj.numel) if isinstance(obj, _Storage) else None
    )
    pickler.dump(state)
    write_torch_zip(path, buffer.getvalue(), {key: value.astype("<f4").tobytes() for key, value in storages.items()})


def write_torch_zip(path, data_pkl: bytes, storages: dict[str, bytes], compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", b"little")
        for key, data in storages.items():
            zf.writestr(f"archive/data/{key}", data)


def lstm_tensors(D=2, H=3):
    rng = np.random.default_rng(0)
    arrays = {
        "weight_ih_l0": rng.normal(size=(4 * H, D)),
        "weight_hh_l0": rng.normal(size=(4 * H, H)),
        "bias_ih_l0": rng.normal(size=4 * H),
        "bias_hh_l0": rng.normal(size=4 * H),
    }
    storages = {str(k): v.astype(np.float32).ravel() for k, v in enumerate(arrays.values())}
    tensors = {
        name: (str(k), 0, v.shape, (v.shape[1], 1) if v.ndim == 2 else (1,))
        for k, (name, v) in enumerate(arrays.items())
    }
    return arrays, tensors, storages


def test_a_crafted_torch_file_reads_like_a_real_one(tmp_path, monkeypatch):
    arrays, tensors, storages = lstm_tensors()
    torch_file(tmp_path / "ok.pt", monkeypatch, tensors, storages)
    layer = load_model(tmp_path / "ok.pt").directions(0)[0]
    np.testing.assert_allclose(layer.W_x, arrays["weight_ih_l0"].T.astype(np.float32), rtol=1e-6)


@pytest.mark.parametrize("opcode", [b"r\xff\xff\xff\x7f", b"q\xff", b"j\xf0\xff\xff\x7f", b"p4000000000\n"])
def test_pickle_memo_indices_claiming_gigabytes_are_refused(tmp_path, opcode):
    path = tmp_path / "memo.pt"
    data = b"\x80\x02}" + opcode + b"."
    write_torch_zip(path, data, {})
    error = promptly(load_model, path)
    assert isinstance(error, FileFormatError), error
    assert str(error).startswith(str(path)) and ("memo" in str(error) or "damaged" in str(error)), error


def test_stride_zero_and_overlapping_views_are_counted_at_their_own_size(tmp_path, monkeypatch):
    arrays, tensors, storages = lstm_tensors()
    key, _, _, _ = tensors["weight_ih_l0"]
    tensors["weight_ih_l0"] = (key, 0, (100_000, 100_000), (0, 0))  # 40 GB of one float
    torch_file(tmp_path / "zero.pt", monkeypatch, tensors, storages)
    error = promptly(load_model, tmp_path / "zero.pt")
    assert isinstance(error, FileFormatError), error
    assert "shape (100000, 100000)" in str(error) and "more than the" in str(error) and "--max-memory" in str(error)
    # many small overlapping views of one storage add up
    _, tensors, storages = lstm_tensors()
    for k in range(10):
        tensors[f"copy{k}"] = ("0", 0, (100_000, 24), (0, 1))  # rows overlapping on 24 floats: 9.6 MB each
    torch_file(tmp_path / "many.pt", monkeypatch, tensors, storages)
    with limits.using("32M"):
        with pytest.raises(FileFormatError, match="the tensors read so far"):
            load_model(tmp_path / "many.pt")
    assert len(load_model(tmp_path / "many.pt").all_layers()) == 1  # under the default limit they load


def test_hdf5_weights_declared_huge_but_never_written(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "huge.weights.h5"
    with h5py.File(path, "w") as h5:
        group = h5.create_group("layers/lstm/cell/vars")
        group.create_dataset("0", shape=(1_000_000, 100_000), dtype="f4")  # 400 GB, nothing stored
        group.create_dataset("1", data=np.zeros((3, 12), "f4"))
        group.create_dataset("2", data=np.zeros(12, "f4"))
    assert path.stat().st_size < 1_000_000
    error = promptly(load_model, path)
    assert isinstance(error, FileFormatError), error
    assert str(error).startswith(str(path)) and "/layers/lstm/cell/vars/0" in str(error)
    assert "more than the" in str(error)


def test_the_cli_turns_a_memory_error_into_one_line(tmp_path, monkeypatch, capsys):
    from lstm_viz import cli

    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float32))

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("lstm_viz.io.load_sequence", no_memory)
    code = cli.main(["trace", str(tmp_path / "x.npy"), "--random", "3", "-o", str(tmp_path / "t.npz"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"lstm-viz: error: {tmp_path / 'x.npy'}: not enough memory")


# -- 3. memory: refused before allocating, with a limit the user can raise -----------------------
def test_the_limit_comes_from_the_setter_the_environment_or_the_default(monkeypatch):
    monkeypatch.delenv(limits.ENV_VAR, raising=False)
    assert limits.max_bytes() == limits.default_bytes() <= 4 << 30
    monkeypatch.setenv(limits.ENV_VAR, "16G")
    assert limits.max_bytes() == 16 << 30
    with limits.using("512M"):
        assert limits.max_bytes() == 512 << 20
    assert limits.max_bytes() == 16 << 30
    assert limits.parse_size("1.5GiB") == 3 << 29 and limits.parse_size("4096") == 4096
    monkeypatch.setenv(limits.ENV_VAR, "lots")
    with pytest.raises(InputError, match="LSTM_VIZ_MAX_MEMORY: 'lots' is not a memory size"):
        limits.max_bytes()
    with pytest.raises(InputError):
        limits.set_max_bytes("-3G")


def test_a_compressed_member_that_expands_is_refused_until_the_limit_is_raised(tmp_path, monkeypatch):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, x=np.zeros((1, 2_000_000, 4), np.float32))  # 32 MB in ~30 KB
    assert path.stat().st_size < 200_000
    monkeypatch.setenv(limits.ENV_VAR, "8M")
    with pytest.raises(FileFormatError) as info:
        load_sequence(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "needs 30.5 MiB, more than the 8.0 MiB limit" in message
    assert "raise it with --max-memory or LSTM_VIZ_MAX_MEMORY" in message
    monkeypatch.setenv(limits.ENV_VAR, "64M")
    assert load_sequence(path).values.shape == (1, 2_000_000, 4)


def test_one_hot_text_of_a_huge_vocabulary_is_refused(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text(" ".join(f"w{k}" for k in range(3000)))  # 3000 x 3000 one-hot: 36 MB
    with limits.using("4M"):
        with pytest.raises(FileFormatError, match="one-hot input of 3,000 words over a vocabulary of 3,000 needs"):
            load_sequence(path, text_mode="words")
    assert load_sequence(path, text_mode="words").values.shape == (1, 3000, 3000)


def test_a_long_fasta_record_is_refused_before_encoding(tmp_path):
    path = tmp_path / "long.fa"
    path.write_text(">chr\n" + "ACGT" * 50_000 + "\n")
    with limits.using("1M"):
        with pytest.raises(FileFormatError, match="200,000 bases one-hot encoded needs .* limit") as info:
            load_sequence(path)
    assert str(info.value).startswith(str(path))


def test_the_engine_refuses_a_trace_larger_than_the_limit_before_running():
    model = LSTM.random(2, [64, 64], seed=0)
    x = np.zeros((2, 5000, 2), np.float32)  # 2 x 5000 x 2 layers x 384 x 4 bytes = 29 MiB
    with limits.using("8M"):
        with pytest.raises(InputError, match="recording 2 x 5000 steps .* needs .* more than the 8.0 MiB limit"):
            model.run(x)
    assert model.run(x[:, :10]).length == 10


def test_a_trace_file_whose_arrays_together_exceed_the_limit(tmp_path):
    trace = LSTM.random(2, 8).run(np.zeros((1, 40_000, 2), np.float32))
    trace.save(tmp_path / "t.npz")
    with limits.using("4M"):
        with pytest.raises(FileFormatError, match="t.npz: .*needs .* limit"):
            load_trace(tmp_path / "t.npz")


def test_npz_members_claiming_more_than_their_bytes(tmp_path):
    path = tmp_path / "claim.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("x.npy", _npy((1000, 1000)))
    with pytest.raises(FileFormatError, match="truncated"):
        load_sequence(path)


def test_json_sequence_errors_name_the_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"values": [[1, 2], [3, "x"]]}))
    with pytest.raises(LstmVizError, match="s.json"):
        load_sequence(path)


def test_trace_max_memory_refuses_and_raises_the_limit(tmp_path, capsys):
    from lstm_viz import cli

    np.save(tmp_path / "x.npy", np.zeros((3000, 2), np.float32))
    out = tmp_path / "t.npz"
    argv = ["trace", str(tmp_path / "x.npy"), "--random", "64,64", "-o", str(out), "-q"]
    assert cli.main([*argv, "--max-memory", "8K"]) == 2  # the 23.4 KiB sequence itself is refused
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "more than the 8.0 KiB limit; raise it with --max-memory" in err
    assert not out.exists() and limits.max_bytes() == limits.default_bytes()  # restored after the command
    # a trace over the budget (8.8 MiB here) is recorded to a temporary file instead of refused
    assert cli.main([*argv, "--max-memory", "1M"]) == 0 and out.exists()
    assert "recorded to a temporary file on disk" in capsys.readouterr().err
    out.unlink()
    assert cli.main([*argv, "--max-memory", "64M"]) == 0 and out.exists()
    with pytest.raises(SystemExit):
        cli.main([*argv, "--max-memory", "lots"])
    assert "'lots' is not a memory size" in capsys.readouterr().err


def test_trace_refuses_states_that_overflow_instead_of_writing_nan(tmp_path, capsys):
    from lstm_viz import cli
    from lstm_viz.engine import LSTMLayer
    from lstm_viz.io import save_model

    b = np.array([10.0, 0.0, 10.0, 10.0]).repeat(4)
    save_model(LSTM([LSTMLayer(np.zeros((1, 16)), np.zeros((2, 16)), b, W_proj=np.full((4, 2), 3e38))]),
               tmp_path / "m.npz")  # fmt: skip
    np.save(tmp_path / "x.npy", np.zeros((3, 1), np.float32))
    out = tmp_path / "t.npz"
    assert cli.main(["trace", str(tmp_path / "x.npy"), "--model", str(tmp_path / "m.npz"), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the states became infinite or NaN at step 0" in err and not out.exists()


def test_padding_many_short_sequences_to_one_long_one_is_checked_first(tmp_path, monkeypatch):
    """A small file of one long series and thousands of one-row series asks for
    (series x longest) padded values: refused before allocating, tables and JSON alike."""
    import json

    from lstm_viz import limits

    rows = ["symbol,price"] + [f"LONG,{k}" for k in range(6000)] + [f"S{k},{k}" for k in range(3000)]
    (tmp_path / "ragged.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    steps = [[[1.0]] * 6000] + [[[1.0]]] * 3000
    (tmp_path / "ragged.json").write_text(json.dumps(steps), encoding="utf-8")
    monkeypatch.setenv("LSTM_VIZ_MAX_MEMORY", "8M")  # 3001 x 6000 x (4 + 8) bytes = 206 MiB
    for name in ("ragged.csv", "ragged.json"):
        with pytest.raises(FileFormatError, match=rf"{name}: .*3,001 sequences padded to the longest, 6,000 steps"):
            load_sequence(tmp_path / name, table={"roles": {"symbol": "id"}} if name.endswith("csv") else None)
    with limits.using(limits.parse_size("1G")):  # raised: it opens
        assert load_sequence(tmp_path / "ragged.json").values.shape == (3001, 6000, 1)
