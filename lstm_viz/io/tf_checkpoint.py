"""TensorFlow 1 checkpoints (``name.index`` + ``name.data-00000-of-00001``) without TensorFlow.

A checkpoint opens from whatever a TensorFlow user has at hand (:func:`checkpoint_prefix`):
the folder ``tf.train.Saver`` wrote (its ``checkpoint`` text file names the latest), that
``checkpoint`` file, the prefix (``model.ckpt-1000``), the ``.index``, a ``.data-*`` shard
or the ``.meta`` graph.

The ``.index`` file is a TensorFlow table (the LevelDB SSTable layout: data blocks of
prefix-compressed key/value entries, an index block, a 48-byte footer ending in a magic
number) mapping each variable name to a ``BundleEntryProto`` that says where its bytes sit
in the data shards. No small library reads this format without TensorFlow itself, so the
few structures needed are decoded here, every length and offset checked against the file.
"""

from __future__ import annotations

import os
import re

import numpy as np

from lstm_viz import limits
from lstm_viz.errors import FileFormatError, ModelError
from lstm_viz.io.frameworks import from_tf1_variables
from lstm_viz.safe_arrays import check_weights, regular_file

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
MAX_INDEX_BYTES = 64 << 20
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 19: np.float16}


class _Reader:
    """Varints and fixed-width integers from a bytes object, bounds-checked."""

    def __init__(self, path, data: bytes, start: int = 0, end: int | None = None):
        self.path, self.data, self.pos = path, data, start
        self.end = len(data) if end is None else end

    def fail(self, what: str):
        raise FileFormatError(self.path, f"damaged checkpoint index: {what}")

    def varint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= self.end or shift > 63:
                self.fail("a number runs past its block")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            self.fail("a field runs past its block")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def _block(path, data: bytes, offset: int, size: int) -> tuple[int, int]:
    """Bounds of a block's contents; checks the 5-byte trailer (compression type, crc)."""
    if offset < 0 or size < 0 or offset + size + 5 > len(data):
        raise FileFormatError(path, "damaged checkpoint index: a block lies outside the file")
    if data[offset + size] != 0:
        raise FileFormatError(path, "compressed checkpoint indexes are not supported")
    return offset, offset + size


def _entries(path, data: bytes, start: int, end: int):
    """Key/value pairs of one block."""
    if end - start < 4:
        raise FileFormatError(path, "damaged checkpoint index: a block is too short")
    restarts = int.from_bytes(data[end - 4 : end], "little")
    limit = end - 4 - 4 * restarts
    if restarts < 1 or limit < start:
        raise FileFormatError(path, "damaged checkpoint index: bad restart table")
    reader = _Reader(path, data, start, limit)
    key = b""
    while reader.pos < limit:
        shared, unshared, length = reader.varint(), reader.varint(), reader.varint()
        if shared > len(key):
            reader.fail("a key shares more than the previous key holds")
        key = key[:shared] + reader.take(unshared)
        yield key, reader.take(length)


def _fields(path, data: bytes):
    """(field number, wire type, value) of a protobuf message; nested messages as bytes."""
    reader = _Reader(path, data)
    while reader.pos < reader.end:
        tag = reader.varint()
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            yield number, wire, reader.varint()
        elif wire == 1:
            yield number, wire, int.from_bytes(reader.take(8), "little")
        elif wire == 2:
            yield number, wire, reader.take(reader.varint())
        elif wire == 5:
            yield number, wire, int.from_bytes(reader.take(4), "little")
        else:
            reader.fail(f"unsupported protobuf wire type {wire}")


def _entry(path, name: str, value: bytes) -> dict:
    entry = {"dtype": 0, "shape": [], "shard": 0, "offset": 0, "size": 0, "slices": False}
    for number, _, field in _fields(path, value):
        if number == 1:
            entry["dtype"] = field
        elif number == 2:
            for dim_number, _, dim in _fields(path, field):
                if dim_number == 2:
                    size = next((v for n, _, v in _fields(path, dim) if n == 1), 0)
                    entry["shape"].append(size)
        elif number == 3:
            entry["shard"] = field
        elif number == 4:
            entry["offset"] = field
        elif number == 5:
            entry["size"] = field
        elif number == 7:
            entry["slices"] = True
    return entry


STATE_FILE = "checkpoint"
MAX_STATE_BYTES = 1 << 20
DATA_SUFFIX = re.compile(r"^(.*)\.data-\d{5}-of-\d{5}$")
LATEST = re.compile(r'^\s*model_checkpoint_path\s*:\s*"((?:[^"\\]|\\.)*)"\s*$', re.MULTILINE)


def _latest_in_state_file(path: str) -> str:
    """The prefix a ``checkpoint`` state file names as the latest, inside its own folder.

    TensorFlow writes the name relative to the folder or as an absolute path; like
    ``tf.train.latest_checkpoint`` after a folder was moved, only the name's last part is
    looked up, in the folder itself: nothing outside it is read.
    """
    regular_file(path)
    if os.path.getsize(path) > MAX_STATE_BYTES:
        raise FileFormatError(path, "is too large for a TensorFlow 'checkpoint' state file")
    try:
        with open(path, "rb") as handle:
            text = handle.read(MAX_STATE_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(path, "is not a TensorFlow 'checkpoint' state file (not text)") from None
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    match = LATEST.search(text)
    if not match:
        raise FileFormatError(path, 'names no checkpoint (no line model_checkpoint_path: "...")')
    name = re.sub(r"\\(.)", r"\1", match.group(1))
    folder = os.path.dirname(os.path.abspath(path))
    candidate = os.path.normpath(os.path.join(folder, name)) if not os.path.isabs(name) else ""
    if not candidate or os.path.dirname(candidate) != folder:
        candidate = os.path.join(folder, os.path.basename(name.replace("\\", "/")))
    return candidate


def _looks_like_state_file(path: str) -> bool:
    try:
        if os.path.getsize(path) > MAX_STATE_BYTES:
            return False
        regular_file(path)
        with open(path, "rb") as handle:
            return b"model_checkpoint_path" in handle.read(MAX_STATE_BYTES)
    except (OSError, FileFormatError):
        return False


def checkpoint_prefix(path: str | os.PathLike) -> str | None:
    """The prefix of the TF checkpoint ``path`` stands for, or None when it is not one.

    ``path`` may be the folder ``tf.train.Saver`` wrote (with its ``checkpoint`` state
    file, or holding exactly one ``*.index``), the ``checkpoint`` file itself, the prefix
    (``model.ckpt-1000``, with a ``.index`` beside it), the ``.index``, a
    ``.data-NNNNN-of-NNNNN`` shard or the ``.meta`` graph. Only names and a small text
    file are looked at; whether the checkpoint is whole is for :func:`read_checkpoint` to
    say. A state file that names no checkpoint raises FileFormatError.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        state = os.path.join(name, STATE_FILE)
        if os.path.exists(state):
            return _latest_in_state_file(state)
        try:
            indexes = sorted(entry for entry in os.listdir(name) if entry.endswith(".index"))
        except OSError:
            return None
        if len(indexes) == 1:
            return os.path.join(name, indexes[0][: -len(".index")])
        return None
    if name.endswith(".index"):
        return name[: -len(".index")]
    if name.endswith(".meta"):
        return name[: -len(".meta")]
    match = DATA_SUFFIX.match(name)
    if match:
        return match.group(1)
    if os.path.basename(name) == STATE_FILE and _looks_like_state_file(name):
        return _latest_in_state_file(name)
    if not os.path.exists(name) and os.path.exists(name + ".index"):
        return name
    return None


def index_path(path: str | os.PathLike) -> str:
    """The ``.index`` file of a checkpoint given in any of the forms :func:`checkpoint_prefix` takes."""
    prefix = checkpoint_prefix(path)
    if prefix is None:
        name = os.fspath(path)
        if os.path.isdir(name):
            raise FileFormatError(
                path, "is a folder without a TensorFlow 'checkpoint' file or a single '*.index': not a checkpoint"
            )
        prefix = name
    return prefix + ".index"


def read_checkpoint(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every float variable of a TF checkpoint, by name; ``path`` in any form of :func:`checkpoint_prefix`."""
    index = index_path(path)
    prefix = index[: -len(".index")]
    if os.path.exists(index):
        regular_file(index)
    try:
        size = os.path.getsize(index)
        if size > MAX_INDEX_BYTES:
            raise FileFormatError(index, f"checkpoint index of {size:,} bytes is too large")
        with open(index, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise FileFormatError(path, f"no checkpoint index {os.path.basename(index)!r} next to it") from None
    except OSError as exc:
        raise FileFormatError(index, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) < FOOTER_SIZE or int.from_bytes(data[-8:], "little") != TABLE_MAGIC:
        raise FileFormatError(index, "not a TensorFlow checkpoint index (no table footer)")
    footer = _Reader(index, data, len(data) - FOOTER_SIZE, len(data) - 8)
    footer.varint(), footer.varint()  # metaindex handle, unused
    index_offset, index_size = footer.varint(), footer.varint()
    entries = {}
    header = None
    for _, handle in _entries(index, data, *_block(index, data, index_offset, index_size)):
        handle_reader = _Reader(index, handle)
        offset, size = handle_reader.varint(), handle_reader.varint()
        for key, value in _entries(index, data, *_block(index, data, offset, size)):
            name = key.decode("utf-8", "replace")
            if not name:
                header = {n: v for n, _, v in _fields(index, value) if n in (1, 2)}
            else:
                entries[name] = _entry(index, name, value)
    shards = (header or {}).get(1, 1)
    if header and header.get(2, 0) != 0:
        raise FileFormatError(index, "big-endian checkpoints are not supported")
    arrays = {}
    total = 0
    for name, entry in entries.items():
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None or np.dtype(dtype).kind != "f":
            continue
        if entry["slices"]:
            raise FileFormatError(index, f"variable {name!r} is stored in slices (partitioned), not supported")
        count = int(np.prod(entry["shape"], dtype=object)) if entry["shape"] else 1
        nbytes = count * np.dtype(dtype).itemsize
        if nbytes != entry["size"]:
            raise FileFormatError(
                index, f"variable {name!r}: shape {entry['shape']} does not match its {entry['size']} bytes"
            )
        total += nbytes
        limits.check(nbytes, f"variable {name!r} (shape {entry['shape']})", index)
        limits.check(total, "the checkpoint's float variables together", index)
        if not 0 <= entry["shard"] < shards:
            raise FileFormatError(index, f"variable {name!r} names shard {entry['shard']} of {shards}")
        shard = f"{prefix}.data-{entry['shard']:05d}-of-{shards:05d}"
        if os.path.exists(shard):
            regular_file(shard)
        try:
            if entry["offset"] + nbytes > os.path.getsize(shard):
                raise FileFormatError(shard, f"variable {name!r} reaches past the end of the data file")
            with open(shard, "rb") as handle:
                handle.seek(entry["offset"])
                raw = handle.read(nbytes)
        except FileNotFoundError:
            raise FileFormatError(index, f"data shard {os.path.basename(shard)!r} is missing") from None
        arrays[name] = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(entry["shape"])
    if not arrays:
        raise FileFormatError(index, "the checkpoint holds no float variables")
    return arrays


CELL_NAME = re.compile(r"(^|/)(basic_)?lstm_cell(_\d+)?$|(^|/)cell_\d+/(basic_)?lstm_cell$")


def lstm_variables(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The variables of LSTMCell / BasicLSTMCell scopes (optimizer slots and other layers left out)."""
    keep = {}
    for name, value in arrays.items():
        scope, _, leaf = name.rpartition("/")
        if leaf in ("kernel", "bias", "w_i_diag", "w_f_diag", "w_o_diag") and CELL_NAME.search(scope):
            keep[name] = value
        elif name.endswith("/projection/kernel") and CELL_NAME.search(name[: -len("/projection/kernel")]):
            keep[name] = value
    return keep


def model_from_tf_variables(path, arrays, *, forget_bias=1.0, cell_clip=None, proj_clip=None):
    variables = lstm_variables(arrays)
    if not variables:
        sample = ", ".join(sorted(arrays)[:8])
        raise FileFormatError(
            path, f"no LSTMCell/BasicLSTMCell variables (…/lstm_cell/kernel) found; variables: {sample}"
        )
    for name, value in variables.items():
        check_weights(path, name, value)
    try:
        model = from_tf1_variables(variables, forget_bias=forget_bias, cell_clip=cell_clip, proj_clip=proj_clip)
    except ModelError as exc:
        raise FileFormatError(path, str(exc)) from None
    described = model.metadata.get("provenance")
    if isinstance(described, dict):
        described["file"] = None if path is None else os.path.basename(os.path.normpath(os.fspath(path)))
    model.metadata.update(
        source_format="tensorflow-1",
        forget_bias=forget_bias,
        note="TensorFlow adds forget_bias at run time and does not store it (nor cell_clip/proj_clip): "
        "pass the values the model was built with",
    )
    return model
