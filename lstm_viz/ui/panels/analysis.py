"""What the "why" panels share: asking the core for an analysis and showing its progress.

A panel calls :meth:`Analyses.ask` with an analysis name and parameters; the work runs in
the session's job slot of that name (a newer request replaces a running one), a strip in
the panel shows its progress with a Cancel button, and :meth:`result` gives the result
once it has arrived (``on_result`` is called then), provided it was computed with the
parameters the panel asked for last.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class JobStrip(QWidget):
    """A progress bar and a Cancel button for the session's jobs of some slots; hidden
    while none of them runs."""

    def __init__(self, session, slots: tuple[str, ...], parent=None):
        super().__init__(parent)
        self.session, self.slots = session, slots
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumHeight(16)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.stop)
        layout.addWidget(self.label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.cancel)
        self.hide()
        session.jobs.progressed.connect(self._progressed)
        session.jobs.ended.connect(self._ended)

    def started(self, slot: str, words: str) -> None:
        if slot in self.slots:
            self.label.setText(words)
            self.bar.setRange(0, 0)
            self.show()

    def _progressed(self, slot: str, done: int, total: int) -> None:
        if slot in self.slots and total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))

    def _ended(self, slot: str) -> None:
        if slot in self.slots and not any(self.session.jobs.running(s) for s in self.slots):
            self.hide()

    def stop(self) -> None:
        for slot in self.slots:
            if self.session.jobs.running(slot):
                self.session.jobs.cancel(slot)
                self.cancelled(slot)

    def cancelled(self, slot: str) -> None:
        """Called for each slot stopped by the Cancel button (the panel says so)."""


class Analyses:
    """The analyses one panel asks for: what it asked last, and the results that match.

    Each panel has its own job slots and results (``"<panel>/<analysis>"``), so two panels
    asking for the same analysis do not cancel or replace each other's."""

    def __init__(self, panel, names: tuple[str, ...], on_result, on_failed):
        self.panel = panel
        self.asked: dict[str, dict] = {}
        self.strip = JobStrip(panel.session, tuple(self.key(name) for name in names))
        self.strip.cancelled = lambda key: self.on_failed(key.split("/", 1)[1], "Cancelled.")
        self.on_result, self.on_failed = on_result, on_failed
        panel.session.resultsChanged.connect(self._arrived)

    def key(self, name: str) -> str:
        return f"{self.panel.objectName()}/{name}"

    def ask(self, name: str, params: dict, words: str = "Computing…") -> None:
        core = self.panel.session.core
        self.asked[name] = {**params, "layer": core.layer, "batch": core.batch}
        key = self.key(name)
        self.panel.session.compute(name, params, lambda message: self.on_failed(name, message), key)
        if self.panel.session.jobs.running(key):
            self.strip.started(key, words)

    def forget(self) -> None:
        """Stop what runs and drop what was asked (the data, layer or sequence changed)."""
        for name in list(self.asked):
            self.panel.session.jobs.cancel(self.key(name))
        self.asked.clear()

    def result(self, name: str):
        """The result of ``name`` computed with the parameters asked for last, for the
        layer and sequence shown now; else None."""
        core = self.panel.session.core
        entry = core.results.get(self.key(name))
        if entry is None or entry[0] != self.asked.get(name):
            return None
        if entry[0].get("layer") != core.layer or entry[0].get("batch") != core.batch:
            return None
        return entry[1]

    def _arrived(self, key: str) -> None:
        for name in self.asked:
            if self.key(name) == key:
                self.on_result(name, self.result(name))
