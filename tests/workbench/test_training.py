"""Training in the core: loss curves, snapshots that rebuild the model exactly, pause,
stop with what was learnt kept, and the open sequence as a task."""

import threading
import time

import numpy as np
import pytest

from lstm_viz.engine.backprop import iter_parameters
from lstm_viz.engine.sequence import Sequence
from lstm_viz.engine.tasks import get_task
from lstm_viz.engine.train import readout_loss
from lstm_viz.errors import InputError
from lstm_viz.workbench.training import SEQUENCE, SequenceTask, Training, TrainSpec, watched_sequence
from lstm_viz.workbench.workbench import Workbench


def test_a_training_learns_and_keeps_snapshots_that_rebuild_the_model():
    training = Training(TrainSpec(task="adding", length=10, steps=400, snapshot_every=100, heldout_every=50))
    training.run()
    assert training.done and not training.cancelled and training.updates == 400
    assert [s.update for s in training.snapshots] == [0, 100, 200, 300, 400]
    assert [u for u, _ in training.heldout] == list(range(0, 401, 50))
    first, last = training.heldout[0][1], training.heldout[-1][1]
    assert last < 0.3 * first  # it learnt (the held-out loss: sequences it never trained on)
    # the held-out loss is the readout's loss on the held-out batch, measured again here
    batch = training.heldout_batch
    again, _, _ = readout_loss(training.model.readout, training.model.run(batch.x).output, batch)
    assert again == pytest.approx(last, rel=1e-6)
    # the last snapshot is the trained model (to float32), the first the untrained one
    rebuilt = training.model_at(len(training.snapshots) - 1)
    for a, b in zip(iter_parameters(rebuilt), iter_parameters(training.model), strict=True):
        np.testing.assert_allclose(a, b.astype(np.float32), rtol=0, atol=0)
    x = training.example()
    np.testing.assert_allclose(rebuilt.run(x).output, training.model.run(x).output, atol=1e-5)
    untrained = training.model_at(0)
    from lstm_viz.engine import LSTM

    fresh = LSTM.random(2, [12], seed=0)
    for a, b in zip(iter_parameters(untrained), iter_parameters(fresh), strict=True):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    # snapshots are light: an LSTM of 12 units on the adding problem, about 3 KB each
    assert training.snapshots[1].nbytes == 4 * (4 * 12 * (2 + 12 + 1) + 12 + 1)


def test_the_same_spec_trains_the_same_way():
    spec = TrainSpec(task="brackets", hidden=6, length=20, steps=60, seed=3)
    a, b = Training(spec).run(), Training(TrainSpec(**vars(spec))).run()
    assert a.losses == b.losses and a.heldout == b.heldout


def test_pause_holds_between_updates_and_stop_keeps_what_was_learnt():
    training = Training(TrainSpec(task="adding", length=10, steps=100_000, snapshot_every=40))
    stop = threading.Event()
    thread = threading.Thread(target=training.run, kwargs={"cancel": stop.is_set})
    thread.start()
    try:
        while training.updates < 30:
            time.sleep(0.01)
        training.pause()
        time.sleep(0.1)
        held = training.updates
        time.sleep(0.3)
        assert training.updates == held and training.paused  # nothing moves while paused
        training.resume()
        while training.updates < held + 30:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(30)
    assert training.cancelled and training.done
    assert training.updates < 100_000
    assert training.snapshots[-1].update == training.updates  # what it learnt up to the stop
    assert training.heldout[-1][0] == training.updates
    rebuilt = training.model_at(len(training.snapshots) - 1)
    for a, b in zip(iter_parameters(rebuilt), iter_parameters(training.model), strict=True):
        np.testing.assert_array_equal(a, b.astype(np.float32))
    assert training.model.metadata["training"]["cancelled"] is True


def test_the_open_sequence_is_a_task_next_step_for_numbers_next_token_for_text():
    values = np.cumsum(np.random.default_rng(0).normal(size=(1, 300, 2)), axis=1).astype(np.float32)
    task = SequenceTask(Sequence(values=values), length=25)
    assert task.kind == "regression" and task.output_size == 2
    batch = task.batch(np.random.default_rng(1), 8)
    assert batch.x.shape == (8, 25, 2) and batch.targets.shape == (8, 25, 2)
    for row in range(8):  # each piece is a stretch of the sequence; the target, the step after each
        start = int(np.flatnonzero(values[0, :, 0] == batch.x[row, 0, 0])[0])
        np.testing.assert_array_equal(batch.x[row], values[0, start : start + 25])
        np.testing.assert_array_equal(batch.targets[row], values[0, start + 1 : start + 26])

    text = "abc" * 70
    vocabulary = sorted(set(text))
    one_hot = np.zeros((1, len(text), 3), np.float32)
    one_hot[0, np.arange(len(text)), [vocabulary.index(c) for c in text]] = 1
    task = SequenceTask(Sequence(values=one_hot, labels=list(text), vocabulary=vocabulary, kind="text"), length=10)
    assert task.kind == "classification" and task.output_labels == vocabulary
    batch = task.batch(np.random.default_rng(2), 4)
    following = {"a": "b", "b": "c", "c": "a"}
    for row in range(4):
        letters = [vocabulary[k] for k in batch.x[row].argmax(axis=1)]
        assert [vocabulary[k] for k in batch.targets[row]] == [following[c] for c in letters]


def test_the_open_sequence_is_learnt_from_and_shown():
    t = np.arange(400)
    values = np.stack([np.sin(t / 5)], axis=1)[None].astype(np.float32)
    sequence = Sequence(values=values, labels=[str(i) for i in t])
    training = Training(TrainSpec(task=SEQUENCE, hidden=8, length=40, steps=300), sequence)
    training.run()
    assert training.heldout[-1][1] < 0.1 * training.heldout[0][1]  # the next value of a sine: learnt
    shown = watched_sequence(training, sequence)
    assert shown.values.shape == (1, 400, 1) and shown.labels[:3] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (np.zeros((1, 2, 1), np.float32), "too short"),
        (np.array([[[0.0], [np.nan], [1.0], [2.0]]], np.float32), "missing or infinite"),
    ],
)
def test_an_open_sequence_that_cannot_be_learnt_from_says_why(values, words):
    with pytest.raises(InputError, match=words):
        Training(TrainSpec(task=SEQUENCE), Sequence(values=values))


def test_a_file_too_short_to_learn_from_is_named(tmp_path):
    from lstm_viz.io import load_sequence

    path = tmp_path / "tiny.csv"
    path.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        Training(TrainSpec(task=SEQUENCE), load_sequence(str(path)))
    assert str(caught.value) == f"{path}: the open sequence is too short to learn from: 2 steps, it needs at least 3"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (TrainSpec(task="chess"), "unknown task"),
        (TrainSpec(kind="gru"), "LSTM or a tanh RNN"),
        (TrainSpec(hidden=0), "hidden must be at least 1"),
        (TrainSpec(lr=float("nan")), "learning rate"),
        (TrainSpec(task="sine", min_length=5), "only the adding task"),
        (TrainSpec(task=SEQUENCE), "no sequence is open"),
    ],
)
def test_a_spec_that_cannot_be_trained_says_why(spec, words):
    with pytest.raises(InputError, match=words):
        Training(spec)


def test_the_core_trains_and_shows_any_snapshot_in_place_of_the_data():
    core = Workbench()
    training, work = core.train(TrainSpec(task="adding", steps=120, snapshot_every=40))
    work.now()
    assert core.loaded.model_description == "LSTM after 120 updates"
    example = get_task("adding", 30).example(seed=7)
    np.testing.assert_array_equal(core.sequence.values[0], example.x)
    core.select_units([3])
    core.set_step(5)
    core.show_training(training, 1)
    assert core.loaded.model_description == "LSTM after 40 updates"
    assert core.selected == [3] and core.step == 5  # the view stays
    expected = training.model_at(1).run(example.x[None]).layers[0].forget
    np.testing.assert_array_equal(core.trace.layers[0].forget, expected)


def test_a_run_in_a_child_process_is_the_same_run():
    """The window trains in a child process (a thread shares Python's lock with the
    window): the losses, held-out losses, snapshots and trained model it brings back are
    those of the same run made here, to the bit; the child is gone when it is done."""
    spec = TrainSpec(task="adding", length=12, steps=120, snapshot_every=40, heldout=64)
    here, there = Training(spec).run(), Training(spec)
    seen = []
    there.run_in_child(lambda done, total: seen.append((done, total)))
    assert there.done and not there.cancelled and there.updates == 120
    assert there.losses == here.losses and there.heldout == here.heldout
    assert [s.update for s in there.snapshots] == [0, 40, 80, 120]
    for a, b in zip(there.snapshots, here.snapshots, strict=True):
        for x, y in zip(a.params, b.params, strict=True):
            np.testing.assert_array_equal(x, y)
    for x, y in zip(iter_parameters(there.model), iter_parameters(here.model), strict=True):
        np.testing.assert_array_equal(x, y)
    assert there.model.metadata["training"] == here.model.metadata["training"]
    assert seen and seen[-1] == (120, 120) and all(b == 120 for _, b in seen)
    import multiprocessing

    assert not [c for c in multiprocessing.active_children() if c.name == "lstm-viz training"]


def test_a_child_run_pauses_resumes_and_stops_keeping_what_it_learnt():
    training = Training(TrainSpec(task="adding", length=10, steps=1_000_000, snapshot_every=50))
    stop = threading.Event()
    thread = threading.Thread(target=training.run_in_child, kwargs={"cancel": stop.is_set})
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while training.updates < 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        training.pause()
        time.sleep(0.4)  # the child holds within an update or two, its last report arrives
        held = training.updates
        time.sleep(0.4)
        assert training.updates == held  # paused
        training.resume()
        deadline = time.monotonic() + 30
        while training.updates <= held + 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert training.updates > held
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive() and training.done and training.cancelled
    assert training.snapshots[-1].update == training.updates < 1_000_000  # what it learnt, kept
    # the trained model is the last snapshot
    for x, y in zip(
        training.model_at(len(training.snapshots) - 1).run(np.zeros((1, 5, 2), np.float32)).output,
        training.model.run(np.zeros((1, 5, 2), np.float32)).output,
        strict=True,
    ):
        np.testing.assert_allclose(x, y, atol=1e-6)
