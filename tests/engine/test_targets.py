"""Per-step losses and their gradients: against a hand calculation and finite differences."""

import numpy as np
import pytest

from lstm_viz.engine.readout import Readout
from lstm_viz.engine.targets import Targets, loss_gradient, step_losses
from lstm_viz.errors import InputError


def test_regression_loss_is_the_squared_error_summed_over_outputs_and_nan_without_target():
    readout = Readout(np.eye(2), np.array([0.5, 0.0]))
    features = np.array([[[1.0, 2.0], [0.0, 0.0]]])
    targets = Targets(np.array([[[1.0, 1.0], [0.0, 0.0]]]), np.array([[True, False]]), "two values")
    losses = step_losses(readout, features, targets)
    assert losses[0, 0] == pytest.approx(0.5**2 + 1.0**2)
    assert np.isnan(losses[0, 1])


def test_classification_loss_is_minus_log_p_in_nats():
    readout = Readout(np.eye(3), np.zeros(3), kind="classification", labels=list("abc"))
    features = np.array([[[1.0, 2.0, 3.0]]])
    targets = Targets(np.array([[0]]), np.array([[True]]), "the next character")
    p = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert step_losses(readout, features, targets)[0, 0] == pytest.approx(-np.log(p[0]))


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_loss_gradient_matches_finite_differences(kind):
    rng = np.random.default_rng(3)
    readout = Readout(rng.normal(size=(4, 3)), rng.normal(size=3), kind=kind)
    features = rng.normal(size=(2, 5, 4))
    values = rng.integers(0, 3, (2, 5)) if kind == "classification" else rng.normal(size=(2, 5, 3))
    targets = Targets(values, np.ones((2, 5), bool), "test")
    grad = loss_gradient(readout, features, targets, batch=1, step=2)
    assert np.count_nonzero(np.abs(grad).sum(-1)) == 1
    eps = 1e-6
    for k in range(4):
        up, down = features.copy(), features.copy()
        up[1, 2, k] += eps
        down[1, 2, k] -= eps
        numeric = (step_losses(readout, up, targets)[1, 2] - step_losses(readout, down, targets)[1, 2]) / (2 * eps)
        assert grad[1, 2, k] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_a_step_without_target_says_so():
    readout = Readout(np.eye(1), np.zeros(1))
    targets = Targets(np.zeros((1, 3, 1)), np.array([[False, False, True]]), "the sum at the last step")
    with pytest.raises(InputError, match=r"step 0 has no target \(the target is the sum at the last step\)"):
        loss_gradient(readout, np.zeros((1, 3, 1)), targets, 0, 0)


def test_each_task_computes_from_its_inputs_the_targets_it_trains_on():
    from lstm_viz.engine.tasks import get_task

    rng = np.random.default_rng(0)
    for name in ("adding", "brackets", "text"):
        task = get_task(name)
        batch = task.batch(rng, 4)
        values, mask = task.targets(batch.x)
        if name == "text":  # the last step's next character is not in the input
            np.testing.assert_array_equal(values[:, :-1], batch.targets[:, :-1])
            assert mask[:, :-1].all() and not mask[:, -1].any()
        else:
            np.testing.assert_array_equal(mask, batch.mask > 0)
            np.testing.assert_allclose(values[mask], batch.targets[mask], rtol=1e-6)
    sine = get_task("sine", noise=0.0)  # without noise the next input is the clean next value
    batch = sine.batch(rng, 3)
    values, mask = sine.targets(batch.x)
    np.testing.assert_allclose(values[mask], batch.targets[mask], atol=1e-6)
    assert not mask[:, :3].any() and not mask[:, -1].any()
