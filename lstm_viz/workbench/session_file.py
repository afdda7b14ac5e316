"""Session files (``.lvz``): one small JSON document that brings a view back.

It holds the core's state (:mod:`lstm_viz.workbench.state`: the files opened and every
option they were read with, step, batch, layer, selection, what-if clamps and edits, a
sequence made in memory by its values), the visible time range, and whatever the window
adds (layout, panel settings) under ``"window"``. Each file is recorded by its absolute
path, its path relative to the session's folder, its size and a SHA-256 of its content
(of every file, in name order, for a model folder). A file larger than
:data:`HASH_WHOLE` bytes is hashed by its size, first and last :data:`HASH_SAMPLE` bytes
("sha256-sampled"), so saving stays quick; both kinds tell a changed file apart.

Reading never executes anything: JSON only, of at most :data:`MAX_BYTES`, a regular file,
checked field by field. Writing goes to a temporary file in the same folder, flushed to
disk, then renamed over the target: a crash while saving leaves the old session intact.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass

from lstm_viz import atomic
from lstm_viz.errors import InputError

FORMAT = "lstm-viz session"
VERSION = 1
SUFFIX = ".lvz"
MAX_BYTES = 64 * 2**20
HASH_WHOLE = 256 * 2**20
HASH_SAMPLE = 4 * 2**20


class SessionError(InputError):
    """A session file that cannot be read or written (the message names it)."""


def _hash_file(path: str, digest) -> str:
    size = os.path.getsize(path)
    with open(path, "rb") as handle:
        if size <= HASH_WHOLE:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            return "sha256"
        digest.update(str(size).encode())
        digest.update(handle.read(HASH_SAMPLE))
        handle.seek(size - HASH_SAMPLE)
        digest.update(handle.read(HASH_SAMPLE))
        return "sha256-sampled"


def fingerprint(path: str) -> dict:
    """Size and content hash of a file, or of every file of a folder (names included)."""
    digest = hashlib.sha256()
    if os.path.isdir(path):
        kind, size = "sha256", 0
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                digest.update(os.path.relpath(full, path).encode("utf-8", "surrogateescape") + b"\0")
                size += os.path.getsize(full)
                if _hash_file(full, digest) == "sha256-sampled":
                    kind = "sha256-sampled"
        return {"size": size, kind: digest.hexdigest()}
    kind = _hash_file(path, digest)
    return {"size": os.path.getsize(path), kind: digest.hexdigest()}


def file_record(path: str, session_path: str) -> dict:
    full = os.path.abspath(path)
    record = {"path": full, "relative": os.path.relpath(full, os.path.dirname(os.path.abspath(session_path)))}
    record.update(fingerprint(full))
    return record


@dataclass
class Found:
    """Where a recorded file is now: ``path`` (None: not found), ``moved`` (found beside
    the session instead of at its recorded path), ``changed`` (its content differs)."""

    role: str
    recorded: str
    path: str | None
    moved: bool = False
    changed: bool = False


def same_content(record: dict, path: str) -> bool:
    now = fingerprint(path)
    return all(now.get(key) == record.get(key) for key in ("size", "sha256", "sha256-sampled") if key in record)


def find(role: str, record: dict, session_path: str) -> Found:
    """Look for a recorded file at its path, then relative to the session's folder (the
    two moved together)."""
    recorded = str(record.get("path", ""))
    candidates = [(recorded, False)]
    relative = record.get("relative")
    if isinstance(relative, str):
        candidates.append((os.path.join(os.path.dirname(os.path.abspath(session_path)), relative), True))
    for path, moved in candidates:
        if path and os.path.exists(path):
            moved = moved and os.path.abspath(path) != os.path.abspath(recorded)
            return Found(role, recorded, os.path.abspath(path), moved, not same_content(record, path))
    return Found(role, recorded, None)


def make_document(state: dict, session_path: str, window: dict | None = None, time_range=None) -> dict:
    """The session's document: the core's ``state`` plus a record of each file it opens."""
    opened = state.get("open") or {}
    files = {}
    for role, key in (("sequence", "sequence_path"), ("model", "model_path")):
        path = opened.get(key)
        if path:
            if not os.path.exists(path):
                raise SessionError(f"{os.path.basename(session_path)}: the {role} {path} is gone; open it again first")
            files[role] = file_record(path, session_path)
    return {
        "format": FORMAT,
        "version": VERSION,
        "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "files": files,
        "state": state,
        "time_range": None if time_range is None else [float(time_range[0]), float(time_range[1])],
        "window": window or {},
    }


def write(path: str, document: dict) -> None:
    """Write ``document`` to ``path`` atomically (a temporary file renamed over it)."""
    name = os.path.basename(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SessionError(f"{name}: the folder {folder} does not exist")
    text = json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".lstm-viz-", suffix=SUFFIX, dir=folder)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            atomic.publish(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    except OSError as exc:
        raise SessionError(f"{name}: could not be written: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NaN or infinity in the state: JSON cannot hold it
        raise SessionError(f"{name}: the session holds a value JSON cannot write: {exc}") from exc


def read(path: str) -> dict:
    """The document of the session file ``path``, checked; a SessionError naming the file
    and what is wrong otherwise."""
    name = os.path.basename(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SessionError(f"{name}: cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise SessionError(f"{name}: not a regular file")
    if info.st_size > MAX_BYTES:
        raise SessionError(f"{name}: {info.st_size / 2**20:.0f} MiB is too large for a session (at most 64 MiB)")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except UnicodeDecodeError:
        raise SessionError(f"{name}: not an lstm-viz session (not text)") from None
    except json.JSONDecodeError as exc:
        raise SessionError(f"{name}: damaged: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except OSError as exc:
        raise SessionError(f"{name}: cannot be read: {exc.strerror or exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SessionError(f"{name}: not an lstm-viz session")
    if document.get("version") != VERSION:
        raise SessionError(f"{name}: a session of version {document.get('version')!r}; this lstm-viz reads {VERSION}")
    for key, what in (("files", "the record of its files"), ("state", "its view"), ("window", "its window layout")):
        if not isinstance(document.get(key), dict):
            raise SessionError(f"{name}: damaged: {what} ({key!r}) is missing or of the wrong kind")
    for role, record in document["files"].items():
        if role not in ("sequence", "model") or not isinstance(record, dict) or not isinstance(record.get("path"), str):
            raise SessionError(f"{name}: damaged: the record of {role!r} is not a file record")
    time_range = document.get("time_range")
    if time_range is not None and not (
        isinstance(time_range, list) and len(time_range) == 2 and all(isinstance(v, int | float) for v in time_range)
    ):
        raise SessionError(f"{name}: damaged: time_range is not two numbers")
    return document


def with_paths(document: dict, paths: dict[str, str]) -> dict:
    """The core's state of ``document`` with the files at ``paths`` (role -> path)."""
    state = json.loads(json.dumps(document["state"]))
    opened = state.get("open") or {}
    for role, path in paths.items():
        opened[f"{role}_path"] = path
    return state
