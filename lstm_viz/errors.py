"""The one exception family raised for bad input anywhere in lstm-viz.

Every loader, importer and engine entry point raises a subclass of
:class:`LstmVizError` for bad input, never a bare ``ValueError``, ``KeyError`` or
``IndexError``. Messages say what was expected and what was found and, for files,
name the file (and the line or tensor where that is known).

``InputError`` and ``ModelError`` also derive from ``ValueError`` so that code written
against plain NumPy conventions keeps working.
"""

from __future__ import annotations

import os


class LstmVizError(Exception):
    """Base of every error lstm-viz raises for bad input."""


class InputError(LstmVizError, ValueError):
    """An input sequence or initial state that the model cannot run on.

    Wrong width, NaN or infinite values, an empty sequence, a state of the wrong shape.
    """


class ModelError(LstmVizError, ValueError):
    """Model parameters that do not fit together or are not finite."""


class FileFormatError(LstmVizError):
    """A file that cannot be read: truncated, corrupted, of the wrong layout.

    ``path`` is the file; the message always starts with its name.
    """

    def __init__(self, path: str | os.PathLike | None, message: str):
        self.path = None if path is None else os.fspath(path)
        self.detail = message
        prefix = f"{self.path}: " if self.path else ""
        super().__init__(prefix + message)


class Cancelled(LstmVizError):
    """Long work (training, recording) stopped because the caller asked it to."""
