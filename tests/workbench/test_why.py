"""The core's "why" figures and analyses, without Qt."""

import numpy as np
import pytest

from lstm_viz.errors import InputError, LstmVizError
from lstm_viz.workbench import Workbench
from lstm_viz.workbench.examples import load_example


def bench(slug="brackets"):
    core = Workbench()
    core.open_example(load_example(slug)).now()
    return core


def test_targets_come_from_the_task_or_the_next_token_and_are_dropped_with_the_data():
    core = bench("text")
    targets = core.targets
    x = core.trace.x[0]
    assert targets.description == "the next character"
    np.testing.assert_array_equal(targets.values[0, :-1], np.argmax(x[1:], axis=1))
    first = core.losses
    core.open_example(load_example("adding")).now()
    assert core.losses is not first and core.targets.description.startswith("the sum of the marked values")


def test_an_analysis_lands_under_its_name_with_its_parameters():
    core = bench()
    seen = []
    core.results_changed.connect(seen.append)
    work = core.analyze("unit_figures", {"reference": "loss"})
    result = work.now()
    params = {"reference": "loss", "layer": 0, "batch": 0}  # the layer and sequence it describes
    assert seen == ["unit_figures"] and core.results["unit_figures"] == (params, result)
    assert result.reference == "the loss" and result.correlation.shape == (8,)
    with pytest.raises(InputError, match="unknown analysis 'nope'"):
        core.analyze("nope")


def test_a_result_computed_from_replaced_data_is_dropped():
    core = bench()
    work = core.analyze("ablation_ranking", {})
    result = work.run(lambda *a: None, lambda: False)
    core.open_example(load_example("brackets")).now()  # the data is replaced while it ran
    work.apply(result)
    assert "ablation_ranking" not in core.results


def test_results_are_forgotten_when_the_data_changes_and_listeners_are_told():
    core = bench()
    core.analyze("unit_figures", {}).now()
    seen = []
    core.results_changed.connect(seen.append)
    core.open_example(load_example("adding")).now()
    assert core.results == {} and seen == ["unit_figures"]


def test_ablation_needs_a_target_and_says_so():
    core = bench("tutorial_cell")
    with pytest.raises(InputError, match="no target is known"):
        core.analyze("ablation_ranking", {}).now()


def test_an_analysis_of_a_run_with_clamped_gates_says_what_it_would_describe():
    """Gradients and re-runs are the model's own: under a what-if's clamps they would describe
    another run than the one shown, so they refuse, and say how to get them."""
    from lstm_viz.engine.whatif import Clamp

    core = bench()
    core.rerun([Clamp(0, "forget", 0.0, 5, (4,))], {}).now()
    for name, params in (
        ("attribution", {"target": "loss", "step": 20, "method": "gradient"}),
        ("gradient_flow", {"target": "loss", "step": 20}),
        ("ablation_ranking", {}),
    ):
        with pytest.raises(InputError, match="Restore the original"):
            core.analyze(name, params).now()
    core.analyze("unit_figures", {}).now()  # what the shown run's gates did: fine


def test_contextual_decomposition_of_a_classifiers_loss_splits_the_right_tokens_logit():
    core = bench("text")
    step = 40
    found, target = core.analyze(
        "attribution", {"target": "loss", "step": step, "method": "contextual_decomposition", "span": [0, 41]}
    ).now()
    right = int(np.argmax(core.trace.x[0, step + 1]))  # the next character
    assert target.output == right
    logits = core.trace.output[0, step].astype(np.float64) @ core.model.readout.W + core.model.readout.b
    assert found.beta_logits[step, right] + found.gamma_logits[step, right] == pytest.approx(logits[right], rel=1e-5)


def test_a_model_asked_for_in_a_failed_first_open_is_used_by_the_next_open(tmp_path):
    """lstm-viz data.csv --model m.npz, the table's missing values refused: the window stays
    empty; opening the file again (missing rows dropped) must use m.npz, not a random model."""
    from lstm_viz.workbench import OpenRequest, SequenceOptions
    from lstm_viz.workbench.resources import resource

    rows = "value,marker\n" + "\n".join(f"{0.1 * k:.1f},{1 if k in (2, 7) else 0}" for k in range(12))
    (tmp_path / "data.csv").write_text(rows.replace("0.5,0", ",0"), encoding="utf-8")
    core = Workbench()
    model = str(resource("demo", "adding_model.npz"))
    refuse = SequenceOptions()  # missing values refused, the default
    with pytest.raises(LstmVizError, match="missing or non-finite value"):
        core.open(
            OpenRequest(sequence_path=str(tmp_path / "data.csv"), model_path=model, sequence_options=refuse)
        ).now()
    assert core.loaded is None
    core.open(
        OpenRequest(sequence_path=str(tmp_path / "data.csv"), sequence_options=SequenceOptions(fill="drop"))
    ).now()
    assert core.loaded.model_path == model and core.model.metadata["task"] == "adding"
