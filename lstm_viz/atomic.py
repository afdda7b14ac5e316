"""Files written whole or not at all: a temporary file in the target's folder, renamed over
the target once complete (a crash or a cancel leaves the old file as it was).

``tempfile.mkstemp`` makes its file readable by its owner only; :func:`publish` gives it
the permissions any new file would have (0666 less the umask) before the rename, so an
export is as readable as a file saved any other way.
"""

from __future__ import annotations

import os
import tempfile


def _umask() -> int:
    try:  # Linux says it without changing it (os.umask sets it for every thread)
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def temporary_beside(path: str) -> str:
    """A new, empty temporary file in ``path``'s folder, with ``path``'s extension (so that
    writers choosing a format by extension choose the same one)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".lstm-viz-", suffix=os.path.splitext(path)[1], dir=folder)
    os.close(handle)
    return temporary


def publish(temporary: str, path: str) -> None:
    """Give ``temporary`` a new file's permissions and rename it over ``path``."""
    os.chmod(temporary, 0o666 & ~_umask())
    os.replace(temporary, path)


def discard(temporary: str) -> None:
    try:
        os.remove(temporary)
    except OSError:
        pass
