"""The navigation toolbar: go to a step (or a label), and jump to the next event.

An event is a step where the first selected unit's gate or state crosses a threshold
(``Workbench.next_event``): "where does unit 12's write gate next open above 0.8?" is
one key (N; Shift+N goes back).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QLineEdit, QToolBar

from lstm_viz.ui.session import Session
from lstm_viz.ui.style import QUANTITY_LABELS
from lstm_viz.workbench.navigation import DIRECTIONS

EVENT_QUANTITIES = ("forget", "input", "output", "cell", "hidden")
GATE_QUANTITIES = ("forget", "input", "output")


class NavigateBar(QToolBar):
    """Go to · event: [quantity] [crosses] [threshold] ◀ ▶."""

    def __init__(self, session: Session, parent=None):
        super().__init__("Navigate", parent)
        self.setObjectName("Navigate")
        self.session = session
        self.addWidget(QLabel(" go to "))
        self.goto = QLineEdit()
        self.goto.setPlaceholderText("step or label")
        self.goto.setToolTip("A step number, or the start of a step's label (a date, a word); Enter goes there")
        self.goto.setFixedWidth(150)
        self.goto.returnPressed.connect(self._go)
        self.addWidget(self.goto)
        self.focus_goto = QAction("Go to step…", self)
        self.focus_goto.setShortcut(QKeySequence("Ctrl+G"))
        self.focus_goto.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.focus_goto.triggered.connect(lambda: (self.goto.setFocus(), self.goto.selectAll()))
        (parent or self).addAction(self.focus_goto)  # a key, not a button
        self.addSeparator()
        self.addWidget(QLabel(" next event: first selected unit's "))
        self.quantity = QComboBox()
        for name in EVENT_QUANTITIES:
            self.quantity.addItem(QUANTITY_LABELS[name], name)
        self.quantity.setCurrentIndex(EVENT_QUANTITIES.index("input"))
        self.quantity.currentIndexChanged.connect(self._quantity_changed)
        self.addWidget(self.quantity)
        self.direction = QComboBox()
        for key, words in DIRECTIONS.items():
            self.direction.addItem(words, key)
        self.direction.setCurrentIndex(list(DIRECTIONS).index("up"))
        self.addWidget(self.direction)
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(3)
        self.threshold.setSingleStep(0.05)
        self.threshold.setRange(-1e6, 1e6)
        self.threshold.setValue(0.5)
        self.addWidget(self.threshold)
        self.previous_event = QAction("◀ event", self)
        self.previous_event.setToolTip("The previous step where the value crosses the threshold (Shift+N)")
        self.previous_event.setShortcut(QKeySequence("Shift+N"))
        self.previous_event.triggered.connect(lambda: self.jump(backwards=True))
        self.next_event = QAction("event ▶", self)
        self.next_event.setToolTip("The next step where the value crosses the threshold (N)")
        self.next_event.setShortcut(QKeySequence("N"))
        self.next_event.triggered.connect(lambda: self.jump(backwards=False))
        for act in (self.previous_event, self.next_event):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(act)
        self.message = QLabel()
        self.message.setStyleSheet("color: #555;")
        self.addWidget(self.message)

    def key_actions(self) -> list[QAction]:
        """Actions whose keys the window's key router passes through (see transport.KeyRouter)."""
        return [self.previous_event, self.next_event]

    def _quantity_changed(self) -> None:
        name = self.quantity.currentData()
        if name in GATE_QUANTITIES and not 0.0 <= self.threshold.value() <= 1.0:
            self.threshold.setValue(0.5)  # a gate lies between 0 and 1
        elif name == "hidden" and self.threshold.value() in (0.5,):
            self.threshold.setValue(0.0)

    def _go(self) -> None:
        """Go to the step typed (a number) or the first step from here whose label starts
        with the text (then from the start)."""
        text = self.goto.text().strip()
        session = self.session
        if not text or session.loaded is None:
            return
        step = None
        if text.isdigit() and int(text) < session.length:
            step = int(text)
        else:  # a label (a date, a word), from the next step on, then from the start
            labels = session.sequence.batch_labels[session.batch]
            length = session.length
            for start, stop in ((session.step + 1, length), (0, session.step + 1)):
                step = next((t for t in range(start, stop) if str(labels[t]).startswith(text)), None)
                if step is not None:
                    break
            if step is None:
                number = f"no step {text} (steps 0 to {length - 1}) and " if text.isdigit() else ""
                self.message.setText(f"  {number}no step's label starts with {text!r}")
                return
        self.message.setText("")
        session.set_step(step)
        self.window().setFocus(Qt.FocusReason.OtherFocusReason)  # the arrow keys step again

    def jump(self, backwards: bool = False) -> int | None:
        """Go to the next (previous) event of the first selected unit; returns the step."""
        session = self.session
        if session.loaded is None:
            return None
        name = self.quantity.currentData()
        lt = session.layer_trace
        if name in (*GATE_QUANTITIES, "cell") and not lt.is_lstm:
            self.message.setText("  a plain tanh RNN has no gates or cell: choose h(t)")
            return None
        if not session.selected:
            self.message.setText("  select a unit first")
            return None
        unit = session.selected[0]
        direction = self.direction.currentData()
        threshold = self.threshold.value()
        step = session.core.next_event(name, unit, threshold, direction, backwards)
        what = f"unit {unit}'s {QUANTITY_LABELS[name]} {DIRECTIONS[direction]} {threshold:g}"
        if step is None:
            where = "before" if backwards else "after"
            self.message.setText(f"  {what}: not {where} t = {session.step}")
            return None
        self.message.setText(f"  {what} at t = {step}")
        session.set_step(step)
        return step
