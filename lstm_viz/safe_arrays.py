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
import struct
import zipfile
import zlib

import numpy as np

from lstm_viz.errors import FileFormatError

MAX_ARRAY_BYTES = 8 << 30
"""Largest single array accepted (8 GiB); larger claims are refused before allocating."""

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
    count = math.prod(int(n) for n in shape)
    nbytes = count * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise FileFormatError(path, f"{what} claims {nbytes:,} bytes, more than the {MAX_ARRAY_BYTES:,} accepted")
    if nbytes > available:
        raise FileFormatError(
            path, f"{what} claims shape {shape} ({nbytes:,} bytes) but the file holds {available:,}: truncated"
        )
    buffer = bytearray(nbytes)
    try:
        got = handle.readinto(buffer) if nbytes else 0
    except READ_ERRORS as exc:
        raise FileFormatError(path, f"{what} cannot be read: {exc}") from None
    if got != nbytes:
        raise FileFormatError(path, f"{what} is truncated: {got:,} of {nbytes:,} bytes")
    array = np.frombuffer(buffer, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C")


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
    with opening(path):
        size = os.path.getsize(path)
        handle = open(path, "rb")
    with handle:
        return _read_array(path, handle, size, "the array")


class NpzReader:
    """A ``.npz`` archive opened for safe reading; ``files`` lists the array names."""

    def __init__(self, path: str | os.PathLike):
        self.path = path
        with opening(path):
            open(path, "rb").close()
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
        try:
            handle = self._zip.open(info)
        except READ_ERRORS as exc:
            raise FileFormatError(self.path, f"{what} cannot be read: {exc}") from None
        with handle:
            return _read_array(self.path, handle, info.file_size, what)

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
    """The first ``n`` bytes of a file, with a FileFormatError for anything unreadable."""
    with opening(path), open(path, "rb") as handle:
        return handle.read(n)
