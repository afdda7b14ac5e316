"""Guide: what the current example shows, or what the window shows when no example is open."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from lstm_viz.ui.panels.base import Panel, Place

INTRO = """
<h3>What am I looking at?</h3>
<p>An LSTM reads a sequence one step at a time. Each unit has a <b>memory cell</b> and three
gates, each a number between 0 and 1:</p>
<ul>
<li><b style='color:#1f77b4'>Keep (forget)</b>: how much of the old memory survives,</li>
<li><b style='color:#ff7f0e'>Write (input)</b>: how much of the new candidate goes in,</li>
<li><b style='color:#2ca02c'>Read (output)</b>: how much of the memory is sent out.</li>
</ul>
<p>Step with the arrow keys or press Space to play. Click a row of a heatmap or a bar to pick a
unit; the <i>Cell diagram</i> and <i>Equations</i> tabs show that unit's numbers at this step.
<i>What if…</i> lets you hold a gate and re-run; <i>Your input</i> lets you type the sequence.
The <b>Examples</b> menu has the tutorial's own examples and trained models, each explained here.</p>
"""


class GuidePanel(Panel):
    """The example's note; an example with a walk shows one note at a time, with Previous
    and Next (Page Up, Page Down): each moves the cursor and the selection to where the
    note says."""

    title = "Guide"
    place = Place(tab="EquationsPanel")
    empty_text = ""  # its introduction is worth reading before anything is open

    def build(self):
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(INTRO)
        self.previous = QPushButton("◀ Previous")
        self.previous.setToolTip("The previous note (Page Up)")
        self.next = QPushButton("Next ▶")
        self.next.setToolTip("The next note: the cursor and the selection go where it says (Page Down)")
        for button in (self.previous, self.next):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (the window keeps the keys)
            button.setProperty("presentation_keep", True)  # shown in presentation mode too
        self.previous.clicked.connect(lambda: self.session.core.previous_note())
        self.next.clicked.connect(lambda: self.session.core.next_note())
        self.where = QLabel()
        self.walk_bar = QWidget()
        row = QHBoxLayout(self.walk_bar)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.previous)
        row.addWidget(self.where, 1, Qt.AlignmentFlag.AlignCenter)
        row.addWidget(self.next)
        self.walk_bar.setVisible(False)
        body = QWidget()
        column = QVBoxLayout(body)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.walk_bar)
        column.addWidget(self.text, 1)
        self.setWidget(body)
        self.session.core.note_changed.connect(self._note_changed)

    def font_changed(self) -> None:
        """The application's font changed (presentation mode): the note is written again at
        its size."""
        if self._built:
            self._note_changed(self.session.core.note)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.ApplicationFontChange) and self._built:
            self._note_changed(self.session.core.note)  # the note's size follows

    def _note_changed(self, index: int) -> None:
        if self._built and not self._offscreen():
            self.on_trace()
        else:
            self._stale_trace = True

    def on_trace(self):
        example = getattr(self.session.loaded, "example", None)
        if example is None:
            self.walk_bar.setVisible(False)
            self.text.setHtml(INTRO)
            return
        own = self.session.loaded.sequence_path is None  # typed or edited in 'Your input'
        walk = example.walk
        index = min(max(self.session.core.note, 0), len(walk) - 1)
        several = len(walk) > 1
        self.walk_bar.setVisible(several)
        if several:
            self.where.setText(f"note {index + 1} of {len(walk)}")
            self.previous.setEnabled(index > 0)
            self.next.setEnabled(index + 1 < len(walk))
        # the note a little larger than the rest, in step with the application's font (which
        # presentation mode enlarges)
        size = QApplication.font().pointSizeF() * 1.2
        self.text.setHtml(
            f"<h3>{example.title}</h3><p style='font-size:{size:.1f}pt'>{walk[index].text}</p>"
            + (
                "<p style='color:#a04000'>Now running on your own input: the figures above were measured "
                "on the example's sequence.</p>"
                if own
                else ""
            )
            + (
                "<p style='color:#666'>Page Down (or Next) goes on to the next note; each note moves the cursor "
                "and the selection to what it is about.</p>"
                if several and index == 0
                else "<p style='color:#666'>The unit named here is selected: its bars are shaded, its curve drawn, "
                "and the diagram and equations show it.</p>"
            )
        )
