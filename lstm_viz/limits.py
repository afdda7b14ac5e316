"""How much memory one file, sequence or trace may take (Qt-free, NumPy-free).

Small files can claim or expand to gigabytes (a compressed zip member, an HDF5 dataset
declared huge, a stride-0 tensor view, the one-hot input of a huge vocabulary). Every
such allocation is checked here *before* it is made, against one limit the user can
raise:

- :func:`set_max_bytes` (``lstm-viz trace --max-memory 16G`` calls it), else
- the environment variable ``LSTM_VIZ_MAX_MEMORY`` (``"16G"``, ``"512M"``, bytes), else
- the default: 4 GiB, or three quarters of the machine's memory when that is less.
"""

from __future__ import annotations

import contextlib
import os
import re

from lstm_viz import environment
from lstm_viz.errors import FileFormatError, InputError

ENV_VAR = environment.MAX_MEMORY
DEFAULT_BYTES = 4 << 30
HOW_TO_RAISE = f"raise it with --max-memory or {ENV_VAR}"

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)
_override: int | None = None


def parse_size(text: str) -> int:
    """Bytes in ``"16G"``, ``"512M"``, ``"1.5GiB"``, ``"4096"`` (K, M, G, T are powers of 1024)."""
    match = _SIZE.match(str(text))
    if not match:
        raise InputError(f"{text!r} is not a memory size like 16G, 512M or 4096")
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if value <= 0:
        raise InputError(f"the memory limit must be positive, got {text!r}")
    return value


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_bytes() -> int:
    """4 GiB, or three quarters of the physical memory when that is less."""
    physical = _physical_memory()
    if physical and physical > 0:
        return min(DEFAULT_BYTES, physical * 3 // 4)
    return DEFAULT_BYTES


def max_bytes() -> int:
    """The current limit in bytes (setter, then ``LSTM_VIZ_MAX_MEMORY``, then the default)."""
    if _override is not None:
        return _override
    text = os.environ.get(ENV_VAR, "").strip()
    if text:
        try:
            return parse_size(text)
        except InputError as exc:
            raise InputError(f"{ENV_VAR}: {exc}") from None
    return default_bytes()


def set_max_bytes(value: int | str | None) -> None:
    """Set the limit (bytes, or a size like ``"16G"``); None returns to the environment/default."""
    global _override
    if value is None:
        _override = None
    elif isinstance(value, str):
        _override = parse_size(value)
    else:
        if int(value) <= 0:
            raise InputError(f"the memory limit must be positive, got {value!r}")
        _override = int(value)


@contextlib.contextmanager
def using(value: int | str | None):
    """Run a block with the limit set to ``value`` (None: unchanged), then restore it."""
    global _override
    previous = _override
    if value is not None:
        set_max_bytes(value)
    try:
        yield
    finally:
        _override = previous


def format_bytes(n: int | float) -> str:
    """``12.0 GiB``, ``512.0 MiB``, ``100 bytes``."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def too_much(needed: int, what: str) -> str | None:
    """The message refusing ``what`` when it ``needed`` more bytes than the limit, else None."""
    limit = max_bytes()
    if needed <= limit:
        return None
    return f"{what} needs {format_bytes(needed)}, more than the {format_bytes(limit)} limit; {HOW_TO_RAISE}"


def check(needed: int, what: str, path: str | os.PathLike | None = None) -> None:
    """Refuse ``what`` before allocating ``needed`` bytes when that is over the limit.

    Raises :class:`~lstm_viz.errors.FileFormatError` naming ``path`` when given, else
    :class:`~lstm_viz.errors.InputError`.
    """
    message = too_much(int(needed), what)
    if message is None:
        return
    if path is not None:
        raise FileFormatError(path, message)
    raise InputError(message)
