"""Wide layers: bars for a few units over a strip of the whole layer; units picked by number
or as the top N by a figure. What the widgets show is checked against the engine's trace."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from lstm_viz.ui.unit_picker import UnitsError, format_units, parse_units, top_units
from tests.ui.conftest import panel
from tests.ui.test_panel_interaction import click, hover

H = 1024


@pytest.fixture
def wide(window, tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32) * 8
    np.save(tmp_path / "wide.npy", x)
    window.open_files(sequence_path=str(tmp_path / "wide.npy"), random_spec=([H], 0), wait=True)
    assert window.session.layer_trace.hidden_size == H
    gates = panel(window, "GateBarsPanel")
    gates.raise_()
    return window, gates


def gates_at(window, step):
    lt = window.session.trace.layers[0]
    return {g: getattr(lt, g)[0, step] for g in ("forget", "input", "output")}


def test_bars_show_the_selected_units_with_their_numbers(wide):
    window, gates = wide
    assert gates.wide and gates.toolbar.isVisible() and gates.strip.isVisible()
    window.session.select_units([3, 500, 1023])
    window.session.set_step(7)
    assert gates.shown_units() == [3, 500, 1023] and gates.shown_labels() == ["3", "500", "1023"]
    for gate, values in gates_at(window, 7).items():
        np.testing.assert_array_equal(gates.shown_heights(gate), values[[3, 500, 1023]])
    window.session.set_step(8)
    np.testing.assert_array_equal(gates.shown_heights("output"), gates_at(window, 8)["output"][[3, 500, 1023]])


def test_the_strip_shows_every_unit_of_the_layer_at_the_step(wide):
    window, gates = wide
    for step in (0, 13):
        window.session.set_step(step)
        at = gates_at(window, step)
        strip = gates.strip_columns()
        assert strip.shape == (3, H)
        for row, gate in enumerate(("forget", "input", "output")):  # keep, write, read from the top
            np.testing.assert_array_equal(strip[row], at[gate])
    np.testing.assert_array_equal(gates.selected_marks.getData()[0], np.array(window.session.selected) + 0.5)


def test_clicking_a_strip_column_selects_its_unit_and_hovering_says_its_gates(wide, qtbot):
    window, gates = wide
    window.session.set_step(5)
    gates.strip.setXRange(0, 1024, padding=0)  # the whole layer: the click is within a pixel of its column
    click(qtbot, gates.strip, 700.5, 1.5)
    assert abs(window.session.selected[0] - 700) <= 1
    gates.strip.setXRange(0, 100, padding=0)  # zoomed in (the wheel), a click is exact
    click(qtbot, gates.strip, 70.5, 1.5)
    assert window.session.selected == [70]
    gates.strip.setXRange(690, 710, padding=0)
    click(qtbot, gates.strip, 700.5, 1.5)
    assert window.session.selected == [700]
    assert gates.shown_units() == [700]
    click(qtbot, gates.strip, 695.5, 0.5, Qt.KeyboardModifier.ControlModifier)
    assert window.session.selected == [695, 700]
    at = gates_at(window, 5)
    hover(qtbot, gates.strip, 695.5, 2.5)
    assert gates.hover_text.startswith("unit 695 · t = 5")
    assert f"Read (output) {at['output'][695]:.4f}" in gates.hover_text
    hover(qtbot, gates.plot, 1 * gates.GROUP + 1, 0.02)  # the second bars: unit 700's write gate
    assert gates.hover_text.startswith("Write (input) gate · unit 700") and gates.hover_text.endswith(
        f"{at['input'][700]:.4f}"
    )


@pytest.mark.parametrize("figure", ["change", "forgetting", "writing"])
def test_show_the_top_16_by_a_figure(wide, figure):
    window, gates = wide
    window.session.select_units([1, 2])
    gates.show_choice.setCurrentIndex(gates.show_choice.findData(figure))
    lt = window.session.trace.layers[0]
    for step in (0, 9, 10):
        window.session.set_step(step)
        if figure == "change":  # the three gates' moves since the last step, summed
            score = sum(
                np.abs(getattr(lt, g)[0, step].astype(np.float64) - (getattr(lt, g)[0, step - 1] if step else 0))
                for g in ("forget", "input", "output")
            )
            if step == 0:
                score = np.zeros(H)
        else:
            score = -lt.forget[0, step] if figure == "forgetting" else lt.input[0, step]
        expected = sorted(np.lexsort((np.arange(H), -np.asarray(score, np.float64)))[:16].tolist())
        assert gates.shown_units() == expected
        assert gates.shown_labels() == [str(u) for u in expected]
        for gate, values in gates_at(window, step).items():
            np.testing.assert_array_equal(gates.shown_heights(gate), values[expected])
    gates.select_shown.click()
    assert window.session.selected == expected


def test_a_small_layer_keeps_three_bars_for_every_unit(window):
    gates = panel(window, "GateBarsPanel")
    assert not gates.wide and not gates.toolbar.isVisible() and not gates.strip.isVisible()
    window.session.set_step(4)
    assert gates.shown_units() == list(range(window.session.layer_trace.hidden_size))
    np.testing.assert_array_equal(gates.shown_heights("forget"), window.session.trace.layers[0].forget[0, 4])


# -- the unit picker ---------------------------------------------------------------------------
def test_parse_units_reads_numbers_and_ranges():
    assert parse_units("3, 10-20, 40", 1024) == [3, *range(10, 21), 40]
    assert parse_units(" 7 ;5 5\t1 – 2, 9..8, 30:31 ", 1024) == [1, 2, 5, 7, 8, 9, 30, 31]
    assert parse_units("20-10", 100) == list(range(10, 21))
    assert parse_units("1023", 1024) == [1023]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2000", "unit 2000 does not exist: this layer has 1,024 units (0 to 1023)"),
        ("10-2000", "unit 2000 does not exist: this layer has 1,024 units (0 to 1023)"),
        ("1024", "unit 1024 does not exist"),
        ("", "type unit numbers or ranges, e.g. 3, 10-20, 40"),
        ("abc", "'abc' is not a unit number or a range of them (e.g. 3, 10-20, 40)"),
        ("3-", "'3-' is not a unit number or a range"),
        ("1.5", "'1.5' is not a unit number"),
        ("-4", "'-4' is not a unit number"),
        ("1-2-3", "'1-2-3' is not a unit number"),
    ],
)
def test_parse_units_says_what_is_wrong(text, message):
    with pytest.raises(UnitsError) as error:
        parse_units(text, 1024)
    assert str(error.value).startswith(message)


def test_format_units_writes_what_parse_units_reads():
    for units in ([], [5], [1, 2], [1, 2, 3], [0, 3, 10, 11, 12, 13, 40, 41], list(range(1024))):
        text = format_units(units)
        assert (parse_units(text, 1024) if units else []) == units
    assert format_units([40, 3, *range(10, 21)]) == "3, 10-20, 40"


def test_top_units_ranks_first_the_largest_and_breaks_ties_by_number():
    values = {g: np.array([[0.5, 0.1, 0.9, 0.1, 0.9]]) for g in ("forget", "input", "output")}
    assert top_units(values, 0, "writing", 3).tolist() == [2, 4, 0]
    assert top_units(values, 0, "forgetting", 2).tolist() == [1, 3]
    assert top_units(values, 0, "change", 2).tolist() == [0, 1]  # no last step: all equal


def test_typing_units_in_the_gates_line_selects_them_or_says_what_is_wrong(wide, qtbot):
    window, gates = wide
    picker = gates.picker
    picker.edit.setFocus()
    picker.edit.clear()
    qtbot.keyClicks(picker.edit, "3, 10-12, 40")
    qtbot.keyClick(picker.edit, Qt.Key.Key_Return)
    assert window.session.selected == [3, 10, 11, 12, 40]
    assert gates.shown_units() == [3, 10, 11, 12, 40]
    assert picker.message.text() == "5 units selected."
    picker.edit.setText("7, 2000")
    picker.select_typed()
    assert window.session.selected == [3, 10, 11, 12, 40]  # unchanged
    assert picker.message.isVisibleTo(gates) and "#c92a2a" in picker.message.styleSheet()
    assert picker.message.text() == "unit 2000 does not exist: this layer has 1,024 units (0 to 1023)"
    picker.edit.clearFocus()
    window.session.select_units([8, 9, 10])  # a selection made elsewhere is written in the line
    assert picker.edit.text() == "8-10"


def test_the_units_panel_selects_by_number_or_the_top_n_by_a_figure(wide, qtbot):
    window, _ = wide
    units = panel(window, "UnitsPanel")
    units.raise_()
    qtbot.waitUntil(lambda: units.isVisible())
    picker = units.picker
    picker.edit.setText("0-3, 1000")
    picker.select_typed()
    assert window.session.selected == [0, 1, 2, 3, 1000]
    window.session.set_step(12)
    picker.top_figure.setCurrentIndex(picker.top_figure.findData("writing"))
    picker.top_count.setValue(5)
    picker.top_button.click()
    written = window.session.trace.layers[0].input[0, 12]
    assert window.session.selected == sorted(np.argsort(-written, kind="stable")[:5].tolist())
    assert picker.message.text().startswith("Selected the top 5 by write gate, highest at t = 12")
