"""The main window: dockable panels around the Session, menus, the transport, file handling."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
)

from lstm_viz.engine import LSTM
from lstm_viz.errors import InputError, LstmVizError
from lstm_viz.ui.panels import PANELS
from lstm_viz.ui.session import Loaded, Session
from lstm_viz.ui.transport import Transport
from lstm_viz.ui.worker import Job

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
DEMO_MODEL = RESOURCES / "demo" / "adding_model.npz"
DEMO_SEQUENCE = RESOURCES / "demo" / "adding_sequence.json"
LAYOUT_VERSION = 1
MAX_RECENT = 8

SEQUENCE_FILTER = "Sequences (*.npy *.npz *.csv *.tsv *.json *.txt *.fa *.fasta *.fna);;All files (*)"
MODEL_FILTER = "Models (*.npz *.pt *.pth *.safetensors *.keras *.h5 *.onnx *.index);;All files (*)"


def build(model_path, sequence_path, random_spec, current: Loaded | None, progress, cancelled) -> Loaded:
    """Load what was asked (keeping the rest of ``current``) and record the trace. Runs in a worker."""
    from lstm_viz.io import load_model, load_sequence

    model = current.model if current is not None else None
    description_model = None if current is None else current.model_description
    if model_path is not None:
        model = load_model(model_path)
        description_model = Path(model_path).name
    vocabulary = None if model is None or random_spec else model.metadata.get("vocabulary")
    normalization = None if model is None or random_spec else model.metadata.get("normalization")
    if sequence_path is not None:
        sequence = load_sequence(sequence_path, vocabulary=vocabulary, normalize=normalization or "none")
    elif current is not None:
        sequence = current.sequence
        sequence_path = current.sequence_path
    else:
        raise InputError("open a sequence first")
    if random_spec is not None or model is None:
        sizes, seed = random_spec if random_spec is not None else ([32], 0)
        model = LSTM.random(sequence.width, sizes, seed=seed)
        description_model = f"random model {','.join(map(str, sizes))} (seed {seed})"
    if sequence.width != model.input_size:
        raise InputError(
            f"{Path(sequence_path).name if sequence_path else 'the sequence'} has {sequence.width} features per step "
            f"but the model expects {model.input_size}; open a matching sequence or make a new random model "
            "(Model > New random model)"
        )
    trace = model.run(sequence.values, progress=progress, cancel=cancelled)
    return Loaded(
        model=model,
        sequence=sequence,
        trace=trace,
        model_description=description_model,
        model_path=model_path if model_path is not None else (None if current is None else current.model_path),
        sequence_path=sequence_path,
    )


class RandomModelDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("New random model")
        form = QFormLayout(self)
        self.sizes = QLineEdit("32")
        self.sizes.setPlaceholderText("e.g. 32,16")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form.addRow("Layer sizes", self.sizes)
        form.addRow("Seed", self.seed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def spec(self):
        text = self.sizes.text()
        try:
            sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
        except ValueError:
            sizes = []
        if not sizes or any(s <= 0 or s > 4096 for s in sizes):
            raise ValueError(
                f"Layer sizes {text!r}: give positive whole numbers up to 4096, one per layer, such as 32,16."
            )
        return sizes, self.seed.value()


def settle_garbage_collector() -> None:
    """Move everything alive at start-up out of the collector's sight.

    The modules, Qt wrappers and plot items made at start-up live as long as the window.
    Left in the collector's oldest generation, each full collection walks all of them,
    which during playback shows as a 30-50 ms stall every few hundred frames.
    ``gc.freeze`` moves them to a permanent generation (they are still freed by reference
    counting); later garbage is collected as usual.
    """
    import gc

    gc.collect()
    gc.freeze()


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings or QSettings("lstm-viz", "lstm-viz")
        self.session = Session(self)
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.transport = Transport(self.session, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.transport)
        self.panels = [panel_type(self.session, self) for panel_type in PANELS]
        for panel in self.panels:
            self.addDockWidget(panel.area, panel)
        self._link_time_axes()
        self.status = QLabel()
        self.statusBar().addWidget(self.status, 1)
        self.job: Job | None = None
        self.progress: QProgressDialog | None = None
        self.last_error: str | None = None
        self._build_menus()
        self.default_state = self._default_layout()
        for panel in self.panels:
            if hasattr(panel, "requested") and hasattr(panel, "restoreRequested"):
                panel.requested.connect(self.run_what_if)
                panel.restoreRequested.connect(self.session.clear_what_if)
            if hasattr(panel, "typed"):
                panel.typed.connect(lambda text: self.run_typed(text=text))
                panel.tableEdited.connect(lambda values: self.run_typed(values=values))
        self.restore_layout()
        self.session.traceChanged.connect(self._on_trace)
        self.session.stepChanged.connect(self._on_step)
        self.setWindowTitle("lstm-viz")
        settle_garbage_collector()

    # -- layout -----------------------------------------------------------------------
    def _default_layout(self) -> QByteArray:
        """The default arrangement, as a state blob for ``restoreState``.

        Built in a scratch window with stand-in docks of the same names: tabifying docks
        in a window that is not yet shown leaves a stray copy of the tab bar visible
        (Qt 6), while restoring a saved state does not.
        """
        from PySide6.QtWidgets import QDockWidget, QToolBar, QWidget

        scratch = QMainWindow()
        scratch.resize(1600, 1000)
        toolbar = QToolBar()
        toolbar.setObjectName(self.transport.objectName())
        scratch.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        docks = {}
        for panel in self.panels:
            dock = QDockWidget(panel.windowTitle())
            dock.setObjectName(panel.objectName())
            dock.setWidget(QWidget())
            docks[panel.objectName()] = dock
        gates, heat = docks["GateBarsPanel"], docks["GateHeatmapsPanel"]
        traj, memory, inputs = docks["CellTrajectoryPanel"], docks["MemoryPanel"], docks["InputPanel"]
        diagram, equations, whatif = docks["CellDiagramPanel"], docks["EquationsPanel"], docks["WhatIfPanel"]
        typing, guide = docks["TypingPanel"], docks["GuidePanel"]
        scratch.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, gates)
        scratch.splitDockWidget(gates, heat, Qt.Orientation.Vertical)
        scratch.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, traj)
        scratch.splitDockWidget(traj, memory, Qt.Orientation.Vertical)
        scratch.splitDockWidget(heat, inputs, Qt.Orientation.Vertical)
        # The teaching panels share places with the plots, as tabs.
        scratch.tabifyDockWidget(traj, diagram)
        scratch.tabifyDockWidget(memory, equations)
        scratch.tabifyDockWidget(equations, guide)
        scratch.tabifyDockWidget(inputs, whatif)
        scratch.tabifyDockWidget(whatif, typing)
        for front in (traj, memory, inputs):
            front.raise_()
        placed = {gates, heat, traj, memory, inputs, diagram, equations, whatif, typing, guide}
        for panel in self.panels:  # any other panel goes to its own side
            if docks[panel.objectName()] not in placed:
                scratch.addDockWidget(panel.area, docks[panel.objectName()])
        scratch.resizeDocks([gates, heat, inputs], [26, 52, 22], Qt.Orientation.Vertical)
        scratch.resizeDocks([traj, memory], [55, 45], Qt.Orientation.Vertical)
        scratch.resizeDocks([gates, traj], [60, 40], Qt.Orientation.Horizontal)
        state = scratch.saveState(LAYOUT_VERSION)
        scratch.deleteLater()
        return state

    def _link_time_axes(self):
        """Same time range in every panel, in data coordinates.

        pyqtgraph's setXLink aligns views on screen, so plots of different widths (the
        heatmaps carry colour bars) would cut off the ends of the sequence.
        """
        plots = [plot for panel in self.panels for plot in panel.time_plots()]
        syncing = False

        def follow(source, x_range):
            nonlocal syncing
            if syncing:
                return
            syncing = True
            try:
                for plot in plots:
                    if plot.vb is not source:
                        plot.setXRange(*x_range, padding=0)
            finally:
                syncing = False

        for plot in plots:
            plot.vb.sigXRangeChanged.connect(follow)

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if not isinstance(state, QByteArray) or not self.restoreState(state, LAYOUT_VERSION):
            self.restoreState(self.default_state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def reset_layout(self) -> None:
        from PySide6.QtWidgets import QTabBar

        for panel in self.panels:
            panel.setFloating(False)
            panel.show()
        # Qt shows the tab bars the restored layout uses; old ones would linger on screen.
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            bar.hide()
        self.restoreState(self.default_state, LAYOUT_VERSION)

    def closeEvent(self, event):
        self.transport.pause()
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.job.wait(5000)
        self.save_layout()
        super().closeEvent(event)

    # -- menus --------------------------------------------------------------------------
    def _action(self, menu, text, slot, shortcut=None):
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self):
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &sequence…", self.ask_sequence, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &model…", self.ask_model, "Ctrl+M")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "&Reload", self.reload, QKeySequence.StandardKey.Refresh)
        self._action(file_menu, "Save &trace…", self.ask_save_trace, QKeySequence.StandardKey.Save)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        model_menu = bar.addMenu("&Model")
        self._action(model_menu, "New &random model…", self.ask_random_model)
        examples_menu = bar.addMenu("&Examples")
        from lstm_viz.ui.examples import examples

        for number, example in enumerate(examples()):
            if number == 2:
                examples_menu.addSeparator()  # the tutorial's own, then the trained models
            action = examples_menu.addAction(example.title)
            action.setObjectName(f"example-{example.slug}")
            action.triggered.connect(lambda _=False, slug=example.slug: self.open_example(slug))
        view = bar.addMenu("&View")
        for panel in self.panels:
            view.addAction(panel.toggleViewAction())
        view.addSeparator()
        self._action(view, "Reset &layout", self.reset_layout)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Tour", self.start_tour)
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "&About lstm-viz", self.show_about)
        self._update_recent()

    def start_tour(self):
        from lstm_viz.ui.tour import Tour

        if getattr(self, "tour", None) is None:
            self.tour = Tour(self)
        self.settings.setValue("tour/seen", True)
        self.tour.start()

    def maybe_start_tour(self) -> bool:
        """Start the tour by itself on the very first start only."""
        if str(self.settings.value("tour/seen", "false")).lower() == "true":
            return False
        self.start_tour()
        return True

    def show_shortcuts(self):
        QMessageBox.information(
            self,
            "Keyboard shortcuts",
            "Space\tplay / pause\nLeft / Right\tone step\nShift+Left / Right\tten steps\n"
            "Home / End\tfirst / last step\n"
            "Ctrl+O\topen a sequence\nCtrl+M\topen a model\nF5\treload\nCtrl+S\tsave the trace\n\n"
            "Click a heatmap row to select that unit (Ctrl+click adds it); drag any cursor to move in time.",
        )

    def show_about(self):
        from lstm_viz import __version__

        QMessageBox.about(
            self,
            "About lstm-viz",
            f"lstm-viz {__version__}\n\nSee inside an LSTM: every gate and memory cell, step by step.\n"
            "Keep (forget), write (input) and read (output) gates are recorded by a NumPy engine that "
            "matches PyTorch, TensorFlow, Keras and ONNX to 1e-5.",
        )

    # -- recent files --------------------------------------------------------------------
    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]

    def _remember(self, path: str, kind: str) -> None:
        entry = f"{kind}:{os.path.abspath(path)}"
        recent = [entry] + [r for r in self._recent() if r != entry]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._update_recent()

    def _update_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self._recent():
            kind, _, path = entry.partition(":")
            action = self.recent_menu.addAction(f"{Path(path).name} ({kind})")
            action.setToolTip(path)
            if kind == "model":
                action.triggered.connect(lambda _=False, p=path: self.open_files(model_path=p))
            else:
                action.triggered.connect(lambda _=False, p=path: self.open_files(sequence_path=p))
        self.recent_menu.setEnabled(bool(self._recent()))

    # -- opening -----------------------------------------------------------------------
    def ask_sequence(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open sequence", "", SEQUENCE_FILTER)
        if path:
            self.open_files(sequence_path=path)

    def ask_model(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", MODEL_FILTER)
        if path:
            self.open_files(model_path=path)

    def ask_random_model(self):
        dialog = RandomModelDialog(self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                spec = dialog.spec()
            except ValueError as exc:
                self.show_error("New random model", str(exc))
                return
            self.open_files(random_spec=spec)

    def reload(self):
        loaded = self.session.loaded
        if loaded is not None:
            self.open_files(model_path=loaded.model_path, sequence_path=loaded.sequence_path)

    def open_demo(self, wait: bool = False):
        """The built-in demo: the adding problem, explained in the Guide."""
        from lstm_viz.ui.examples import EXAMPLES

        if (EXAMPLES / "adding" / "example.json").exists():
            self.open_example("adding", wait=wait, raise_guide=False, apply_view=False)
        else:
            self.open_files(model_path=str(DEMO_MODEL), sequence_path=str(DEMO_SEQUENCE), wait=wait, remember=False)

    def open_example(self, slug: str, wait: bool = False, raise_guide: bool = True, apply_view: bool = True):
        """Open an example of the Examples menu: its model, sequence, units, step and note."""
        from lstm_viz.ui.examples import load_example

        try:
            example = load_example(slug)
        except LstmVizError as exc:
            self.show_error(f"Could not open the example {slug!r}", str(exc))
            return
        guide = next((p for p in self.panels if p.objectName() == "GuidePanel"), None)

        def arrived():
            if not apply_view:  # the start-up demo opens at its first step
                return
            if example.select:
                self.session.select_units(example.select)
            self.session.set_step(example.step)
            if raise_guide and guide is not None:
                guide.raise_()

        self.open_files(
            model_path=str(example.model),
            sequence_path=str(example.sequence),
            wait=wait,
            remember=False,
            example=example,
            then=arrived,
        )

    def open_files(
        self, model_path=None, sequence_path=None, random_spec=None, wait=False, remember=True, example=None, then=None
    ):
        """Load in a worker (or at once with ``wait``); the current session stays until it succeeds."""
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.job.wait()
        current = self.session.loaded

        def work(progress, cancelled):
            return build(model_path, sequence_path, random_spec, current, progress, cancelled)

        def done(loaded):
            self._finish()
            loaded.example = example
            self.session.set_loaded(loaded)
            if then is not None:
                then()
            if remember:
                for path, kind in ((model_path, "model"), (sequence_path, "sequence")):
                    if path:
                        self._remember(path, kind)

        def failed(message):
            self._finish()
            what = sequence_path or model_path or "the model"
            self.show_error(f"Could not open {Path(str(what)).name}", message)

        self._run_job(work, done, failed, "Loading and recording every gate…", wait=wait)

    def _run_job(self, work, done, failed, message: str, wait: bool = False) -> None:
        """Run ``work(progress, cancelled)`` in a worker with a progress dialog (or at once)."""
        if wait:
            try:
                result = work(lambda *_: None, lambda: False)
            except LstmVizError as exc:
                failed(str(exc))
                return
            done(result)
            return
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.job.wait()
        self.job = Job(work, self)
        self.progress = QProgressDialog(message, "Cancel", 0, 0, self)
        self.progress.setWindowTitle("lstm-viz")
        self.progress.setMinimumDuration(400)
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.canceled.connect(self.job.cancel)
        self.job.progressed.connect(self._progress)
        self.job.succeeded.connect(done)
        self.job.failed.connect(failed)
        self.job.stopped.connect(self._cancelled)
        self.job.start()

    # -- what-if and typed input ---------------------------------------------------------
    def run_typed(self, text: str | None = None, values=None, wait: bool = False) -> None:
        """Run the loaded model on text (or bases) typed by the user, or on edited numbers."""
        from lstm_viz.engine.sequence import Sequence
        from lstm_viz.io.sequences import dna_sequence, text_sequence

        loaded = self.session.loaded
        if loaded is None:
            return
        typing_panel = next((p for p in self.panels if hasattr(p, "typed")), None)
        model, current = loaded.model, loaded.sequence
        try:
            if text is not None:
                if current.is_dna:
                    sequence = dna_sequence(text, rna=current.feature_names[-1] == "U")
                else:
                    vocabulary = model.metadata.get("vocabulary") or current.vocabulary
                    sequence = text_sequence(text, vocabulary=vocabulary)
                sequence.names = ["typed"]
            else:
                sequence = Sequence(
                    np.asarray(values, np.float32)[None],
                    feature_names=list(current.feature_names),
                    encoding=current.encoding,
                    kind=current.kind,
                    normalization=current.normalization,
                    names=["edited"],
                )
            if sequence.width != model.input_size:
                raise InputError(
                    f"the typed sequence has {sequence.width} features; the model reads {model.input_size}"
                )
        except LstmVizError as exc:
            if typing_panel is not None:
                typing_panel.failed(str(exc))
            return

        def work(progress, cancelled):
            return model.run(sequence.values, progress=progress, cancel=cancelled)

        def done(trace):
            self._finish()
            self.session.set_loaded(
                Loaded(
                    model=model,
                    sequence=sequence,
                    trace=trace,
                    model_description=loaded.model_description,
                    model_path=loaded.model_path,
                    sequence_path=None,
                ),
                keep_selection=True,
            )
            if text is not None:
                self.session.set_step(self.session.length - 1)  # the character just typed

        def failed(message):
            self._finish()
            if typing_panel is not None:
                typing_panel.failed(message)

        self._run_job(work, done, failed, "Running on your input…", wait=wait or sequence.length <= 5000)

    def run_what_if(self, clamps, edits, wait: bool = False) -> None:
        """Re-run the loaded trace with ``clamps`` and input ``edits`` ({step: (row, label)})."""
        from dataclasses import replace

        from lstm_viz.engine.whatif import rerun
        from lstm_viz.ui.session import WhatIf

        loaded = self.session.loaded
        if loaded is None:
            return
        whatif_panel = next((p for p in self.panels if hasattr(p, "restoreRequested")), None)
        if not clamps and not edits:
            self.session.clear_what_if()
            return
        batch = self.session.batch
        x = loaded.trace.x.copy()
        batch_labels = [list(labels) for labels in loaded.sequence.batch_labels]
        for step, (row, label) in edits.items():
            x[batch, step] = row
            batch_labels[batch][step] = label
        start = min([c.start for c in clamps] + list(edits))
        model, base = loaded.model, loaded.trace

        def work(progress, cancelled):
            return rerun(model, base, x, start=start, clamps=clamps)

        def done(trace):
            self._finish()
            sequence = replace(loaded.sequence, values=x, batch_labels=batch_labels, labels=list(batch_labels[0]))
            parts = [c.describe() for c in clamps] + [f"input at t = {t} set to {e[1]!r}" for t, e in edits.items()]
            self.session.set_what_if(WhatIf(trace, sequence, "; ".join(parts), start))

        def failed(message):
            self._finish()
            if whatif_panel is not None:
                whatif_panel.failed(message)
            self.status.setText(message.splitlines()[0])

        self._run_job(work, done, failed, "Re-running from the changed step…", wait=wait or x.shape[1] <= 2000)

    def _progress(self, done, total):
        if self.progress is not None:
            self.progress.setMaximum(total)
            self.progress.setValue(done)

    def _cancelled(self):
        self._finish()
        self.status.setText("Loading cancelled; the previous session is kept.")

    def _finish(self):
        if self.progress is not None:
            self.progress.reset()
            self.progress.deleteLater()
            self.progress = None

    def wait_for_job(self, timeout_ms: int = 60000) -> None:
        """Block until the current load finishes (for scripts and tests)."""
        from PySide6.QtCore import QCoreApplication, QElapsedTimer

        clock = QElapsedTimer()
        clock.start()
        while (
            self.job is not None
            and (self.job.isRunning() or not self.job.isFinished())
            and clock.elapsed() < timeout_ms
        ):
            QCoreApplication.processEvents()
            self.job.wait(10)
        QCoreApplication.processEvents()

    def show_error(self, title: str, message: str) -> None:
        self.last_error = message
        self.status.setText(message.splitlines()[0])
        if os.environ.get("LSTM_VIZ_NO_DIALOGS"):
            return
        QMessageBox.warning(self, title, message)

    # -- saving ---------------------------------------------------------------------------
    def ask_save_trace(self):
        if self.session.trace is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save trace", "trace.npz", "Trace (*.npz)")
        if path:
            try:
                self.session.trace.save(path)
            except OSError as exc:
                self.show_error("Could not save the trace", f"{path}: {exc.strerror or exc}")

    # -- drops -----------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        from lstm_viz.io import detect_model_format

        for url in event.mimeData().urls():
            path = url.toLocalFile()
            try:
                detect_model_format(path)
                is_model = True
            except LstmVizError:
                is_model = False
            if is_model and not path.endswith((".npy", ".csv", ".json", ".txt", ".fa", ".fasta")):
                self.open_files(model_path=path)
            else:
                self.open_files(sequence_path=path)
            break

    # -- reflecting the Session ----------------------------------------------------------------
    def _on_trace(self):
        loaded = self.session.loaded
        self.setWindowTitle(f"lstm-viz — {loaded.description}")
        model = loaded.model
        sizes = ", ".join(str(h) for h in model.hidden_sizes)
        self.status.setText(
            f"{loaded.sequence.batch_size} sequence(s) x {self.session.length} steps · layers of {sizes} units · "
            f"{loaded.sequence.encoding}"
        )
        if self.session.what_if is not None:
            self.status.setText(
                f"What-if, re-run from t = {self.session.what_if.start}: {self.session.what_if.description}"
            )

    def _on_step(self, step):
        model = self.session.model
        if model is not None and model.readout is not None and step == self.session.length - 1:
            features = self.session.trace.output[self.session.batch, step]
            prediction = model.readout.forward(features[None, None])[0, 0]
            labels = model.readout.labels
            if model.readout.kind == "classification" and labels:
                top = int(np.argmax(prediction))
                self.statusBar().showMessage(
                    f"prediction at the last step: {labels[top]!r} ({prediction[top]:.2f})", 5000
                )
            else:
                text = ", ".join(f"{v:.3f}" for v in np.ravel(prediction)[:4])
                self.statusBar().showMessage(f"prediction at the last step: {text}", 5000)
