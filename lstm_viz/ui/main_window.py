"""The main window: dockable panels around the Session, menus, the transport, file handling."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
)

from lstm_viz import environment
from lstm_viz.errors import LstmVizError
from lstm_viz.ui.navigate import NavigateBar
from lstm_viz.ui.panels import PANELS
from lstm_viz.ui.panels.base import AREAS
from lstm_viz.ui.session import Session
from lstm_viz.ui.transport import KeyRouter, Transport
from lstm_viz.ui.worker import Job, ProgressDialog
from lstm_viz.workbench import ModelOptions, OpenRequest, RandomSpec, SequenceOptions, WidthMismatch, Work

DEMO_EXAMPLE = "adding"
STRANDED: list[Job] = []  # jobs still blocked when their window closed (see ui.app.leave)
LAYOUT_VERSION = 4  # 3: the Compare panel; 4: the Training panel
MAX_RECENT = 8


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

    def spec(self) -> RandomSpec:
        """The sizes and seed typed; raises InputError for sizes that are not positive whole numbers."""
        return RandomSpec.parse(self.sizes.text(), self.seed.value())


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
        self.core = self.session.core
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.transport = Transport(self.session, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.transport)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.navigate = NavigateBar(self.session, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.navigate)
        self.panels = [panel_type(self.session, self) for panel_type in PANELS]
        for panel in self.panels:
            self.addDockWidget(AREAS[panel.place.area], panel)
        self._link_time_axes()
        self.status = QLabel()
        # a long message is cut, not a reason to lay the window out again (the docks moved
        # by a pixel or two when a message was wider than the status bar)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status, 1)
        # a run shown while it is recorded: how far it is, and a way to stop it
        self.stream_label = QLabel()
        self.stream_bar = QProgressBar()
        self.stream_bar.setMaximumWidth(220)
        self.stream_cancel = QPushButton("Cancel")
        self.stream_cancel.setToolTip("Stop recording and keep the steps computed so far")
        self.stream_cancel.clicked.connect(self.cancel_job)
        for widget in (self.stream_label, self.stream_bar, self.stream_cancel):
            self.statusBar().addPermanentWidget(widget)
            widget.setVisible(False)
        self.stream = None  # the Stream of the job running, when it has one
        self.video = None  # the VideoExport running, if any (see export_video)
        self.job: Job | None = None
        self.abandoned: list[Job] = []  # cancelled jobs still finishing; their results are dropped
        self.progress: ProgressDialog | None = None
        self.last_error: str | None = None
        self.last_warning: str | None = None  # what opening a session warned about
        self.offer: OpenRequest | None = None  # what the last error offered to open instead
        self._build_menus()
        self.default_state = self._default_layout()
        self.session.handle("what_if", self.run_what_if)
        self.session.handle("restore_original", lambda panel: (self._abandon_job(), self.core.clear_what_if()))
        self.session.handle("typed_text", lambda panel, text: self.run_typed(text=text, panel=panel))
        self.session.handle("edited_values", lambda panel, values: self.run_typed(values=values, panel=panel))
        self.session.handle("compare", lambda panel: self.ask_compare())
        self.restore_layout()
        self.session.traceChanged.connect(self._on_trace)
        self.session.stepChanged.connect(self._on_step)
        self.setWindowTitle("lstm-viz")
        self._route_transport_keys()
        settle_garbage_collector()

    def _route_transport_keys(self) -> None:
        """Space, Left/Right, Shift+Left/Right, Home/End step from the first moment on.

        The window itself holds the keyboard focus at start (otherwise Qt gives it to the
        first box of the toolbar, the speed, and the keys edit "8 steps/s"), and the
        transport's key router lets the keys through every widget but a field being typed in.
        """
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        walking = [self.next_note, self.previous_note, self.presentation_action]
        self.key_router = KeyRouter(self, self.transport.key_actions() + self.navigate.key_actions() + walking)
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    # -- layout -----------------------------------------------------------------------
    def _default_layout(self) -> QByteArray:
        """The default arrangement, derived from each panel's ``place``, as a state blob.

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
        scratch.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        second = QToolBar()
        second.setObjectName(self.navigate.objectName())
        scratch.addToolBar(Qt.ToolBarArea.TopToolBarArea, second)
        docks, places = {}, {}
        for panel in self.panels:
            dock = QDockWidget(panel.windowTitle())
            dock.setObjectName(panel.objectName())
            dock.setWidget(QWidget())
            docks[panel.objectName()] = dock
            places[panel.objectName()] = panel.place
        placed: list[str] = []
        waiting = list(docks)
        while waiting:  # a panel goes in once the panel it is placed against is in
            progressed = False
            for name in list(waiting):
                place = places[name]
                anchor = place.anchor if place.anchor in docks else None
                if anchor is not None and anchor not in placed:
                    continue
                if place.tab and anchor:
                    scratch.tabifyDockWidget(docks[anchor], docks[name])
                elif place.below and anchor:
                    scratch.splitDockWidget(docks[anchor], docks[name], Qt.Orientation.Vertical)
                else:
                    scratch.addDockWidget(AREAS[place.area], docks[name])
                placed.append(name)
                waiting.remove(name)
                progressed = True
            if not progressed:  # a circle of anchors: the rest go to their own sides
                for name in waiting:
                    scratch.addDockWidget(AREAS[places[name].area], docks[name])
                placed.extend(waiting)
                waiting = []
        for name in placed:
            if places[name].front:
                docks[name].raise_()
        self._size_docks(scratch, docks, places, placed)
        state = scratch.saveState(LAYOUT_VERSION)
        scratch.deleteLater()
        self._placed = placed  # the order the panels went in (reset_layout sizes them again)
        return state

    @staticmethod
    def _size_docks(window, docks: dict, places: dict, placed: list) -> None:
        """Give the docks of ``window`` the sizes their places ask for (strips in pixels,
        the panels of a column by weight, the columns' widths by share of the window)."""
        strips = [n for n in placed if places[n].anchor is None and places[n].area in ("top", "bottom")]
        for name in strips:  # a strip across the window: its height in pixels
            if places[name].height:
                window.resizeDocks([docks[name]], [places[name].height], Qt.Orientation.Vertical)
        columns = [name for name in placed if places[name].anchor is None and places[name].width]
        for top in columns:
            column, below = [top], top
            while True:
                nxt = next((n for n in placed if places[n].below == below), None)
                if nxt is None:
                    break
                column.append(nxt)
                below = nxt
            if len(column) > 1:
                window.resizeDocks(
                    [docks[n] for n in column], [max(1, places[n].height) for n in column], Qt.Orientation.Vertical
                )
        if len(columns) > 1:
            # in pixels: the sides are not one splitter, so weights alone split them evenly
            widths = [round(window.width() * places[n].width / sum(places[c].width for c in columns)) for n in columns]
            window.resizeDocks([docks[n] for n in columns], widths, Qt.Orientation.Horizontal)

    def _link_time_axes(self):
        """One range of steps in every time plot: the core's ``time_range``.

        A plot the user zooms or pans (mouse wheel, drag) tells the core; every panel shows
        the core's range in its time plots (``Panel.show_time_range``), in data coordinates
        (pyqtgraph's setXLink aligns views on screen, so plots of different widths would cut
        off the ends of the sequence). Zoom and pan change time only.
        """
        for panel in self.panels:  # each panel's plots join when its content is built
            panel.built_hooks.append(self._link_panel)
            if panel.built:
                self._link_panel(panel)

    def _link_panel(self, panel) -> None:
        for plot in panel.time_plots():
            plot.setMouseEnabled(x=True, y=False)
            plot.vb.sigRangeChangedManually.connect(lambda _mask, vb=plot.vb: self._user_range(vb))

    def _user_range(self, view) -> None:
        self.session.core.set_time_range(*view.viewRange()[0])
        t0, t1 = self.session.core.time_range
        if view.viewRange()[0] != [t0, t1]:  # clamped by the core: the dragged plot follows too
            view.setXRange(t0, t1, padding=0)

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if not isinstance(state, QByteArray) or not self.restoreState(state, LAYOUT_VERSION):
            self.restoreState(self.default_state, LAYOUT_VERSION)
        QTimer.singleShot(0, self.settle_layout)  # once Qt has applied the restored state

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
        # restored into a window on screen, the saved heights come out otherwise than at a
        # start (the gate bars were squeezed to a strip): the places' sizes are given again
        docks = {panel.objectName(): panel for panel in self.panels}
        places = {name: panel.place for name, panel in docks.items()}
        self._size_docks(self, docks, places, self._placed)
        QTimer.singleShot(0, self.settle_layout)  # once Qt has applied the restored state

    def closeEvent(self, event):
        self.transport.pause()
        for job in [self.job, *self.abandoned, *self.session.jobs.all_jobs()]:
            if job is not None and job.isRunning():
                job.cancel()
                if not job.wait(1000):  # a read blocked in the system: not waited for any longer
                    job.setParent(None)  # the window may go; the thread object must outlive it
                    STRANDED.append(job)
        self.save_layout()
        self.key_router.detach()
        super().closeEvent(event)

    def event(self, event):
        if event.type() == QEvent.Type.WindowUnblocked and self.isVisible():
            # a modal dialog (Model > Train…, a file dialog, a message) has closed: the keyboard
            # back to the window. A window manager gives it back; without one (a kiosk, a bare
            # X server) the keys pressed next went nowhere until a click
            QTimer.singleShot(0, self.activateWindow)
        return super().event(event)

    def showEvent(self, event):
        self.key_router.attach()  # shown again after a close
        super().showEvent(event)
        if not event.spontaneous():
            # Ask for the keyboard focus as soon as the window is mapped: a window manager
            # usually gives it, but without one (a kiosk, a bare X server, Xvfb) nothing does
            # until a click, and the transport keys pressed first went nowhere.
            QTimer.singleShot(0, self.activateWindow)
            QTimer.singleShot(0, self.settle_layout)

    def settle_layout(self) -> None:
        """Lay the docks out until they stay put. Qt's dock layout does not settle in one
        pass after a window is first shown or a layout restored: each later pass (a longer
        status message, say) moved the panels again, by 2 pixels after the first show and
        by 28, 18, 12, ... after View > Reset layout."""
        layout = self.layout()
        animated = self.isAnimated()
        self.setAnimated(False)  # each pass in place at once, not a slide begun
        try:
            before = None
            for _ in range(30):  # the steps shrink by about a third a pass: a dozen at most
                now = [panel.geometry() for panel in self.panels]
                if now == before:
                    return
                before = now
                layout.invalidate()
                layout.activate()
                QApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)  # what that pass asked for
        finally:
            self.setAnimated(animated)

    # -- menus --------------------------------------------------------------------------
    def _action(self, menu, text, slot, shortcut=None):
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self):
        from lstm_viz.workbench.examples import examples

        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "Open &sequence…", self.ask_sequence, QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &model…", self.ask_model, "Ctrl+M")
        self._action(file_menu, "Open model &folder…", self.ask_model_folder)
        self._action(file_menu, "Open with &options…", self.ask_open_with_options, "Ctrl+Shift+O")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._action(file_menu, "&Reload", self.reload, QKeySequence.StandardKey.Refresh)
        file_menu.addSeparator()
        self._action(file_menu, "Open s&ession…", self.ask_open_session)
        self._action(file_menu, "Save sess&ion…", self.ask_save_session, "Ctrl+Shift+S")
        file_menu.addSeparator()
        self._action(file_menu, "Save &trace…", self.ask_save_trace, QKeySequence.StandardKey.Save)
        self._action(file_menu, "&Export picture…", self.ask_export_picture, "Ctrl+E")
        self._action(file_menu, "Export &video…", self.ask_export_video, "Ctrl+Shift+E")
        self._action(file_menu, "Export &data…", self.ask_export_data, "Ctrl+Shift+D")
        self._action(file_menu, "Export for &LSTMVis…", self.ask_export_lstmvis)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        model_menu = bar.addMenu("&Model")
        self._action(model_menu, "New &random model…", self.ask_random_model)
        self._action(model_menu, "&Train…", self.ask_train, "Ctrl+T")
        model_menu.addSeparator()
        self.half_precision = self._action(model_menu, "Store traces in &half precision (float16)", self._half_toggled)
        self.half_precision.setCheckable(True)
        self.half_precision.setToolTip(
            "Half the memory for long sequences: values kept to about 3 significant digits; the equations "
            "panel recomputes its step exactly. Applies to the next file opened (File > Reload)."
        )
        model_menu.addSeparator()
        self._action(model_menu, "&Compare with a model file…", self.ask_compare)
        self._action(model_menu, "Compare with a random tanh &RNN", lambda: self.compare_with(rnn_seed=0))
        self._action(model_menu, "&Stop comparing", lambda: self.core.clear_comparison())
        examples_menu = bar.addMenu("&Examples")
        for number, example in enumerate(examples()):
            if number == 2:
                examples_menu.addSeparator()  # the tutorial's own, then the trained models
            action = examples_menu.addAction(example.title)
            action.setObjectName(f"example-{example.slug}")
            action.triggered.connect(lambda _=False, slug=example.slug: self.open_example(slug))
        examples_menu.addSeparator()
        # (also the window's own actions: their keys work with the menu bar hidden, in presentation mode)
        self.next_note = self._action(examples_menu, "&Next note of the guide", lambda: self.walk(1), "PgDown")
        self.previous_note = self._action(examples_menu, "&Previous note of the guide", lambda: self.walk(-1), "PgUp")
        view = bar.addMenu("&View")
        for panel in self.panels:
            view.addAction(panel.toggleViewAction())
        view.addSeparator()
        self._action(view, "Reset &layout", self.reset_layout)
        self.presentation_action = self._action(view, "&Presentation mode", self.toggle_presentation, "F11")
        self.presentation_action.setCheckable(True)
        self.presentation_action.setToolTip(
            "Large fonts and thick lines, full screen, controls hidden (F11 again to leave)"
        )
        for action in (self.next_note, self.previous_note, self.presentation_action):
            self.addAction(action)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Tour", self.start_tour)
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, "F1")
        self._action(help_menu, "&About lstm-viz", self.show_about)
        self._update_recent()

    def walk(self, delta: int) -> None:
        """The next (``delta`` 1) or previous (-1) note of the example's guide: the cursor and
        the selection go where it says, and the guide comes to the front."""
        if self.core.example is None:
            self.statusBar().showMessage(
                "The guide's notes belong to the examples: open one from the Examples menu.", 6000
            )
            return
        self.core.next_note() if delta > 0 else self.core.previous_note()
        guide = next(p for p in self.panels if type(p).__name__ == "GuidePanel")
        if guide.isHidden():
            guide.show()
        if guide._offscreen():
            guide.raise_()

    def training_panel(self):
        return next(p for p in self.panels if p.objectName() == "TrainingPanel")

    def ask_train(self) -> None:
        """Model > Train…: the Training panel comes to the front and asks what to train."""
        panel = self.training_panel()
        if panel.isHidden():
            panel.show()
        panel.raise_()
        panel.ensure_built()
        panel.ask()

    def toggle_presentation(self, checked: bool = False) -> None:
        """Presentation mode on or off (see :mod:`lstm_viz.ui.presentation`)."""
        from lstm_viz.ui.presentation import Presentation

        if getattr(self, "presentation", None) is None:
            self.presentation = Presentation(self)
        self.presentation.toggle()
        self.presentation_action.setChecked(self.presentation.active)

    def _half_toggled(self, checked: bool = False) -> None:
        self.statusBar().showMessage("Applies to the next file opened (File > Reload re-reads this one).", 8000)

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
        if self.last_error is not None:
            return False  # not over a message: it waits for a start that opens without one
        if self.job is not None:  # still loading: once the window shows what it loads
            from PySide6.QtCore import QTimer

            QTimer.singleShot(300, self.maybe_start_tour)
            return False
        self.start_tour()
        return True

    SHORTCUTS = (
        ("Space", "play / pause"),
        ("Left / Right", "one step"),
        ("Shift+Left / Right", "ten steps"),
        ("Home / End", "first / last step"),
        ("Ctrl+G", "go to a step (or a step's label, e.g. a date)"),
        ("N / Shift+N", "next / previous event of the first selected unit"),
        ("Page Down / Page Up", "next / previous note of an example's guide (the cursor and selection follow)"),
        ("F11", "presentation mode: large fonts, thick lines, full screen, only the transport"),
        ("Ctrl+T", "train a model (on a built-in task or the open sequence) and watch it learn"),
        ("Mouse wheel", "zoom in time around the mouse (over any time plot or the overview)"),
        ("Ctrl+O", "open a sequence"),
        ("Ctrl+M", "open a model"),
        ("F5", "reload"),
        ("Ctrl+S", "save the trace"),
        ("Ctrl+E", "export a picture of the window or a panel (PNG, SVG, PDF)"),
        ("Ctrl+Shift+E", "export a video of a range of steps (MP4, GIF)"),
        ("Ctrl+Shift+D", "export data: the trace or a panel's numbers (CSV, Parquet)"),
        ("Ctrl+Shift+S", "save the session (files, view, layout) to a .lvz file"),
    )

    def show_shortcuts(self):
        """The keys, in a two-column table (tab stops misalign after a long key name)."""
        rows = "".join(
            f"<tr><td style='padding-right: 18px'><b>{key}</b></td><td>{what}</td></tr>" for key, what in self.SHORTCUTS
        )
        box = QMessageBox(QMessageBox.Icon.Information, "Keyboard shortcuts", "", parent=self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(
            f"<table cellspacing='0' cellpadding='2'>{rows}</table>"
            "<p>Click a heatmap row to select that unit (Ctrl+click adds it); drag any cursor to move in time; "
            "drag the overview's shaded window (or its edges) to move (or zoom) through a long sequence.</p>"
        )
        self.shortcuts_box = box
        if environment.no_dialogs():
            box.show()  # tests and screenshots do not wait for a click
        else:
            box.exec()

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
            elif kind == "session":
                action.triggered.connect(lambda _=False, p=path: self.open_session(p))
            else:
                action.triggered.connect(lambda _=False, p=path: self.open_files(sequence_path=p))
        self.recent_menu.setEnabled(bool(self._recent()))

    # -- a second model ------------------------------------------------------------------
    def ask_compare(self):
        from lstm_viz.io.formats import dialog_filter

        if self.core.loaded is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Compare with a model", "", dialog_filter("model"))
        self.activateWindow()
        if path:
            self.compare_with(model_path=path)

    def compare_with(self, model_path: str | None = None, rnn_seed: int | None = None, wait: bool = False) -> None:
        """Run a second model (the file ``model_path``, or a random tanh RNN of the same
        sizes) on this sequence, match its units to these, and show the Compare panel."""
        if self.core.loaded is None:
            return
        request = None if model_path is None else OpenRequest(model_path=model_path)
        what = os.path.basename(model_path) if model_path else "a tanh RNN"

        def shown(comparison):
            compare = next(p for p in self.panels if p.objectName() == "ComparePanel")
            compare.show()
            compare.raise_()
            match = comparison.match(self.core.layer)
            quality = "" if match is None else f": units matched, mean |r| = {match.quality:.2f}"
            self.status.setText(f"Comparing with {comparison.description}{quality}")

        try:
            work = self.core.compare_with(request, rnn_seed=rnn_seed)
        except LstmVizError as error:
            self.show_error(f"Could not compare with {what}", str(error))
            return

        def done(comparison):
            work.apply(comparison)
            if self.core.comparison is comparison:
                shown(comparison)

        self._background(
            work, done, f"Could not compare with {what}", wait, slot="compare", cancelled="Comparison cancelled."
        )

    # -- where exports go -------------------------------------------------------------------
    def export_path(self, name: str) -> str:
        """``name`` in the folder the last export went to (a save dialog's proposal)."""
        folder = self.settings.value("export/folder", "")
        return os.path.join(folder, name) if isinstance(folder, str) and os.path.isdir(folder) else name

    def exported_to(self, path: str) -> None:
        self.settings.setValue("export/folder", os.path.dirname(os.path.abspath(path)))

    # -- sessions ------------------------------------------------------------------------
    def window_settings(self) -> dict:
        """What a session file keeps of the window: the layout of the panels, their
        settings, the next-event choices and the storage option."""
        import base64

        nav = self.navigate
        return {
            "layout": base64.b64encode(bytes(self.saveState(LAYOUT_VERSION))).decode("ascii"),
            "panels": {panel.objectName(): panel.session_settings() for panel in self.panels},
            "navigate": {
                "quantity": nav.quantity.currentData(),
                "direction": nav.direction.currentData(),
                "threshold": nav.threshold.value(),
            },
            "float16": self.half_precision.isChecked(),
        }

    def apply_window_settings(self, data: dict) -> None:
        """Bring back what :meth:`window_settings` kept; what is missing or unknown stays."""
        import base64
        import binascii

        layout = data.get("layout")
        if isinstance(layout, str):
            try:
                state = QByteArray(base64.b64decode(layout.encode("ascii"), validate=True))
            except (binascii.Error, ValueError):
                state = None
            if state is not None and self.restoreState(state, LAYOUT_VERSION):
                QTimer.singleShot(0, self.settle_layout)
        panels = data.get("panels")
        if isinstance(panels, dict):
            for panel in self.panels:
                if isinstance(panels.get(panel.objectName()), dict):
                    panel.apply_session_settings(panels[panel.objectName()])
        nav = data.get("navigate")
        if isinstance(nav, dict):
            for box, key in ((self.navigate.quantity, "quantity"), (self.navigate.direction, "direction")):
                index = box.findData(nav.get(key))
                if index >= 0:
                    box.setCurrentIndex(index)
            if isinstance(nav.get("threshold"), int | float) and not isinstance(nav.get("threshold"), bool):
                self.navigate.threshold.setValue(float(nav["threshold"]))
        if isinstance(data.get("float16"), bool):
            self.half_precision.setChecked(data["float16"])

    def ask_save_session(self):
        from lstm_viz.workbench.session_file import SUFFIX

        if self.core.loaded is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save session", "session" + SUFFIX, f"lstm-viz session (*{SUFFIX})")
        self.activateWindow()
        if path:
            if not path.lower().endswith(SUFFIX):
                path += SUFFIX
            self.save_session(path)

    def ask_open_session(self):
        from lstm_viz.workbench.session_file import SUFFIX

        path, _ = QFileDialog.getOpenFileName(self, "Open session", "", f"lstm-viz session (*{SUFFIX})")
        self.activateWindow()
        if path:
            self.open_session(path)

    def save_session(self, path: str) -> bool:
        """Write this view to the session file ``path`` (atomically): the files with their
        content hashes, every option, step, batch, layer, selection, what-if, visible range,
        layout and panel settings."""
        from lstm_viz.workbench import session_file

        try:
            document = session_file.make_document(
                self.core.state(), path, window=self.window_settings(), time_range=self.core.time_range
            )
            session_file.write(path, document)
        except LstmVizError as error:
            self.show_error("Could not save the session", str(error))
            return False
        except OSError as exc:  # hashing a file that went away meanwhile
            self.show_error("Could not save the session", f"{os.path.basename(path)}: {exc.strerror or exc}")
            return False
        self._remember(path, "session")
        self.status.setText(f"Saved the session to {os.path.basename(path)}")
        return True

    def _locate(self, found) -> str | None:
        """Ask where a file recorded by a session is now (None: not found or no dialogs)."""
        if environment.no_dialogs():
            return None
        name = os.path.basename(found.recorded)
        answer = QMessageBox.question(
            self,
            "A file of the session is missing",
            f"The {found.role} {name} is neither at {found.recorded} nor beside the session "
            "(moved or deleted). Locate it?",
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.activateWindow()
            return None
        if os.path.splitext(name)[1]:
            path, _ = QFileDialog.getOpenFileName(self, f"Locate {name}", os.path.dirname(found.recorded))
        else:  # a model folder
            path = QFileDialog.getExistingDirectory(self, f"Locate {name}", os.path.dirname(found.recorded))
        self.activateWindow()
        return path or None

    def open_session(self, path: str, wait: bool = False) -> bool:
        """Open the session file ``path``: its files (found where they were, beside the
        session if they moved with it, or where the user locates them), with their options,
        and its view. A damaged file, a missing file or a failing load is said and the
        current session stays; a file whose content changed is opened with a warning."""
        from lstm_viz.workbench import session_file

        name = os.path.basename(path)
        try:
            document = session_file.read(path)
            paths, warnings = {}, []
            for role, record in document["files"].items():
                found = session_file.find(role, record, path)
                if found.path is None:
                    located = self._locate(found)
                    if located is None:
                        beside = os.path.dirname(os.path.abspath(path))
                        raise session_file.SessionError(
                            f"{name}: the {role} {os.path.basename(found.recorded)} is missing (moved or deleted): "
                            f"it is neither at {found.recorded} nor beside the session in {beside}; "
                            "put it back, or open the session again and locate it"
                        )
                    found = session_file.Found(
                        role, found.recorded, located, True, not session_file.same_content(record, located)
                    )
                if found.moved:
                    warnings.append(f"the {role} was found at {found.path}")
                if found.changed:
                    warnings.append(
                        f"the {role} {os.path.basename(found.path)} changed since the session was saved: "
                        "what you see may differ"
                    )
                paths[role] = found.path
            try:
                work = self.core.restore(session_file.with_paths(document, paths))
            except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a value of the wrong kind
                raise session_file.SessionError(f"{name}: damaged: {exc}") from None
        except LstmVizError as error:
            self.show_error(f"Could not open the session {name}", str(error))
            return False
        except OSError as exc:
            self.show_error(f"Could not open the session {name}", f"{name}: {exc.strerror or exc}")
            return False

        def opened(_loaded):
            window = document["window"]
            self.apply_window_settings(window)
            if document.get("time_range") is not None:
                self.core.set_time_range(*document["time_range"])
            self._remember(path, "session")
            self.status.setText(f"Opened the session {name}" + (" — " + "; ".join(warnings) if warnings else ""))
            if warnings:
                self.last_warning = "; ".join(warnings)
                if not environment.no_dialogs():
                    text = "\n".join(w[0].upper() + w[1:] + "." for w in warnings)
                    changed = any("changed since" in w for w in warnings)  # moved files alone: a notice
                    (QMessageBox.warning if changed else QMessageBox.information)(self, f"Session {name}", text)
                    self.activateWindow()

        self.last_warning = None
        self.run_work(
            work.then(opened),
            lambda message, error: self.show_error(f"Could not open the session {name}", message),
            wait=wait,
        )
        return True

    # -- opening -----------------------------------------------------------------------
    def ask_sequence(self):
        from lstm_viz.io.formats import dialog_filter

        path, _ = QFileDialog.getOpenFileName(self, "Open sequence", "", dialog_filter("sequence"))
        if path:
            self.open_files(sequence_path=path)

    def ask_model(self):
        from lstm_viz.io.formats import dialog_filter

        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", dialog_filter("model"))
        if path:
            self.open_files(model_path=path)

    def ask_model_folder(self):
        """A model that is a folder: the one tf.train.Saver writes (its `checkpoint` file names the latest)."""
        path = QFileDialog.getExistingDirectory(self, "Open model folder (a TensorFlow checkpoint folder)")
        if path:
            self.open_files(model_path=path)

    def ask_open_with_options(self):
        """Every option of ``lstm-viz trace`` for reading a sequence and a model, in one dialog."""
        from lstm_viz.ui.open_dialog import OpenDialog

        loaded = self.core.loaded
        dialog = OpenDialog(self, None if loaded is None else loaded.request)
        request = self._accepted(dialog, dialog.request, "Open with options")
        if request is not None:
            self.open_request(request)

    def ask_random_model(self):
        dialog = RandomModelDialog(self)
        spec = self._accepted(dialog, dialog.spec, "New random model")
        if spec is not None:
            self.open_request(self.random_model_request(spec), import_step=False)

    def _accepted(self, dialog: QDialog, value, title: str):
        """``value()`` of a dialog the user accepted; None when cancelled or not usable (said)."""
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        try:
            return value()
        except LstmVizError as exc:
            self.show_error(title, str(exc))
            return None

    def random_model_request(self, spec: RandomSpec) -> OpenRequest:
        """A random model for the sequence being opened: the one whose widths did not fit the
        model just now, if that is what the last message was about, else the one shown."""
        if self.offer is not None:
            return OpenRequest(
                sequence_path=self.offer.sequence_path, sequence_options=self.offer.sequence_options, random=spec
            )
        return OpenRequest(random=spec)

    def reload(self):
        loaded = self.core.loaded
        if loaded is not None and loaded.request is not None:
            store = "float16" if self.half_precision.isChecked() else None  # as the Model menu says now
            self.open_request(
                replace(loaded.request, store_dtype=store), remember=False, import_step=False, keep_selection=True
            )

    def open_demo(self, wait: bool = False):
        """The built-in demo: the adding problem, explained in the Guide."""
        self.open_example(DEMO_EXAMPLE, wait=wait, raise_guide=False, apply_view=False)

    def open_example(self, slug: str, wait: bool = False, raise_guide: bool = True, apply_view: bool = True):
        """Open an example of the Examples menu: its model, sequence, units, step and note."""
        from lstm_viz.workbench.examples import load_example

        try:
            example = load_example(slug)
        except LstmVizError as exc:
            self.show_error(f"Could not open the example {slug!r}", str(exc))
            return
        guide = next((p for p in self.panels if p.objectName() == "GuidePanel"), None)
        work = self.core.open_example(example) if apply_view else self.core.open(example.request(), example)
        if raise_guide and guide is not None:
            work = work.then(lambda loaded: guide.raise_())
        self.run_work(work, lambda message, error: self._open_failed(example.sequence, message, error), wait=wait)

    def open_files(
        self,
        model_path=None,
        sequence_path=None,
        random_spec=None,
        wait=False,
        remember=True,
        sequence_options: SequenceOptions | None = None,
        model_options: ModelOptions | None = None,
    ):
        """Open files (or a random model, ``random_spec`` = (sizes, seed) or a RandomSpec)."""
        if random_spec is not None and not isinstance(random_spec, RandomSpec):
            random_spec = RandomSpec(*random_spec)
        try:
            request = OpenRequest(
                sequence_path=sequence_path,
                model_path=model_path,
                random=random_spec,
                sequence_options=sequence_options or SequenceOptions(),
                model_options=model_options or ModelOptions(),
            )
        except LstmVizError as exc:
            self.show_error("Could not open", str(exc))
            return
        self.open_request(request, wait=wait, remember=remember)

    def ask_table(self, request: OpenRequest) -> OpenRequest | None:
        """The table import step: a table opened without column roles shows a preview whose
        roles, missing values and normalisation the user sets (detected ones pre-filled, the
        last choices for the file remembered). None when cancelled or unreadable."""
        from dataclasses import replace

        from lstm_viz.io.formats import detect

        path = request.sequence_path
        if path is None or request.sequence_options.table is not None:
            return request
        try:
            if detect(path, "sequence").name != "table":
                return request
        except LstmVizError:
            return request  # the load itself says what is wrong
        from lstm_viz.ui.table_dialog import ask_table_options, remembered_options

        try:
            if environment.no_dialogs():
                options = remembered_options(self.settings, path)
            else:
                options = ask_table_options(self, path, self.settings)
                if options is None:
                    self.status.setText(f"Opening {Path(path).name} cancelled; the previous session is kept.")
                    return None
        except LstmVizError as exc:
            self._open_failed(path, str(exc), exc)
            return None
        if options is None:
            return request
        return replace(request, sequence_options=request.sequence_options.with_table(options.to_dict()))

    def open_request(
        self,
        request: OpenRequest,
        wait: bool = False,
        remember: bool = True,
        import_step: bool = True,
        keep_selection: bool = False,
    ) -> None:
        """Load in a worker (or at once with ``wait``); the current session stays until it succeeds.
        Tables go through the import step first (``import_step``)."""
        if import_step:
            request = self.ask_table(request)
            if request is None:
                return
        if self.half_precision.isChecked() and request.store_dtype is None:
            request = replace(request, store_dtype="float16")
        self.offer = None  # a new open: the last message's offer is not about it

        def opened(loaded):
            self.offer = None
            if remember:
                for path, kind in ((request.model_path, "model"), (request.sequence_path, "sequence")):
                    if path:
                        self._remember(path, kind)
            if loaded.notes:
                self.statusBar().showMessage(" ".join(loaded.notes), 15000)
            else:
                self.statusBar().clearMessage()  # an earlier file's note is not about this one

        what = request.sequence_path or request.model_path or "the model"
        self.run_work(
            self.core.open(request, keep_selection=keep_selection).then(opened),
            lambda message, error: self._open_failed(what, message, error),
            wait=wait,
        )

    def _open_failed(self, what, message: str, error: LstmVizError | None = None) -> None:
        title = f"Could not open {Path(str(what)).name}"
        if isinstance(error, WidthMismatch):
            self.offer = error.request
            self.show_error(title, message, offer=("Open with a random model", error.request))
        else:
            self.show_error(title, message)

    def run_work(self, work: Work, failed, wait: bool = False) -> None:
        """Run ``work`` in a worker with a progress dialog (or at once with ``wait`` or when it
        is quick); apply its result on the GUI thread. ``failed(message, error)`` gets any error
        (``error`` is the LstmVizError itself when there is one)."""

        def fail(message, error=None):
            self._finish()
            self._empty_panels_say(None)
            failed(message, error)

        if wait or work.quick:
            self._abandon_job()  # a slower job still running must not land after this one
            try:
                result = work.run(lambda *_: None, lambda: False)
            except LstmVizError as exc:
                fail(str(exc), exc)
                return
            except MemoryError:
                fail("not enough memory for this model and sequence")
                return
            work.apply(result)
            return
        self._abandon_job()
        if self.core.loaded is None:  # the empty panels say what is coming, not "Open a sequence"
            self._empty_panels_say(work.message)
        job = Job(lambda progress, cancelled: work.run(progress, cancelled), self)
        self.job = job
        self.stream = work.stream
        self.progress = ProgressDialog(work.message, self)
        self.progress.canceled.connect(self.cancel_job)
        job.progressed.connect(lambda done, total: job is self.job and self._progress(done, total))

        def succeeded(result):
            if job is self.job:
                self._finish()
                self.job = self.stream = None
                work.apply(result)

        def job_failed(message):
            if job is self.job:
                self.job = self.stream = None
                fail(message, job.error)

        def stopped():
            if job is self.job:
                self.job = None
                self._cancelled()

        job.succeeded.connect(succeeded)
        job.failed.connect(job_failed)
        job.stopped.connect(stopped)
        job.finished.connect(lambda: job in self.abandoned and self.abandoned.remove(job))
        job.finished.connect(job.deleteLater)
        job.start()

    def cancel_job(self) -> None:
        """Stop waiting for the current job at once; it is told to stop and its result dropped.

        A read that blocks in the system (a pipe, a slow disk) cannot be interrupted, so the
        window never waits for it: the session stays as it was and the window responds."""
        job = self.job
        if job is None:
            return
        self.job = None
        job.cancel()
        if job.isRunning():
            self.abandoned.append(job)
        self._cancelled()

    def _abandon_job(self) -> None:
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.abandoned.append(self.job)
        self.job = self.stream = None
        self._finish()

    # -- requests from panels: what-if and typed input --------------------------------------
    def run_typed(self, text: str | None = None, values=None, wait: bool = False, panel=None) -> None:
        """Run the loaded model on text (or bases) typed by the user, or on edited numbers."""
        if self.core.loaded is None:
            return
        name = "typed_text" if text is not None else "edited_values"

        def failed(message, error=None):
            if panel is not None:
                panel.request_failed(name, message)
            else:
                self.status.setText(message.splitlines()[0])

        try:
            work = self.core.typed(text=text, values=values)
        except LstmVizError as exc:
            failed(str(exc), exc)
            return
        self.run_work(work, failed, wait=wait)

    def run_what_if(self, panel, clamps, edits, wait: bool = False) -> None:
        """Re-run the loaded trace with ``clamps`` and input ``edits`` ({step: (row, label)})."""
        if self.core.loaded is None:
            return

        def failed(message, error=None):
            if panel is not None:
                panel.request_failed("what_if", message)
            self.status.setText(message.splitlines()[0])

        try:
            work = self.core.rerun(clamps, edits)
        except LstmVizError as exc:
            failed(str(exc), exc)
            return
        self.run_work(work, failed, wait=wait)

    def _progress(self, done, total):
        if self.progress is not None:
            self.progress.set_progress(done, total)
        stream = self.stream
        if stream is None:
            return
        part = stream.due()
        if part is not None:
            if self.progress is not None:  # the first steps are in: the window is usable from now on
                self.progress.finish()
                self.progress = None
            began = time.monotonic()
            self.core.show_part(part, keep_selection=stream.keep_selection)
            stream.took(time.monotonic() - began)
        if stream.shown:
            n, T = stream.computed(), stream.total
            self.stream_label.setText(f"recording: {n:,} of {T:,} steps computed, {stream.shown:,} shown")
            self.stream_bar.setRange(0, max(total, 1))
            self.stream_bar.setValue(min(done, total))
            for widget in (self.stream_label, self.stream_bar, self.stream_cancel):
                widget.setVisible(True)

    def _empty_panels_say(self, text: str | None) -> None:
        """What the panels show while nothing is open: ``text`` (a load under way) or, with
        None, how to open something."""
        from lstm_viz.ui.panels.base import Panel

        for panel in self.panels:
            panel.empty_text = text or Panel.empty_text
            if panel.empty_note is not None:
                panel.empty_note.setText(panel.empty_text)

    def _cancelled(self):
        self._empty_panels_say(None)
        stream, self.stream = self.stream, None
        self._finish()
        kept = None if stream is None else stream.cancelled()
        if kept is None:
            self.status.setText("Loading cancelled; the previous session is kept.")
            return
        self.core.show(kept, keep_selection=True)  # the steps computed stay; the rest is dropped
        self.statusBar().showMessage(" ".join(kept.notes), 15000)

    def _finish(self):
        if self.progress is not None:
            self.progress.finish()
            self.progress = None
        for widget in (self.stream_label, self.stream_bar, self.stream_cancel):
            widget.setVisible(False)

    def wait_for_job(self, timeout_ms: int = 60000) -> None:
        """Block until the current job finishes (for scripts and tests)."""
        from PySide6.QtCore import QCoreApplication, QElapsedTimer

        clock = QElapsedTimer()
        clock.start()
        while self.job is not None and clock.elapsed() < timeout_ms:
            QCoreApplication.processEvents()
            job = self.job
            if job is not None:
                job.wait(10)
        QCoreApplication.processEvents()

    def show_error(self, title: str, message: str, offer: tuple[str, OpenRequest] | None = None) -> None:
        """Say what went wrong; ``offer`` adds a button that opens another request instead."""
        self.last_error = message
        self.status.setText(message.splitlines()[0])
        if environment.no_dialogs():
            return
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Close, self)
        button = None
        if offer is not None:
            button = box.addButton(offer[0], QMessageBox.ButtonRole.AcceptRole)
            box.setDefaultButton(button)
        box.exec()
        self.activateWindow()  # the keyboard back to the window (without a window manager nothing gives it back)
        if button is not None and box.clickedButton() is button:
            self.open_request(offer[1], import_step=False)

    def accept_offer(self, wait: bool = False) -> None:
        """Open what the last error offered (the button of its message)."""
        if self.offer is not None:
            request, self.offer = self.offer, None
            self.open_request(request, wait=wait, import_step=False)

    # -- saving ---------------------------------------------------------------------------
    def ask_save_trace(self):
        if self.session.trace is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save trace", "trace.npz", "Trace (*.npz)")
        if path:
            self.save_trace(path)

    def save_trace(self, path: str) -> None:
        from lstm_viz.workbench import trace_meta
        from lstm_viz.workbench.why import readout_arrays

        trace = self.session.trace
        extra = {}
        try:
            if self.core.loaded is not None:
                extra, meta = readout_arrays(self.core.model, trace, self.core.targets)
                trace.meta.update(meta)
                trace.meta.update(trace_meta(self.core.loaded))
                if self.core.what_if is not None:  # a changed run: what was changed, and its input
                    trace.meta.update(what_if=self.core.what_if.description, labels=list(self.core.sequence.labels))
            trace.save(path, extra)
        except OSError as exc:
            self.show_error("Could not save the trace", f"{path}: {exc.strerror or exc}")

    def ask_export_picture(self):
        from lstm_viz.ui.export import ExportDialog

        ExportDialog(self).run()

    def export_picture(self, path: str, panel: str | None = None, scale: float = 1.0, caption: bool = False) -> bool:
        """A picture of the window, or of the panel called ``panel``, to ``path`` (PNG at
        ``scale``, JPEG, or SVG and PDF as vectors), a panel's with ``caption`` above it
        (its title, the step, the selected units); says so in the status line."""
        from lstm_viz.ui.export import ExportError, bring_forward, caption_for, export_picture, panel_named

        try:
            target = panel_named(self, panel) if panel else self
            if target is not self:
                bring_forward(target)
            words = caption_for(self, target) if caption and target is not self else None
            size = export_picture(target, path, scale, title=self.windowTitle(), caption=words)
        except ExportError as error:
            self.show_error("Could not export the picture", str(error))
            return False
        except OSError as exc:
            self.show_error("Could not export the picture", f"{path}: {exc.strerror or exc}")
            return False
        what = "the window" if target is self else target.title
        self.status.setText(f"Exported {what} to {os.path.basename(path)} ({size.width()}x{size.height()})")
        return True

    def ask_export_video(self):
        from lstm_viz.ui.video import VideoDialog

        if self.core.loaded is None:
            return
        VideoDialog(self).run()

    def export_video(
        self, path: str, first: int, last: int, fps: float = 10.0, scale: float = 1.0, panel: str | None = None
    ):
        """A video of steps ``first`` to ``last`` (one frame each) of the window, or of the
        panel called ``panel``, written while the window stays responsive (a progress dialog
        with Cancel); the status line says how it ended. Returns the running export (None
        when it could not start: the error is shown)."""
        from lstm_viz.ui.export import ExportError, panel_named
        from lstm_viz.ui.video import VideoExport, VideoSpec

        def done(message: str, ok: bool) -> None:
            self.video = None
            self.status.setText(message)
            if not ok and not export.cancelled:
                self.show_error("Could not export the video", message)

        from lstm_viz.ui.export import bring_forward

        try:
            target = panel_named(self, panel) if panel else self
            if target is not self:
                bring_forward(target)
            export = VideoExport(self, target, VideoSpec(path, int(first), int(last), float(fps), float(scale)), done)
            export.start()
        except ExportError as error:
            self.show_error("Could not export the video", str(error))
            return None
        self.video = export
        return export

    def ask_export_data(self):
        from lstm_viz.ui.data_export import DataDialog

        if self.core.loaded is not None:
            DataDialog(self).run()

    def ask_export_lstmvis(self):
        if self.core.loaded is None:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export for LSTMVis: a folder for the project")
        self.activateWindow()
        if folder:
            self.export_lstmvis(folder)

    def export_data(self, path: str, panel: str | None = None, scope: str = "sequence", wait: bool = False) -> bool:
        """The whole trace (``panel`` None; in a worker unless ``wait``) or the numbers of
        the panel called ``panel`` (at this step or over the sequence) to a CSV or Parquet
        file; the status line says what was written, an error says why not."""
        from lstm_viz.ui.data_export import trace_work
        from lstm_viz.ui.export import ExportError, panel_named
        from lstm_viz.workbench.data_out import table_format, write_table

        name = os.path.basename(path)
        try:
            table_format(path)
            if panel is not None:
                target = panel_named(self, panel)
                frame = target.numbers(scope)
                if frame is None:
                    raise ExportError(f"{name}: {target.title} has no numbers to export")
                rows = write_table(path, iter([frame]), len(frame))
                where = f"at step {self.core.step}" if scope == "step" else f"over all {self.core.length:,} steps"
                self.status.setText(
                    f"Exported the numbers of “{target.title}” {where} to {name} "
                    f"({rows:,} rows x {frame.shape[1]} columns)"
                )
                return True
        except (LstmVizError, ExportError) as error:
            self.show_error("Could not export the data", str(error))
            return False
        work, columns = trace_work(self.core, path)
        return self._background(
            work,
            lambda rows: self.status.setText(f"Exported the trace to {name} ({rows:,} rows x {columns:,} columns)"),
            "Could not export the data",
            wait,
        )

    def export_lstmvis(self, folder: str, wait: bool = False) -> bool:
        """LSTMVis's project files (lstm.yml, states.h5, train.h5, words.dict) in ``folder``."""
        from lstm_viz.ui.data_export import lstmvis_work

        return self._background(
            lstmvis_work(self.core, folder),
            lambda config: self.status.setText(
                f"Wrote an LSTMVis project to {folder}: lstm.yml, states.h5, train.h5, words.dict"
            ),
            "Could not export for LSTMVis",
            wait,
        )

    def _background(
        self,
        work,
        done,
        title: str,
        wait: bool,
        slot: str = "export",
        cancelled: str = "Export cancelled; no file was written.",
    ) -> bool:
        """Run ``work`` in ``slot`` of the jobs with a progress dialog and Cancel (at once
        with ``wait``); ``done(result)`` on success; errors shown under ``title``."""
        from lstm_viz.ui.worker import ProgressDialog

        if wait:
            try:
                done(work.run(lambda *_: None, lambda: False))
            except LstmVizError as error:
                self.show_error(title, str(error))
                return False
            return True
        dialog = ProgressDialog(work.message, self)
        jobs = self.session.jobs

        def ended(name):
            if name == slot:
                jobs.ended.disconnect(ended)
                jobs.progressed.disconnect(progressed)
                dialog.finish()
                self.activateWindow()

        def progressed(name, done_, total):
            if name == slot:
                dialog.set_progress(done_, total)

        def cancel():
            jobs.cancel(slot)
            self.status.setText(cancelled)

        jobs.ended.connect(ended)
        jobs.progressed.connect(progressed)
        dialog.canceled.connect(cancel)
        jobs.start(slot, Work(work.run, done, work.message), lambda message: self.show_error(title, message))
        return True

    # -- drops -----------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        from lstm_viz.io.formats import role_of

        for url in event.mimeData().urls():
            path = url.toLocalFile()
            if role_of(path) == "model":
                self.open_files(model_path=path)
            else:
                self.open_files(sequence_path=path)
            break

    # -- reflecting the Session ----------------------------------------------------------------
    def _on_trace(self):
        loaded = self.core.loaded
        self.setWindowTitle(f"lstm-viz — {loaded.description}")
        self.status.setText(self.core.summary())
        if self.core.what_if is not None:
            self.status.setText(f"What-if, re-run from t = {self.core.what_if.start}: {self.core.what_if.description}")

    def _on_step(self, step):
        if self.core.model is not None and step == self.core.length - 1:
            prediction = self.core.prediction(step)
            if prediction is not None:
                self.statusBar().showMessage(f"prediction at the last step: {prediction.describe()}", 5000)
