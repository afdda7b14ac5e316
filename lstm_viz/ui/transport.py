"""The transport toolbar: first, back, play/pause, forward, last, speed, loop, scrubber.

It only writes the Session's step; playback advances one step per tick, so every step is
shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QSlider, QSpinBox, QStyle, QToolBar

from lstm_viz.ui.session import Session


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

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(220)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.valueChanged.connect(session.set_step)
        self.addWidget(self.slider)
        self.position = QLabel()
        self.position.setFixedWidth(230)
        self.addWidget(self.position)
        self.addSeparator()
        self.addWidget(QLabel(" speed "))
        self.speed = QSpinBox()
        self.speed.setRange(1, 240)
        self.speed.setValue(8)
        self.speed.setSuffix(" steps/s")
        self.speed.valueChanged.connect(self._interval)
        self.addWidget(self.speed)
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

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._interval()
        session.traceChanged.connect(self._on_trace)
        session.viewChanged.connect(self._on_view)
        session.stepChanged.connect(self._on_step)

    # -- playback ----------------------------------------------------------------------
    def move(self, delta: int) -> None:
        self.session.set_step(self.session.step + delta)

    def toggle(self) -> None:
        if self.timer.isActive():
            self.pause()
        elif self.session.loaded is not None:
            if self.session.step >= self.session.length - 1:
                self.session.set_step(0)
            self.timer.start()
            self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause))

    def pause(self) -> None:
        self.timer.stop()
        self.play.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))

    def _interval(self) -> None:
        self.timer.setInterval(max(1, round(1000 / self.speed.value())))

    def _tick(self) -> None:
        if self.session.step >= self.session.length - 1:
            if self.loop.isChecked():
                self.session.set_step(0)
            else:
                self.pause()
            return
        self.session.set_step(self.session.step + 1)

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
        self._on_view()

    def _on_view(self) -> None:
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, self.session.length - 1))
        self.slider.blockSignals(False)
        self._on_step(self.session.step)

    def _on_step(self, step: int) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(step)
        self.slider.blockSignals(False)
        label = self.session.label(step)
        self.position.setText(f"t = {step} / {self.session.length - 1} · {label!r}")
