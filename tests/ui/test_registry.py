"""Panels and formats plug in: the window, the View menu, the default layout, the tour, the
file dialogs, the command line's help and README's table are derived from the registries."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

import lstm_viz.ui.panels as panels_module
from lstm_viz.io import formats
from lstm_viz.ui.main_window import MainWindow
from lstm_viz.ui.panels.base import Panel, Place
from lstm_viz.ui.tour import Tour

ROOT = Path(__file__).resolve().parents[2]


class LossPanel(Panel):
    """What a panel of a later issue looks like: one file, declared on its class."""

    title = "Loss per step"
    place = Place(tab="MemoryPanel")
    tour = ("The loss at every step", "How wrong the prediction is at each step.")
    requests = ("what_if",)

    def build(self):
        self.label = QLabel()
        self.setWidget(self.label)

    def on_step(self, step):
        self.label.setText(f"t = {step}")


def test_a_new_panel_is_one_class_and_one_registration_line(qtbot, settings, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    monkeypatch.setattr(panels_module, "PANELS", [*panels_module.PANELS, LossPanel])  # the one line
    import lstm_viz.ui.main_window as main_window

    monkeypatch.setattr(main_window, "PANELS", panels_module.PANELS)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    window.open_demo(wait=True)
    loss = next(p for p in window.panels if isinstance(p, LossPanel))
    assert loss.objectName() == "LossPanel" and loss.windowTitle() == "Loss per step"
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert "Loss per step" in [a.text() for a in view.actions()]
    memory = next(p for p in window.panels if p.objectName() == "MemoryPanel")
    assert loss in window.tabifiedDockWidgets(memory)  # placed as its class says
    stops = Tour(window).stops
    assert stops[-2].target == "LossPanel" and stops[-2].title == "The loss at every step"
    loss.raise_()
    window.session.set_step(7)
    assert loss.label.text() == "t = 7"
    seen = []
    window.session.handle("what_if", lambda panel, *args: seen.append((panel, args)))
    loss.request("what_if", [], {})
    assert seen == [(loss, ([], {}))]
    with pytest.raises(KeyError, match="does not declare the request 'typed_text'"):
        loss.request("typed_text", "abc")


def test_the_default_layout_follows_each_panel_s_place(window):
    by_name = {p.objectName(): p for p in window.panels}
    for panel in window.panels:
        place = panel.place
        if place.tab:
            assert by_name[place.tab] in window.tabifiedDockWidgets(panel), panel.objectName()
        elif place.below:
            above, below = by_name[place.below], panel
            assert below.geometry().top() >= above.geometry().bottom() - 2, panel.objectName()
            assert abs(below.geometry().left() - above.geometry().left()) < 5


def test_the_file_dialogs_the_help_and_readme_come_from_the_format_registry(capsys):
    from lstm_viz.cli import main

    sequence_filter = formats.dialog_filter("sequence")
    for reader in formats.readers("sequence"):
        for extension in reader.extensions:
            assert f"*{extension}" in sequence_filter.split(";;")[0]
    assert "*.onnx" in formats.dialog_filter("model") and "*.onnx" not in sequence_filter
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    options = "--model --random --example --screenshot --raise --select --normalize --fill --words --prefix"
    for option in (*options.split(), "--forget-bias", "--cell-clip", "--time", "--id", "--install-desktop"):
        assert option in help_text, option
    assert "TensorFlow 1 checkpoint" in help_text and "lstm-viz trace" in help_text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert formats.markdown_table() in readme  # regenerate: python -m lstm_viz.io.formats


def test_a_new_format_is_one_reader_and_one_registration_line(tmp_path, monkeypatch):
    from lstm_viz import load_sequence

    monkeypatch.setattr(formats, "READERS", list(formats.READERS))
    path = tmp_path / "steps.tally"
    path.write_text("|||\n|\n||\n", encoding="utf-8")
    formats.READERS.insert(
        0,
        formats.Reader(
            "tally", "sequence", "Tally marks", (".tally",),
            lambda p, head: p.endswith(".tally"), "tests.ui.test_registry:load_tally",
        ),
    )  # fmt: skip
    sequence = load_sequence(path)
    np.testing.assert_array_equal(sequence.values[0, :, 0], [3, 1, 2])
    assert "*.tally" in formats.dialog_filter("sequence") and formats.role_of(path) == "sequence"


def load_tally(path):
    from lstm_viz.engine.sequence import Sequence

    counts = [line.count("|") for line in Path(path).read_text().splitlines()]
    return Sequence(np.array(counts, np.float32)[None, :, None])


def test_the_formats_table_and_help_say_a_folder_opens_as_a_batch():
    from lstm_viz.io import formats
    from lstm_viz.io.sequences import MAX_FOLDER_FILES

    assert f"at most {MAX_FOLDER_FILES:,} files" in formats.FOLDER_OF_SEQUENCES
    assert "| sequence | A folder of sequence files |" in formats.markdown_table()
    assert formats.describe("sequence").endswith("or a folder of such files (one batch)")
