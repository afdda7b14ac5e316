"""Training: train a model in the window (Model > Train…) and watch it learn.

The loss of every update and the held-out loss (a fixed batch never trained on) draw as
they come; Pause, Stop (the model keeps what it learnt so far) and Save. The training
slider goes through the snapshots kept during training: each shows, in every panel, the
model as it was then, run on the task's example sequence (or the open sequence), so the
gates can be watched learning (the adding problem's write gate learning to open at the
marks). An LSTM and a tanh RNN trained side by side draw in two colours; the slider
follows the one chosen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.ui.panels.base import Panel, Place, legend_above
from lstm_viz.ui.transport import JumpSlider

COLORS = {"lstm": "#1f77b4", "rnn": "#d62728"}
GRID_COLOR = "#ebebeb"
NAMES = {"lstm": "LSTM", "rnn": "tanh RNN"}


class LossAxis(pg.AxisItem):
    """A log axis that labels only the powers of ten when one is in view: the labels of
    2x..9x crowd at the top of each decade (0.7, 0.8, 0.9 drawn over each other)."""

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if self.logMode:
            low, high = sorted(self.range)
            if np.floor(high) >= np.ceil(low):  # a power of ten in view: the others unlabelled
                strings = [text if abs(v - round(v)) < 1e-6 else "" for v, text in zip(values, strings)]
        return strings


class TrainingPanel(Panel):
    title = "Training"
    place = Place(tab="CellTrajectoryPanel")
    empty_text = ""  # usable before anything is open: it makes its own model
    tour = (
        "Watch a model learn",
        "Model > Train… trains an LSTM (or a tanh RNN beside it) on a task or on the open sequence, with "
        "the loss drawn as it learns; the slider replays the training in every panel.",
    )

    def build(self):
        self.trainings: list = []  # the runs of the last Train… (one, or an LSTM and an RNN)
        self.job = None
        self.work = None
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(4, 2, 4, 2)
        top = QHBoxLayout()
        self.start_button = QPushButton("Train…")
        self.start_button.setToolTip("Train a model on a built-in task or on the open sequence (Model > Train…)")
        self.start_button.clicked.connect(self.ask)
        top.addWidget(self.start_button)
        self.status = QLabel(
            "Nothing trained yet. Train… (Ctrl+T) trains a model on a built-in task or on the open sequence; "
            "its loss curves are drawn here as it learns."
        )
        self.status.setWordWrap(True)
        top.addWidget(self.status, 1)
        layout.addLayout(top)
        self.plot = pg.PlotWidget(axisItems={"left": LossAxis("left")})
        item = self.plot.getPlotItem()
        item.setLogMode(x=False, y=True)
        item.setLabel("bottom", "updates")
        item.setLabel("left", "loss")
        for name in ("left", "bottom"):  # a grid of opaque light lines: Qt draws a translucent
            axis = item.getAxis(name)  # line pixel by pixel (30 lines took 5 ms a repaint, 0.2 opaque)
            axis.setGrid(255)
            axis.setStyle(tickAlpha=255, maxTickLevel=1)
            axis.setTickPen(pg.mkPen(GRID_COLOR))
            axis.setZValue(-1)  # behind the curves
        self.legend = legend_above(item, columns=2)
        self.curves: dict = {}  # (kind, "train"/"held-out") -> PlotDataItem
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#333", width=1))
        self.marker.setVisible(False)
        item.addItem(self.marker)
        layout.addWidget(self.plot, 1)
        self.plot.setVisible(False)  # no empty axes: shown when a training starts
        controls = QHBoxLayout()
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop training: the model keeps what it learnt so far")
        self.stop_button.clicked.connect(self.stop)
        self.save_button = QPushButton("Save model…")
        self.save_button.setToolTip("Save the model shown by the training slider (lstm-viz's .npz)")
        self.save_button.clicked.connect(self.ask_save)
        for button in (self.pause_button, self.stop_button, self.save_button):
            button.setEnabled(False)
            controls.addWidget(button)
        controls.addStretch(1)
        layout.addLayout(controls)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel("Training"))
        self.which = QComboBox()
        self.which.setToolTip("Which model the slider shows")
        self.which.setVisible(False)
        self.which.currentIndexChanged.connect(self._which_changed)
        slider_row.addWidget(self.which)
        self.slider = JumpSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setEnabled(False)
        self.slider.setToolTip("The model as it was during training, shown in every panel")
        self.slider.valueChanged.connect(lambda _: self._show_soon.start())
        slider_row.addWidget(self.slider, 1)
        self.slider_label = QLabel("")
        slider_row.addWidget(self.slider_label)
        layout.addLayout(slider_row)
        self.setWidget(container)
        self._show_soon = QTimer(self, singleShot=True, interval=60)  # a dragged slider shows its last value
        self._show_soon.timeout.connect(self.show_snapshot)
        self._poll = QTimer(self, interval=200)  # the curves and the status, five times a second
        self._poll.timeout.connect(self.refresh_curves)

    def on_trace(self):
        """Something else opened (a file, an example): the slider's label says the panels no
        longer show this training, until the slider is moved."""
        self._label()

    # -- starting ------------------------------------------------------------------------------
    def ask(self) -> None:
        from PySide6.QtWidgets import QDialog

        from lstm_viz.ui.train_dialog import TrainDialog
        from lstm_viz.workbench.training import warm_up

        warm_up()  # the process runs are forked from starts now, while the choices are made
        window = self.window()
        dialog = TrainDialog(window.settings, self.session.loaded is not None, window)
        self.dialog = dialog
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start(dialog.specs())

    def start(self, specs, wait: bool = False) -> bool:
        """Train a model for each of ``specs`` (one after the other, in a worker); with
        ``wait``, here and now (tests)."""
        from lstm_viz.errors import LstmVizError
        from lstm_viz.ui.worker import Job

        if self.job is not None:
            self.show_message("Training is running: Stop it before starting another.")
            return False
        try:
            made = [self.session.core.train(spec) for spec in specs]
        except LstmVizError as exc:
            self.window().show_error("Could not start training", str(exc))
            return False
        self.trainings = [training for training, _ in made]
        self._reset_plot()
        self.plot.setVisible(True)
        self.which.blockSignals(True)
        self.which.clear()
        for training in self.trainings:
            self.which.addItem(NAMES[training.spec.kind], training.spec.kind)
        self.which.setVisible(len(self.trainings) > 1)
        self.which.blockSignals(False)
        self._slider_range()  # nothing to show yet: no label or marker of an earlier run

        def run(progress, cancelled):
            for training in self.trainings:
                if cancelled():
                    break
                training.run_in_child(progress, cancelled)  # a thread would share Python's lock with the window
            return self.trainings

        if wait:
            run(lambda *_: None, lambda: False)
            self._finished()
            return True
        self.job = Job(run, self)
        self.job.succeeded.connect(lambda _: self._finished())
        self.job.failed.connect(self._failed)
        self.job.stopped.connect(self._finished)
        for button in (self.pause_button, self.stop_button):
            button.setEnabled(True)
        self.pause_button.setText("Pause")
        self.start_button.setEnabled(False)
        self._poll.start()
        self.job.start()
        self.refresh_curves()
        return True

    def _finished(self) -> None:
        self.job = None
        self._poll.stop()
        self.start_button.setEnabled(True)
        for button in (self.pause_button, self.stop_button):
            button.setEnabled(False)
        self.save_button.setEnabled(True)
        self.refresh_curves()
        index = self.which.currentIndex() if self.which.count() else 0
        self.slider.blockSignals(True)
        self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)
        self._slider_range(keep_end=True)  # at the end: the model it learnt, shown below
        training = self.trainings[index]
        if training.snapshots:
            self.session.core.show_training(training, len(training.snapshots) - 1)
        self.refresh_curves()

    def _failed(self, message: str) -> None:
        self.job = None
        self._poll.stop()
        self.start_button.setEnabled(True)
        for button in (self.pause_button, self.stop_button):
            button.setEnabled(False)
        self.window().show_error("Training failed", message)

    # -- control -------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        running = [t for t in self.trainings if not t.done]
        if not running:
            return
        if running[0].paused:
            for training in self.trainings:
                training.resume()
            self.pause_button.setText("Pause")
        else:
            for training in self.trainings:
                training.pause()
            self.pause_button.setText("Resume")
            self._slider_range(keep_end=True)  # look at what it learnt so far while it waits
        self.refresh_curves()

    def stop(self) -> None:
        if self.job is not None:
            for training in self.trainings:
                training.resume()
            self.job.cancel()

    def wait(self, timeout_ms: int = 120_000) -> None:
        """Until the training running ends (tests and scripts)."""
        from PySide6.QtCore import QDeadlineTimer
        from PySide6.QtWidgets import QApplication

        job = self.job
        if job is not None:
            job.wait(QDeadlineTimer(timeout_ms))
            QApplication.processEvents()
            QApplication.processEvents()

    def ask_save(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        training, index = self._chosen()
        if training is None:
            return
        update = training.snapshots[index].update
        path, _ = QFileDialog.getSaveFileName(
            self,
            f"Save the {NAMES[training.spec.kind]} after {update:,} updates (the one shown)",
            f"{training.spec.task}_{training.spec.kind}_{update}.npz",
            "lstm-viz model (*.npz)",
        )
        if path:
            self.save(path)

    def save(self, path: str) -> str | None:
        """Save the model the slider shows to ``path`` (.npz); the path written, or None."""
        from lstm_viz.errors import LstmVizError

        training, index = self._chosen()
        if training is None:
            return None
        try:
            path = training.save(index, path)
        except (OSError, LstmVizError) as exc:
            self.window().show_error("Could not save the model", f"{path}: {exc}")
            return None
        self.show_message(f"Saved {path}")
        return path

    # -- the slider ------------------------------------------------------------------------------
    def _chosen(self):
        if not self.trainings:
            return None, None
        training = self.trainings[max(self.which.currentIndex(), 0)]
        if not training.snapshots:
            return None, None
        return training, min(self.slider.value(), len(training.snapshots) - 1)

    def _which_changed(self, _index: int) -> None:
        """The other model: the slider's range is its snapshots, and the panels show it."""
        self._slider_range(keep_end=True)
        if self.slider.isEnabled():
            self.show_snapshot()

    def _slider_range(self, keep_end: bool = False) -> None:
        training = self.trainings[max(self.which.currentIndex(), 0)] if self.trainings else None
        count = 0 if training is None else len(training.snapshots)
        at_end = self.slider.value() >= self.slider.maximum()
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(count - 1, 0))
        if keep_end and at_end:
            self.slider.setValue(max(count - 1, 0))
        self.slider.blockSignals(False)
        usable = count > 0 and (training.done or training.paused)
        self.slider.setEnabled(usable)
        self._label()

    def _label(self) -> None:
        training, index = self._chosen()
        if training is None:
            self.slider_label.setText("")
            self.marker.setVisible(False)
            return
        snapshot = training.snapshots[index]
        held = dict(training.heldout).get(snapshot.update)
        words = f"after {snapshot.update:,} updates"
        if held is not None:
            words += f" · held-out loss {held:.4g}"
        shown = self.session.core.shown_snapshot
        elsewhere = training.done and (shown is None or shown[0] not in self.trainings)
        if elsewhere:  # another model is open: moving the slider shows this training again
            words += " · not shown"
            self.status.setText(
                self._status() + ". The panels show another model now: move the slider to show this training again."
            )
        self.slider_label.setText(words)
        self.slider_label.setToolTip(
            "Another model is open: move the slider to show this training again" if elsewhere else ""
        )
        self.marker.setValue(snapshot.update)
        self.marker.setVisible(True)

    def show_snapshot(self) -> None:
        """Show the model the slider points at, in every panel."""
        training, index = self._chosen()
        if training is None:
            return
        self._label()
        self.session.core.show_training(training, index)

    # -- the curves ------------------------------------------------------------------------------
    def _reset_plot(self) -> None:
        item = self.plot.getPlotItem()
        for curve in self.curves.values():
            item.removeItem(curve)
        self.legend.clear()
        self.curves = {}
        for training in self.trainings:
            kind = training.spec.kind
            color = pg.mkColor(COLORS[kind])
            faint = pg.mkColor(color)
            faint.setAlpha(90)
            train = item.plot([], [], pen=pg.mkPen(faint, width=1), name=f"{NAMES[kind]}: training loss")
            held = item.plot(
                [],
                [],
                pen=pg.mkPen(color, width=2),
                symbol="o",
                symbolSize=5,
                symbolBrush=color,
                symbolPen=None,
                name=f"{NAMES[kind]}: held-out loss",
            )
            self.curves[(kind, "train")] = train
            self.curves[(kind, "held-out")] = held

    def refresh_curves(self) -> None:
        for training in self.trainings:
            kind = training.spec.kind
            losses = np.asarray(training.losses[: training.updates], dtype=np.float64)
            if len(losses):
                self.curves[(kind, "train")].setData(np.arange(1, len(losses) + 1), np.maximum(losses, 1e-12))
            held = list(training.heldout)
            if held:
                x, y = zip(*held)
                self.curves[(kind, "held-out")].setData(np.asarray(x), np.maximum(np.asarray(y), 1e-12))
        self.status.setText(self._status())
        if any(t.paused for t in self.trainings):
            self._slider_range(keep_end=True)
        elif self.job is not None:
            self.slider.setEnabled(False)

    def _status(self) -> str:
        if not self.trainings:
            return "Nothing trained yet: Train… starts."  # (the panel's first words say more)
        parts = []
        for training in self.trainings:
            spec = training.spec
            state = (
                "stopped" if training.cancelled else "done" if training.done else "paused" if training.paused else ""
            )
            first = self.trainings[0]
            if not state and training is not first and not training.updates and self.job is not None:
                state = f"next: it trains once the {NAMES[first.spec.kind]} is done"
            held = training.heldout[-1][1] if training.heldout else float("nan")
            words = f"{NAMES[spec.kind]} ({spec.hidden} units) on {training.task.name}: {training.updates:,} of "
            words += f"{spec.steps:,} updates"
            if training.heldout:
                words += f", held-out loss {held:.4g}"
            parts.append(words + (f" ({state})" if state else ""))
        return "; ".join(parts)

    def show_message(self, text: str) -> None:
        self.status.setText(text)
