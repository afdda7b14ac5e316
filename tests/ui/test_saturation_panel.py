"""The saturation scatter: each dot's place counted by hand from the gate values."""

import numpy as np
from PySide6.QtCore import Qt

from tests.ui.conftest import panel


def test_each_dot_sits_at_the_shares_of_steps_its_gate_is_shut_and_open(window, qtbot):
    window.open_example("text", wait=True)
    p = panel(window, "SaturationPanel")
    p.show()
    p.raise_()
    qtbot.waitUntil(lambda: p.figures is not None, timeout=10000)
    lt = window.session.trace.layers[0]
    for gate in ("forget", "input", "output"):
        xs, ys = p.dots[gate].getData()
        values = getattr(lt, gate)[0]
        np.testing.assert_allclose(xs, np.mean(values < 0.1, axis=0))
        np.testing.assert_allclose(ys, np.mean(values > 0.9, axis=0))
    unit = int(np.argmax(np.mean(lt.output[0] > 0.9, axis=0)))
    x, y = np.mean(lt.output[0, :, unit] < 0.1), np.mean(lt.output[0, :, unit] > 0.9)
    text = p.describe(x, y)
    assert text.startswith(f"Read (output) of unit {unit}: shut") and f"open (> 0.9) at {100 * y:.1f}%" in text
    assert p.clicked(x, y, Qt.KeyboardModifier.NoModifier)
    assert window.session.selected == [unit]
    rx, ry = p.rings.getData()
    assert len(rx) == 3 and y in ry  # the unit's three gates are ringed


def test_a_floating_panel_whose_plot_fills_it_still_follows_the_data(window, qtbot):
    """Floating, the panel's own region is all covered by its opaque plot: it must not be
    taken for a panel behind a tab (which would skip its updates)."""
    p = panel(window, "SaturationPanel")
    p.setFloating(True)
    p.setGeometry(40, 40, 500, 400)
    p.show()
    qtbot.waitUntil(lambda: not p._offscreen(), timeout=5000)
    window.open_example("text", wait=True)
    qtbot.waitUntil(lambda: p.figures is not None and len(p.dots["forget"].getData()[0]) == 48, timeout=10000)
    assert window.session.layer_trace.hidden_size == 48
