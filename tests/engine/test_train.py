"""Training: Adam, clipping, losses, the built-in tasks, progress and cancel."""

import numpy as np
import pytest

from lstm_viz import LSTM, InputError
from lstm_viz.engine.readout import Readout
from lstm_viz.engine.tasks import TASKS, get_task
from lstm_viz.engine.train import Adam, clip_by_global_norm, cross_entropy_loss, mse_loss, readout_loss, train


def test_adam_first_step_by_hand():
    p = np.array([1.0, -2.0])
    opt = Adam([p], lr=0.1)
    opt.step([np.array([0.5, -4.0])])
    # After one step m_hat = g and v_hat = g^2, so the update is lr * sign(g) (up to eps).
    np.testing.assert_allclose(p, [0.9, -1.9], atol=1e-7)
    before = p[0]
    opt.step([np.array([0.5, 0.0])])
    m = 0.9 * 0.05 + 0.1 * 0.5
    v = 0.999 * 0.00025 + 0.001 * 0.25
    expected = before - 0.1 * (m / (1 - 0.81)) / (np.sqrt(v / (1 - 0.999**2)) + 1e-8)
    assert p[0] == pytest.approx(expected, abs=1e-12)


def test_clip_by_global_norm():
    grads = [np.array([3.0]), np.array([4.0])]
    assert clip_by_global_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose([grads[0][0], grads[1][0]], [0.6, 0.8], atol=1e-9)
    small = [np.array([0.3])]
    clip_by_global_norm(small, 1.0)
    assert small[0][0] == 0.3


def test_losses_match_finite_differences():
    rng = np.random.default_rng(0)
    mask = (rng.uniform(size=(2, 5)) > 0.3).astype(float)
    for kind in ("mse", "ce"):
        logits = rng.normal(size=(2, 5, 4))
        target = rng.normal(size=(2, 5, 4)) if kind == "mse" else rng.integers(0, 4, (2, 5))
        f = (lambda z: mse_loss(z, target, mask)) if kind == "mse" else (lambda z: cross_entropy_loss(z, target, mask))
        _, grad = f(logits)
        numeric = np.zeros_like(logits)
        for index in np.ndindex(logits.shape):
            up, down = logits.copy(), logits.copy()
            up[index] += 1e-6
            down[index] -= 1e-6
            numeric[index] = (f(up)[0] - f(down)[0]) / 2e-6
        np.testing.assert_allclose(grad, numeric, atol=1e-7)


def test_readout_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    readout = Readout(rng.normal(size=(3, 2)), rng.normal(size=2))
    features = rng.normal(size=(2, 4, 3))
    task = get_task("adding", 4)
    batch = task.batch(rng, 2)
    batch.targets = rng.normal(size=(2, 4, 2))
    batch.mask = np.ones((2, 4))
    _, d_features, grads = readout_loss(readout, features, batch)
    for name, array in (("W", readout.W), ("b", readout.b)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            old = array[index]
            array[index] = old + 1e-6
            up = readout_loss(readout, features, batch)[0]
            array[index] = old - 1e-6
            down = readout_loss(readout, features, batch)[0]
            array[index] = old
            numeric[index] = (up - down) / 2e-6
        np.testing.assert_allclose(grads[name], numeric, atol=1e-7)
    numeric = np.zeros_like(features)
    for index in np.ndindex(features.shape):
        up, down = features.copy(), features.copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        numeric[index] = (readout_loss(readout, up, batch)[0] - readout_loss(readout, down, batch)[0]) / 2e-6
    np.testing.assert_allclose(d_features, numeric, atol=1e-7)


def test_adding_problem_is_learnt_and_uses_the_gates():
    task = get_task("adding")
    model = LSTM.random(task.input_size, [16], seed=0)
    batch = task.batch(np.random.default_rng(123), 64)
    marked = batch.x[:, :, 1] > 0

    def write_contrast():  # how much more some unit writes at the markers than elsewhere
        write = model.run(batch.x).layers[0].input
        return (write[marked].mean(axis=0) - write[~marked].mean(axis=0)).max()

    contrast_before = write_contrast()  # the baseline, measured untrained
    # the baseline for the error: always answering the mean sum, 1.0, on the same batch
    error_of_the_mean = np.abs(1.0 - batch.targets[:, -1, 0]).mean()
    result = train(model, task, steps=600, seed=0)
    # Predicting the mean sum (1.0) scores the variance of a sum of two U(0, 1): 1/6.
    assert result.final_loss < 0.02 < 1 / 6
    error = np.abs(model.predict(model.run(batch.x))[:, -1, 0] - batch.targets[:, -1, 0]).mean()
    contrast = write_contrast()
    assert error < 0.1 and error < 0.3 * error_of_the_mean
    # The write gate of some unit opens at the markers far more than elsewhere.
    assert contrast > 0.3 and contrast > contrast_before + 0.25
    assert model.metadata["task"] == "adding" and model.metadata["training"]["steps"] == 600


@pytest.mark.parametrize("name", ["brackets", "sine", "text"])
def test_other_tasks_learn(name):
    task = get_task(name)
    model = LSTM.random(task.input_size, [32 if name == "text" else 12], seed=1)
    result = train(model, task, steps=250, seed=1)
    assert result.final_loss < 0.5 * np.mean(result.losses[:10])


def test_bracket_depth_is_counted_by_a_cell():
    task = get_task("brackets")
    model = LSTM.random(task.input_size, [8], seed=2)
    batch = task.batch(np.random.default_rng(5), 32)
    depth = batch.targets.reshape(-1)

    def best_correlation():
        cells = model.run(batch.x).layers[0].cell.reshape(-1, 8)
        return max(abs(np.corrcoef(cells[:, k], depth)[0, 1]) for k in range(8))

    before = best_correlation()  # the baseline: an untrained cell's best match
    train(model, task, steps=400, seed=2)
    after = best_correlation()
    assert after > 0.9 and after > before + 0.1


def test_training_is_reproducible_and_reports_progress():
    task = get_task("sine", 20)
    seen = []
    a = LSTM.random(1, [6], seed=3)
    b = LSTM.random(1, [6], seed=3)
    ra = train(a, task, steps=15, seed=9, callback=seen.append)
    rb = train(b, task, steps=15, seed=9)
    assert ra.losses == rb.losses
    np.testing.assert_array_equal(a.directions(0)[0].W_h, b.directions(0)[0].W_h)
    assert [p.step for p in seen] == list(range(1, 16)) and seen[-1].steps == 15
    assert all(np.isfinite(p.loss) and p.grad_norm > 0 for p in seen)


def test_training_can_be_cancelled():
    task = get_task("adding", 10)
    model = LSTM.random(2, [4], seed=0)
    calls = []
    result = train(model, task, steps=1000, callback=calls.append, cancel=lambda: len(calls) >= 5)
    assert result.cancelled and result.steps_done == 5 and len(result.losses) == 5
    assert model.metadata["training"]["cancelled"] is True


def test_task_examples_and_errors():
    for name in TASKS:
        task = get_task(name)
        example = task.example(seed=0)
        assert example.x.shape == (task.length, task.input_size)
        assert len(example.labels) == task.length
    text = get_task("text")
    assert "".join(text.labels(text.encode("Alice was"))) == "Alice was"
    adding = get_task("adding").example(0)
    assert sum(label.endswith("*") for label in adding.labels) == 2
    with pytest.raises(InputError, match="unknown task 'nope'"):
        get_task("nope")


def test_the_adding_task_can_draw_a_length_for_each_batch():
    """With ``min_length`` every batch has one length from min_length to length (both
    reached), two marks a sequence (one in each half), and the sum of the marked values as
    the target at its last step; without it, the length is always ``length``."""
    from lstm_viz.engine.tasks import get_task
    from lstm_viz.errors import InputError

    task = get_task("adding", 12, min_length=5)
    rng = np.random.default_rng(0)
    lengths = set()
    for _ in range(200):
        batch = task.batch(rng, 4)
        B, T, _ = batch.x.shape
        lengths.add(T)
        marks = batch.x[:, :, 1]
        assert (marks.sum(axis=1) == 2).all()
        first = marks.argmax(axis=1)
        assert (first < T // 2).all()
        expected = (batch.x[:, :, 0] * marks).sum(axis=1)
        np.testing.assert_allclose(batch.targets[:, -1, 0], expected, rtol=1e-6)
        assert batch.mask[:, -1].all() and batch.mask[:, :-1].sum() == 0
    assert lengths == set(range(5, 13))
    assert {get_task("adding", 12).batch(rng, 2).x.shape[1] for _ in range(20)} == {12}
    for bad in (1, 13):
        with pytest.raises(InputError, match="shortest adding sequence"):
            get_task("adding", 12, min_length=bad)
