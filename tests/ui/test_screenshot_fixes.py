"""What screenshots showed wrong, checked on what is displayed."""

from PySide6.QtWidgets import QApplication

from tests.ui.conftest import panel


def test_the_shortcuts_help_is_a_table_with_every_key(window, qtbot):
    window.show_shortcuts()
    box = window.shortcuts_box
    try:
        text = box.text()
        assert text.startswith("<table") and "\t" not in text
        assert text.count("<tr>") == len(window.SHORTCUTS) == 8
        assert "<td style='padding-right: 18px'><b>Shift+Left / Right</b></td><td>ten steps</td>" in text
    finally:
        box.close()


def test_the_memory_list_shows_every_selected_unit(window, qtbot):
    memory = panel(window, "MemoryPanel")
    memory.raise_()
    units = [0, 1, 2, 3, 4, 5, 6, 7]
    window.session.select_units(units)
    window.session.set_step(5)
    QApplication.processEvents()
    lines = memory.numbers.text().split("\n")
    assert [line.split(":")[0] for line in lines] == [f"unit {u}" for u in units]
    assert "…" not in memory.numbers.text()
    # five lines show, the rest scroll into view
    bar = memory.numbers_area.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    assert memory.numbers_area.widget().visibleRegion().boundingRect().bottom() >= memory.numbers.height() - 2
