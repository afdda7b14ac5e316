"""File > Open with options: every option of ``lstm-viz trace`` for reading a sequence and a model.

The dialog edits an :class:`~lstm_viz.workbench.OpenRequest` (plain data of the core):
the sequence file and how to read it (normalisation, missing values, characters or
words), and the model file or a random model with the options its format takes (PyTorch
prefix, TensorFlow 1 forget_bias and clips). Tables get their own import step with a
preview (column roles) when opened.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lstm_viz.errors import InputError
from lstm_viz.workbench import ModelOptions, OpenRequest, RandomSpec, SequenceOptions
from lstm_viz.workbench.options import FILLS, NORMALIZATIONS

NORMALIZE_CHOICES = [("the model's own (or none)", None)] + [(n, n) for n in NORMALIZATIONS]
FILL_CHOICES = [("refuse, saying where", None)] + [(f, f) for f in FILLS]


def _optional_float(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{what}: {text!r} is not a number") from None
    if not value > 0:
        raise InputError(f"{what} must be positive, got {value:g}")
    return value


class OpenDialog(QDialog):
    def __init__(self, parent=None, current: OpenRequest | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open with options")
        self.setMinimumWidth(560)
        current = current or OpenRequest()
        layout = QVBoxLayout(self)

        box = QGroupBox("Sequence")
        form = QFormLayout(box)
        self.sequence = self._path_row(form, "File", current.sequence_path, "sequence")
        self.normalize = QComboBox()
        for text, value in NORMALIZE_CHOICES:
            self.normalize.addItem(text, value)
        self.normalize.setCurrentIndex(max(0, self.normalize.findData(current.sequence_options.normalize)))
        form.addRow("Normalise", self.normalize)
        self.fill = QComboBox()
        for text, value in FILL_CHOICES:
            self.fill.addItem(text, value)
        self.fill.setCurrentIndex(max(0, self.fill.findData(current.sequence_options.fill)))
        form.addRow("Missing table values", self.fill)
        self.text_mode = QComboBox()
        self.text_mode.addItem("characters", "chars")
        self.text_mode.addItem("words", "words")
        self.text_mode.setCurrentIndex(max(0, self.text_mode.findData(current.sequence_options.text_mode)))
        form.addRow("Text as", self.text_mode)
        layout.addWidget(box)

        box = QGroupBox("Model")
        form = QFormLayout(box)
        self.from_file = QRadioButton("From a file")
        self.random = QRadioButton("A random LSTM")
        choice = QWidget()
        row = QHBoxLayout(choice)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.from_file)
        row.addWidget(self.random)
        row.addStretch(1)
        form.addRow(choice)
        self.model = self._path_row(form, "File", current.model_path, "model")
        options = current.model_options
        self.prefix = QLineEdit(options.prefix or "")
        self.prefix.setPlaceholderText("PyTorch: which nn.LSTM, e.g. encoder.rnn.")
        form.addRow("Prefix", self.prefix)
        self.forget_bias = QDoubleSpinBox()
        self.forget_bias.setRange(-100.0, 100.0)
        self.forget_bias.setDecimals(3)
        self.forget_bias.setValue(options.forget_bias)
        self.forget_bias.setToolTip("TensorFlow 1 checkpoints do not store it; TensorFlow's default is 1.0")
        form.addRow("forget_bias (TF1)", self.forget_bias)
        self.cell_clip = QLineEdit("" if options.cell_clip is None else f"{options.cell_clip:g}")
        self.cell_clip.setPlaceholderText("none")
        form.addRow("cell_clip (TF1)", self.cell_clip)
        self.proj_clip = QLineEdit("" if options.proj_clip is None else f"{options.proj_clip:g}")
        self.proj_clip.setPlaceholderText("none")
        form.addRow("proj_clip (TF1)", self.proj_clip)
        spec = current.random or RandomSpec()
        self.sizes = QLineEdit(",".join(map(str, spec.sizes)))
        self.sizes.setPlaceholderText("e.g. 32,16")
        form.addRow("Layer sizes", self.sizes)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(spec.seed)
        form.addRow("Seed", self.seed)
        (self.random if current.model_path is None and current.random is not None else self.from_file).setChecked(True)
        self.from_file.toggled.connect(self._enable)
        self._enable()
        layout.addWidget(box)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _path_row(self, form: QFormLayout, label: str, value: str | None, role: str) -> QLineEdit:
        from lstm_viz.io.formats import dialog_filter

        edit = QLineEdit(value or "")
        edit.setPlaceholderText("keep the one open" if role == "sequence" else "keep the one open")
        browse = QPushButton("Browse…")

        def pick():
            path, _ = QFileDialog.getOpenFileName(self, f"Open {role}", edit.text(), dialog_filter(role))
            if path:
                edit.setText(path)

        browse.clicked.connect(pick)
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(edit, 1)
        line.addWidget(browse)
        form.addRow(label, row)
        return edit

    def _enable(self) -> None:
        from_file = self.from_file.isChecked()
        for widget in (self.model, self.prefix, self.forget_bias, self.cell_clip, self.proj_clip):
            widget.setEnabled(from_file)
        for widget in (self.sizes, self.seed):
            widget.setEnabled(not from_file)

    def request(self) -> OpenRequest:
        """What the dialog asks to open; raises InputError for values that cannot be used."""
        sequence_options = SequenceOptions(
            normalize=self.normalize.currentData(), fill=self.fill.currentData(), text_mode=self.text_mode.currentData()
        )
        random = None
        model_path = None
        model_options = ModelOptions()
        if self.random.isChecked():
            random = RandomSpec.parse(self.sizes.text(), self.seed.value())
        else:
            model_path = self.model.text().strip() or None
            model_options = ModelOptions(
                prefix=self.prefix.text().strip() or None,
                forget_bias=self.forget_bias.value(),
                cell_clip=_optional_float(self.cell_clip.text(), "cell_clip"),
                proj_clip=_optional_float(self.proj_clip.text(), "proj_clip"),
            )
        return OpenRequest(
            sequence_path=self.sequence.text().strip() or None,
            model_path=model_path,
            random=random,
            sequence_options=sequence_options,
            model_options=model_options,
        )
