"""The Sequences panel: a batch's sequences by name and length, filtered as one types; a
click shows one. A folder of files opens as that batch from the window and by a drop."""

import time

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.ui.conftest import panel

COUNT = 1000


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A thousand short series, named by site and number, of different lengths."""
    root = tmp_path_factory.mktemp("batch") / "sensors"
    root.mkdir()
    rng = np.random.default_rng(0)
    sites = ["berlin", "lyon", "porto", "oslo"]
    for k in range(COUNT):
        n = int(rng.integers(5, 30))
        np.save(root / f"{sites[k % 4]}_{k:04d}.npy", rng.normal(size=(n, 3)).astype(np.float32))
    return root


@pytest.fixture
def batch(window, folder):
    window.open_files(sequence_path=str(folder), random_spec=([6], 0), wait=True)
    assert window.last_error is None, window.last_error
    sequences = panel(window, "SequencesPanel")
    sequences.raise_()
    return window, sequences


def click_row(qtbot, sequences, name):
    row = sequences.shown_names().index(name)
    index = sequences.proxy.index(row, 0)
    sequences.view.scrollTo(index)
    qtbot.mouseClick(
        sequences.view.viewport(), Qt.MouseButton.LeftButton, pos=sequences.view.visualRect(index).center()
    )


def test_every_sequence_is_listed_by_name_with_its_length(batch):
    window, sequences = batch
    sequence = window.session.sequence
    assert sequence.batch_size == COUNT and sequences.shown_names() == sequence.names
    assert sequence.names[:2] == ["berlin_0000", "berlin_0004"]  # a name per file, in order of names
    lengths = [sequences.proxy.index(r, 1).data() for r in range(sequences.proxy.rowCount())]
    assert lengths == [f"{n:,}" for n in sequence.lengths]
    assert sequences.highlighted() == ["berlin_0000"]
    assert sequences.line.text().startswith(f"Shown: berlin_0000 ({sequence.lengths[0]} steps), sequence 1 of 1,000")


def test_typing_filters_the_names(batch, qtbot):
    window, sequences = batch
    names = window.session.sequence.names
    started = time.perf_counter()
    qtbot.keyClicks(sequences.search, "OSLO_00")
    elapsed = time.perf_counter() - started
    expected = [n for n in names if "oslo_00" in n]
    assert sequences.shown_names() == expected and len(expected) == 25
    assert "25 of 1,000 match the filter" in sequences.line.text()
    assert elapsed < 2.0  # seven keys, each filtering a thousand names (a few ms in practice)
    sequences.search.clear()
    assert len(sequences.shown_names()) == COUNT


def test_a_click_shows_that_sequence_and_it_is_highlighted(batch, qtbot):
    window, sequences = batch
    sequences.search.setText("porto_07")
    click_row(qtbot, sequences, "porto_0742")
    b = window.session.sequence.names.index("porto_0742")
    assert window.session.batch == b
    assert sequences.highlighted() == ["porto_0742"]
    length = int(window.session.sequence.lengths[b])
    assert window.session.length == length
    np.testing.assert_array_equal(
        panel(window, "GateBarsPanel").shown_heights("forget"), window.session.trace.layers[0].forget[b, 0]
    )
    window.session.set_batch(3)  # chosen elsewhere (the toolbar): the list follows
    sequences.search.clear()
    assert sequences.highlighted() == [window.session.sequence.names[3]]


def test_enter_shows_the_first_match_and_a_header_sorts_by_length(batch, qtbot):
    window, sequences = batch
    qtbot.keyClicks(sequences.search, "lyon_09")
    qtbot.keyClick(sequences.search, Qt.Key.Key_Return)
    assert window.session.sequence.names[window.session.batch] == "lyon_0901"
    sequences.search.clear()
    sequences.view.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    lengths = [int(sequences.proxy.index(r, 1).data()) for r in range(sequences.proxy.rowCount())]
    assert lengths == sorted(window.session.sequence.lengths.tolist(), reverse=True)


def test_a_single_sequence_says_how_to_get_a_batch(window):
    sequences = panel(window, "SequencesPanel")
    sequences.raise_()
    assert sequences.shown_names() == window.session.sequence.names
    assert "opens as a batch" in sequences.line.text()


def test_the_panel_sits_behind_the_input_panel_s_tab(window):
    sequences = panel(window, "SequencesPanel")
    assert panel(window, "InputPanel") in window.tabifiedDockWidgets(sequences)
    assert not sequences.place.front


def test_dropping_a_folder_opens_it_as_a_batch(window, folder, tmp_path, qtbot):
    np.save(tmp_path / "one.npy", np.ones((7, 3), np.float32))
    window.open_files(sequence_path=str(tmp_path / "one.npy"), random_spec=([4], 0), wait=True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)  # a folder of sequence files is a sequence (a checkpoint folder would be a model)
    qtbot.waitUntil(lambda: window.session.sequence.batch_size == COUNT, timeout=30000)
    assert window.session.sequence.names[0] == "berlin_0000" and window.session.model.hidden_sizes == [4]
