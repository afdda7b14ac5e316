"""The Examples menu: each example opens with its note, the tutorial's examples match
TensorFlow, and every claim a note makes holds on a fresh trace."""

import re
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


def test_the_brackets_cell_falls_at_every_open_and_rises_at_every_close_bracket(window):
    """'watch its memory cell fall at every '(' and rise at every ')'': every one, not most."""
    example = open_from_menu(window, "brackets")
    lt = window.session.trace.layers[0]
    unit = example.claim["unit"]
    labels = np.array(list(window.session.sequence.labels))
    change = np.diff(np.concatenate([lt.initial_cell[0, unit : unit + 1], lt.cell[0, :, unit]]))
    assert "fall at every '(' and rise at every ')'" in example.note
    assert (labels == "(").sum() > 10 and (change[labels == "("] < 0).all()
    assert (labels == ")").sum() > 10 and (change[labels == ")"] > 0).all()


def test_the_sine_note_s_memory_cell_swings_with_the_wave(window):
    """'its memory cell swings with the same period': its best correlation with a sine of the
    wave's period (phases searched in steps of 0.01) is at least 0.9; the range quoted is the
    cell's."""
    example = open_from_menu(window, "sine")
    claim = example.claim
    cell = window.session.trace.layers[0].cell[0, 5:, claim["unit"]].astype(np.float64)
    t = np.arange(5, 5 + len(cell))
    best = max(abs(np.corrcoef(cell, np.sin(claim["omega"] * t + k / 100))[0, 1]) for k in range(629))
    assert best == pytest.approx(claim["cell_swing"], abs=1e-3) and best >= claim["cell_swing_threshold"]
    assert f"between {cell.min():+.2f} and {cell.max():+.2f} (|r| = {best:.2f} with a sine" in example.note
    # a cell that does not swing with the wave fails the same measure: a sine of another period
    assert max(abs(np.corrcoef(cell, np.sin(0.9 * t + k / 100))[0, 1]) for k in range(629)) < 0.5


def test_the_text_note_says_how_shut_the_write_gate_is_at_a_space(window):
    """'mostly shut at a space and open inside words': the two averages quoted are the trace's,
    at least 0.3 apart; the note does not say 'every space' (at 21 of 56 spaces it is above 0.5)."""
    example = open_from_menu(window, "text")
    unit = example.claim["unit"]
    write = window.session.trace.layers[0].input[0, :, unit].astype(np.float64)
    labels = np.array(list(window.session.sequence.labels))
    space, letter = labels == " ", np.array([ch.isalpha() for ch in labels])
    at_space, on_letter = write[space].mean(), write[letter].mean()
    assert f"{at_space:.2f} on average at a space against {on_letter:.2f} on a letter" in example.note
    assert on_letter - at_space > 0.3
    assert (write[space] > 0.5).sum() >= 10 and "every space" not in example.note


@pytest.mark.parametrize("slug", ["brackets", "sine", "text"])
def test_the_loss_a_note_quotes_is_the_model_s_own(window, slug):
    example = open_from_menu(window, slug)
    quoted_loss = float(re.search(r"trained \(loss ([0-9.]+)", example.note).group(1))
    digits = len(re.search(r"trained \(loss [0-9]+\.([0-9]+)", example.note).group(1))
    assert quoted_loss == round(window.session.model.metadata["training"]["final_loss"], digits)


# -- walks: every number a note quotes is measured again here -------------------------------
def steps_of(spec, length: int) -> list[int]:
    if isinstance(spec, str):  # "a:b", b excluded
        a, b = (int(v) for v in spec.split(":"))
        return list(range(a, b))
    return [int(t) for t in spec]


def measured(window, claim: dict) -> float:
    """What a claim of a note measures, recomputed from the trace on screen (plain NumPy,
    not the code that wrote the note)."""
    trace = window.session.trace
    kind = claim.get("kind", "quantity")
    if kind == "quantity":
        values = getattr(trace.layers[0], claim["quantity"])[0, :, claim["unit"]]
        picked = values[steps_of(claim["steps"], len(values))].astype(np.float64)
        return float({"value": lambda v: v[0], "mean": np.mean, "min": np.min, "max": np.max}[claim["stat"]](picked))
    model = window.session.model
    x = trace.x[0]
    if kind == "prediction":
        h = trace.layers[-1].hidden[0, claim["step"]].astype(np.float64)
        return float(h @ model.readout.W[:, 0] + model.readout.b[0])
    if kind == "target":
        return float(x[x[:, 1] > 0.5, 0].sum())
    if kind == "fresh_error":  # the adding problem: marks one in each half, the sum at the end
        rng = np.random.default_rng(claim["seed"])
        from lstm_viz.engine.tasks import get_task

        batch = get_task("adding", claim["length"]).batch(rng, claim["sequences"])
        sums = (batch.x[:, :, 0] * batch.x[:, :, 1]).sum(axis=1)
        answers = model.readout.logits(model.run(batch.x).output)[:, -1, 0]
        # always answering the mean sum (1) errs by the variance of two uniform values: 2 / 12
        return float(np.mean((answers - sums) ** 2) / (2 / 12))
    if kind == "attribution_share":
        found, _ = window.session.core.analyze(
            "attribution", {"target": "prediction", "step": claim["step"], "method": "integrated_gradients"}
        ).now()
        size = np.abs(found.per_step)
        return float(size[x[:, 1] > 0.5].sum() / size.sum())
    raise AssertionError(f"a claim of unknown kind {kind!r}")


def quoted(claim: dict) -> str:
    value = claim["value"] * (100 if claim.get("percent") else 1)
    return f"{value:.{claim['digits']}f}" + ("%" if claim.get("percent") else "")


WALKS = [e.slug for e in examples() if len(e.walk) > 1]


def test_the_adding_demo_has_a_walk():
    assert "adding" in WALKS


@pytest.mark.parametrize("slug", WALKS)
def test_every_note_of_a_walk_moves_the_cursor_and_every_figure_it_quotes_holds(window, slug):
    """Page through the walk: each note moves the cursor and the selection where it says and
    shows its text in the guide; every number it quotes is the trace's (to its last digit),
    and every behaviour it states ("stays near 1") holds with its stated threshold."""
    example = open_from_menu(window, slug)
    guide = panel(window, "GuidePanel")
    core = window.session.core
    assert core.note == 0
    for index, note in enumerate(example.walk):
        if index:
            window.next_note.trigger()
        assert core.note == index
        assert window.session.step == note.step and window.session.selected == note.select
        shown = " ".join(guide.text.toPlainText().split())
        assert " ".join(re.sub(r"<[^>]+>", "", note.text).split()) in shown  # the whole note, as text
        assert guide.where.text() == f"note {index + 1} of {len(example.walk)}"
        assert note.claims or index == 0
        for claim in note.claims:
            value = measured(window, claim)
            tolerance = 0.02 if claim.get("kind") == "fresh_error" else 1e-4
            assert value == pytest.approx(claim["value"], rel=tolerance, abs=1e-6), (index, claim)
            if claim.get("shown", True):
                assert quoted(claim) in note.text, (index, claim)
            if "at_least" in claim:
                assert value >= claim["at_least"], (index, claim)
            if "at_most" in claim:
                assert value <= claim["at_most"], (index, claim)
    assert not guide.next.isEnabled()
    window.next_note.trigger()  # past the last note: stays
    assert core.note == len(example.walk) - 1
    window.previous_note.trigger()
    assert core.note == len(example.walk) - 2 and window.session.step == example.walk[-2].step


def test_the_adding_demo_holds_its_two_values(window):
    """Trained on 20 to 60 steps, the demo adds on sequences four times the shortest (the
    error well below predicting the mean) and its keep gate is near 1 between the marks."""
    example = open_from_menu(window, "adding")
    (error,) = [c for note in example.walk for c in note.claims if c.get("kind") == "fresh_error"]
    assert error["length"] >= 4 * 20 and measured(window, error) < 0.05
    lt = window.session.trace.layers[0]
    marks = np.flatnonzero(window.session.trace.x[0, :, 1] > 0.5)
    unit = example.claim["unit"]
    assert lt.forget[0, marks[0] + 1 : marks[1], unit].mean() > 0.99
