"""The transport toolbar: first, back, play/pause, forward, last, speed, loop, scrubber.

It only writes the Session's step. Up to :data:`EVERY_STEP_UP_TO` steps a second playback
advances one step per tick, so every step is shown; faster, it draws about 60 frames a
second and advances by the steps the elapsed time asks for (a million steps in 10 s).

The transport keys (Space, Left/Right, Shift+Left/Right, Home/End) are window shortcuts.
Qt lets the widget with the keyboard focus claim a shortcut's key first (a spin box claims
Left, Right, Home, End and Space to edit its text, a button Space), so :class:`KeyRouter`
decides who gets them: a field the user is typing in keeps them (a text box, an editable
table, a spin box once a character was typed into it), every other widget of the window
passes them on to the transport.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QElapsedTimer, QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QTextEdit,
    QToolBar,
    QWidget,
)

from lstm_viz.ui.session import Session

EVERY_STEP_UP_TO = 240
"""Playback speeds (steps a second) at which every step is drawn, one per tick."""

FRAME_MS = 16
"""The tick of faster playback: about 60 frames a second."""

MAX_SPEED = 1_000_000
WHOLE_IN_SECONDS = 10


class JumpSlider(QSlider):
    """A slider whose handle goes where its groove is clicked (and can be dragged on from
    there), as in a media player, instead of moving a page towards the click."""

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            option = QStyleOptionSlider()
            self.initStyleOption(option)
            style, slider = self.style(), QStyle.ComplexControl.CC_Slider
            handle = style.subControlRect(slider, option, QStyle.SubControl.SC_SliderHandle, self)
            point = event.position().toPoint()
            if not handle.contains(point):
                groove = style.subControlRect(slider, option, QStyle.SubControl.SC_SliderGroove, self)
                horizontal = self.orientation() == Qt.Orientation.Horizontal
                length = (groove.width() - handle.width()) if horizontal else (groove.height() - handle.height())
                at = (point.x() - groove.x() - handle.width() / 2) if horizontal else (point.y() - groove.y())
                value = QStyle.sliderValueFromPosition(
                    self.minimum(), self.maximum(), int(round(at)), max(1, length), option.upsideDown
                )
                self.setValue(value)  # the press below then takes the handle, now under the mouse
        super().mousePressEvent(event)


class Transport(QToolBar):
    def __init__(self, session: Session, parent=None):
        super().__init__("Transport", parent)
        self.setObjectName("Transport")
        self.session = session
        style = self.style()
        icon = style.standardIcon

        def action(text, pixmap, shortcuts, slot):
            act = QAction(icon(pixmap), text, self)
            act.setShortcuts([QKeySequence(s) for s in shortcuts])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        sp = QStyle.StandardPixmap
        self.first = action("First step", sp.SP_MediaSkipBackward, ["Home"], lambda: session.set_step(0))
        self.back = action("Step back", sp.SP_MediaSeekBackward, ["Left"], lambda: self.move(-1))
        self.play = action("Play / pause", sp.SP_MediaPlay, ["Space"], self.toggle)
        self.forward = action("Step forward", sp.SP_MediaSeekForward, ["Right"], lambda: self.move(1))
        self.last = action("Last step", sp.SP_MediaSkipForward, ["End"], lambda: session.set_step(session.length - 1))
        self.back10 = QAction("Back 10 steps", self)
        self.back10.setShortcut(QKeySequence("Shift+Left"))
        self.back10.triggered.connect(lambda: self.move(-10))
        self.forward10 = QAction("Forward 10 steps", self)
        self.forward10.setShortcut(QKeySequence("Shift+Right"))
        self.forward10.triggered.connect(lambda: self.move(10))
        for act in (self.back10, self.forward10):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            parent.addAction(act) if parent is not None else self.addAction(act)

        self.slider = JumpSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(220)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(session.set_step)
        self.addWidget(self.slider)
        self.position = QLabel()
        self.position.setFixedWidth(230)
        # a fixed size both ways: its text changes at every step, and a label that can change
        # size asks the window to lay itself out again each time (1 ms a step, measured)
        self.position.setFixedHeight(self.position.sizeHint().height())
        self.addWidget(self.position)
        self._extras_from = len(self.actions())  # what follows: speed, loop, layer, sequence
        self.addSeparator()
        self.addWidget(QLabel(" speed "))
        self.speed = QSpinBox()
        self.speed.setRange(1, MAX_SPEED)
        self.speed.setStepType(QSpinBox.StepType.AdaptiveDecimalStepType)  # 1, 2, .. 10, 20, .. 100, 200
        self.speed.setValue(8)
        self.speed.setSuffix(" steps/s")
        self.speed.setToolTip(
            f"Playback speed. Up to {EVERY_STEP_UP_TO} steps/s every step is drawn; faster, "
            "the window draws about 60 frames a second and skips the steps in between."
        )
        self.speed.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not taken by a passing mouse wheel
        self.speed.valueChanged.connect(self._interval)
        self.addWidget(self.speed)
        self.whole = QAction(f"all in {WHOLE_IN_SECONDS} s", self)
        self.whole.setToolTip(f"Set the speed to play the whole sequence in {WHOLE_IN_SECONDS} seconds")
        self.whole.triggered.connect(self.whole_in_ten_seconds)
        self.addAction(self.whole)
        self.loop = QCheckBox("loop")
        self.addWidget(self.loop)
        self.addSeparator()
        self.addWidget(QLabel(" layer "))
        self.layer = QComboBox()
        # sized to their items whenever they change (the default sizes them once, at the
        # first show, when the demo may still be loading and they are empty)
        self.layer.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.layer.currentIndexChanged.connect(lambda i: session.set_layer(i) if i >= 0 else None)
        self.addWidget(self.layer)
        self.addWidget(QLabel(" sequence "))
        self.batch = QComboBox()
        self.batch.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.batch.currentIndexChanged.connect(lambda i: session.set_batch(i) if i >= 0 else None)
        self.addWidget(self.batch)

        self._ticking = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._interval()
        session.traceChanged.connect(self._on_trace)
        session.viewChanged.connect(self._on_view)
        session.stepChanged.connect(self._on_step)

    def extras(self) -> list[QAction]:
        """The toolbar's items after the step buttons, the slider and the position: speed,
        loop, layer and sequence (presentation mode hides them)."""
        return self.actions()[self._extras_from :]

    def key_actions(self) -> list[QAction]:
        """The actions whose keys move through time."""
        return [self.first, self.back, self.play, self.forward, self.last, self.back10, self.forward10]

    def route_keys(self, window: QWidget) -> KeyRouter:
        """Let the transport keys reach the transport from anywhere in ``window`` (see KeyRouter)."""
        return KeyRouter(window, self.key_actions())

    # -- playback ----------------------------------------------------------------------
    def move(self, delta: int) -> None:
        self.session.set_step(self.session.step + delta)

    def whole_in_ten_seconds(self) -> None:
        if self.session.loaded is not None:
            self.speed.setValue(max(1, -(-self.session.length // WHOLE_IN_SECONDS)))

    def toggle(self) -> None:
        if self.timer.isActive():
            self.pause()
        elif self.session.loaded is not None:
            if self.session.step >= self.session.length - 1:
                self.session.set_step(0)
            self._start_clock()
            self.timer.start()
            self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        self.timer.stop()
        self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def _interval(self) -> None:
        speed = self.speed.value()
        self.timer.setInterval(max(1, round(1000 / speed)) if speed <= EVERY_STEP_UP_TO else FRAME_MS)
        self._start_clock()

    def _start_clock(self) -> None:
        """Fast playback counts steps from here: (step, time) at the start or a speed change."""
        self.clock = QElapsedTimer()
        self.clock.start()
        self.clock_step = self.session.step

    def steps_due(self) -> int:
        """Steps to advance at this tick: one at speeds where every step is drawn, else as
        many as the time since the clock started asks for (never fewer than one)."""
        speed = self.speed.value()
        if speed <= EVERY_STEP_UP_TO:
            return 1
        target = self.clock_step + int(speed * self.clock.elapsed() / 1000)
        return max(1, target - self.session.step)

    def _tick(self) -> None:
        last = self.session.length - 1
        if self.session.step >= last:
            if self.loop.isChecked():
                self.session.set_step(0)
                self._start_clock()
            else:
                self.pause()
            return
        self._ticking = True
        try:
            self.session.set_step(min(last, self.session.step + self.steps_due()))
        finally:
            self._ticking = False

    # -- reflecting the Session --------------------------------------------------------
    def _on_trace(self) -> None:
        trace = self.session.trace
        self.layer.blockSignals(True)
        self.layer.clear()
        for index, lt in enumerate(trace.layers):
            kind = " bidirectional" if lt.reverse is not None else ""
            self.layer.addItem(f"{index}: {lt.hidden_size} units{kind}")
        self.layer.setCurrentIndex(self.session.layer)
        self.layer.blockSignals(False)
        self.batch.blockSignals(True)
        self.batch.clear()
        self.batch.addItems(self.session.sequence.names)
        self.batch.setCurrentIndex(self.session.batch)
        self.batch.blockSignals(False)
        self.batch.setEnabled(trace.batch_size > 1)
        self._fit_position()
        self._on_view()

    def _fit_position(self) -> None:
        """Room for the longest position text of this sequence (a date label and a million
        steps need more than step numbers), so it is never cut and never jumps."""
        labels = self.session.sequence.batch_labels[self.session.batch]
        last = self.session.length - 1
        sample = labels[:: max(1, len(labels) // 200)] if len(labels) else []
        widest = max([str(label) for label in sample] + [str(labels[last]) if len(labels) > last >= 0 else ""], key=len)
        text = f"t = {last} / {last} · {widest!r}"
        width = self.position.fontMetrics().horizontalAdvance(text) + 16
        self.position.setFixedWidth(int(min(max(width, 230), 480)))

    def _on_view(self) -> None:
        if self.session.loaded is not None and self.batch.currentIndex() != self.session.batch:
            self.batch.blockSignals(True)  # another sequence chosen elsewhere (the Sequences panel)
            self.batch.setCurrentIndex(self.session.batch)
            self.batch.blockSignals(False)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, self.session.length - 1))
        self.slider.setEnabled(self.session.length > 1)  # one step: nothing to move through
        self.slider.blockSignals(False)
        self._on_step(self.session.step)

    def _on_step(self, step: int) -> None:
        if self.timer.isActive() and not self._ticking:  # moved by hand while playing: count from here
            self._start_clock()
        self.slider.blockSignals(True)
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        label = self.session.label(step)
        if self.session.length == 1:
            self.position.setText(f"t = 0 · one step only · {label!r}")
        else:
            self.position.setText(f"t = {step} / {self.session.length - 1} · {label!r}")


EDITING = "lstm_viz_editing"  # property of a spin box: the user typed into it since it got the focus


def is_typing_field(widget: QWidget | None) -> bool:
    """True when keys typed into ``widget`` edit text: the transport keys belong to it.

    Text boxes and line edits that can be edited, editable tables (Left/Right move between
    cells), and spin boxes once the user typed a character into them (until Enter or the
    focus leaves). A spin box only clicked, a combo box, a button, a plot: not typing.
    """
    while widget is not None:
        if isinstance(widget, QAbstractSpinBox):
            return bool(widget.property(EDITING))
        if isinstance(widget, QLineEdit):
            parent = widget.parentWidget()
            if isinstance(parent, QAbstractSpinBox):  # the spin box's own text
                return bool(parent.property(EDITING))
            return not widget.isReadOnly()
        if isinstance(widget, (QPlainTextEdit, QTextEdit)):
            return not widget.isReadOnly()
        if isinstance(widget, QAbstractItemView):
            editing = widget.state() == QAbstractItemView.State.EditingState
            return editing or widget.editTriggers() != QAbstractItemView.EditTrigger.NoEditTriggers
        if isinstance(widget, QComboBox):
            return widget.isEditable()
        return False
    return False


class KeyRouter(QObject):
    """An event filter that hands the transport keys to the transport.

    - When the focus widget is asked whether it wants a transport key (Qt's
      ShortcutOverride), the router answers "no" for every widget of the window except a
      field being typed in, so the shortcut fires from spin boxes only clicked, combo
      boxes, buttons, check boxes, plots and read-only text.
    - A spin box counts as being typed in from the first character typed until Enter,
      Escape or the focus leaves it; Enter also gives the focus back to the window, so
      stray digits do not change the speed afterwards.
    - When the widget holding the focus is hidden (the tour's Close button, a closed
      panel), the focus goes back to the window instead of the next widget in the tab
      order (often the speed box).
    The window itself takes the focus at start (MainWindow._route_transport_keys).

    It filters the events of the focus widget and its ancestors up to the window only
    (followed through the application's ``focusChanged``): every key event and every hide
    that matters reaches one of them first. An application-wide filter would see every
    event of every widget in Python, paint events included: about 60 a frame, 1 ms of a
    10 ms step (measured).
    """

    def __init__(self, window: QWidget, actions: list[QAction]):
        super().__init__(window)
        self.window_ = window
        self.keys: set[tuple[int, int]] = set()
        self.watched: list[QWidget] = []  # the focus widget and its ancestors up to the window
        self.attached = False
        for action in actions:
            for sequence in action.shortcuts():
                combo = sequence[0]
                self.keys.add((int(combo.key().value), int(combo.keyboardModifiers().value)))
        self.attach()

    def attach(self) -> None:
        """Start following the focus (again, after :meth:`detach`)."""
        if not self.attached:
            QApplication.instance().focusChanged.connect(self._focus_moved)
            self.attached = True
        self._watch(QApplication.focusWidget())

    def detach(self) -> None:
        """Stop filtering: a closed window's router lets go of its widgets."""
        if self.attached:
            QApplication.instance().focusChanged.disconnect(self._focus_moved)
            self.attached = False
        self._watch(None)

    def _focus_moved(self, old, new) -> None:
        self._watch(new)  # (the old focus widget has had its FocusOut by now)

    def _watch(self, focus) -> None:
        """Filter ``focus`` and its ancestors up to the window, when they are the window's."""
        chain = []
        widget = focus if isinstance(focus, QWidget) and self._ours(focus) else None
        while widget is not None:
            chain.append(widget)
            if widget is self.window_:
                break
            widget = widget.parentWidget()
        for widget in self.watched:
            if not any(widget is kept for kept in chain) and shiboken6.isValid(widget):
                widget.removeEventFilter(self)
        for widget in chain:
            if not any(widget is was for was in self.watched):
                widget.installEventFilter(self)
        self.watched = chain

    def _ours(self, widget) -> bool:
        return isinstance(widget, QWidget) and (widget is self.window_ or self.window_.isAncestorOf(widget))

    def is_transport_key(self, event) -> bool:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return (int(event.key()), int(modifiers.value)) in self.keys

    def home(self) -> None:
        """Give the keyboard focus to the window itself (it claims no key)."""
        if self.window_.isVisible():
            self.window_.setFocus(Qt.FocusReason.OtherFocusReason)

    def eventFilter(self, obj, event) -> bool:
        try:
            return self._filter(obj, event)
        except RuntimeError:  # the window is being destroyed
            return False

    def _filter(self, obj, event) -> bool:  # noqa: C901 - one switch over event types
        kind = event.type()
        if kind == QEvent.Type.ShortcutOverride:
            if self._ours(obj) and self.is_transport_key(event):
                if is_typing_field(obj):  # the widget the key goes to (the focus widget, first)
                    event.accept()  # the field gets the key (a table does not claim arrows itself)
                else:
                    event.ignore()  # nobody claims it: the window shortcut fires
                return True
        elif kind == QEvent.Type.KeyPress:
            if isinstance(obj, QAbstractSpinBox) and self._ours(obj):
                key = event.key()
                if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
                    obj.setProperty(EDITING, False)
                    if key != Qt.Key.Key_Escape:
                        QTimer.singleShot(0, self.home)  # after the spin box took the value
                elif (event.text() and event.text().isprintable()) or key in (
                    Qt.Key.Key_Backspace,
                    Qt.Key.Key_Delete,
                ):
                    obj.setProperty(EDITING, True)
        elif kind == QEvent.Type.FocusOut:
            if isinstance(obj, QAbstractSpinBox) and obj.property(EDITING):
                obj.setProperty(EDITING, False)
        elif kind == QEvent.Type.Hide:
            focus = QApplication.focusWidget()
            if (
                isinstance(obj, QWidget)
                and focus is not None
                and obj is not self.window_
                and (obj is focus or obj.isAncestorOf(focus))
                and self._ours(obj)
                and not obj.isWindow()
            ):
                self.home()  # before Qt moves the focus to the next widget in the tab order
        return False
