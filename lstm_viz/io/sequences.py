"""Sequence files: what the model reads, with a label for every step.

Formats (decided from the content, with the extension as a tie-breaker):

- NumPy ``.npy`` / ``.npz``: a 2-D array is one sequence (T, D), a 3-D array a batch
  (B, T, D). Never unpickles.
- CSV / TSV: read by pandas (:mod:`lstm_viz.io.tables`): delimiter, header, encoding
  and decimal commas sniffed; each column is a time (labels), series id (splits the rows
  into a batch of sequences of different lengths), feature, categorical (one-hot) or
  ignored column, detected or chosen (``table=TableOptions(...)``). Missing values are
  reported with their line and column, or filled when asked (``fill="previous" | "zero"
  | "mean" | "drop"``).
- JSON: a list of steps, a list of sequences, or ``{"values": ..., "labels": ...,
  "features": ...}``.
- Plain text: one-hot characters (or words, ``text_mode="words"``) over a vocabulary built
  from the text, or the one given (a model's own vocabulary wins).
- FASTA: one-hot A, C, G, T (U for RNA); IUPAC ambiguity codes share their weight among
  the bases they stand for (N = 0.25 each); gaps are all-zero; several records form a
  batch.

- A folder: every (not hidden) file in it, all of one format and width, as one batch,
  each sequence named by its file (``load_folder_sequence``; at most ``MAX_FOLDER_FILES``).

Sequences of different lengths are padded with zeros to the longest; ``lengths`` tells
each one's real length.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np

from lstm_viz import limits
from lstm_viz.engine.sequence import NumberedSteps, Sequence, SequenceKind
from lstm_viz.errors import FileFormatError, InputError
from lstm_viz.safe_arrays import NPY_MAGIC, NpzReader, load_npy, opening, regular_file, sniff

MAX_TEXT_BYTES = 1 << 31
NORMALIZATIONS = ("none", "zscore", "minmax")


# -- helpers ---------------------------------------------------------------------------
def _pad(path, rows: list[np.ndarray], width: int) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(r) for r in rows], np.int64)
    if not len(rows) or lengths.max() == 0:
        raise FileFormatError(path, "holds no steps (an empty sequence)")
    check_padding(path, len(rows), int(lengths.max()), width)
    values = np.zeros((len(rows), int(lengths.max()), width), np.float32)
    for b, r in enumerate(rows):
        values[b, : len(r)] = r
    return values, lengths


def check_padding(path, sequences: int, longest: int, width: int) -> None:
    """Sequences of different lengths are padded to the longest: a small file of one long and
    many short sequences asks for sequences x longest steps of values (and a label each)."""
    limits.check(
        sequences * longest * (4 * width + 8),
        f"{sequences:,} sequences padded to the longest, {longest:,} steps",
        path,
    )


def _check_finite(path, values: np.ndarray, what: str = "the values") -> None:
    finite = np.isfinite(values)
    if not finite.all():
        b, t, d = (int(i) for i in np.argwhere(~finite)[0])
        raise FileFormatError(path, f"NaN or infinite values (first at sequence {b}, step {t}, feature {d}) in {what}")


def _pad_labels(labels: list[list[str]], T: int) -> list[list[str]]:
    return [list(row) + [""] * (T - len(row)) for row in labels]


def normalize_values(values: np.ndarray, lengths: np.ndarray, how) -> tuple[np.ndarray, dict | None]:
    """Apply a normalisation by name, or the recorded ``{"kind", "offset", "scale"}`` of one."""
    if how is None or how == "none":
        return values, None
    valid = np.arange(values.shape[1])[None, :] < lengths[:, None]
    flat = values[valid].astype(np.float64)
    if isinstance(how, dict):
        try:
            offset = np.asarray(how["offset"], np.float64)
            scale = np.asarray(how["scale"], np.float64)
            kind = str(how.get("kind", "recorded"))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a recorded normalisation needs 'offset' and 'scale': {exc}") from None
        if offset.shape != (values.shape[2],) or scale.shape != (values.shape[2],):
            raise InputError(
                f"the recorded normalisation is for {offset.shape} features, the data has {values.shape[2]}"
            )
    elif how == "zscore":
        kind, offset, scale = how, flat.mean(axis=0), flat.std(axis=0)
    elif how == "minmax":
        kind, offset = how, flat.min(axis=0)
        scale = flat.max(axis=0) - offset
    else:
        raise InputError(f"normalisation must be one of {', '.join(NORMALIZATIONS)}, got {how!r}")
    scale = np.where(scale > 0, scale, 1.0)
    out = ((values - offset) / scale).astype(np.float32)
    out[~valid] = 0.0
    return out, {"kind": kind, "offset": offset.tolist(), "scale": scale.tolist()}


# -- NumPy -----------------------------------------------------------------------------
def _array_sequence(path, array: np.ndarray, what: str) -> Sequence:
    if array.dtype.kind not in "fiub":
        raise FileFormatError(path, f"{what} has dtype {array.dtype}; expected numbers")
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3:
        raise FileFormatError(path, f"{what} has shape {array.shape}; expected (T, D) or (B, T, D)")
    if 0 in array.shape:
        raise FileFormatError(path, f"{what} is empty (shape {array.shape})")
    values = np.ascontiguousarray(array, dtype=np.float32)
    _check_finite(path, values, what)
    return Sequence(values, source=os.fspath(path))


def load_array_sequence(path: str | os.PathLike) -> Sequence:
    """A sequence from a ``.npy`` array or the ``x`` (or ``values``, or only) array of a ``.npz``."""
    if sniff(path).startswith(NPY_MAGIC):
        return _array_sequence(path, load_npy(path), "the array")
    with NpzReader(path) as archive:
        names = archive.files
        key = "x" if "x" in names else ("values" if "values" in names else (names[0] if len(names) == 1 else None))
        if key is None:
            raise FileFormatError(path, f"holds arrays {names}; name the sequence 'x' or 'values'")
        return _array_sequence(path, archive[key], f"array {key!r}")


# -- text-based formats ---------------------------------------------------------------
def _read_text(path) -> str:
    regular_file(path)
    with opening(path):
        size = os.path.getsize(path)
        if size > MAX_TEXT_BYTES:
            raise FileFormatError(path, f"is {size:,} bytes, more than the {MAX_TEXT_BYTES:,} accepted")
        limits.check(3 * size, f"reading {size:,} bytes of text", path)  # the bytes and the decoded str
        with open(path, "rb") as handle:
            data = handle.read()
    if b"\x00" in data[:4096]:
        raise FileFormatError(path, "is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileFormatError(path, f"line {line}: not UTF-8 text ({exc.reason})") from None


def load_json_sequence(path: str | os.PathLike) -> Sequence:
    try:
        data = json.loads(_read_text(path))
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(path, f"not valid JSON: {exc}") from None
    labels = features = None
    if isinstance(data, dict):
        if "values" not in data:
            raise FileFormatError(path, "a JSON object needs 'values' (and optionally 'labels', 'features')")
        labels, features, data = data.get("labels"), data.get("features"), data["values"]
    if not isinstance(data, list) or not data:
        raise FileFormatError(path, "expected a non-empty list of steps or of sequences")

    def steps_of(seq, where):
        if not isinstance(seq, list) or not seq:
            raise FileFormatError(path, f"{where}: expected a non-empty list of steps")
        widths = {len(step) if isinstance(step, list) else -1 for step in seq}
        if len(widths) > 1:
            raise FileFormatError(path, f"{where}: steps must all have the same number of features")
        try:
            array = np.array(seq, dtype=np.float64)
        except OverflowError:
            raise FileFormatError(path, f"{where}: a number is too large for a floating-point value") from None
        except (TypeError, ValueError):
            raise FileFormatError(path, f"{where}: every step must be a number or a list of numbers") from None
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise FileFormatError(path, f"{where}: steps must all have the same number of features")
        return array

    if isinstance(data[0], list) and data[0] and isinstance(data[0][0], list):
        rows = [steps_of(seq, f"sequence {b}") for b, seq in enumerate(data)]
    else:
        rows = [steps_of(data, "values")]
    widths = {r.shape[1] for r in rows}
    if len(widths) != 1:
        raise FileFormatError(path, f"sequences have different numbers of features: {sorted(widths)}")
    values, lengths = _pad(path, rows, widths.pop())
    _check_finite(path, values)
    batch_labels = None
    if labels is not None:
        if not isinstance(labels, list) or len(labels) != int(lengths[0]):
            raise FileFormatError(path, f"'labels' must list one label per step ({int(lengths[0])})")
        batch_labels = _pad_labels([[str(v) for v in labels]] * len(rows), values.shape[1])
    if features is not None and (not isinstance(features, list) or len(features) != values.shape[2]):
        raise FileFormatError(path, f"'features' must name each of the {values.shape[2]} features")
    return Sequence(
        values,
        feature_names=[str(f) for f in features] if features else [],
        source=os.fspath(path),
        lengths=lengths,
        batch_labels=batch_labels,
    )


# -- CSV -------------------------------------------------------------------------------
def load_table_sequence(path: str | os.PathLike, *, fill: str | None = None, table=None) -> Sequence:
    """CSV/TSV, read by pandas with a role per column; see :mod:`lstm_viz.io.tables`.

    ``table``: a :class:`~lstm_viz.io.tables.TableOptions` or its dict; ``fill``, when
    given, overrides its missing-value handling.
    """
    from lstm_viz.io.tables import TableOptions, read_table

    options = TableOptions.coerce(table)
    if fill is not None:
        options.fill = fill
        options.validate()
    return read_table(path, options)


# -- text ------------------------------------------------------------------------------
WORD = re.compile(r"\w+|[^\w\s]")


def load_text_sequence(
    path: str | os.PathLike, *, text_mode: str = "chars", vocabulary: list[str] | None = None
) -> Sequence:
    """One-hot characters (or words) of a text file."""
    if text_mode not in ("chars", "words"):
        raise InputError(f"text_mode must be 'chars' or 'words', got {text_mode!r}")
    text = _read_text(path)
    if not (list(text) if text_mode == "chars" else WORD.findall(text)):
        raise FileFormatError(path, "holds no text (an empty sequence)")
    try:
        return text_sequence(text, text_mode=text_mode, vocabulary=vocabulary, source=os.fspath(path))
    except InputError as exc:
        raise FileFormatError(path, str(exc)) from None


def text_sequence(
    text: str, *, text_mode: str = "chars", vocabulary: list[str] | None = None, source: str | None = None
) -> Sequence:
    """One-hot characters (or words) of ``text``; tokens outside ``vocabulary`` are all-zero."""
    if text_mode not in ("chars", "words"):
        raise InputError(f"text_mode must be 'chars' or 'words', got {text_mode!r}")
    tokens = list(text) if text_mode == "chars" else WORD.findall(text)
    if not tokens:
        raise InputError("the text is empty (an empty sequence)")
    vocab = list(vocabulary) if vocabulary is not None else sorted(set(tokens))
    limits.check(
        len(tokens) * len(vocab) * 4,
        f"the one-hot input of {len(tokens):,} {text_mode} over a vocabulary of {len(vocab):,}",
    )
    index = {tok: k for k, tok in enumerate(vocab)}
    codes = np.array([index.get(tok, -1) for tok in tokens], np.int64)
    values = np.zeros((1, len(tokens), len(vocab)), np.float32)
    known = codes >= 0
    values[0, np.nonzero(known)[0], codes[known]] = 1.0
    labels = ["\\n" if tok == "\n" else tok for tok in tokens]
    names = ["\\n" if tok == "\n" else tok for tok in vocab]
    encoding = f"one-hot {'characters' if text_mode == 'chars' else 'words'}"
    if not known.all():
        encoding += f" ({int((~known).sum())} outside the vocabulary: all-zero)"
    return Sequence(
        values,
        labels=labels,
        feature_names=names,
        encoding=encoding,
        source=source,
        vocabulary=vocab,
        kind=SequenceKind.TEXT,
        options={"text_mode": text_mode},
    )


def dna_sequence(bases: str, *, rna: bool = False) -> Sequence:
    """One-hot bases of ``bases`` (IUPAC codes shared among their bases), as a FASTA record would be."""
    seq = "".join(bases.split())
    if not seq:
        raise InputError("no bases (an empty sequence)")
    raw = np.frombuffer(seq.encode("ascii", "replace"), np.uint8)
    onehot = BASES[raw]
    bad = np.isnan(onehot[:, 0])
    if bad.any():
        k = int(np.argmax(bad))
        raise InputError(f"base {k + 1}: {seq[k]!r} is not a nucleotide or IUPAC code")
    features = ["A", "C", "G", "U" if rna or "U" in seq.upper() else "T"]
    return Sequence(
        onehot[None].copy(),
        labels=list(seq),
        feature_names=features,
        encoding="one-hot bases (IUPAC codes shared among their bases)",
        vocabulary=features,
        kind=SequenceKind.DNA,
    )


def encode_token(sequence: Sequence, token: str) -> np.ndarray:
    """The input row one token of ``sequence``'s kind becomes: a base, or a vocabulary entry."""
    if sequence.is_dna:
        row = BASES[ord(token)] if len(token) == 1 and ord(token) < 256 else np.full(4, np.nan)
        if np.isnan(row[0]):
            raise InputError(f"{token!r} is not a nucleotide or IUPAC code")
        return row.copy()
    vocabulary = sequence.vocabulary or []
    shown = ["\\n" if tok == "\n" else tok for tok in vocabulary]
    if token not in vocabulary and token not in shown:
        sample = "".join(vocabulary[:40]) if all(len(v) == 1 for v in vocabulary) else ", ".join(vocabulary[:12])
        raise InputError(f"{token!r} is not in the model's vocabulary ({len(vocabulary)} tokens: {sample!r}…)")
    index = vocabulary.index(token) if token in vocabulary else shown.index(token)
    row = np.zeros(len(vocabulary), np.float32)
    row[index] = 1.0
    return row


# -- FASTA -----------------------------------------------------------------------------
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}  # fmt: skip


def _base_table() -> np.ndarray:
    table = np.full((256, 4), np.nan, np.float32)
    for code, bases in IUPAC.items():
        row = np.zeros(4, np.float32)
        for base in bases:
            row["ACGT".index(base)] = 1.0 / len(bases)
        table[ord(code)] = table[ord(code.lower())] = row
    table[ord("-")] = table[ord(".")] = 0.0
    return table


BASES = _base_table()


def load_fasta_sequence(path: str | os.PathLike) -> Sequence:
    """FASTA records as a batch of one-hot bases."""
    text = _read_text(path)
    records: list[tuple[str, list[str], int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith(">"):
            records.append((line[1:].strip() or f"record {len(records) + 1}", [], number))
        elif not records:
            raise FileFormatError(path, f"line {number}: sequence data before the first '>' header")
        else:
            records[-1][1].append(line.replace(" ", ""))
    if not records:
        raise FileFormatError(path, "holds no FASTA record")
    longest = max(sum(len(part) for part in parts) for _, parts, _ in records)
    total = sum(sum(len(part) for part in parts) for _, parts, _ in records)
    # one-hot float32 rows (4 bases), padded to the longest record, plus a label per base
    limits.check(len(records) * longest * (16 + 8) + total * 16, f"{total:,} bases one-hot encoded", path)
    rows, labels, rna = [], [], False
    for name, parts, number in records:
        seq = "".join(parts)
        if not seq:
            raise FileFormatError(path, f"line {number}: record {name!r} has no bases")
        raw = np.frombuffer(seq.encode("ascii", "replace"), np.uint8)
        onehot = BASES[raw]
        bad = np.isnan(onehot[:, 0])
        if bad.any():
            k = int(np.argmax(bad))
            raise FileFormatError(path, f"record {name!r}, base {k + 1}: {seq[k]!r} is not a nucleotide or IUPAC code")
        rna |= "U" in seq.upper()
        rows.append(onehot)
        labels.append(list(seq))
    values, lengths = _pad(path, rows, 4)
    features = ["A", "C", "G", "U" if rna else "T"]
    return Sequence(
        values,
        feature_names=features,
        encoding="one-hot bases (IUPAC codes shared among their bases)",
        source=os.fspath(path),
        vocabulary=features,
        kind=SequenceKind.DNA,
        lengths=lengths,
        batch_labels=_pad_labels(labels, values.shape[1]),
        names=[name for name, _, _ in records],
    )


# -- dispatch ----------------------------------------------------------------------------


def detect_format(path) -> str:
    """'arrays', 'json', 'fasta', 'table' or 'text': the sequence format registered in
    :mod:`lstm_viz.io.formats` that recognises the file."""
    from lstm_viz.io.formats import detect

    return detect(path, "sequence").name


def load_table_with_options(path, *, fill=None, table=None, normalize="none") -> Sequence:
    """A table read with :class:`~lstm_viz.io.tables.TableOptions`; ``fill`` and a named
    ``normalize`` other than "none" override the options' own."""
    from lstm_viz.io.tables import TableOptions

    options = TableOptions.coerce(table)
    if isinstance(normalize, str) and normalize != "none":
        options.normalize = normalize
    return load_table_sequence(path, fill=fill, table=options)


def load_sequence(
    path: str | os.PathLike,
    *,
    normalize: str | dict | None = "none",
    fill: str | None = None,
    text_mode: str = "chars",
    vocabulary: list[str] | None = None,
    format: str | None = None,
    table=None,
) -> Sequence:
    """Load any supported sequence file (see the module docstring).

    ``normalize``: "none", "zscore", "minmax", or a recorded ``{"kind", "offset",
    "scale"}`` to reproduce a model's training scale. ``fill``: how to fill missing table
    values (None reports them; "previous", "zero", "mean" or "drop"). ``table``: a
    :class:`~lstm_viz.io.tables.TableOptions` (or its dict) for tables: column roles,
    fill, normalisation; ``fill`` and a ``normalize`` other than "none" override its own.
    ``vocabulary``: tokens a model was trained on.
    """
    from lstm_viz.io.formats import detect, reader

    chosen = reader("sequence", format) if format else detect(path, "sequence")
    given = {"fill": fill, "table": table, "normalize": normalize, "text_mode": text_mode, "vocabulary": vocabulary}
    sequence = chosen.loader()(path, **{name: given[name] for name in chosen.options})
    if normalize not in (None, "none") and sequence.normalization is None:
        sequence.values, sequence.normalization = normalize_values(sequence.values, sequence.lengths, normalize)
    return sequence


# -- a folder of files as one batch ------------------------------------------------------
MAX_FOLDER_FILES = 10_000


def _natural_key(name: str) -> list:
    """walk_2 before walk_10: digits compare as numbers, the rest without case."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def folder_files(path) -> list[str]:
    """The files a folder batch is made of, in natural order of their names: every entry
    that is not hidden (``.DS_Store``, ``._name``) and not a folder itself."""
    folder = os.fspath(path)
    names = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.is_dir():
                    continue
                names.append(entry.name)
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    if len(names) > MAX_FOLDER_FILES:
        raise FileFormatError(
            path,
            f"holds {len(names):,} files, more than the {MAX_FOLDER_FILES:,} a folder batch may have: "
            "split it into smaller folders",
        )
    return sorted(names, key=_natural_key)


def _sequence_names(files: list[str]) -> list[str]:
    """A name per file: its name without the extension, unless two files would then share one."""
    stems = [os.path.splitext(name)[0] or name for name in files]
    return stems if len(set(stems)) == len(stems) else list(files)


def load_folder_sequence(
    path: str | os.PathLike,
    *,
    fill: str | None = None,
    table=None,
    text_mode: str = "chars",
    vocabulary: list[str] | None = None,
) -> Sequence:
    """Every file of a folder as one batch: one sequence per file, named by the file.

    The files must all be of one format and one width (the first file that is not is
    named); shorter sequences are zero-padded to the longest, as a table's series are
    (``lengths`` says each real length, padded steps are labelled ""). A file that holds
    several sequences (a 3-D array, FASTA records, a table with an id column) adds each,
    named "file: name". Text files share one vocabulary: the union of theirs, or the
    model's. A table's normalisation is applied to the whole batch, not file by file.
    """
    from lstm_viz.io.formats import detect
    from lstm_viz.io.tf_checkpoint import checkpoint_prefix

    folder = os.fspath(path)
    try:
        is_checkpoint = checkpoint_prefix(folder) is not None
    except FileFormatError:  # a 'checkpoint' state file that names nothing: still a model's folder
        is_checkpoint = True
    if is_checkpoint:
        raise FileFormatError(
            path, "is a TensorFlow checkpoint folder, a model: open it as the model (--model, Open model folder…)"
        )
    files = folder_files(folder)
    if not files:
        raise FileFormatError(
            path,
            "is not a regular file (a folder) and holds no files; a folder opens as a batch when it holds "
            "sequence files of one format",
        )
    found = [detect(os.path.join(folder, name), "sequence") for name in files]
    counts: dict[str, int] = {}
    for reader in found:
        counts[reader.name] = counts.get(reader.name, 0) + 1
    first = max(found, key=lambda reader: counts[reader.name])  # the most files' format (the first's on a tie)
    odd = next((k for k, reader in enumerate(found) if reader.name != first.name), None)
    if odd is not None:
        like = [name for name, reader in zip(files, found) if reader.name == first.name]
        more = f" and {len(like) - 1:,} more" if len(like) > 1 else ""
        raise FileFormatError(
            path,
            f"{files[odd]} is {found[odd].title} but {like[0]}{more} {'are' if more else 'is'} {first.title}: "
            "a folder opens as one batch only when all its files have the same format",
        )
    batch_normalize = "none"
    if first.name == "table":
        from lstm_viz.io.tables import TableOptions

        table = TableOptions.coerce(table)
        batch_normalize, table.normalize = table.normalize, "none"  # over the batch, below
    given = {"fill": fill, "table": table, "normalize": "none", "text_mode": text_mode, "vocabulary": vocabulary}
    load = first.loader()
    options = {name: given[name] for name in first.options}
    pieces: list[tuple[str, Sequence]] = []
    held = 0
    for name in files:
        piece = load(os.path.join(folder, name), **options)
        held += piece.values.nbytes
        limits.check(held, f"the first {len(pieces) + 1:,} of {len(files):,} files", path)
        pieces.append((name, piece))
    shared_vocabulary = first.name == "text" and vocabulary is None
    if shared_vocabulary:  # each file made its own; the batch needs one
        union = sorted({token for _, piece in pieces for token in piece.vocabulary})
        pieces = [(name, _in_vocabulary(piece, union)) for name, piece in pieces]
    widths: dict[int, int] = {}
    for _, piece in pieces:
        widths[piece.width] = widths.get(piece.width, 0) + 1
    reference_name, reference = max(pieces, key=lambda item: widths[item[1].width])  # the most files' width
    for name, piece in pieces:
        if piece.width != reference.width:
            like = widths[reference.width] - 1
            more = f" and {like:,} more" if like else ""
            raise FileFormatError(
                path,
                f"{name} has {_plural(piece.width, 'feature')} per step but {reference_name}{more} "
                f"{'have' if more else 'has'} {reference.width}: all files of a folder batch need the same width",
            )
        if reference.kind is SequenceKind.NUMBERS and piece.feature_names != reference.feature_names:
            differ = next(k for k, (a, b) in enumerate(zip(piece.feature_names, reference.feature_names)) if a != b)
            raise FileFormatError(
                path,
                f"{name}'s feature {differ} is {piece.feature_names[differ]!r} but {reference_name}'s is "
                f"{reference.feature_names[differ]!r}: all files of a folder batch need the same features",
            )
    stems = _sequence_names(files)
    names, lengths, rows = [], [], []
    for stem, (_, piece) in zip(stems, pieces):
        for b in range(piece.batch_size):
            names.append(stem if piece.batch_size == 1 else f"{stem}: {piece.names[b]}")
            lengths.append(int(piece.lengths[b]))
            rows.append((piece, b))
    longest = max(lengths)
    check_padding(path, len(rows), longest, reference.width)
    values = np.zeros((len(rows), longest, reference.width), np.float32)
    numbers = [str(t) for t in range(longest)]  # the step numbers' labels, shared by every sequence
    batch_labels: list = []
    for k, ((piece, b), length) in enumerate(zip(rows, lengths)):
        values[k, :length] = piece.values[b, :length]
        labels = piece.batch_labels[b]
        if isinstance(labels, NumberedSteps) and labels.start == 0:
            batch_labels.append(NumberedSteps(0, longest) if length == longest else numbers[:length])
        else:
            batch_labels.append(list(labels[:length]))
        if length < longest:
            batch_labels[-1] = list(batch_labels[-1]) + [""] * (longest - length)
    pieces = rows = None  # the padded batch is all that is kept
    lengths = np.array(lengths, np.int64)
    normalization = None
    if batch_normalize != "none":
        values, normalization = normalize_values(values, lengths, batch_normalize)
    return Sequence(
        values,
        labels=batch_labels[0],
        batch_labels=batch_labels,
        feature_names=list(reference.feature_names),
        encoding=reference.encoding,
        source=folder,
        vocabulary=reference.vocabulary,
        lengths=lengths,
        normalization=normalization,
        names=names,
        kind=reference.kind,
        options={**reference.options, "folder": {"format": first.name, "files": len(files)}},
    )


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _in_vocabulary(piece: Sequence, vocabulary: list[str]) -> Sequence:
    """A one-hot text sequence re-encoded over a larger ``vocabulary`` (which holds all its tokens)."""
    index = {token: k for k, token in enumerate(vocabulary)}
    columns = np.array([index[token] for token in piece.vocabulary], np.int64)
    values = np.zeros((*piece.values.shape[:2], len(vocabulary)), np.float32)
    values[:, :, columns] = piece.values
    names = ["\\n" if token == "\n" else token for token in vocabulary]
    encoding = "one-hot characters" if piece.encoding.startswith("one-hot characters") else "one-hot words"
    from dataclasses import replace

    return replace(piece, values=values, vocabulary=list(vocabulary), feature_names=names, encoding=encoding)
