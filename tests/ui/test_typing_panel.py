"""Type-your-own input: text, bases and a table of numbers, each re-run by the engine."""

import numpy as np
from PySide6.QtWidgets import QTableWidgetItem

from lstm_viz.io.sequences import dna_sequence, text_sequence
from tests.ui.conftest import panel


def typing(window):
    p = panel(window, "TypingPanel")
    p.raise_()
    return p


def test_typing_text_updates_the_trace_after_a_pause(window, qtbot, tmp_path):
    (tmp_path / "t.txt").write_text("hello world", encoding="utf-8")
    window.open_files(sequence_path=str(tmp_path / "t.txt"), random_spec=([6], 1), wait=True)
    window.session.select_units([4])
    p = typing(window)
    assert p.box.toPlainText() == "hello world"
    model = window.session.model
    vocabulary = window.session.sequence.vocabulary
    qtbot.keyClicks(p.box, "!")  # outside the vocabulary: all-zero
    qtbot.keyClicks(p.box, " low")
    assert window.session.sequence.length == 11  # debounced: nothing re-ran yet
    qtbot.waitUntil(lambda: window.session.sequence.length == 16, timeout=3000)
    expected = model.run(text_sequence("hello world! low", vocabulary=vocabulary).values)
    np.testing.assert_array_equal(window.session.trace.layers[0].cell, expected.layers[0].cell)
    assert window.session.step == 15 and window.session.label() == "w"
    assert window.session.selected == [4]  # typing keeps the selection
    assert p.box.toPlainText() == "hello world! low"  # and the text being typed


def test_typing_bases(window, qtbot, tmp_path):
    (tmp_path / "s.fa").write_text(">r\nACGT\n", encoding="ascii")
    window.open_files(sequence_path=str(tmp_path / "s.fa"), random_spec=([3], 0), wait=True)
    p = typing(window)
    p.box.setPlainText("ACGTTGCAN")
    p.settle()
    expected = window.session.model.run(dna_sequence("ACGTTGCAN").values)
    np.testing.assert_array_equal(window.session.trace.output, expected.output)
    p.box.setPlainText("ACGZ")
    p.settle()
    assert "'Z' is not a nucleotide" in p.hint.text()
    assert window.session.sequence.length == 9  # the last good run stays


def test_editing_the_table_of_numbers(window, qtbot):
    p = typing(window)
    assert p.stack.currentIndex() == 1 and p.table.rowCount() == 30
    # rows are named by their step, from 0, like the messages and the rest of the window
    assert [p.table.verticalHeaderItem(t).text() for t in (0, 29)] == ["0", "29"]
    x = window.session.trace.x[0].copy()
    p.table.item(4, 1).setText("1")
    p.table.item(4, 0).setText("0.25")
    p._add_row()
    p.table.setItem(30, 1, QTableWidgetItem("1"))
    p.settle()
    x[4] = [0.25, 1.0]
    x = np.vstack([x, [float(f"{x[-1, 0]:.6g}"), 1.0]])  # a new step copies the last one as shown
    expected = window.session.model.run(x.astype(np.float32))
    np.testing.assert_array_equal(window.session.trace.layers[0].hidden, expected.layers[0].hidden)
    assert window.session.length == 31 and p.table.verticalHeaderItem(30).text() == "30"
    p.table.item(2, 0).setText("abc")
    p.settle()
    assert "step 2, value: 'abc' is not a number" in p.table_status.text()
