"""Tables as people have them, read with pandas: roles detected or chosen, fills, encodings."""

import argparse
import datetime as dt
import json

import numpy as np
import pytest

from lstm_viz import FileFormatError, load_sequence
from lstm_viz.errors import InputError
from lstm_viz.io.tables import (
    SATURATION_VALUE,
    TableOptions,
    add_table_arguments,
    inspect_table,
    read_table,
    saturation_hint,
    table_options_from_args,
)

WEATHER = ["rain", "sun", "drizzle", "snow", "fog"]
DAY0 = dt.date(2024, 1, 1)


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def sunspots(tmp_path):
    rows = [f"{float(year)},{(year * 7) % 50 + 0.5}" for year in range(1700, 1730)]
    return write(tmp_path, "sunspots.csv", "YEAR,SUNACTIVITY\n" + "\n".join(rows) + "\n")


@pytest.fixture
def stock(tmp_path):
    lines = ["symbol,date,price"]
    for symbol, days, base in (("AAPL", 5, 180.0), ("GOOG", 3, 140.0), ("MSFT", 4, 370.0)):
        lines += [f"{symbol},{DAY0 + dt.timedelta(days=k)},{base + k}" for k in range(days)]
    return write(tmp_path, "stock.csv", "\n".join(lines) + "\n")


def weather_rows(n=20):
    return [
        (DAY0 + dt.timedelta(days=k), round(0.3 * (k % 4), 1), 10.0 + k % 7, 2.0 + k % 5, 3.5, WEATHER[k % 5])
        for k in range(n)
    ]


@pytest.fixture
def weather(tmp_path):
    lines = ["date,precipitation,temp_max,temp_min,wind,weather"]
    lines += [",".join(str(v) for v in row) for row in weather_rows()]
    return write(tmp_path, "seattle-weather.csv", "\n".join(lines) + "\n")


def test_an_increasing_year_written_as_floats_labels_the_steps(sunspots):
    preview = inspect_table(sunspots)
    year = preview.columns[0]
    assert (year.name, year.role, year.dtype) == ("YEAR", "time", "integer")
    assert "increases" in year.reason
    seq = read_table(sunspots)
    assert seq.feature_names == ["SUNACTIVITY"] and seq.values.shape == (1, 30, 1)
    assert seq.labels[:3] == ["1700", "1701", "1702"] and seq.labels[-1] == "1729"
    assert seq.values[0, 1, 0] == pytest.approx((1701 * 7) % 50 + 0.5)
    assert seq.options["table"]["roles"] == {"YEAR": "time", "SUNACTIVITY": "feature"}


def test_a_year_column_that_does_not_increase_is_a_feature(tmp_path):
    path = write(tmp_path, "y.csv", "year,x\n2001,1\n1999,2\n2003,3\n")
    assert read_table(path).feature_names == ["year", "x"]


def test_a_stock_table_is_a_batch_named_by_symbol_labelled_by_date(stock):
    preview = inspect_table(stock)
    assert [(c.name, c.role) for c in preview.columns] == [("symbol", "id"), ("date", "time"), ("price", "feature")]
    assert preview.summary() == "3 sequences (AAPL, GOOG, MSFT) of up to 5 steps, 1 feature; time: date"
    seq = load_sequence(stock)
    assert seq.names == ["AAPL", "GOOG", "MSFT"] and seq.lengths.tolist() == [5, 3, 4]
    assert seq.values.shape == (3, 5, 1)
    np.testing.assert_array_equal(seq.values[1, :, 0], [140, 141, 142, 0, 0])
    assert seq.batch_labels[0] == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    assert seq.batch_labels[1] == ["2024-01-01", "2024-01-02", "2024-01-03", "", ""]
    assert seq.labels == seq.batch_labels[0]


def test_a_text_column_in_runs_is_the_id_whatever_its_name(tmp_path):
    lines = ["company,close"] + [f"{name},{k}" for name in ("Acme", "Globex") for k in range(4)]
    seq = read_table(write(tmp_path, "c.csv", "\n".join(lines)))
    assert seq.names == ["Acme", "Globex"] and seq.lengths.tolist() == [4, 4]
    assert seq.batch_labels[1] == ["0", "1", "2", "3"]
    assert "runs" in inspect_table(tmp_path / "c.csv").columns[0].reason


def test_a_long_table_sorted_by_date_splits_by_the_column_that_makes_dates_unique(tmp_path):
    lines = ["day,company,close"]
    for k in range(4):
        lines += [f"2024-02-0{k + 1},{name},{k + 10 * j}" for j, name in enumerate(("Acme", "Globex", "Initech"))]
    seq = read_table(write(tmp_path, "long.csv", "\n".join(lines) + "\n"))
    assert seq.names == ["Acme", "Globex", "Initech"]
    np.testing.assert_array_equal(seq.values[2, :, 0], [20, 21, 22, 23])
    assert seq.batch_labels[2] == ["2024-02-01", "2024-02-02", "2024-02-03", "2024-02-04"]


def test_a_categorical_column_becomes_one_hot_features(weather):
    preview = inspect_table(weather)
    roles = {c.name: c.role for c in preview.columns}
    assert roles == {
        "date": "time",
        "precipitation": "feature",
        "temp_max": "feature",
        "temp_min": "feature",
        "wind": "feature",
        "weather": "categorical",
    }
    seq = read_table(weather)
    onehot = ["weather=drizzle", "weather=fog", "weather=rain", "weather=snow", "weather=sun"]
    assert seq.feature_names == ["precipitation", "temp_max", "temp_min", "wind"] + onehot
    rows = weather_rows()
    for t in (0, 1, 3, 17):
        expected = [1.0 if name == f"weather={rows[t][5]}" else 0.0 for name in onehot]
        np.testing.assert_array_equal(seq.values[0, t, 4:], expected)
    assert rows[1][5] == "sun" and seq.values[0, 1, onehot.index("weather=sun") + 4] == 1.0
    np.testing.assert_allclose(seq.values[0, 3, :4], rows[3][1:5], rtol=1e-6)
    assert seq.labels[3] == "2024-01-04" and seq.encoding == "numeric, one-hot weather"
    dropped = read_table(weather, TableOptions(roles={"weather": "ignore"}))
    assert dropped.width == 4


def test_dates_in_other_formats_are_kept_as_dates(tmp_path):
    text = "when,v\n01/30/2024,1\n01/31/2024,2\n02/01/2024,3\n"
    seq = read_table(write(tmp_path, "us.csv", text))
    assert seq.labels == ["2024-01-30", "2024-01-31", "2024-02-01"]
    hourly = "stamp,temp\n2024-01-05 13:00,1\n2024-01-05 14:00,2\n"
    assert read_table(write(tmp_path, "h.csv", hourly)).labels == ["2024-01-05 13:00", "2024-01-05 14:00"]


def refused_until_filled(path, message):
    """Missing values are refused with ``message`` by default, and read with fill='previous'."""
    with pytest.raises(FileFormatError, match=message):
        read_table(path)
    return read_table(path, TableOptions(fill="previous"))


def test_gaps_are_reported_or_filled_within_each_series(tmp_path):
    text = "station,t,temp\nA,0,1\nA,1,\nA,2,3\nB,0,\nB,1,20\nB,2,NA\n"
    path = write(tmp_path, "gaps.csv", text)
    previous = refused_until_filled(path, r"line 3, column 'temp': missing .*\(3 in all\)")
    np.testing.assert_array_equal(previous.values[:, :, 0], [[1, 1, 3], [20, 20, 20]])  # never from A into B
    np.testing.assert_array_equal(read_table(path, {"fill": "zero"}).values[:, :, 0], [[1, 0, 3], [0, 20, 0]])
    np.testing.assert_allclose(read_table(path, {"fill": "mean"}).values[:, :, 0], [[1, 8, 3], [8, 20, 8]])
    drop = read_table(path, TableOptions(fill="drop"))
    assert drop.lengths.tolist() == [2, 1]
    np.testing.assert_array_equal(drop.values[:, :, 0], [[1, 3], [20, 0]])
    assert drop.batch_labels == [["0", "2"], ["1", ""]]
    assert drop.options["table"]["fill"] == "drop"


def test_a_missing_category_is_a_gap_too(tmp_path):
    text = "x,kind\n1,a\n2,\n3,b\n4,a\n5,b\n"
    seq = refused_until_filled(write(tmp_path, "cat.csv", text), r"line 3, column 'kind': missing")
    np.testing.assert_array_equal(seq.values[0, :, 1:], [[1, 0], [1, 0], [0, 1], [1, 0], [0, 1]])


def test_semicolons_with_decimal_commas(tmp_path):
    text = "Datum;Temperatur;Regen\n2024-01-01;1,5;0,25\n2024-01-02;-2,75;0\n2024-01-03;3;1,5\n"
    seq = read_table(write(tmp_path, "de.csv", text))
    np.testing.assert_allclose(seq.values[0], [[1.5, 0.25], [-2.75, 0], [3, 1.5]])
    assert seq.labels[0] == "2024-01-01"
    assert seq.options["table"]["delimiter"] == ";" and seq.options["table"]["decimal"] == ","


def test_quoted_fields_with_delimiters_and_a_bom(tmp_path):
    text = 'time,"city, state",value\n0,"Portland, OR",1.5\n1,"Portland, OR",2.5\n2,"Salem, OR",3.5\n3,"Salem, OR",4\n'
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    preview = inspect_table(path)
    assert preview.names == ["time", "city, state", "value"]
    seq = read_table(path)
    assert seq.names == ["Portland, OR", "Salem, OR"]
    np.testing.assert_array_equal(seq.values[:, :, 0], [[1.5, 2.5], [3.5, 4]])


def test_latin1_files_are_read(tmp_path):
    text = "station,temp\nZürich,1.5\nZürich,2\nGenève,3\nGenève,4\n"
    path = write(tmp_path, "latin.csv", text, encoding="latin-1")
    seq = read_table(path)
    assert seq.names == ["Zürich", "Genève"]
    assert seq.options["table"]["encoding"] == "latin-1"
    with pytest.raises(FileFormatError, match="not utf-8 text"):
        read_table(path, TableOptions(encoding="utf-8"))


def test_a_row_with_more_cells_than_the_header_is_refused_with_its_line(tmp_path):
    with pytest.raises(FileFormatError, match=r"line 3 has 3 cells but the header names 2 columns"):
        read_table(write(tmp_path, "extra.csv", "a,b\n1,2\n3,4,5\n6,7\n"))
    with pytest.raises(FileFormatError, match=r"line 2 has 3 cells but the header names 2"):
        read_table(write(tmp_path, "first.csv", "a,b\n1,2,3\n4,5,6\n"))
    # a delimiter ending every data row (an export quirk) holds no cell: nothing is lost
    seq = read_table(write(tmp_path, "trailing.csv", "a,b\n1,2,\n3,4,\n"))
    np.testing.assert_array_equal(seq.values[0], [[1, 2], [3, 4]])


def test_a_very_wide_table_keeps_every_column(tmp_path):
    width = 3000
    header = ",".join(f"sensor_{k}" for k in range(width))
    rows = [",".join(f"{(r * width + k) % 97 / 10:.3f}" for k in range(width)) for r in range(3)]
    seq = read_table(write(tmp_path, "wide.csv", header + "\n" + "\n".join(rows) + "\n"))
    assert seq.values.shape == (1, 3, width) and seq.feature_names[-1] == f"sensor_{width - 1}"
    assert seq.values[0, 2, width - 1] == pytest.approx((2 * width + width - 1) % 97 / 10)


def test_chosen_roles_win_and_unknown_columns_are_named(stock):
    seq = read_table(stock, TableOptions(roles={"symbol": "ignore"}))
    assert seq.batch_size == 1 and seq.length == 12
    assert seq.options["table"]["roles"]["symbol"] == "ignore"
    preview = inspect_table(stock, TableOptions(roles={"symbol": "categorical"}))
    assert preview.columns[0].role == "categorical" and preview.columns[0].detected == "id"
    assert preview.summary() == "1 sequence of 12 steps, 4 features (1 numeric, symbol: 3 one-hot); time: date"
    with pytest.raises(FileFormatError, match=r"has no column 'ticker' \(its columns: 'symbol', 'date', 'price'\)"):
        read_table(stock, TableOptions(roles={"ticker": "id"}))
    with pytest.raises(FileFormatError, match="column 'symbol' holds text, not numbers"):
        read_table(stock, TableOptions(roles={"symbol": "feature"}))


def test_free_text_and_row_ids_are_ignored_with_a_reason(tmp_path):
    lines = ["id,comment,value"] + [f"{k},note number {k},{k * 0.5}" for k in range(60)]
    preview = inspect_table(write(tmp_path, "notes.csv", "\n".join(lines)))
    roles = {c.name: (c.role, c.reason) for c in preview.columns}
    assert roles["comment"][0] == "ignore" and "60 different values" in roles["comment"][1]
    assert roles["id"][0] == "feature"  # a different id on every row is not a series
    assert roles["value"][0] == "feature"


def test_a_pandas_index_column_is_a_row_number(tmp_path):
    seq = read_table(write(tmp_path, "df.csv", ",a\n0,5\n1,6\n2,7\n"))
    assert seq.feature_names == ["a"] and seq.labels == ["0", "1", "2"]
    assert seq.options["table"]["roles"] == {"column 1": "time", "a": "feature"}


def test_normalisation_and_the_scale_hint(weather, tmp_path):
    raw = read_table(weather)
    hint = saturation_hint(raw)
    assert hint == (
        "the values reach 16 (column temp_max): a gate whose input passes ±5 stays within 0.01 of 0 or 1; "
        "normalise (z-score) to see the gates move"
    )
    from lstm_viz.engine.reference import sigmoid

    assert 1 - sigmoid(5.0) < 0.01 and sigmoid(-5.0) < 0.01  # what the sentence says, checked
    assert inspect_table(weather).hint() == hint
    z = read_table(weather, TableOptions(normalize="zscore"))
    assert z.normalization["kind"] == "zscore" and saturation_hint(z) is None
    np.testing.assert_allclose(z.values[0].mean(axis=0), 0, atol=1e-5)
    assert z.options["table"]["normalize"] == "zscore"
    small = read_table(write(tmp_path, "small.csv", f"a\n{SATURATION_VALUE - 0.1}\n-3\n"))
    assert saturation_hint(small) is None
    big = read_table(write(tmp_path, "big.csv", f"a\n1\n-{SATURATION_VALUE + 0.5}\n"))
    assert saturation_hint(big).startswith("the values reach -10.5 (column a)")


def test_load_sequence_passes_fill_normalise_and_table_options(stock, tmp_path):
    gaps = write(tmp_path, "g.csv", "a,b\n1,2\n,3\n4,5\n")
    seq = load_sequence(gaps, fill="drop", normalize="minmax")
    assert seq.lengths.tolist() == [2] and seq.options["table"]["normalize"] == "minmax"
    np.testing.assert_allclose(seq.values[0], [[0, 0], [1, 1]])
    seq = load_sequence(stock, table={"roles": {"symbol": "ignore"}, "fill": None, "normalize": "none"})
    assert seq.batch_size == 1


def test_bad_tables_raise_the_projects_error(tmp_path):
    cases = {
        "quote.csv": 'a,b\n1,"2\n3,4\n',
        "empty.csv": "\n\n",
        "header.csv": "a,b\n",
        "words.csv": "name\nfoo\nbar\n",
    }
    for name, text in cases.items():
        with pytest.raises(FileFormatError) as info:
            read_table(write(tmp_path, name, text))
        assert name in str(info.value)
    (tmp_path / "bin.csv").write_bytes(b"a,b\n\x00\x01\x02")
    with pytest.raises(FileFormatError, match="binary"):
        read_table(tmp_path / "bin.csv")
    with pytest.raises(FileFormatError, match="no such file"):
        read_table(tmp_path / "nothing.csv")


def test_table_options_round_trip_and_validate():
    options = TableOptions(roles={"date": "time", "kind": "categorical"}, fill="drop", normalize="zscore", decimal=",")
    again = TableOptions.from_dict(json.loads(json.dumps(options.to_dict())))
    assert again == options and again.to_dict()["decimal"] == ","
    for bad in (
        {"roles": {"a": "label"}},
        {"fill": "interpolate"},
        {"normalize": "log"},
        {"roles": {"a": "time", "b": "time"}},
        {"encoding": "no-such-codec"},
        {"colour": "red"},
    ):
        with pytest.raises(InputError):
            TableOptions.from_dict(bad)


def test_command_line_arguments_become_table_options():
    parser = argparse.ArgumentParser()
    add_table_arguments(parser)
    args = parser.parse_args(
        ["--time", "date", "--id", "symbol", "--categorical", "weather,kind", "--ignore", "note", "--fill", "drop"]
    )
    options = table_options_from_args(args)
    assert options.roles == {
        "weather": "categorical",
        "kind": "categorical",
        "note": "ignore",
        "date": "time",
        "symbol": "id",
    }
    assert options.fill == "drop"
    assert table_options_from_args(parser.parse_args([])) == TableOptions()
