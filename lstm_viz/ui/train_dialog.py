"""Model > Train…: what to train (a built-in task or the open sequence) and how."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from lstm_viz.engine.tasks import DEFAULT_LENGTHS
from lstm_viz.workbench.training import SEQUENCE, TrainSpec

TASK_CHOICES = (
    ("adding", "The adding problem: sum the two marked values"),
    ("brackets", "Counting brackets: the nesting depth at every step"),
    ("sine", "A sine wave: its next value"),
    ("text", "Alice in Wonderland: the next character"),
    (SEQUENCE, "The open sequence: its next step (or character, or base)"),
)
MODEL_CHOICES = (
    ("lstm", "an LSTM"),
    ("rnn", "a tanh RNN"),
    ("both", "an LSTM and a tanh RNN of the same size, the same budget"),
)


class TrainDialog(QDialog):
    """The choices of a training run; ``specs()`` gives one TrainSpec a model to train."""

    def __init__(self, settings: QSettings, has_sequence: bool, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.settings = settings
        self._restoring = False
        form = QFormLayout(self)
        self.task = QComboBox()
        for key, words in TASK_CHOICES:
            self.task.addItem(words, key)
        if not has_sequence:
            last = self.task.model().item(self.task.count() - 1)
            last.setEnabled(False)
            last.setToolTip("Open a sequence first")
        form.addRow("Learn", self.task)
        self.model = QComboBox()
        for key, words in MODEL_CHOICES:
            self.model.addItem(words, key)
        form.addRow("with", self.model)
        self.hidden = QSpinBox(minimum=1, maximum=1024, value=12)
        self.layers = QSpinBox(minimum=1, maximum=4, value=1)
        form.addRow("Size", _row(self.hidden, "units a layer,", self.layers, "layers"))
        self.length = QSpinBox(minimum=2, maximum=100_000, value=30)
        self.vary = QCheckBox("from")
        self.vary.setToolTip("A length drawn for each batch, from this one up to the length (the adding problem)")
        self.min_length = QSpinBox(minimum=2, maximum=100_000, value=20)
        form.addRow("Sequences of", _row(self.vary, self.min_length, "to", self.length, "steps"))
        self.lr = QDoubleSpinBox(decimals=4, minimum=0.0001, maximum=1.0, singleStep=0.001, value=0.005)
        form.addRow("Learning rate (Adam)", self.lr)
        self.steps = QSpinBox(minimum=1, maximum=1_000_000, value=2000, singleStep=500)
        self.steps.setSuffix(" updates of 32 sequences")
        form.addRow("Train for", self.steps)
        self.seed = QSpinBox(minimum=0, maximum=1_000_000, value=0)
        form.addRow("Seed", self.seed)
        self.every = QSpinBox(minimum=1, maximum=100_000, value=50)
        self.every.setPrefix("every ")
        self.every.setSuffix(" updates")
        self.every.setToolTip("How often the parameters are kept, for the training slider")
        form.addRow("Snapshots", self.every)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Train")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.task.currentIndexChanged.connect(self._task_changed)
        self.vary.toggled.connect(self.min_length.setEnabled)
        self._restore()
        self._restoring = True  # the enabled boxes follow the task; the remembered length stays
        self._task_changed()
        self._restoring = False

    def _task_changed(self) -> None:
        key = self.task.currentData()
        if key in DEFAULT_LENGTHS and not self._restoring:
            self.length.setValue(DEFAULT_LENGTHS[key])
        adding = key == "adding"
        self.vary.setEnabled(adding)
        self.min_length.setEnabled(adding and self.vary.isChecked())
        if key == SEQUENCE and not self._restoring:
            self.length.setValue(100)  # the pieces cut from it

    # -- remembered between runs -------------------------------------------------------------
    FIELDS = ("hidden", "layers", "length", "min_length", "lr", "steps", "seed", "every")

    def _restore(self) -> None:
        self._restoring = True
        s = self.settings
        index = self.task.findData(s.value("train/task", "adding"))
        if index >= 0 and self.task.model().item(index).isEnabled():
            self.task.setCurrentIndex(index)
        index = self.model.findData(s.value("train/model", "lstm"))
        self.model.setCurrentIndex(max(index, 0))
        for name in self.FIELDS:
            box = getattr(self, name)
            value = s.value(f"train/{name}")
            if value is not None:
                try:
                    box.setValue(type(box.value())(value))
                except (TypeError, ValueError):
                    pass
        self.vary.setChecked(str(s.value("train/vary", "false")).lower() == "true")
        self._restoring = False

    def _remember(self) -> None:
        s = self.settings
        s.setValue("train/task", self.task.currentData())
        s.setValue("train/model", self.model.currentData())
        s.setValue("train/vary", self.vary.isChecked())
        for name in self.FIELDS:
            s.setValue(f"train/{name}", getattr(self, name).value())

    def accept(self) -> None:
        self._remember()
        super().accept()

    def specs(self) -> list[TrainSpec]:
        kinds = ["lstm", "rnn"] if self.model.currentData() == "both" else [self.model.currentData()]
        task = self.task.currentData()
        vary = task == "adding" and self.vary.isChecked() and self.min_length.value() < self.length.value()
        return [
            TrainSpec(
                task=task,
                kind=kind,
                hidden=self.hidden.value(),
                layers=self.layers.value(),
                length=self.length.value(),
                min_length=self.min_length.value() if vary else None,
                lr=self.lr.value(),
                steps=self.steps.value(),
                seed=self.seed.value(),
                snapshot_every=self.every.value(),
            )
            for kind in kinds
        ]


def _row(*parts) -> QWidget:
    """Widgets and words (str) side by side, as one field of a form."""
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        layout.addWidget(QLabel(part) if isinstance(part, str) else part)
    layout.addStretch(1)
    return row
