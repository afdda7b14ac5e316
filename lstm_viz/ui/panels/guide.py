"""Guide: what the current example shows, or what the window shows when no example is open."""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser

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
    title = "Guide"
    place = Place(tab="EquationsPanel")
    empty_text = ""  # its introduction is worth reading before anything is open

    def build(self):
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(INTRO)
        self.setWidget(self.text)

    def on_trace(self):
        example = getattr(self.session.loaded, "example", None)
        if example is None:
            self.text.setHtml(INTRO)
            return
        own = self.session.loaded.sequence_path is None  # typed or edited in 'Your input'
        self.text.setHtml(
            f"<h3>{example.title}</h3><p style='font-size:11pt'>{example.note}</p>"
            + (
                "<p style='color:#a04000'>Now running on your own input: the figures above were measured "
                "on the example's sequence.</p>"
                if own
                else ""
            )
            + "<p style='color:#666'>The unit named here is selected: its bars are shaded, its curve drawn, "
            "and the diagram and equations show it.</p>"
        )
