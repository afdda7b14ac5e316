"""PyTorch files without PyTorch: ``torch.save`` zips and ``.safetensors``.

A ``torch.save`` file is a zip holding ``<name>/data.pkl`` and one raw little-endian
storage per tensor under ``<name>/data/<key>``. The pickle is read by an unpickler that
knows only what a plain state_dict needs (``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` / ``_rebuild_parameter`` and the ``torch.*Storage``
types) and refuses every other global, so no code in the file can run. Storages are read
by this module, checked against the size the zip really holds.
"""

from __future__ import annotations

import collections
import io
import math
import os
import pickle
import re
import zipfile

import numpy as np

from lstm_viz import limits
from lstm_viz.errors import FileFormatError
from lstm_viz.safe_arrays import READ_ERRORS, regular_file

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
MAX_PICKLE_BYTES = 64 << 20


class _StorageType:
    def __init__(self, name: str):
        self.name = name
        self.dtype = None if name == "BFloat16Storage" else np.dtype(STORAGE_DTYPES[name])


def _rebuild_tensor(storage, offset, size, stride, *rest):
    if not (isinstance(storage, tuple) and len(storage) == 4):
        raise pickle.UnpicklingError("a tensor without a storage")
    array, path, key, budget = storage
    if not (
        isinstance(offset, int)
        and isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride)
        and all(isinstance(n, int) and n >= 0 for n in size)
        and all(isinstance(n, int) and n >= 0 for n in stride)
        and offset >= 0
    ):
        raise FileFormatError(path, f"storage {key!r}: malformed tensor geometry {size} / {stride}")
    if math.prod(size) == 0:
        return np.zeros(size, array.dtype)
    # A view may repeat its storage (stride 0, overlaps): what it costs is its own size.
    budget.spend(math.prod(size) * array.itemsize, f"tensor of shape {size} on storage {key!r}")
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= array.size:
        raise FileFormatError(path, f"storage {key!r}: a tensor of shape {size} reaches past its {array.size} elements")
    view = np.lib.stride_tricks.as_strided(
        array[offset:], shape=size, strides=[s * array.itemsize for s in stride], writeable=False
    )
    return np.array(view)


def _rebuild_parameter(data, requires_grad=None, backward_hooks=None, *rest):
    return data


class _Budget:
    """Bytes the tensors of one file take once copied out of their storages, against the limit."""

    def __init__(self, path):
        self.path, self.used = path, 0

    def spend(self, nbytes: int, what: str) -> None:
        limits.check(nbytes, what, self.path)
        self.used += nbytes
        limits.check(self.used, f"the tensors read so far (with a {what})", self.path)


def _check_opcodes(path, data: bytes) -> None:
    """Refuse a pickle whose memo indices could not come from this many bytes.

    The C unpickler grows its memo table to the largest index it sees: a 5-byte
    ``LONG_BINPUT 4000000000`` would ask for 32 GB before anything else happens.
    """
    import pickletools

    limit = len(data)
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if opcode.name in ("PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"):
                if not isinstance(arg, int) or not 0 <= arg <= limit:
                    raise FileFormatError(
                        path, f"data.pkl uses memo index {arg} in {limit:,} bytes: a damaged or crafted pickle"
                    )
    except FileFormatError:
        raise
    except (ValueError, pickle.UnpicklingError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"data.pkl is not a valid pickle: {exc}") from None


class _SafeUnpickler(pickle.Unpickler):
    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, data: bytes, archive: zipfile.ZipFile, root: str, path):
        super().__init__(io.BytesIO(data))
        self.archive, self.root, self.path = archive, root, path
        self.storages: dict = {}
        self.budget = _Budget(path)

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and (name in STORAGE_DTYPES or name == "BFloat16Storage"):
            return _StorageType(name)
        raise FileFormatError(
            self.path,
            f"refused: the file asks to run '{module}.{name}'; only plain state_dicts of tensors are read "
            "(save model.state_dict(), not the model object)",
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise FileFormatError(self.path, f"unexpected persistent reference {str(pid)[:80]!r}")
        storage_type, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        if key in self.storages:
            return self.storages[key]
        if not isinstance(storage_type, _StorageType) or not isinstance(numel, int) or numel < 0:
            raise FileFormatError(self.path, f"storage {key!r} has an unknown type")
        if storage_type.dtype is None:
            raise FileFormatError(self.path, "bfloat16 tensors are not supported; save the model as float32")
        member = f"{self.root}/data/{key}"
        try:
            info = self.archive.getinfo(member)
        except KeyError:
            raise FileFormatError(self.path, f"storage {key!r} is missing from the archive") from None
        nbytes = numel * storage_type.dtype.itemsize
        if nbytes > info.file_size:
            raise FileFormatError(self.path, f"storage {key!r} claims {nbytes:,} bytes but holds {info.file_size:,}")
        self.budget.spend(2 * nbytes, f"storage {key!r} ({numel:,} elements)")
        with self.archive.open(info) as handle:
            data = handle.read(nbytes)
        if len(data) != nbytes:
            raise FileFormatError(self.path, f"storage {key!r} is truncated")
        array = np.frombuffer(data, dtype=storage_type.dtype.newbyteorder("<"), count=numel)
        self.storages[key] = (array.astype(storage_type.dtype.newbyteorder("=")), self.path, key, self.budget)
        return self.storages[key]


def read_torch_file(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save`` zip, flattened to dotted names."""
    regular_file(path)
    try:
        archive = zipfile.ZipFile(path)
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"not a PyTorch zip file (legacy torch.save formats are not read): {exc}") from None
    with archive:
        try:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl") and name.count("/") == 1]
            if not pickles:
                raise FileFormatError(path, "a zip without '<name>/data.pkl': not a torch.save file")
            info = archive.getinfo(pickles[0])
            if info.file_size > MAX_PICKLE_BYTES:
                raise FileFormatError(path, f"data.pkl is {info.file_size:,} bytes, too large for a state_dict")
            data = archive.read(info)
            byteorder = pickles[0].split("/")[0] + "/byteorder"
            if byteorder in archive.namelist() and archive.read(byteorder).strip() not in (b"little", b""):
                raise FileFormatError(path, "big-endian PyTorch files are not supported")
            _check_opcodes(path, data)
            obj = _SafeUnpickler(data, archive, pickles[0].split("/")[0], path).load()
        except FileFormatError:
            raise
        except (pickle.UnpicklingError, AttributeError, RecursionError, *READ_ERRORS) as exc:
            raise FileFormatError(path, f"damaged PyTorch file: {exc}") from None
        except MemoryError:
            raise FileFormatError(
                path, "data.pkl asks for more memory than there is: a damaged or crafted pickle"
            ) from None
    return obj


MAX_DEPTH = 32
MAX_ITEMS = 100_000


def walk(path, obj) -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Tensors and lists of strings (a vocabulary, say) in nested containers, by dotted name."""
    tensors: dict[str, np.ndarray] = {}
    strings: dict[str, list[str]] = {}
    seen = 0

    def visit(value, name, depth):
        nonlocal seen
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_ITEMS:
            raise FileFormatError(path, "the file's containers nest too deep or hold too many items for a state_dict")
        if isinstance(value, np.ndarray):
            tensors[name] = value
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{name}.{key}" if name else str(key), depth + 1)
        elif isinstance(value, (list, tuple)):
            if value and all(isinstance(v, str) for v in value):
                strings[name] = list(value)
            else:
                for k, item in enumerate(value):
                    visit(item, f"{name}.{k}" if name else str(k), depth + 1)

    visit(obj, "", 0)
    return tensors, strings


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file (via the safetensors library, which checks offsets)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    regular_file(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(8)
        if len(head) < 8 or int.from_bytes(head, "little") > size - 8:
            raise FileFormatError(
                path, "safetensors header length is larger than the file: truncated or not safetensors"
            )
        limits.check(size, "the safetensors file's tensors", path)
        return dict(load_file(os.fspath(path)))
    except FileFormatError:
        raise
    except (SafetensorError, *READ_ERRORS) as exc:
        raise FileFormatError(path, f"damaged safetensors file: {exc}") from None


LSTM_KEY = re.compile(r"^(.*?)weight_ih_l0$")


def lstm_prefixes(tensors: dict[str, np.ndarray]) -> list[str]:
    """Every prefix under which an nn.LSTM's parameters sit ('' for a bare LSTM)."""
    return sorted({m.group(1) for key in tensors if (m := LSTM_KEY.match(key))}, key=lambda p: (len(p), p))
