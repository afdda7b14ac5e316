"""The transport keys reach the transport wherever the keyboard focus is, except in a field
being typed in. Keys go to ``QApplication.focusWidget()``, as a real keyboard's would, so
a widget that claims them (a spin box claims Left, Right, Home, End and Space) is caught.
"""

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit

from lstm_viz.ui.main_window import MainWindow
from lstm_viz.ui.transport import is_typing_field
from tests.ui.conftest import panel

K = Qt.Key


def press(qtbot, key, modifier=Qt.KeyboardModifier.NoModifier):
    focus = QApplication.focusWidget()
    assert focus is not None, "nothing has the keyboard focus"
    qtbot.keyClick(focus, key, modifier)
    return focus


def test_keys_work_from_the_first_show(window, qtbot):
    focus = QApplication.focusWidget()
    assert focus is not None and not isinstance(focus, (QAbstractSpinBox, QLineEdit))
    speed = window.transport.speed.value()
    session = window.session
    press(qtbot, K.Key_Right)
    press(qtbot, K.Key_Right)
    assert session.step == 2
    assert window.transport.position.text().startswith("t = 2 / ")
    press(qtbot, K.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert session.step == 12
    press(qtbot, K.Key_Left)
    assert session.step == 11
    press(qtbot, K.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert session.step == 1
    press(qtbot, K.Key_End)
    assert session.step == session.length - 1
    press(qtbot, K.Key_Home)
    assert session.step == 0
    press(qtbot, K.Key_Space)
    assert window.transport.timer.isActive()
    press(qtbot, K.Key_Space)
    assert not window.transport.timer.isActive()
    press(qtbot, K.Key_5)  # a stray digit changes nothing
    assert window.transport.speed.value() == speed


def test_keys_work_after_the_tour_closes(window, qtbot):
    window.start_tour()
    qtbot.mouseClick(window.tour.next, Qt.MouseButton.LeftButton)
    window.tour.close_button.setFocus(Qt.FocusReason.MouseFocusReason)  # as a click on it does
    qtbot.mouseClick(window.tour.close_button, Qt.MouseButton.LeftButton)
    assert not window.tour.isVisible()
    assert not is_typing_field(QApplication.focusWidget())
    assert not isinstance(QApplication.focusWidget(), QAbstractSpinBox)
    press(qtbot, K.Key_Right)
    press(qtbot, K.Key_End)
    assert window.session.step == window.session.length - 1


def test_keys_work_after_choosing_in_a_toolbar_combo(window, qtbot):
    window.open_example("tutorial_stack", wait=True)  # 3 layers of 2 sequences of 3 steps
    combo = window.transport.layer
    assert combo.count() == 3
    window.session.set_step(0)
    combo.setFocus(Qt.FocusReason.MouseFocusReason)
    combo.showPopup()
    view = combo.view()
    qtbot.keyClick(view, K.Key_Down)
    qtbot.keyClick(view, K.Key_Return)
    assert combo.currentIndex() == 1 and window.session.layer == 1
    assert QApplication.focusWidget() is combo
    press(qtbot, K.Key_Right)
    assert window.session.step == 1 and combo.currentIndex() == 1  # the combo did not move
    press(qtbot, K.Key_End)
    assert window.session.step == 2 and combo.currentIndex() == 1
    press(qtbot, K.Key_Home)
    assert window.session.step == 0 and combo.currentIndex() == 1


def test_keys_work_from_a_clicked_speed_box_until_the_user_types_in_it(window, qtbot):
    speed = window.transport.speed
    qtbot.mouseClick(speed.lineEdit(), Qt.MouseButton.LeftButton)
    assert QApplication.focusWidget() is speed
    press(qtbot, K.Key_Right)
    press(qtbot, K.Key_Space)
    press(qtbot, K.Key_Space)
    assert window.session.step == 1 and speed.value() == 8
    # typing: the keys belong to the field
    speed.lineEdit().selectAll()
    press(qtbot, K.Key_1)
    press(qtbot, K.Key_2)
    press(qtbot, K.Key_Left)
    press(qtbot, K.Key_Home)
    assert window.session.step == 1
    press(qtbot, K.Key_Return)
    assert speed.value() == 12
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not speed, timeout=1000)
    press(qtbot, K.Key_Right)
    press(qtbot, K.Key_3)  # a stray digit after Enter does not change the speed
    assert window.session.step == 2 and speed.value() == 12


def test_keys_work_from_a_plot_a_button_and_a_check_box(window, qtbot):
    heatmaps = panel(window, "GateHeatmapsPanel")
    heatmaps.raise_()
    from pyqtgraph import GraphicsView

    view = heatmaps.findChildren(GraphicsView)[0]
    for widget in (view, window.transport.loop):
        widget.setFocus(Qt.FocusReason.MouseFocusReason)
        assert QApplication.focusWidget() is widget
        before = window.session.step
        press(qtbot, K.Key_Right)
        assert window.session.step == before + 1
    press(qtbot, K.Key_Space)  # plays; does not tick the loop box
    assert window.transport.timer.isActive() and not window.transport.loop.isChecked()
    press(qtbot, K.Key_Space)


def test_typing_in_your_input_keeps_the_keys(window, qtbot, tmp_path):
    (tmp_path / "t.txt").write_text("hello world", encoding="utf-8")
    window.open_files(sequence_path=str(tmp_path / "t.txt"), random_spec=([6], 1), wait=True)
    typing = panel(window, "TypingPanel")
    typing.raise_()
    window.session.set_step(3)
    typing.box.setFocus(Qt.FocusReason.MouseFocusReason)
    assert isinstance(QApplication.focusWidget(), QPlainTextEdit)
    typing.box.moveCursor(typing.box.textCursor().MoveOperation.End)
    press(qtbot, K.Key_Left)
    press(qtbot, K.Key_Space)
    press(qtbot, K.Key_Home)
    press(qtbot, K.Key_Right)
    assert window.session.step == 3 and not window.transport.timer.isActive()
    assert typing.box.toPlainText() == "hello worl d"
    # elsewhere in the window the keys step again
    window.transport.loop.setFocus(Qt.FocusReason.MouseFocusReason)
    press(qtbot, K.Key_Right)
    assert window.session.step == 4


def test_an_editable_table_keeps_the_arrow_keys(window, qtbot):
    typing = panel(window, "TypingPanel")
    typing.raise_()
    table = typing.table
    assert table.rowCount() > 2
    table.setFocus(Qt.FocusReason.MouseFocusReason)
    table.setCurrentCell(0, 0)
    press(qtbot, K.Key_Right)
    assert window.session.step == 0 and table.currentColumn() == 1


def test_the_router_filters_only_the_focus_chain_and_lets_go_when_closed(window, qtbot):
    """Every event of the application passed through the key router (in Python): paint
    events of every plot, 60 a step (1 ms of a 10 ms frame), and a closed window's router
    went on seeing them. It now filters only the focus widget and its ancestors."""
    from PySide6.QtWidgets import QApplication, QLabel

    seen = []
    router = window.key_router
    original = router._filter
    router._filter = lambda obj, event: seen.append(obj) or original(obj, event)
    other = QLabel("elsewhere")
    qtbot.addWidget(other)
    other.show()
    window.activateWindow()
    window.transport.speed.setFocus()
    QApplication.processEvents()
    speed = window.transport.speed
    focus = QApplication.focusWidget()
    assert focus is speed or speed.isAncestorOf(focus)
    assert router.watched[0] is focus and router.watched[-1] is window
    assert all(b.isAncestorOf(a) or b is a.parentWidget() for a, b in zip(router.watched, router.watched[1:]))
    seen.clear()
    other.repaint()
    window.session.set_step(5)
    for view in window.findChildren(pg.GraphicsView):
        view.viewport().repaint()
    QApplication.processEvents()
    assert not any(obj is other for obj in seen)  # a widget outside the window
    assert all(any(obj is w for w in router.watched) for obj in seen)  # nothing outside the focus chain
    press(qtbot, K.Key_Right)  # still routed: the clicked (not typed in) speed box lets Right through
    assert window.session.step == 6
    window.close()
    assert router.watched == []
    seen.clear()
    other.hide()
    other.show()
    other.repaint()
    QApplication.processEvents()
    assert seen == []


def test_the_first_show_maps_the_window_before_building_the_panels(qtbot, settings, monkeypatch):
    """Panels built inside show() kept the named X window unmapped for half a second: a script
    focusing it as soon as the name appeared got BadMatch, and its keys went nowhere. show()
    now returns with no panel built; they are built by the next turn of the event loop."""
    from PySide6.QtWidgets import QApplication

    monkeypatch.setenv("LSTM_VIZ_NO_DIALOGS", "1")
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.open_demo(wait=True)
    window.show()
    assert not any(p.built for p in window.panels)
    QApplication.processEvents()
    on_screen = [p for p in window.panels if not p._offscreen()]
    assert len(on_screen) >= 5 and all(p.built for p in on_screen)
    assert panel(window, "GateBarsPanel").shown_heights("input") is not None
