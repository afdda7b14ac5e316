"""The Examples menu: each example opens with its note, the tutorial's examples match
TensorFlow, and every claim a note makes holds on a fresh trace."""

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QAction

from lstm_viz.workbench.examples import ORDER, examples
from tests.ui.conftest import panel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def open_from_menu(window, slug):
    action = window.findChild(QAction, f"example-{slug}")
    assert action is not None, f"no Examples menu entry for {slug}"
    action.trigger()
    window.wait_for_job()
    assert window.session.loaded.example.slug == slug
    return window.session.loaded.example


def test_every_example_is_in_the_menu():
    assert [e.slug for e in examples()] == list(ORDER)


@pytest.mark.parametrize("slug", ["tutorial_cell", "tutorial_stack"])
def test_the_tutorial_examples_match_tensorflow(window, slug):
    example = open_from_menu(window, slug)
    ref = np.load(FIXTURES / f"tf_{slug}.npz")
    trace = window.session.trace
    assert trace.x.shape == ref["x"].shape
    np.testing.assert_array_equal(trace.x, ref["x"])
    for index, lt in enumerate(trace.layers):
        assert lt.hidden_size == 3
        np.testing.assert_allclose(lt.cell, ref[f"cell_l{index}"], atol=1e-5, rtol=0)
        np.testing.assert_allclose(lt.hidden, ref[f"hidden_l{index}"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(trace.output, ref["output"], atol=1e-5, rtol=0)
    assert len(trace.layers) == (1 if slug == "tutorial_cell" else 3)
    assert window.session.model.layers[0].forget_bias == 1.0  # TensorFlow's default, added at run time
    guide = panel(window, "GuidePanel")
    assert example.title in guide.text.toPlainText()


def claimed(window, example) -> float:
    """Recompute what the note claims, from the trace on screen."""
    claim = example.claim
    lt = window.session.trace.layers[0]
    unit = claim["unit"]
    labels = window.session.sequence.labels
    if example.slug == "adding":
        marks = window.session.trace.x[0, :, 1] > 0.5
        return float(lt.input[0, marks, unit].mean() - lt.input[0, ~marks, unit].mean())
    if example.slug == "brackets":
        against = np.cumsum([1 if ch == "(" else -1 if ch == ")" else 0 for ch in labels])
        values = lt.cell[0, :, unit]
    elif example.slug == "sine":
        t = np.arange(1, window.session.length + 1)
        against = np.sin(claim["omega"] * t + claim["phase"])[5:]
        values = lt.hidden[0, 5:, unit]
    else:  # text
        against = np.array([ch == " " for ch in labels], float)
        values = lt.input[0, :, unit]
    return float(np.corrcoef(values, against)[0, 1])


@pytest.mark.parametrize("slug", ["adding", "brackets", "sine", "text"])
def test_each_trained_example_and_its_claim(window, slug):
    example = open_from_menu(window, slug)
    claim = example.claim
    assert window.session.selected == [claim["unit"]] and window.session.step == example.step
    assert f"Unit {claim['unit']}" in example.note
    value = claimed(window, example)
    recorded = claim.get("correlation", claim.get("contrast"))
    assert value == pytest.approx(recorded, abs=1e-3)  # the figure the note states
    assert abs(value) > claim["threshold"]  # and the claim holds
    guide = panel(window, "GuidePanel")
    assert guide.visibleRegion().isEmpty() is False  # the guide comes to the front
    assert f"Unit {claim['unit']}" in guide.text.toPlainText()


def test_a_damaged_example_says_so_and_keeps_the_session(window, tmp_path, monkeypatch, capsys):
    import lstm_viz.workbench.examples as examples_module

    (tmp_path / "brackets").mkdir()
    (tmp_path / "brackets" / "example.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "sine").mkdir()
    (tmp_path / "sine" / "example.json").write_text('{"title": "no note"}', encoding="utf-8")
    monkeypatch.setattr(examples_module, "EXAMPLES", tmp_path)
    before = window.session.loaded
    window.open_example("brackets", wait=True)
    assert window.session.loaded is before
    assert "brackets/example.json" in window.last_error and "not a valid example description" in window.last_error
    window.open_example("sine", wait=True)
    assert window.session.loaded is before and "missing or wrong 'note'" in window.last_error
    assert examples_module.examples() == []  # the menu leaves damaged ones out
    assert "example.json" in capsys.readouterr().err


def test_the_adding_notes_attribution_claim_holds(window):
    """ "integrated gradients of the final prediction put 81% of their size on the two
    marked steps": recomputed through the core, as the Attribution tab computes it."""
    example = open_from_menu(window, "adding")
    claim = example.claim
    core = window.session.core
    found, _ = core.analyze("attribution", {"target": "prediction", "step": 29, "method": "integrated_gradients"}).now()
    marks = core.trace.x[0, :, 1] > 0.5
    size = np.abs(found.per_step)
    share = size[marks].sum() / size.sum()
    assert share == pytest.approx(claim["attribution_share"], abs=1e-3)
    assert share > claim["attribution_threshold"]
    assert f"put {100 * claim['attribution_share']:.0f}% of their size on the two marked steps" in example.note


def test_the_brackets_note_says_how_little_the_cell_moves_on_a(window):
    """'change little on a': the cell moves less than half as much on 'a' as at a bracket,
    and the two figures quoted are the trace's."""
    example = open_from_menu(window, "brackets")
    lt = window.session.trace.layers[0]
    unit = example.claim["unit"]
    labels = window.session.sequence.labels
    cell = lt.cell[0, :, unit]
    moved = np.abs(np.diff(np.concatenate([lt.initial_cell[0, unit : unit + 1], cell])))
    on_a = np.array([ch == "a" for ch in labels])
    assert moved[on_a].mean() < 0.5 * moved[~on_a].mean()
    assert (
        f"it moves by {moved[on_a].mean():.2f} a step there on average, against {moved[~on_a].mean():.2f} at a bracket"
        in example.note
    )
    assert "near 1" not in example.note


def test_the_adding_note_says_the_keep_gate_keeps_only_in_part(window):
    """'keeps them only in part': between the marks the keep gate stays below 0.9 on
    average (a keep gate near 1 would hold the memory); the figures quoted are the trace's."""
    example = open_from_menu(window, "adding")
    lt = window.session.trace.layers[0]
    unit = example.claim["unit"]
    marks = np.flatnonzero(window.session.trace.x[0, :, 1] > 0.5)
    between = lt.forget[0, marks[0] + 1 : marks[1], unit]
    assert between.mean() < 0.9
    assert f"it averages {between.mean():.2f} between the two marks (never below {between.min():.2f})" in example.note
    assert f"each step keeps about {round(100 * float(between.mean()))}% of the memory" in example.note
    assert "holds them until the end" not in example.note
