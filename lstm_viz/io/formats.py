"""The registry of file formats: every sequence and model reader lstm-viz has.

Each :class:`Reader` says its name, what it reads (a sequence or a model), its file
extensions, a content sniff and its load function, and which options it takes. Format
detection (``load_sequence``, ``load_model``), the open dialogs' filters, drag and drop,
the command line's help and README's table of formats are all derived from this list.

Adding a format is one module with a sniff and a load function, plus one ``register``
line at the end of this file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from lstm_viz.errors import FileFormatError
from lstm_viz.safe_arrays import NPY_MAGIC, ZIP_MAGIC, NpzReader, sniff

HEAD_BYTES = 4096


@dataclass(frozen=True)
class Reader:
    """One file format. ``sniff(path, head)`` says from the path and the first bytes whether
    the file is of this format (readers are asked in the order they were registered); ``load``
    is ``"module:function"`` (imported only when used), called as ``load(path, **options)``
    with the ``options`` the reader takes."""

    name: str
    role: str  # "sequence" or "model"
    title: str
    extensions: tuple[str, ...]
    sniff: Callable[[str, bytes], bool]
    load: str
    options: tuple[str, ...] = ()
    notes: str = ""
    by_content_only: bool = field(default=False)  # its extensions are shared; pick it by content
    names: tuple[str, ...] = ()  # whole file names it is known by (a TF checkpoint's "checkpoint")

    def loader(self) -> Callable:
        from importlib import import_module

        module, _, function = self.load.partition(":")
        return getattr(import_module(module), function)


READERS: list[Reader] = []


def register(reader: Reader) -> Reader:
    if any(r.name == reader.name and r.role == reader.role for r in READERS):
        raise ValueError(f"a {reader.role} format named {reader.name!r} is registered already")
    READERS.append(reader)
    return reader


def readers(role: str) -> list[Reader]:
    return [r for r in READERS if r.role == role]


def reader(role: str, name: str) -> Reader:
    for r in readers(role):
        if r.name == name:
            return r
    raise FileFormatError(None, f"no {role} format named {name!r}; known: {', '.join(r.name for r in readers(role))}")


def _extension(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def detect(path, role: str) -> Reader:
    """The reader for ``path`` as a ``role`` ('sequence' or 'model'), from its content."""
    name = os.fspath(path)
    present = os.path.exists(name) and not os.path.isdir(name)
    head = sniff(name, HEAD_BYTES) if present else b""
    for candidate in readers(role):
        if candidate.sniff(name, head):
            return candidate
    if not present:
        sniff(name, 16)  # says what is wrong with the path (missing, a folder, not a regular file)
    if not head:
        raise FileFormatError(path, f"is empty: no {role} in it")
    kinds = ", ".join(r.title for r in readers(role) if r.extensions)
    raise FileFormatError(path, f"unrecognised {role} format (lstm-viz reads {kinds})")


def role_of(path) -> str:
    """'model' or 'sequence': what a dropped or named file most likely is."""
    name = os.fspath(path)
    ext = _extension(name)
    for r in readers("sequence"):
        if ext in r.extensions and not r.by_content_only:
            return "sequence"
    try:
        detect(name, "model")
        return "model"
    except (FileFormatError, OSError):
        return "sequence"


def dialog_filter(role: str) -> str:
    """A Qt file-dialog filter: every extension of the role, each format, then all files."""
    patterns = []
    parts = []
    for r in readers(role):
        own = [f"*{e}" for e in r.extensions] + list(r.names)
        patterns.extend(p for p in own if p not in patterns)
        if own:
            parts.append(f"{r.title} ({' '.join(own)})")
    label = "Sequences" if role == "sequence" else "Models"
    return ";;".join([f"{label} ({' '.join(patterns)})", *parts, "All files (*)"])


FOLDER_OF_SEQUENCES = (
    "a sequence per file, named by it (natural order), as one batch; one format and width; at most 10,000 files"
)
"""What a folder given as the sequence opens as (``lstm_viz.io.sequences.load_folder_sequence``,
``MAX_FOLDER_FILES``)."""


def describe(role: str) -> str:
    """One line for the command line's help: the formats of the role."""
    line = ", ".join(f"{r.title} ({' '.join(r.extensions)})" for r in readers(role) if r.extensions)
    return line + ("; or a folder of such files (one batch)" if role == "sequence" else "")


OPTION_FLAGS = {
    "fill": "--fill",
    "table": "--time --id --categorical --feature --ignore",
    "normalize": "--normalize",
    "text_mode": "--words",
    "vocabulary": "(the model's vocabulary)",
    "prefix": "--prefix",
    "forget_bias": "--forget-bias",
    "cell_clip": "--cell-clip",
    "proj_clip": "--proj-clip",
}
"""How the command line (``lstm-viz FILE`` and ``lstm-viz trace``) spells each reader option."""


def markdown_table() -> str:
    """README's table of formats."""
    lines = ["| reads | format | extensions | options | notes |", "|---|---|---|---|---|"]
    for r in READERS:
        if not r.extensions:  # formats recognised only to be refused with advice
            continue
        extensions = " ".join(f"`{e}`" for e in r.extensions)
        options = " ".join(f"`{OPTION_FLAGS.get(o, o)}`" for o in r.options)
        lines.append(f"| {r.role} | {r.title} | {extensions} | {options} | {r.notes} |")
        if r is [q for q in readers("sequence") if q.extensions][-1]:
            lines.append(f"| sequence | A folder of sequence files | (a folder) |  | {FOLDER_OF_SEQUENCES} |")
    return "\n".join(lines)


# -- sniffs ----------------------------------------------------------------------------------
def _zip_names(path: str) -> list[str]:
    with NpzReader(path) as archive:
        return list(archive.names)


def _is_native(path: str, head: bytes) -> bool:
    if not head.startswith(ZIP_MAGIC):
        return False
    from lstm_viz.io.native import is_native_model

    with NpzReader(path) as archive:
        return is_native_model(archive)


def _is_torch_zip(path: str, head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC) and any(n.endswith("/data.pkl") and n.count("/") == 1 for n in _zip_names(path))


def _is_keras_zip(path: str, head: bytes) -> bool:
    if head.startswith(ZIP_MAGIC):
        names = _zip_names(path)
        return "config.json" in names and "model.weights.h5" in names
    return head.startswith(b"\x89HDF\r\n\x1a\n")


def _is_tf_npz(path: str, head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC) and any(n.endswith("/kernel.npy") for n in _zip_names(path))


def _is_safetensors(path: str, head: bytes) -> bool:
    return len(head) >= 9 and head[8:9] == b"{"


def _is_onnx(path: str, head: bytes) -> bool:
    return _extension(path) == ".onnx" or head[:1] == b"\x08"


def _is_legacy_torch(path: str, head: bytes) -> bool:
    if head.startswith(b"\x80") and len(head) > 1 and head[1] in range(2, 6):
        raise FileFormatError(
            path, "a legacy (non-zip) PyTorch pickle; re-save it with a current torch.save, or as .safetensors"
        )
    return False


def _is_tf_checkpoint(path: str, head: bytes) -> bool:
    from lstm_viz.io.tf_checkpoint import checkpoint_prefix

    return checkpoint_prefix(path) is not None


def _is_arrays(path: str, head: bytes) -> bool:
    if head.startswith(NPY_MAGIC) or head.startswith(ZIP_MAGIC):
        return True
    if _extension(path) in (".npy", ".npz"):
        raise FileFormatError(
            path, f"has the {_extension(path)} extension but is not a NumPy file (no NumPy or zip header)"
        )
    return False


FASTA_EXTENSIONS = (".fa", ".fasta", ".fna", ".ffn", ".frn", ".fas")
TABLE_EXTENSIONS = (".csv", ".tsv", ".tab", ".dat")


def _is_fasta(path: str, head: bytes) -> bool:
    return head.lstrip().startswith(b">") or _extension(path) in FASTA_EXTENSIONS


def _is_json(path: str, head: bytes) -> bool:
    return head.lstrip()[:1] in (b"[", b"{") and _extension(path) != ".txt"


def _is_table(path: str, head: bytes) -> bool:
    """By extension, or (not a .txt, no NUL bytes) when most cells after the first line are numbers."""
    ext = _extension(path)
    if ext in TABLE_EXTENSIONS:
        return True
    if ext == ".txt" or b"\x00" in head:
        return False
    sample = head.decode("utf-8", "replace").splitlines()[:20]
    if len(sample) < 2:
        return False
    try:
        delimiter = csv.Sniffer().sniff("\n".join(sample), delimiters=",;\t| ").delimiter
    except csv.Error:
        delimiter = ","
    from lstm_viz.io.tables import MISSING, is_number

    cells = [c.strip() for line in sample[1:] for c in line.split(delimiter)]
    blank_or_number = sum(not c or c.lower() in MISSING or is_number(c) for c in cells)
    return bool(cells) and blank_or_number >= 0.8 * len(cells)


def _refuse_other_zip(path: str, head: bytes) -> bool:
    if head.startswith(ZIP_MAGIC):
        raise FileFormatError(path, "a zip archive that is not an lstm-viz, PyTorch or Keras model")
    return False


def _anything(path: str, head: bytes) -> bool:
    return True


def _is_folder(path: str, head: bytes) -> bool:
    """A folder given as a sequence: its files make one batch (a model's folder is told apart
    by :func:`role_of`, which asks the model readers first for what has no sequence extension)."""
    return os.path.isdir(path)


# -- the formats, in the order they are tried --------------------------------------------------
SEQ = "lstm_viz.io.sequences"
register(
    Reader(
        "folder",
        "sequence",
        "Folder of sequence files",
        (),  # no extension of its own: not in the dialogs' filters; opened by name, drop or the command line
        _is_folder,
        f"{SEQ}:load_folder_sequence",
        options=("fill", "table", "text_mode", "vocabulary"),
        notes="one sequence per file, all of one format and width, named by the file; up to 10,000 files",
    )
)
register(
    Reader(
        "arrays",
        "sequence",
        "NumPy arrays",
        (".npy", ".npz"),
        _is_arrays,
        f"{SEQ}:load_array_sequence",
        notes="2-D (T, D) one sequence, 3-D (B, T, D) a batch; never unpickles",
    )
)
register(
    Reader(
        "fasta",
        "sequence",
        "FASTA",
        FASTA_EXTENSIONS,
        _is_fasta,
        f"{SEQ}:load_fasta_sequence",
        notes="one-hot A, C, G, T/U; IUPAC codes shared; records form a batch",
    )
)
register(
    Reader(
        "json",
        "sequence",
        "JSON",
        (".json",),
        _is_json,
        f"{SEQ}:load_json_sequence",
        notes='a list of steps, a list of sequences, or {"values", "labels", "features"}',
    )
)
register(
    Reader(
        "table",
        "sequence",
        "CSV/TSV table",
        TABLE_EXTENSIONS,
        _is_table,
        f"{SEQ}:load_table_with_options",
        options=("fill", "table", "normalize"),
        notes="column roles: time, series id, feature, categorical, ignore",
    )
)
register(
    Reader(
        "text",
        "sequence",
        "Text",
        (".txt",),
        _anything,
        f"{SEQ}:load_text_sequence",
        options=("text_mode", "vocabulary"),
        notes="one-hot characters or words; a model's vocabulary wins",
    )
)

register(
    Reader(
        "tf-checkpoint",
        "model",
        "TensorFlow 1 checkpoint",
        (".index", ".meta"),
        _is_tf_checkpoint,
        "lstm_viz.io.model_files:load_tf_checkpoint",
        options=("forget_bias", "cell_clip", "proj_clip"),
        notes="the folder, `checkpoint` file, prefix, .index, .data-* or .meta; read without TensorFlow",
        names=("checkpoint",),
    )
)
register(
    Reader(
        "native",
        "model",
        "lstm-viz model",
        (".npz",),
        _is_native,
        "lstm_viz.io.model_files:load_native_file",
        notes="written by `lstm-viz train` and `save_model`",
    )
)
register(
    Reader(
        "pytorch",
        "model",
        "PyTorch",
        (".pt", ".pth"),
        _is_torch_zip,
        "lstm_viz.io.model_files:load_torch",
        options=("prefix",),
        notes="state dict or checkpoint of nn.LSTM (+ embedding, readout); no torch needed",
    )
)
register(
    Reader(
        "keras",
        "model",
        "Keras",
        (".keras", ".h5"),
        _is_keras_zip,
        "lstm_viz.io.keras_import:load_keras",
        notes="LSTM, Bidirectional, Embedding, Dense",
    )
)
register(
    Reader(
        "tf-npz",
        "model",
        "TensorFlow variables",
        (".npz",),
        _is_tf_npz,
        "lstm_viz.io.model_files:load_tf_npz",
        options=("forget_bias", "cell_clip", "proj_clip"),
        by_content_only=True,
        notes="variables named as TensorFlow names them",
    )
)
register(
    Reader(
        "safetensors",
        "model",
        "safetensors",
        (".safetensors",),
        _is_safetensors,
        "lstm_viz.io.model_files:load_safetensors",
        options=("prefix",),
        notes="PyTorch tensor names",
    )
)
register(
    Reader(
        "onnx",
        "model",
        "ONNX",
        (".onnx",),
        _is_onnx,
        "lstm_viz.io.onnx_import:load_onnx",
        notes="LSTM nodes: forward, reverse, bidirectional, peepholes, clip",
    )
)
register(
    Reader(
        "other-zip",
        "model",
        "other zip archive",
        (),
        _refuse_other_zip,
        "lstm_viz.io.model_files:load_torch",
        notes="refused: a zip archive that is none of the above",
    )
)
register(
    Reader(
        "legacy-pytorch",
        "model",
        "legacy PyTorch pickle",
        (),
        _is_legacy_torch,
        "lstm_viz.io.model_files:load_torch",
        notes="refused with advice",
    )
)


if __name__ == "__main__":  # README's table: python -m lstm_viz.io.formats
    print(markdown_table())
