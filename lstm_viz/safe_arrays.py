"""Reading ``.npy`` and ``.npz`` files from untrusted sources.

``np.load`` with ``allow_pickle=False`` already refuses object arrays, but it allocates
whatever a header claims before reading, returns raw bytes for a zip member that is not
an array, and lets a zoo of exceptions escape (``zlib.error``, ``NotImplementedError``,
``struct.error``...). Here every header is checked against the bytes really present
before anything is allocated, and every failure becomes a
:class:`~lstm_viz.errors.FileFormatError` that names the file and the array.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import struct
import zipfile
import zlib

import numpy as np

from lstm_viz import limits
from lstm_viz.errors import FileFormatError

FLOAT32_MAX = float(np.finfo(np.float32).max)

READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    UnicodeError,
    SyntaxError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
)
"""What the standard library and NumPy raise on damaged archives and headers."""

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"


def _read_array(path, handle, available: int, what: str) -> np.ndarray:
    """Read one .npy stream of which ``available`` bytes (header included) exist."""
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        else:
            raise FileFormatError(path, f"{what} has a damaged or unsupported NumPy header (format version {version})")
    except FileFormatError:
        raise
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"{what} is not a valid NumPy array: {exc}") from None
    if dtype.hasobject:
        raise FileFormatError(path, f"{what} holds Python objects, refused (unpickling them could run code)")
    if any(int(n) < 0 for n in shape):
        raise FileFormatError(path, f"{what} has a negative size in its shape {shape}: a damaged NumPy header")
    count = math.prod(int(n) for n in shape)
    nbytes = count * dtype.itemsize
    limits.check(nbytes, f"{what} (shape {shape}, {dtype})", path)
    if nbytes > available:
        raise FileFormatError(
            path, f"{what} claims shape {shape} ({nbytes:,} bytes) but the file holds {available:,}: truncated"
        )
    try:
        buffer = bytearray(nbytes)
        got = handle.readinto(buffer) if nbytes else 0
    except MemoryError:
        raise FileFormatError(path, f"{what}: not enough memory for {nbytes:,} bytes") from None
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"{what} cannot be read: {exc}") from None
    if got != nbytes:
        raise FileFormatError(path, f"{what} is truncated: {got:,} of {nbytes:,} bytes")
    array = np.frombuffer(buffer, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


def regular_file(path: str | os.PathLike) -> str:
    """``path`` as a string when it is a regular file (symlinks followed), else FileFormatError.

    Called before every open of a file the user named: opening a named pipe blocks until
    a writer comes, and a device such as /dev/zero or /dev/urandom never ends. The check
    is a ``stat``, which neither opens nor blocks.
    """
    name = os.fspath(path)
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise FileFormatError(path, "no such file") from None
    except (OSError, ValueError) as exc:
        raise FileFormatError(path, f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISREG(mode):
        return name
    if stat.S_ISDIR(mode):
        raise FileFormatError(path, "is not a regular file (a folder); only regular files are read")
    kind = "a named pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else None
    kind = kind or ("a socket" if stat.S_ISSOCK(mode) else "not a plain file")
    raise FileFormatError(path, f"is not a regular file ({kind}); only regular files are read")


def check_weights(path, name: str, value: np.ndarray) -> np.ndarray:
    """Refuse a weight tensor that holds NaN, infinities or values float32 cannot hold.

    The engine runs in float32 by default: a finite float64 weight such as 1e39 would
    become infinite there and turn every state into NaN.
    """
    if value.dtype.kind not in "fiu":
        raise FileFormatError(path, f"tensor {name!r} has dtype {value.dtype}, expected floats")
    if value.dtype.kind == "f":
        if not np.all(np.isfinite(value)):
            raise FileFormatError(path, f"tensor {name!r} holds NaN or infinite values")
        if value.size and float(np.max(np.abs(value))) > FLOAT32_MAX:
            raise FileFormatError(
                path,
                f"tensor {name!r} holds values up to {float(np.max(np.abs(value))):.3g}, beyond float32's range "
                f"(±{FLOAT32_MAX:.3g}); they would run as infinities",
            )
    elif value.size and float(np.max(np.abs(value.astype(np.float64)))) > FLOAT32_MAX:  # pragma: no cover
        raise FileFormatError(path, f"tensor {name!r} holds values beyond float32's range")
    return value


@contextlib.contextmanager
def opening(path: str | os.PathLike):
    """Turn the errors of opening ``path`` into FileFormatError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise FileFormatError(path, "no such file") from None
    except IsADirectoryError:
        raise FileFormatError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from None


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.npy`` file safely."""
    regular_file(path)
    with opening(path):
        size = os.path.getsize(path)
        handle = open(path, "rb")
    with handle:
        return _read_array(path, handle, size, "the array")


class NpzReader:
    """A ``.npz`` archive opened for safe reading; ``files`` lists the array names."""

    def __init__(self, path: str | os.PathLike):
        self.path = path
        regular_file(path)
        with opening(path):
            open(path, "rb").close()
        self.read_bytes = 0
        """Bytes of arrays read so far: all of them together stay under the memory limit."""
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except READ_ERRORS as exc:
            raise FileFormatError(path, f"a damaged or truncated zip archive ({exc})") from None
        self._infos = {info.filename[:-4]: info for info in infos if info.filename.endswith(".npy")}
        self.files = list(self._infos)
        self.names = [info.filename for info in infos]
        """Every member of the zip, arrays or not."""

    def __contains__(self, key: str) -> bool:
        return key in self._infos

    def __getitem__(self, key: str) -> np.ndarray:
        info = self._infos.get(key)
        if info is None:
            raise FileFormatError(self.path, f"missing array {key!r}")
        what = f"array {key!r}"
        if self.read_bytes:
            limits.check(self.read_bytes + info.file_size, f"the arrays read so far with {what}", self.path)
        try:
            handle = self._zip.open(info)
        except READ_ERRORS as exc:
            raise FileFormatError(self.path, f"{what} cannot be read: {exc}") from None
        with handle:
            array = _read_array(self.path, handle, info.file_size, what)
        self.read_bytes += array.nbytes
        return array

    def text(self, key: str) -> str:
        """A 0-d string array (such as a JSON ``meta``) as ``str``."""
        value = self[key]
        if value.ndim != 0 or value.dtype.kind != "U":
            raise FileFormatError(
                self.path, f"array {key!r} should be a text string, found {value.dtype} {value.shape}"
            )
        return str(value)

    def meta(self, format_name: str, version: int) -> dict:
        """The JSON object in ``meta``, checked to describe ``format_name`` up to ``version``."""
        if "meta" not in self:
            raise FileFormatError(self.path, f"missing 'meta': not an {format_name} file")
        try:
            meta = json.loads(self.text("meta"))
        except (ValueError, RecursionError) as exc:
            raise FileFormatError(self.path, f"'meta' is not valid JSON: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != format_name:
            raise FileFormatError(self.path, f"'meta' does not describe an {format_name} file")
        found = meta.get("version")
        if not isinstance(found, int) or isinstance(found, bool) or not 1 <= found <= version:
            raise FileFormatError(
                self.path, f"{format_name} version {found!r} is not one this lstm-viz reads (1 to {version})"
            )
        return meta

    def close(self) -> None:
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def sniff(path: str | os.PathLike, n: int = 8) -> bytes:
    """The first ``n`` bytes of a regular file, with a FileFormatError for anything else."""
    regular_file(path)
    with opening(path), open(path, "rb") as handle:
        return handle.read(n)
