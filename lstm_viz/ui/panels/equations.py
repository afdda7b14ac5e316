"""Equations: the tutorial's equations, typeset, each followed by this step's numbers.

For one unit (the first selected, or the one chosen here) of the current layer at the
current step. Every pre-activation is split into its input and recurrent parts, the bias,
and forget_bias, peepholes and clipping when the model has them; the parts add up to the
number inside the sigmoid, whose value is the recorded gate.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from lstm_viz.engine.explain import UnitStep, unit_step
from lstm_viz.ui.panels.base import OneUnitPanel, Paced, Place
from lstm_viz.ui.style import QUANTITY_COLORS
from lstm_viz.vocabulary import GATES_AND_CANDIDATE, QUANTITIES

RENDER_MS = 40  # at most 25 renders a second during playback

MATH = "font-family: 'DejaVu Serif', 'Times New Roman', serif; font-size: 13pt;"
NUMBERS = "font-family: 'DejaVu Sans Mono', monospace; font-size: 10pt; color: #222;"

# The tutorial's letter for each gate, its two names, and its squashing function.
GATE_TEXT = {
    name: (
        QUANTITIES[name].letter,
        QUANTITIES[name].label if name == "candidate" else f"{QUANTITIES[name].label} gate",
        "tanh" if name == "candidate" else "σ",
    )
    for name in GATES_AND_CANDIDATE
}


def num(value: float, signed: bool = False) -> str:
    """A number as the panel shows it: four decimals and a real minus sign."""
    text = f"{value:+.4f}" if signed else f"{value:.4f}"
    return text.replace("-", "−")


def sub(base: str, index: str) -> str:
    return f"<i>{base}</i><sub>{index}</sub>"


T = "<i>t</i>"
T_PREV = "<i>t</i>−1"


def gate_html(u: UnitStep, gate: str) -> str:
    letter, name, squash = GATE_TEXT[gate]
    terms = u.gates[gate]
    symbolic = f"{sub('W', letter)}·[{sub('S', T_PREV)}, {sub('x', T)}] + {sub('B', letter)}"
    parts = [
        f"{num(terms.input_part)} <span style='color:#777'>(input)</span>",
        f"{num(terms.recurrent_part, True)} <span style='color:#777'>(recurrent)</span>",
        f"{num(terms.bias, True)} <span style='color:#777'>(bias)</span>",
    ]
    if gate == "forget" and terms.forget_bias:
        symbolic += " + forget_bias"
        parts.append(f"{num(terms.forget_bias, True)} <span style='color:#777'>(forget_bias)</span>")
    if terms.peephole:
        cell = sub("Cell", T) if gate == "output" else sub("Cell", T_PREV)
        symbolic += f" + {sub('p', letter)}·{cell}"
        parts.append(f"{num(terms.peephole, True)} <span style='color:#777'>(peephole)</span>")
    inner = " ".join(parts)
    z = terms.total
    clip = ""
    if terms.clip is not None:
        symbolic = f"clip({symbolic}, ±{terms.clip:g})"
        clip = f" → clip = {num(terms.clipped)}" if terms.clipped != z else " (inside the clip)"
    color = QUANTITY_COLORS[gate]
    return (
        f"<p style='margin:6px 0 2px 0'><b style='color:{color}'>{name}</b></p>"
        f"<p style='{MATH} margin:0'>{sub(letter, T)} = {squash}({symbolic})</p>"
        f"<p style='{NUMBERS} margin:0 0 0 18px'>= {squash}({inner})<br>"
        f"= {squash}({num(z)}){clip} = <b>{num(terms.value)}</b></p>"
    )


def equations_html(u: UnitStep, label: str) -> str:
    g = u.gates
    K, Iv, C, O = (g[name].recorded for name in ("forget", "input", "candidate", "output"))
    head = f"<p style='font-size:11pt'><b>Unit {u.unit}</b> · layer {u.layer} · <i>t</i> = {u.step}"
    head += f" ({label!r})</p>" if label else "</p>"
    blocks = [head]
    for gate in ("forget", "input", "candidate"):
        blocks.append(gate_html(u, gate))
    blocks.append(
        f"<p style='margin:6px 0 2px 0'><b style='color:{QUANTITY_COLORS['old']}'>Old memory kept</b></p>"
        f"<p style='{MATH} margin:0'>{sub('Old', T)} = {sub('K', T)} × {sub('Cell', T_PREV)}</p>"
        f"<p style='{NUMBERS} margin:0 0 0 18px'>= {num(K)} × {num(u.cell_prev)} = <b>{num(u.old)}</b></p>"
    )
    blocks.append(
        f"<p style='margin:6px 0 2px 0'><b style='color:{QUANTITY_COLORS['new']}'>New memory written</b></p>"
        f"<p style='{MATH} margin:0'>{sub('New', T)} = {sub('I', T)} × {sub('C', T)}</p>"
        f"<p style='{NUMBERS} margin:0 0 0 18px'>= {num(Iv)} × {num(C)} = <b>{num(u.new)}</b></p>"
    )
    cell_rhs = f"{sub('Old', T)} + {sub('New', T)}"
    cell_numbers = f"= {num(u.old)} {num(u.new, True)} = <b>{num(u.cell_unclipped)}</b>"
    if u.cell_clip is not None:
        cell_rhs = f"clip({cell_rhs}, ±{u.cell_clip:g})"
        if abs(u.cell - u.cell_unclipped) > 1e-7:
            cell_numbers += f" → clip = <b>{num(u.cell)}</b>"
    blocks.append(
        f"<p style='margin:6px 0 2px 0'><b style='color:{QUANTITY_COLORS['cell']}'>Memory cell</b></p>"
        f"<p style='{MATH} margin:0'>{sub('Cell', T)} = {cell_rhs}</p>"
        f"<p style='{NUMBERS} margin:0 0 0 18px'>{cell_numbers}</p>"
    )
    blocks.append(gate_html(u, "output"))
    out = (
        f"<p style='margin:6px 0 2px 0'><b style='color:{QUANTITY_COLORS['hidden']}'>Output (what is read)</b></p>"
        f"<p style='{MATH} margin:0'>{sub('Output', T)} = {sub('O', T)} × tanh({sub('Cell', T)})</p>"
        f"<p style='{NUMBERS} margin:0 0 0 18px'>= {num(O)} × tanh({num(u.cell)}) = {num(O)} × {num(u.tanh_cell)}"
        f" = <b>{num(u.hidden_unprojected)}</b></p>"
    )
    if u.projected:
        out += (
            f"<p style='{NUMBERS} margin:0 0 0 18px; color:#555'>This layer projects: its output "
            f"{sub('S', T)} = {sub('W', 'proj')}·{sub('Output', T)} mixes every unit's Output.</p>"
        )
    blocks.append(out)
    return "".join(blocks)


class EquationsPanel(OneUnitPanel):
    title = "Equations with this step's numbers"
    place = Place(tab="MemoryPanel")
    tour = (
        "The equations, with numbers",
        "The tutorial's equations for the selected unit, with "
        "this step's numbers put in: the input and recurrent parts add up to what goes into the sigmoid.",
    )
    unit_tooltip = "The unit whose equations are shown (the first selected unit by default)"

    def build(self):
        container = QWidget()
        layout = QVBoxLayout(container)
        layout.setContentsMargins(4, 2, 4, 2)
        bar = self.unit_bar()
        bar.addStretch(1)
        layout.addLayout(bar)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        layout.addWidget(self.text, 1)
        self.setWidget(container)
        self.current: UnitStep | None = None
        # Typesetting costs about 2 ms: during fast playback render at most every RENDER_MS,
        # at once on the first step and always ending on the step the session is at.
        self.show_soon = Paced("throttle", self._show, RENDER_MS, self)

    def unit_changed(self):
        self._show()

    def on_step(self, step):
        self.show_soon()

    def settle(self) -> None:
        """Render the current step now (for screenshots and tests)."""
        self.show_soon.cancel()
        self._show()

    def _show(self):
        if self.session.loaded is None:
            return
        if not self.session.layer_trace.is_lstm:
            self.current = None
            self.text.setHtml("<p>This model is a plain tanh RNN: it has no gates and no memory cell.</p>")
            return
        s = self.session
        self.current = unit_step(s.model, s.trace, layer=s.layer, unit=self.unit.value(), step=s.step, batch=s.batch)
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml(equations_html(self.current, s.label()))
        self.text.verticalScrollBar().setValue(scroll)
