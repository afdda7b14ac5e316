"""Tables as people have them: CSV/TSV read by pandas, each column given a role.

A column's role says what it becomes:

- ``time``: labels the steps (at most one). Dates stay dates: labels read ``2024-01-05``
  whatever the file's own date format, a year written ``1700.0`` reads ``1700``.
- ``id``: the series id (at most one). Its values split the rows into a batch of
  sequences of different lengths, named by the id value, in order of first appearance.
- ``feature``: a number per step.
- ``categorical``: one-hot features named ``weather=rain``, ``weather=sun``, ...
  (categories sorted).
- ``ignore``: not used.

Roles the user does not set are detected from the whole file (see :func:`detect_roles`
for the rules). :class:`TableOptions` holds the user's choices as plain data that
round-trips through JSON; :func:`inspect_table` previews a file and its detected roles;
:func:`read_table` makes the :class:`~lstm_viz.engine.sequence.Sequence`, recording the
roles actually used in ``sequence.options["table"]``.

pandas is imported inside the functions that need it, so ``import lstm_viz`` stays light.
"""

from __future__ import annotations

import argparse
import csv
import enum
import math
import os
import re
import stat
import warnings
from dataclasses import dataclass, field

import numpy as np

from lstm_viz.engine.sequence import NumberedSteps, Sequence
from lstm_viz.errors import FileFormatError, InputError
from lstm_viz.io.sequences import NORMALIZATIONS


class ColumnRole(str, enum.Enum):
    """What a column of a table becomes."""

    TIME = "time"
    ID = "id"
    FEATURE = "feature"
    CATEGORICAL = "categorical"
    IGNORE = "ignore"


ROLES = tuple(role.value for role in ColumnRole)
FILLS = ("previous", "zero", "mean", "drop")

#: A numeric column with one of these names is the time column, whatever its order.
TIME_NAMES = {"time", "timestamp", "date", "datetime", "t", "index", "step", "row"}
#: A numeric column whose name holds one of these words is the time column when it increases.
TIME_WORDS = TIME_NAMES | {"year", "month", "week", "day", "hour", "minute", "second", "quarter", "period", "epoch"}
#: A column with one of these names is the series id (text or integers), in runs or not.
ID_NAMES = {
    "id", "sequence", "sequence_id", "seq", "seq_id", "series", "series_id", "batch",
    "symbol", "ticker", "station", "station_id", "country", "site", "sensor", "subject",
}  # fmt: skip
#: Cells read as missing, besides pandas' own (``""``, ``NA``, ``NaN``, ``null``, ...).
MISSING = ("na", "nan", "n/a", "null", "none", "-")
#: A text column with more distinct values than this is free text, not categories.
CATEGORY_LIMIT = 32
#: Raw values beyond this (in absolute value) would saturate a random model's gates.
SATURATION_VALUE = 10.0
#: Pre-activations beyond about this make sigmoid 0.007 or 0.993 and tanh ±0.9999.
GATE_SATURATION = 5.0
MAX_TABLE_BYTES = 1 << 31
HEAD_BYTES = 1 << 16
MAX_HEAD_BYTES = 1 << 24


# -- options -----------------------------------------------------------------------------
@dataclass
class TableOptions:
    """How to read a table, as plain data (``to_dict``/``from_dict`` round-trip through JSON).

    ``roles`` maps column names to a role (only those the user set; the others are
    detected). ``fill``: None refuses missing values (naming the first one's line and
    column), or "previous" (within each sequence; the next value before the first),
    "zero", "mean" (the column's mean), "drop" (the rows). ``normalize``: "none",
    "zscore" or "minmax". ``delimiter``, ``encoding`` and ``decimal`` are sniffed when None.
    """

    roles: dict[str, str] = field(default_factory=dict)
    fill: str | None = None
    normalize: str = "none"
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None

    def __post_init__(self):
        self.roles = {str(name): ColumnRole(role).value if role in ROLES else role for name, role in self.roles.items()}
        self.validate()

    def validate(self) -> None:
        for name, role in self.roles.items():
            if role not in ROLES:
                raise InputError(f"column {name!r}: role must be one of {', '.join(ROLES)}, got {role!r}")
        for role in ("time", "id"):
            named = [name for name, r in self.roles.items() if r == role]
            if len(named) > 1:
                raise InputError(f"only one column can be the {role} column, got {', '.join(map(repr, named))}")
        if self.fill is not None and self.fill not in FILLS:
            raise InputError(f"fill must be one of {', '.join(FILLS)} or None, got {self.fill!r}")
        if self.normalize not in NORMALIZATIONS:
            raise InputError(f"normalisation must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise InputError(f"the delimiter must be one character, got {self.delimiter!r}")
        if self.decimal is not None and self.decimal not in (".", ","):
            raise InputError(f"the decimal mark must be '.' or ',', got {self.decimal!r}")
        if self.encoding is not None:
            import codecs

            try:
                codecs.lookup(self.encoding)
            except LookupError:
                raise InputError(f"unknown text encoding {self.encoding!r}") from None

    def to_dict(self) -> dict:
        data: dict = {"roles": dict(self.roles), "fill": self.fill, "normalize": self.normalize}
        for key in ("delimiter", "encoding", "decimal"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_dict(cls, data: dict | None) -> TableOptions:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InputError(f"table options must be a dict, got {type(data).__name__}")
        unknown = set(data) - {"roles", "fill", "normalize", "delimiter", "encoding", "decimal"}
        if unknown:
            raise InputError(f"unknown table options: {', '.join(sorted(unknown))}")
        roles = data.get("roles") or {}
        if not isinstance(roles, dict):
            raise InputError("table options: 'roles' must map column names to roles")
        return cls(
            roles=dict(roles),
            fill=data.get("fill"),
            normalize=data.get("normalize") or "none",
            delimiter=data.get("delimiter"),
            encoding=data.get("encoding"),
            decimal=data.get("decimal"),
        )

    @classmethod
    def coerce(cls, value) -> TableOptions:
        """A TableOptions from itself (copied), a dict or None."""
        if isinstance(value, TableOptions):
            return cls.from_dict(value.to_dict())
        return cls.from_dict(value)

    def with_roles(self, roles: dict[str, str]) -> TableOptions:
        data = self.to_dict()
        data["roles"] = dict(roles)
        return TableOptions.from_dict(data)


# -- reading the file --------------------------------------------------------------------
@dataclass
class _Column:
    """What the whole file says about one column (computed once per read)."""

    name: str
    kind: str  # "integer", "number", "date", "text", "empty"
    missing: np.ndarray  # bool per row
    numbers: np.ndarray | None = None  # float64 per row (NaN where missing), numeric kinds
    bad_row: int | None = None  # first cell of a mostly-numeric column that is not a number
    dates: object = None  # datetime64 values of a date column
    date_format: str | None = None
    order: np.ndarray | None = None  # what "increasing" is judged on (numbers or date stamps)
    values: object = None  # what distinct values and runs are counted on (pandas Series)
    _runs: tuple[int, bool] | None = None

    def _count_runs(self) -> tuple[int, bool]:
        if self._runs is None:
            import pandas as pd

            codes, uniques = pd.factorize(self.values, use_na_sentinel=True)
            codes = codes[codes >= 0]
            changes = int(np.count_nonzero(np.diff(codes))) + 1 if len(codes) else 0
            self._runs = (len(uniques), bool(len(codes)) and changes == len(uniques))
        return self._runs

    @property
    def increasing(self) -> bool:
        """Whether the values never decrease (and none is missing)."""
        if self.order is None or self.missing.any():
            return False
        return bool(np.all(np.diff(self.order) >= 0))

    @property
    def distinct(self) -> int:
        """How many different values (missing cells aside)."""
        return self._count_runs()[0]

    @property
    def in_runs(self) -> bool:
        """Whether every value fills one block of consecutive rows."""
        return self._count_runs()[1]


@dataclass
class _Frame:
    path: str
    df: object  # pandas.DataFrame
    delimiter: str
    encoding: str
    decimal: str
    header: bool
    stamp: tuple
    columns: dict[str, _Column] = field(default_factory=dict)
    _lines: list[int] | None = None

    @property
    def names(self) -> list[str]:
        return list(self.df.columns)

    @property
    def nrows(self) -> int:
        return len(self.df)

    def column(self, name: str) -> _Column:
        if name not in self.columns:
            self.columns[name] = _analyse(self.df[name], name)
        return self.columns[name]

    def line_of(self, row: int) -> int:
        """The file line (1-based) where data row ``row`` starts; exact with quoted newlines."""
        if self._lines is None or len(self._lines) <= row:
            self._lines = _data_lines(self, row + 1)
        return self._lines[row] if row < len(self._lines) else row + 1 + int(self.header)


_CACHE: list[_Frame] = []


def _stamp(path) -> tuple:
    info = os.stat(path)
    return (os.path.abspath(path), info.st_size, info.st_mtime_ns, info.st_ino)


def _head(path, size: int) -> bytes:
    """The first lines of the file: at least a few whole lines, however wide."""
    n = HEAD_BYTES
    with open(path, "rb") as handle:
        data = handle.read(n)
        while len(data) < size and data.count(b"\n") < 4 and n < MAX_HEAD_BYTES:
            more = handle.read(n)
            if not more:
                break
            data += more
            n *= 2
    return data


def _decode_head(head: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is None:
        if head.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        else:
            try:
                head.decode("utf-8")
                encoding = "utf-8"
            except UnicodeDecodeError as exc:
                # a character cut at the end of the head is not a reason to leave UTF-8
                encoding = "utf-8" if exc.start >= len(head) - 3 else "latin-1"
    text = head.decode(encoding, "replace")
    return (text[1:] if text.startswith("\ufeff") else text), encoding


def _sniff_delimiter(lines: list[str]) -> str:
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: sample.count(d) for d in "\t;|,"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


_NUMBER = re.compile(r"^[-+]?(\d+([.]\d*)?|[.]\d+)([eE][-+]?\d+)?$")
_COMMA_NUMBER = re.compile(r"^[-+]?\d+,\d+$")


def is_number(text: str) -> bool:
    """A cell written as a number (or nan/inf)."""
    return bool(_NUMBER.match(text.strip())) or text.strip().lower() in ("nan", "inf", "-inf", "+inf")


def _sniff_decimal(rows: list[list[str]], delimiter: str) -> str:
    """ "," when numbers are written with decimal commas (``1,5;2,25``), else "."."""
    if delimiter == ",":
        return "."
    cells = [c.strip() for row in rows for c in row]
    commas = sum(bool(_COMMA_NUMBER.match(c)) for c in cells)
    points = sum(bool(re.match(r"^[-+]?\d*\.\d+$", c)) for c in cells)
    return "," if commas > points else "."


def _read_frame(path, options: TableOptions) -> _Frame:
    import pandas as pd

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileFormatError(path, "no such file") from None
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileFormatError(path, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise FileFormatError(path, "is not a regular file (a pipe or a device?); only files are read")
    if info.st_size > MAX_TABLE_BYTES:
        raise FileFormatError(path, f"is {info.st_size:,} bytes, more than the {MAX_TABLE_BYTES:,} accepted")
    from lstm_viz import limits

    # parsed, a table takes about its size in numbers and several times it in text cells
    limits.check(3 * info.st_size, f"reading a table of {info.st_size:,} bytes", path)
    stamp = _stamp(path) + (options.delimiter, options.encoding, options.decimal)
    for frame in _CACHE:
        if frame.stamp == stamp:
            return frame
    try:
        head = _head(path, info.st_size)
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    if b"\x00" in head[:4096]:
        raise FileFormatError(path, "is a binary file, not a table")
    text, encoding = _decode_head(head, options.encoding)
    lines = text.splitlines()
    if len(head) < info.st_size and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    nonblank = [line for line in lines if line.strip()]
    if not nonblank:
        raise FileFormatError(path, "is empty")
    delimiter = options.delimiter or _sniff_delimiter(nonblank[:50])
    try:
        sample = [row for row in csv.reader(nonblank[:200], delimiter=delimiter) if row]
    except csv.Error as exc:
        raise FileFormatError(path, f"cannot be read as a table: {exc}") from None
    if not sample:
        raise FileFormatError(path, "is empty")
    header_cells = sample[0]
    header = len(sample) > 1 and any(cell.strip() and not is_number(cell) for cell in header_cells)
    data_rows = sample[1:] if header else sample
    decimal = options.decimal or _sniff_decimal(data_rows, delimiter)
    na_values = sorted({v for m in MISSING for v in (m, m.upper(), m.title())})
    kwargs = dict(
        sep=delimiter,
        header=0 if header else None,
        decimal=decimal,
        index_col=False,
        skip_blank_lines=True,
        # spaces after delimiters cost the C parser a fifth of its speed: only when the file has them
        skipinitialspace=any(delimiter + " " in line for line in nonblank[:50]),
        na_values=na_values,
        keep_default_na=True,
        engine="c",
    )

    def read(enc):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = pd.read_csv(path, encoding=enc, **kwargs)
        return df, [w for w in caught if issubclass(w.category, pd.errors.ParserWarning)]

    try:
        try:
            df, parser_warnings = read(encoding)
        except UnicodeDecodeError:
            if options.encoding is not None or encoding == "latin-1":
                raise
            encoding = "latin-1"  # not UTF-8 after all: every byte is a latin-1 character
            df, parser_warnings = read(encoding)
    except UnicodeDecodeError as exc:
        raise FileFormatError(path, f"is not {encoding} text ({exc.reason}); choose its encoding") from None
    except pd.errors.EmptyDataError:
        raise FileFormatError(path, "is empty") from None
    except pd.errors.ParserError as exc:
        raise _parser_error(path, exc, delimiter, encoding, header) from None
    except (ValueError, OverflowError, MemoryError, csv.Error, TypeError) as exc:
        raise FileFormatError(path, f"cannot be read as a table: {exc}") from None
    if parser_warnings:
        # pandas dropped the extra cells of the first rows (index_col=False): refuse unless empty
        _check_extra_cells(path, delimiter, encoding, len(df.columns), header)
    if header:
        if len(df) == 0:
            raise FileFormatError(path, "has a header but no rows")
        names = []
        for k, name in enumerate(df.columns):
            cell = header_cells[k].strip() if k < len(header_cells) else ""
            names.append(str(name).strip() if cell else f"column {k + 1}")
        df.columns = names
    else:
        df.columns = [f"x{k}" for k in range(len(df.columns))]
    if len(df) == 0:
        raise FileFormatError(path, "holds no rows")
    frame = _Frame(os.fspath(path), df, delimiter, encoding, decimal, header, stamp)
    _CACHE[:] = [frame]  # one table in memory: the one being opened
    return frame


def _rows_with_lines(path, delimiter, encoding):
    """(line number, cells) of each non-blank row, as pandas sees them."""
    with open(path, encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, skipinitialspace=True)
        line = 1
        for cells in reader:
            if cells and any(c.strip() for c in cells) or len(cells) > 1:
                yield line, cells
            line = reader.line_num + 1


def _check_extra_cells(path, delimiter, encoding, width, header) -> None:
    rows = _rows_with_lines(path, delimiter, encoding)
    try:
        for line, cells in rows:
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                what = "the header names" if header else "the first row has"
                raise FileFormatError(
                    path,
                    f"line {line} has {len(cells)} cells but {what} {width} columns; a cell would be lost "
                    "(fix the row, or quote a cell that holds the delimiter)",
                )
    except (csv.Error, UnicodeError) as exc:
        raise FileFormatError(path, f"cannot be read as a table: {exc}") from None


def _parser_error(path, exc, delimiter, encoding, header) -> FileFormatError:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found:
        width = int(found.group(1))
        try:
            for line, cells in _rows_with_lines(path, delimiter, encoding):
                if len(cells) > width:
                    what = "the header names" if header else "the first row has"
                    return FileFormatError(
                        path,
                        f"line {line} has {len(cells)} cells but {what} {width} columns; a cell would be lost "
                        "(fix the row, or quote a cell that holds the delimiter)",
                    )
        except (csv.Error, UnicodeError):
            pass
        return FileFormatError(path, f"line {found.group(2)} has {found.group(3)} cells, expected {width}")
    message = str(exc).replace("Error tokenizing data. C error: ", "").strip()
    return FileFormatError(path, f"cannot be read as a table: {message}")


def _data_lines(frame: _Frame, count: int) -> list[int]:
    lines = []
    try:
        for line, _ in _rows_with_lines(frame.path, frame.delimiter, frame.encoding):
            lines.append(line)
            if len(lines) >= count + int(frame.header):
                break
    except (OSError, csv.Error, UnicodeError):
        pass
    return lines[1:] if frame.header else lines


# -- what each column is -----------------------------------------------------------------
def _analyse(series, name: str) -> _Column:
    import pandas as pd

    dtype = series.dtype
    if pd.api.types.is_float_dtype(dtype):
        numbers = series.to_numpy(np.float64, copy=False)
        missing = ~np.isfinite(numbers)
    else:
        missing = series.isna().to_numpy()
    present = int((~missing).sum())
    if present == 0:
        return _Column(name, "empty", missing, values=series)
    if pd.api.types.is_bool_dtype(dtype):
        numbers = series.astype(np.float64).to_numpy()
        return _Column(name, "integer", missing, numbers, order=numbers, values=series)
    if pd.api.types.is_numeric_dtype(dtype):
        numbers = series.to_numpy(np.float64, na_value=np.nan)
        missing = ~np.isfinite(numbers)
        integer = pd.api.types.is_integer_dtype(dtype)
        if not integer:  # floats written 1700.0, 1701.0, ... are integers (a look at the head first)
            valid = numbers[~missing]
            integer = bool(np.all(valid[:1000] == np.round(valid[:1000]))) and bool(np.all(valid == np.round(valid)))
        return _Column(name, "integer" if integer else "number", missing, numbers, order=numbers, values=series)
    text = series.astype(object).where(~missing, None)
    strings = text[~missing].map(lambda v: str(v).strip())
    # dates: a format pandas can infer from the first value, and every value read with it
    from pandas.tseries.api import guess_datetime_format

    first = strings.iloc[0]
    fmt = guess_datetime_format(first) if not is_number(first) else None
    if fmt:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dates = pd.to_datetime(strings, format=fmt, errors="coerce")
        if not dates.isna().any():
            full = pd.Series(pd.NaT, index=series.index, dtype=dates.dtype)
            full[~missing] = dates.to_numpy()
            stamps = dates.to_numpy().astype("datetime64[ns]").astype(np.int64)
            return _Column(name, "date", missing, dates=full, date_format=fmt, order=stamps, values=full)
    numbers = pd.to_numeric(strings, errors="coerce")
    good = numbers.notna().to_numpy()
    if good.sum() >= 0.5 * present:
        full = np.full(len(series), np.nan)
        full[~missing] = numbers.to_numpy(np.float64, na_value=np.nan)
        column = _Column(name, "number", missing, full, order=full, values=pd.Series(full))
        if not good.all():
            column.bad_row = int(np.flatnonzero(~missing)[int(np.argmax(~good))])
        return column
    return _Column(name, "text", missing, values=text.map(lambda v: v if v is None else str(v).strip()))


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z]+", name.lower()))


def detect_roles(frame: _Frame, roles: dict[str, str] | None = None) -> dict[str, tuple[str, str]]:
    """Each column's role and the reason, the user's ``roles`` first; detected on the whole file.

    Rules, in order:

    - the user's roles win; at most one time and one id column;
    - id: a column named like a series (``id``, ``series``, ``symbol``, ``ticker``,
      ``station``, ``country``...) or a text column whose values come in runs (each value
      fills one block of rows), with at least two rows per value on average; a text
      column with one value on every row names the one sequence;
    - time: a column named ``time``, ``date``, ``t``, ``step``, ``index``...; else a text
      column whose every value is a date (one format); else a numeric column whose name
      holds a time word (year, month, day, hour...) and that never decreases (within each
      series, when there is an id); else an integer column with an empty header that
      counts up by one (a row number written by ``DataFrame.to_csv``);
    - id, for long tables sorted by time: a text column such that each time value
      appears once per value of it;
    - feature: numbers (a column that is mostly numbers is a feature: its stray cells are
      reported when read);
    - categorical: text with at most 32 distinct values, each used twice on average;
    - ignore: everything else, with the reason (empty, free text, a row id...).
    """
    roles = dict(roles or {})
    for name in roles:
        if name not in frame.df.columns:
            raise FileFormatError(
                frame.path, f"has no column {name!r} (its columns: {', '.join(map(repr, frame.names[:20]))})"
            )
    out: dict[str, tuple[str, str]] = {name: (role, "chosen") for name, role in roles.items()}
    n = frame.nrows
    free = [name for name in frame.names if name not in out]
    has = {role for role, _ in out.values()}

    def take(name, role, reason):
        out[name] = (role, reason)
        free.remove(name)
        has.add(role)

    if "id" not in has:
        for name in free:
            if name.strip().lower() not in ID_NAMES:
                continue
            col = frame.column(name)
            if col.kind in ("text", "integer"):
                if col.distinct <= max(1, n // 2):
                    take(name, "id", f"named {name!r}: {_count(col.distinct, 'series', 'series')}")
                    break
        else:
            for name in free:
                col = frame.column(name)
                if col.kind == "text" and col.in_runs and 2 <= col.distinct <= n // 2:
                    take(name, "id", f"comes in runs: {col.distinct} values, each in one block of rows")
                    break
    id_name = next((name for name, (role, _) in out.items() if role == "id"), None)
    if "time" not in has:
        time_name = _detect_time(frame, free, id_name)
        if time_name is not None:
            take(*time_name)
    time_name = next((name for name, (role, _) in out.items() if role == "time"), None)
    texts = [name for name in free if frame.column(name).kind == "text"]
    if "id" not in has and texts and time_name is not None and frame.column(time_name).distinct < n:
        import pandas as pd

        for name in texts:
            col = frame.column(name)
            if name in free and 2 <= col.distinct <= n // 2:
                pairs = pd.DataFrame({"t": frame.df[time_name], "k": frame.df[name]})
                if not pairs.duplicated().any():
                    take(name, "id", f"each {time_name} appears once per value ({col.distinct} series)")
                    break
    if "id" not in has:
        for name in free:
            col = frame.column(name)
            if col.kind == "text" and col.distinct == 1:
                value = str(frame.df[name].dropna().iloc[0]).strip()
                take(name, "id", f"one value on every row: names the sequence {value!r}")
                break
    for name in list(free):
        col = frame.column(name)
        if col.kind in ("integer", "number"):
            reason = "numbers" if col.bad_row is None else "mostly numbers"
            if col.missing.any():
                reason += f", {int(col.missing.sum())} missing"
            take(name, "feature", reason)
        elif col.kind == "empty":
            take(name, "ignore", "empty: no value in any row")
        elif col.kind == "date":
            take(name, "ignore", "dates (the time column is another one)")
        elif col.distinct == 1:
            take(name, "ignore", "the same value on every row")
        elif col.distinct <= CATEGORY_LIMIT and col.distinct <= n / 2:
            take(name, "categorical", f"{col.distinct} categories: one-hot")
        elif col.distinct > CATEGORY_LIMIT:
            take(name, "ignore", f"text with {col.distinct:,} different values (more than {CATEGORY_LIMIT})")
        else:
            take(name, "ignore", f"text with {col.distinct} different values in {n} rows")
    return {name: out[name] for name in frame.names}


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _detect_time(frame: _Frame, free: list[str], id_name: str | None):
    for name in free:
        if name.strip().lower() in TIME_NAMES:
            return name, "time", f"named {name!r}"
    for name in free:
        col = frame.column(name)
        if col.kind == "date":
            return name, "time", f"dates ({_describe_format(col.date_format)})"
    for name in free:
        col = frame.column(name)
        if col.kind in ("integer", "number") and _words(name) & TIME_WORDS and _increases(frame, col, id_name):
            return name, "time", f"increases: {name} labels the steps"
    for name in free:
        col = frame.column(name)
        if (
            re.fullmatch(r"column \d+", name)
            and col.kind == "integer"
            and not col.missing.any()
            and frame.nrows > 1
            and np.all(np.diff(col.numbers) == 1)
        ):
            return name, "time", "counts up by one: a row number"
    return None


def _describe_format(fmt: str | None) -> str:
    if not fmt:
        return "dates"
    return (
        fmt.replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "hh")
        .replace("%M", "mm")
        .replace("%S", "ss")
        .replace("%b", "Mon")
        .replace("%B", "Month")
        .replace("%y", "YY")
    )


def _increases(frame: _Frame, col: _Column, id_name: str | None) -> bool:
    if col.missing.any() or frame.nrows < 2:
        return False
    if id_name is None:
        return col.increasing
    import pandas as pd

    codes, _ = pd.factorize(frame.df[id_name])
    order = np.argsort(codes, kind="stable")
    values, groups = col.numbers[order], codes[order]
    same = groups[1:] == groups[:-1]
    return bool(np.all(np.diff(values)[same] >= 0))


# -- preview -----------------------------------------------------------------------------
@dataclass
class ColumnInfo:
    """One column as the import step shows it."""

    name: str
    role: str  # the role used: chosen or detected
    detected: str  # the role detection gives when the user sets none
    reason: str  # why: "increases: YEAR labels the steps", "chosen", ...
    dtype: str  # "integer", "number", "date", "text" or "empty"
    missing: int
    distinct: int


@dataclass
class TablePreview:
    """A table's columns, their roles, and its first rows as text."""

    path: str
    columns: list[ColumnInfo]
    rows: list[list[str]]
    row_count: int
    options: TableOptions  # the options given, with every column's role filled in
    delimiter: str
    encoding: str
    decimal: str
    _frame: _Frame = field(repr=False, default=None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def detected_roles(self) -> dict[str, str]:
        return {c.name: c.detected for c in self.columns}

    def roles(self, options: TableOptions | None = None) -> dict[str, tuple[str, str]]:
        """Every column's (role, reason) under ``options`` (the user's roles + detection)."""
        options = self.options if options is None else options
        return detect_roles(self._frame, options.roles)

    def summary(self, options: TableOptions | None = None) -> str:
        """What reading with ``options`` gives, in a sentence."""
        options = self.options if options is None else options
        try:
            plan = _plan(self._frame, options)
        except FileFormatError as exc:
            return exc.detail
        return plan.summary()

    def hint(self, options: TableOptions | None = None) -> str | None:
        """The scale hint (see :func:`saturation_hint`) for reading with ``options``."""
        options = self.options if options is None else options
        if options.normalize != "none":
            return None
        try:
            plan = _plan(self._frame, options)
        except FileFormatError:
            return None
        best = (0.0, None)
        for name in plan.features:
            numbers = self._frame.column(name).numbers
            finite = numbers[np.isfinite(numbers)]
            if finite.size:
                peak = float(np.abs(finite).max())
                if peak > best[0]:
                    best = (float(finite[np.argmax(np.abs(finite))]), name) if peak > abs(best[0]) else best
        return _saturation_message(best[0], best[1])


def inspect_table(path, options: TableOptions | dict | None = None, rows: int = 20) -> TablePreview:
    """Columns, detected roles (with reasons), dtypes, missing counts and the first rows.

    The whole file is read once (by pandas' C parser: a 1,000,000-row table takes a few
    tenths of a second) so that detection sees every row; the parsed table is kept for
    the :func:`read_table` that usually follows.
    """
    options = TableOptions.coerce(options)
    frame = _read_frame(path, options)
    roles = detect_roles(frame, options.roles)
    detected = detect_roles(frame, {})
    columns = []
    for name in frame.names:
        col = frame.column(name)
        role, reason = roles[name]
        if reason == "chosen":
            reason = f"chosen (detected: {detected[name][0]})"
        columns.append(
            ColumnInfo(name, role, detected[name][0], reason, col.kind, int(col.missing.sum()), col.distinct)
        )
    head = frame.df.head(rows)
    cells = [[_cell_text(v) for v in row] for row in head.itertuples(index=False, name=None)]
    used = options.with_roles({name: role for name, (role, _) in roles.items()})
    used.delimiter, used.encoding, used.decimal = frame.delimiter, frame.encoding, frame.decimal
    return TablePreview(
        os.fspath(path), columns, cells, frame.nrows, used, frame.delimiter, frame.encoding, frame.decimal, frame
    )


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover
        pass
    return str(value)


# -- the plan: roles -> what the sequence will be -----------------------------------------
@dataclass
class _Plan:
    frame: _Frame
    options: TableOptions
    roles: dict[str, tuple[str, str]]
    time: str | None
    id: str | None
    features: list[str]
    categoricals: list[str]
    categories: dict[str, list[str]]
    keep: np.ndarray  # rows used (all but those dropped)
    id_codes: np.ndarray | None
    names: list[str]
    lengths: np.ndarray
    missing: int  # missing cells in used columns (before filling)

    @property
    def width(self) -> int:
        return len(self.features) + sum(len(self.categories[c]) for c in self.categoricals)

    def summary(self) -> str:
        B = len(self.names) if self.id else 1
        longest = int(self.lengths.max()) if len(self.lengths) else 0
        if B == 1:
            shape = f"1 sequence of {_count(longest, 'step', 'steps')}"
        else:
            shown = ", ".join(self.names[:5]) + (", ..." if B > 5 else "")
            shape = f"{B:,} sequences ({shown}) of up to {_count(longest, 'step', 'steps')}"
        parts = [f"{_count(len(self.features), 'feature', 'features')}"]
        if self.categoricals:
            parts = [
                f"{_count(self.width, 'feature', 'features')} ("
                + ", ".join(
                    [f"{len(self.features)} numeric"] * bool(self.features)
                    + [f"{c}: {len(self.categories[c])} one-hot" for c in self.categoricals]
                )
                + ")"
            ]
        text = f"{shape}, {parts[0]}; time: {self.time if self.time else 'step numbers'}"
        if self.missing:
            how = {
                None: "choose how to fill them",
                "previous": "filled with the previous value",
                "zero": "filled with 0",
                "mean": "filled with the column's mean",
                "drop": "their rows dropped",
            }[self.options.fill]
            text += f"; {_count(self.missing, 'missing value', 'missing values')}: {how}"
        return text


def _plan(frame: _Frame, options: TableOptions) -> _Plan:
    roles = detect_roles(frame, options.roles)
    by_role: dict[str, list[str]] = {role: [] for role in ROLES}
    for name, (role, _) in roles.items():
        by_role[role].append(name)
    time = by_role["time"][0] if by_role["time"] else None
    id_name = by_role["id"][0] if by_role["id"] else None
    features, categoricals = by_role["feature"], by_role["categorical"]
    for name in features:
        col = frame.column(name)
        if col.kind not in ("integer", "number", "empty"):
            raise FileFormatError(
                frame.path,
                f"column {name!r} holds {col.kind}, not numbers; make it categorical or ignore it",
            )
    if not features and not categoricals:
        raise FileFormatError(frame.path, "has no numeric column to use as features; set a column's role to feature")
    categories = {}
    for name in categoricals:
        values = frame.df[name].dropna().map(lambda v: str(v).strip())
        categories[name] = sorted(set(values))
        if len(categories[name]) > 1000:
            raise FileFormatError(
                frame.path, f"column {name!r} has {len(categories[name]):,} different values: too many for one-hot"
            )
    n = frame.nrows
    missing_rows = np.zeros(n, bool)
    missing = 0
    for name in features + categoricals:
        gaps = frame.column(name).missing
        missing += int(gaps.sum())
        missing_rows |= gaps
    keep = ~missing_rows if options.fill == "drop" else np.ones(n, bool)
    id_codes = None
    names = ["sequence 0"]
    if id_name is not None:
        import pandas as pd

        ids = frame.df[id_name]
        if pd.api.types.is_float_dtype(ids.dtype) and frame.column(id_name).kind == "integer":
            ids = ids.astype("Int64")
        ids = ids.map(lambda v: v if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v).strip())
        gaps = ids.isna().to_numpy()
        if gaps.any():
            if options.fill == "drop":
                keep &= ~gaps
            elif options.fill == "previous":
                ids = ids.ffill().bfill()
            else:
                row = int(np.argmax(gaps))
                raise FileFormatError(
                    frame.path,
                    f"line {frame.line_of(row)}, column {id_name!r}: no series id; fill or drop such rows "
                    "(fill='previous' or 'drop')",
                )
        id_codes, uniques = pd.factorize(ids[keep])
        names = [str(u) for u in uniques]
        lengths = np.bincount(id_codes, minlength=len(names)).astype(np.int64)
    else:
        lengths = np.array([int(keep.sum())], np.int64)
    if not len(lengths) or lengths.max() == 0:
        raise FileFormatError(frame.path, "holds no rows to read (every row has a missing value and fill='drop')")
    return _Plan(frame, options, roles, time, id_name, features, categoricals, categories, keep, id_codes, names,
                 lengths, missing)  # fmt: skip


# -- the sequence ------------------------------------------------------------------------
def read_table(path, options: TableOptions | dict | None = None) -> Sequence:
    """A table as a :class:`Sequence`; see the module docstring and :func:`detect_roles`.

    Bad input raises :class:`~lstm_viz.errors.FileFormatError` naming the file, and the
    line and column where that is known.
    """
    options = TableOptions.coerce(options)
    frame = _read_frame(path, options)
    plan = _plan(frame, options)
    n = frame.nrows
    X = np.empty((n, plan.width), np.float32)
    sources: list[str] = []
    k = 0
    for name in plan.features:
        col = frame.column(name)
        if col.bad_row is not None:
            cell = str(frame.df[name].iloc[col.bad_row]).strip()
            raise FileFormatError(
                frame.path, f"line {frame.line_of(col.bad_row)}, column {name!r}: {cell!r} is not a number"
            )
        X[:, k] = col.numbers
        sources.append(name)
        k += 1
    feature_names = list(plan.features)
    for name in plan.categoricals:
        import pandas as pd

        cats = plan.categories[name]
        values = frame.df[name].map(lambda v: v if not isinstance(v, str) else v.strip())
        codes = pd.Categorical(values.astype(object).where(values.notna(), None), categories=cats).codes
        block = np.zeros((n, len(cats)), np.float32)
        block[np.flatnonzero(codes >= 0), codes[codes >= 0]] = 1.0
        block[codes < 0] = np.nan
        X[:, k : k + len(cats)] = block
        feature_names += [f"{name}={c}" for c in cats]
        sources += [name] * len(cats)
        k += len(cats)
    labels = _labels(frame, plan.time)
    if not plan.keep.all():
        X = X[plan.keep]
        labels = [label for label, kept in zip(labels, plan.keep) if kept]
    missing = ~np.isfinite(X)
    if missing.any():
        if options.fill is None:
            row, j = (int(i) for i in np.argwhere(missing)[0])
            raise FileFormatError(
                frame.path,
                f"line {frame.line_of(row)}, column {sources[j]!r}: missing or non-finite value "
                f"({_missing_cells(X, sources)} in all); "
                "fill them with fill='previous', 'zero', 'mean' or 'drop' (Missing values in the window's "
                "table import, --fill in lstm-viz trace)",
            )
        X = _fill(X, missing, options.fill, plan.id_codes)
    if plan.id is None:
        values = X[None]
        batch_labels = [labels]
        lengths = plan.lengths
    else:
        order = np.argsort(plan.id_codes, kind="stable")
        lengths = plan.lengths
        T = int(lengths.max())
        from lstm_viz.io.sequences import check_padding

        check_padding(path, len(lengths), T, plan.width)
        values = np.zeros((len(lengths), T, plan.width), np.float32)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        batch_labels = []
        for b, (start, length) in enumerate(zip(starts, lengths)):
            rows = order[start : start + length]
            values[b, :length] = X[rows]
            batch_labels.append([labels[i] for i in rows] + [""] * (T - int(length)))
        if plan.time is None:
            batch_labels = [[str(t) for t in range(int(n))] + [""] * (T - int(n)) for n in lengths]
    from lstm_viz.io.sequences import normalize_values

    normalization = None
    if options.normalize != "none":
        values, normalization = normalize_values(values, lengths, options.normalize)
    used = options.with_roles({name: role for name, (role, _) in plan.roles.items()})
    used.delimiter, used.encoding, used.decimal = frame.delimiter, frame.encoding, frame.decimal
    encoding = "numeric"
    if plan.categoricals:
        encoding = "numeric, one-hot " + ", ".join(plan.categoricals)
    return Sequence(
        values,
        labels=batch_labels[0],
        batch_labels=batch_labels,
        feature_names=feature_names,
        encoding=encoding,
        source=os.fspath(path),
        lengths=np.asarray(lengths, np.int64),
        normalization=normalization,
        names=list(plan.names) if plan.id else None,
        options={"table": used.to_dict()},
    )


def _missing_cells(X: np.ndarray, sources: list[str]) -> int:
    """Missing cells counted per source column (a missing category is one cell, not one per value)."""
    missing = ~np.isfinite(X)
    total, k = 0, 0
    while k < len(sources):
        j = k
        while j < len(sources) and sources[j] == sources[k]:
            j += 1
        total += int(missing[:, k:j].any(axis=1).sum())
        k = j
    return total


def _labels(frame: _Frame, time: str | None) -> list[str]:
    n = frame.nrows
    if time is None:
        return NumberedSteps(0, n)
    col = frame.column(time)
    if col.kind == "date":
        dates = col.dates
        if col.date_format and col.date_format.startswith("%Y-%m-%d"):
            texts = frame.df[time].astype(object)
            return [str(v).strip() if isinstance(v, str) else "" for v in texts]
        valid = dates.dropna()
        at_midnight = bool((valid.dt.normalize() == valid).all())
        fmt = "%Y-%m-%d" if at_midnight else "%Y-%m-%d %H:%M:%S" if (valid.dt.second != 0).any() else "%Y-%m-%d %H:%M"
        return [s if isinstance(s, str) else "" for s in dates.dt.strftime(fmt).astype(object)]
    if col.kind == "integer":
        numbers = col.numbers
        if not col.missing.any() and np.all(np.abs(numbers) < 2**53):
            start = int(numbers[0])
            if numbers[-1] - start == n - 1 and np.all(np.diff(numbers) == 1):
                return NumberedSteps(start, n)  # 0, 1, 2, ...: made when read
            return _int_strings(numbers.astype(np.int64))
        return ["" if gap else str(int(v)) for v, gap in zip(numbers.tolist(), col.missing)]
    if col.kind == "number":
        return ["" if gap else repr(v) for v, gap in zip(col.numbers.tolist(), col.missing)]
    return ["" if v is None or v != v else str(v).strip() for v in frame.df[time].astype(object)]


def _int_strings(values: np.ndarray) -> list[str]:
    """``str`` of each integer (Python's own conversion is the fastest way to a list of str)."""
    return list(map(str, np.asarray(values, np.int64).tolist()))


def _fill(X: np.ndarray, missing: np.ndarray, how: str, groups: np.ndarray | None) -> np.ndarray:
    X = X.copy()
    if how == "zero":
        X[missing] = 0.0
    elif how == "mean":
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(np.where(missing, np.nan, X), axis=0)
        means = np.nan_to_num(means)
        X[missing] = np.broadcast_to(means, X.shape)[missing]
    elif how == "previous":
        import pandas as pd

        frame = pd.DataFrame(np.where(missing, np.nan, X))
        if groups is None:
            filled = frame.ffill().bfill()
        else:
            grouped = frame.groupby(groups, sort=False)
            filled = grouped.ffill()
            filled = filled.groupby(groups, sort=False).bfill()
        X = filled.fillna(0.0).to_numpy(np.float32)
    return X


# -- the scale hint ----------------------------------------------------------------------
def saturation_hint(sequence: Sequence) -> str | None:
    """A sentence suggesting normalisation when raw values would saturate a model's gates.

    Shown when no normalisation was applied, the features are numbers and some value lies
    beyond ±``SATURATION_VALUE`` (10): a random model's weights are about 1/sqrt(H) (0.18
    for 32 units), so such values push the gates' pre-activations past ±5, where sigmoid
    is 0.007 or 0.993 and the gates stop moving. None otherwise.
    """
    if sequence.normalization is not None or sequence.kind.value != "numbers":
        return None
    values = sequence.values
    valid = np.arange(values.shape[1])[None, :] < np.asarray(sequence.lengths)[:, None]
    data = values[valid]
    if not data.size:
        return None
    flat = np.abs(data)
    flat = np.where(np.isfinite(flat), flat, 0)
    index = np.unravel_index(int(np.argmax(flat)), flat.shape)
    value = float(data[index])
    names = sequence.feature_names
    return _saturation_message(value, names[index[1]] if index[1] < len(names) else None)


def _saturation_message(value: float, column: str | None) -> str | None:
    if column is None or not abs(value) > SATURATION_VALUE:
        return None
    return (
        f"the values reach {value:.4g} (column {column}): a gate whose input passes ±{GATE_SATURATION:g} "
        "stays within 0.01 of 0 or 1; normalise (z-score) to see the gates move"
    )


# -- the command line --------------------------------------------------------------------
def add_table_arguments(parser: argparse.ArgumentParser, fill: bool = True) -> None:
    """The table options of ``lstm-viz trace`` and of the window's command line.

    ``fill``: also add ``--fill`` (leave it out where the parser has its own).
    """
    group = parser.add_argument_group("tables (CSV/TSV): column roles, detected when not given")
    group.add_argument("--time", metavar="COL", help="the column that labels the steps")
    group.add_argument("--id", metavar="COL", help="the series id column: one sequence per value")
    for role, text in (
        ("categorical", "text columns to one-hot (features named COL=value)"),
        ("feature", "numeric columns to use as features"),
        ("ignore", "columns to leave out"),
    ):
        group.add_argument(f"--{role}", metavar="COL[,COL]", action="append", default=None, help=text)
    if not fill:
        return
    group.add_argument(
        "--fill",
        choices=FILLS,
        help="missing values: the previous value, 0, the column's mean, or drop the rows (default: refuse)",
    )


def table_options_from_args(args: argparse.Namespace) -> TableOptions:
    """The TableOptions the arguments of :func:`add_table_arguments` ask for."""
    roles: dict[str, str] = {}
    for role in ("categorical", "feature", "ignore"):
        for given in getattr(args, role, None) or []:
            for name in given.split(","):
                if name.strip():
                    roles[name.strip()] = role
    for role in ("time", "id"):
        name = getattr(args, role, None)
        if name:
            roles[name] = role
    normalize = getattr(args, "normalize", None)
    return TableOptions(
        roles=roles,
        fill=getattr(args, "fill", None),
        normalize=normalize if isinstance(normalize, str) else "none",
    )
