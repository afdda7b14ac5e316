"""The tour points at each panel in turn, can be closed at any point, and starts by itself once."""

from PySide6.QtCore import QRect, Qt

from lstm_viz.ui.main_window import MainWindow
from lstm_viz.ui.tour import STOPS


def test_the_tour_walks_through_every_panel(window, qtbot):
    window.start_tour()
    tour = window.tour
    assert tour.isVisible() and tour.heading.text() == STOPS[0].title
    seen, covered = [], []
    for index, stop in enumerate(STOPS):
        assert tour.counter.text() == f"Tour · {index + 1} of {len(STOPS)}"
        assert tour.body.text() == stop.text
        if stop.target not in ("Transport", "menu"):
            target = next(p for p in window.panels if p.objectName() == stop.target)
            assert not target.visibleRegion().isEmpty(), f"{stop.target} was not brought to the front"
            rect = QRect(target.mapTo(window, target.rect().topLeft()), target.size())
            assert tour.frame.geometry().contains(rect.center())
            covered.append(tour.geometry().contains(rect.center()))
            seen.append(stop.target)
        assert window.rect().contains(tour.geometry())  # the bubble stays inside the window
        qtbot.mouseClick(tour.next, Qt.MouseButton.LeftButton)
    assert not tour.isVisible() and not tour.frame.isVisible()  # "Done" on the last stop
    assert set(seen) == {p.objectName() for p in window.panels} - {"GuidePanel"}
    assert not any(covered)  # the bubble sits beside each panel, not over its middle


def test_the_tour_closes_at_any_point(window, qtbot):
    window.start_tour()
    qtbot.mouseClick(window.tour.next, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.tour.next, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.tour.back, Qt.MouseButton.LeftButton)
    assert window.tour.index == 1
    qtbot.mouseClick(window.tour.close_button, Qt.MouseButton.LeftButton)
    assert not window.tour.isVisible()
    window.start_tour()
    assert window.tour.isVisible() and window.tour.index == 0
    window.tour.escape.activated.emit()  # Escape
    assert not window.tour.isVisible()


def test_the_tour_starts_by_itself_only_once(qtbot, settings, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.show()
    assert first.maybe_start_tour() is True and first.tour.isVisible()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    second.show()
    assert second.maybe_start_tour() is False and getattr(second, "tour", None) is None
