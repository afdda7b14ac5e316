"""The application core without Qt: the load policy, the use cases, the signals, the state."""

import json

import numpy as np
import pytest

from lstm_viz import LSTM
from lstm_viz.engine.readout import softmax
from lstm_viz.engine.whatif import Clamp
from lstm_viz.errors import InputError
from lstm_viz.io import load_model, save_model
from lstm_viz.io.sequences import text_sequence
from lstm_viz.workbench import (
    ModelOptions,
    OpenRequest,
    RandomSpec,
    SequenceOptions,
    WidthMismatch,
    Workbench,
    load,
    trace_meta,
)
from lstm_viz.workbench.examples import load_example


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    x3 = rng.normal(size=(2, 12, 3)).astype(np.float32)
    np.save(tmp_path / "three.npy", x3)
    np.save(tmp_path / "one.npy", rng.normal(size=(9, 1)).astype(np.float32))
    model = LSTM.random(3, [5, 4], seed=2)
    save_model(model, tmp_path / "model.npz")
    return tmp_path, x3, model


def recorder(bench):
    events = []
    bench.data_changed.connect(lambda: events.append("data"))
    bench.step_changed.connect(lambda step: events.append(("step", step)))
    bench.selection_changed.connect(lambda: events.append("selection"))
    bench.view_changed.connect(lambda: events.append("view"))
    return events


def test_open_records_the_trace_and_announces_data_then_step(files):
    path, x3, model = files
    bench = Workbench()
    events = recorder(bench)
    bench.open(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz")).now()
    assert events == ["data", ("step", 0)]
    np.testing.assert_array_equal(bench.trace.layers[1].cell, model.run(x3).layers[1].cell)
    assert bench.selected == [0, 1, 2, 3, 4] and bench.length == 12
    assert bench.summary() == "2 sequences x 12 steps · layers of 5, 4 units · numeric"
    events.clear()
    bench.set_step(99)  # clamped to the last step
    bench.set_step(11)  # no change, no signal
    bench.set_layer(1)
    bench.select_units([3, 0, 3, 17])
    assert events == [("step", 11), "view", "selection", "selection"]
    assert bench.layer == 1 and bench.selected == [0, 3]
    np.testing.assert_array_equal(bench.quantity("forget"), model.run(x3).layers[1].forget[0])


def test_a_new_sequence_keeps_the_model_and_a_random_model_is_sized_to_the_sequence(files):
    path, _, model = files
    current = load(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz"))
    kept = load(OpenRequest(sequence_path=path / "three.npy"), current)
    assert kept.model is current.model and kept.model_path == str(path / "model.npz")
    with pytest.raises(WidthMismatch) as caught:
        load(OpenRequest(sequence_path=path / "one.npy"), current)
    assert "one.npy has 1 feature per step but the model (model.npz) reads 3" in str(caught.value)
    offered = load(caught.value.request, current)  # the one-click way out
    assert offered.model.input_size == 1 and offered.sequence_path == str(path / "one.npy")
    fresh = load(OpenRequest(sequence_path=path / "one.npy", random=RandomSpec([7, 2], seed=4)), current)
    expected = LSTM.random(1, [7, 2], seed=4).run(fresh.sequence.values)
    np.testing.assert_array_equal(fresh.trace.layers[1].hidden, expected.layers[1].hidden)
    assert fresh.model_description == "random model 7,2 (seed 4)"


def test_options_reach_the_loaders(files, tmp_path):
    path, x3, _ = files
    raw = np.arange(20, dtype=np.float32).reshape(10, 2) * 10
    np.save(tmp_path / "big.npy", raw)
    loaded = load(
        OpenRequest(
            sequence_path=tmp_path / "big.npy",
            random=RandomSpec([3]),
            sequence_options=SequenceOptions(normalize="zscore"),
        )
    )
    np.testing.assert_allclose(loaded.sequence.values[0], (raw - raw.mean(0)) / raw.std(0), rtol=1e-5, atol=1e-6)
    (tmp_path / "words.txt").write_text("the cat saw the dog", encoding="utf-8")
    words = load(
        OpenRequest(
            sequence_path=tmp_path / "words.txt",
            random=RandomSpec([3]),
            sequence_options=SequenceOptions(text_mode="words"),
        )
    )
    assert words.sequence.labels == ["the", "cat", "saw", "the", "dog"] and words.sequence.width == 4
    with pytest.raises(InputError, match="fill must be one of"):
        SequenceOptions(fill="guess")
    with pytest.raises(InputError, match="unknown options: colour"):
        ModelOptions.from_dict({"colour": "red"})


def test_the_model_s_vocabulary_is_used_unless_the_model_is_random(tmp_path):
    model = LSTM.random(3, [4], seed=0)
    model.metadata["vocabulary"] = ["a", "b", "c"]
    save_model(model, tmp_path / "text_model.npz")
    (tmp_path / "t.txt").write_text("cabd", encoding="utf-8")
    loaded = load(OpenRequest(sequence_path=tmp_path / "t.txt", model_path=tmp_path / "text_model.npz"))
    expected = np.zeros((4, 3), np.float32)
    expected[[0, 1, 2], [2, 0, 1]] = 1.0  # 'd' is outside the model's vocabulary: all zero
    np.testing.assert_array_equal(loaded.sequence.values[0], expected)
    random = load(OpenRequest(sequence_path=tmp_path / "t.txt", random=RandomSpec([2])), loaded)
    assert random.sequence.feature_names == ["a", "b", "c", "d"] and random.model.input_size == 4


def test_typed_text_runs_the_loaded_model():
    example = load_example("text")
    bench = Workbench()
    bench.open_example(example).now()
    model = bench.model
    bench.typed(text="the queen said").now()
    vocabulary = model.metadata["vocabulary"]
    expected = model.run(text_sequence("the queen said", vocabulary=vocabulary).values)
    np.testing.assert_array_equal(bench.trace.layers[0].hidden, expected.layers[0].hidden)
    assert bench.step == len("the queen said") - 1 and bench.sequence.names == ["typed"]
    with pytest.raises(InputError):
        bench.typed(values=np.zeros((4, 2))).now()  # two features for a model that reads many


def test_what_if_edits_match_a_full_run_and_clamps_match_the_hand_rule(files):
    path, x3, model = files
    bench = Workbench()
    bench.open(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz")).now()
    bench.set_batch(1)
    row = np.array([0.5, -1.0, 2.0], np.float32)
    bench.rerun([], {6: (row, "edited")}).now()
    edited = x3.copy()
    edited[1, 6] = row
    np.testing.assert_allclose(bench.trace.layers[1].cell, model.run(edited).layers[1].cell, atol=1e-6)
    assert bench.original_trace is bench.loaded.trace and bench.label(6) == "edited"
    # keep = 1, write = 0 from t = 4: the cell of unit 2 stays what it was at t = 3
    bench.rerun([Clamp(layer=0, gate="forget", value=1.0, start=4, units=(2,)),
                 Clamp(layer=0, gate="input", value=0.0, start=4, units=(2,))], {}).now()  # fmt: skip
    cell = bench.trace.layers[0].cell[1, :, 2]
    np.testing.assert_allclose(cell[4:], cell[3], rtol=0, atol=1e-6)
    events = recorder(bench)
    bench.rerun([], {}).now()  # nothing changed: the original again
    assert bench.what_if is None and events == ["data", ("step", bench.step)]


def test_predictions_are_the_readout_of_the_recorded_output():
    bench = Workbench()
    bench.open_example(load_example("text")).now()
    step = 17
    prediction = bench.prediction(step)
    readout = bench.model.readout
    h = bench.trace.output[0, step].astype(np.float64)
    expected = softmax(h @ readout.W + readout.b)
    np.testing.assert_allclose(prediction.values, expected, rtol=1e-4, atol=1e-6)
    best = int(np.argmax(expected))
    assert prediction.top[0] == (readout.labels[best], pytest.approx(expected[best], rel=1e-4))
    assert len(prediction.top) == 5 and all(a[1] >= b[1] for a, b in zip(prediction.top, prediction.top[1:]))


def test_the_state_is_plain_data_that_brings_the_same_view_back(files):
    path, x3, model = files
    bench = Workbench()
    bench.open(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz")).now()
    bench.set_layer(1)
    bench.select_units([1, 3])
    bench.set_step(7)
    # the edit is for sequence 0 of the batch; the view then moves to sequence 1
    bench.rerun([Clamp(layer=1, gate="output", value=0.0, start=5, units=None)], {2: (x3[0, 2] * 0, "zero")}).now()
    bench.set_batch(1)
    text = json.dumps(bench.state())  # plain data
    again = Workbench()
    again.restore(json.loads(text)).now()
    assert (again.batch, again.layer, again.selected, again.step) == (1, 1, [1, 3], 7)
    np.testing.assert_array_equal(again.trace.x[0, 2], 0.0)  # the edit stays on sequence 0
    np.testing.assert_array_equal(again.trace.x[1, 2], x3[1, 2].astype(np.float32))
    np.testing.assert_array_equal(again.trace.layers[1].hidden, bench.trace.layers[1].hidden)
    np.testing.assert_array_equal(again.original_trace.layers[1].hidden, bench.original_trace.layers[1].hidden)
    assert np.all(again.trace.layers[1].output[1, 5:] == 0)


def test_a_typed_sequence_is_recorded_by_its_values(files):
    path, _, _ = files
    bench = Workbench()
    bench.open(OpenRequest(sequence_path=path / "three.npy", random=RandomSpec([4], seed=9))).now()
    values = np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)
    bench.typed(values=values).now()
    again = Workbench()
    again.restore(json.loads(json.dumps(bench.state()))).now()
    np.testing.assert_array_equal(again.trace.x[0], values)
    np.testing.assert_array_equal(again.trace.layers[0].cell, bench.trace.layers[0].cell)


def test_trace_meta_names_every_sequence_and_how_it_was_read(files):
    path, _, _ = files
    loaded = load(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz"))
    meta = json.loads(json.dumps(trace_meta(loaded)))
    assert meta["names"] == ["sequence 0", "sequence 1"] and len(meta["batch_labels"]) == 2
    assert meta["request"]["model_path"] == str(path / "model.npz")
    assert meta["request"]["sequence_options"]["normalize"] is None


def test_a_model_file_reloads_with_its_options(tmp_path):
    """Model options recorded in the request are what reload uses (TF1 forget_bias here)."""
    from tests.conftest import FIXTURES

    folder = FIXTURES / "tf_checkpoints"
    index = sorted(folder.rglob("*.index"))[0]
    sequence = tmp_path / "x.npy"
    model = load_model(index, forget_bias=0.0)
    np.save(sequence, np.ones((4, model.input_size), np.float32))
    first = load(OpenRequest(sequence_path=sequence, model_path=index, model_options=ModelOptions(forget_bias=0.0)))
    again = load(first.request)
    np.testing.assert_array_equal(again.trace.layers[0].forget, first.trace.layers[0].forget)
    default = load(OpenRequest(sequence_path=sequence, model_path=index))
    assert not np.allclose(default.trace.layers[0].forget, first.trace.layers[0].forget)


def test_raw_values_that_saturate_the_gates_are_pointed_out(tmp_path):
    from lstm_viz.workbench.loading import SATURATED, saturated_share

    hours = np.arange(500)
    kelvin = (283 + 8 * np.sin(2 * np.pi * hours / 24)).astype(np.float32)[:, None]  # hourly temperatures
    np.save(tmp_path / "kelvin.npy", kelvin)
    raw = load(OpenRequest(sequence_path=tmp_path / "kelvin.npy", random=RandomSpec([16])))
    gates = np.concatenate([getattr(raw.trace.layers[0], g).ravel() for g in ("forget", "input", "output")])
    measured = np.mean((gates < SATURATED) | (gates > 1 - SATURATED))
    assert saturated_share(raw.trace) == pytest.approx(measured) and measured > 0.5
    [note] = raw.notes
    assert note.startswith(f"{measured:.0%} of the gate values are within 0.01 of 0 or 1")
    assert "Normalise the sequence (z-score)" in note
    scaled = load(
        OpenRequest(
            sequence_path=tmp_path / "kelvin.npy",
            random=RandomSpec([16]),
            sequence_options=SequenceOptions(normalize="zscore"),
        )
    )
    assert scaled.notes == [] and saturated_share(scaled.trace) < 0.1


def test_a_random_model_is_resized_to_a_sequence_of_another_width(files):
    path, _, _ = files
    first = load(OpenRequest(sequence_path=path / "three.npy", random=RandomSpec([4, 2], seed=7)))
    resized = load(OpenRequest(sequence_path=path / "one.npy"), first)  # no model asked: the random one follows
    assert resized.model.input_size == 1 and resized.model.hidden_sizes == [4, 2]
    expected = LSTM.random(1, [4, 2], seed=7).run(resized.sequence.values)
    np.testing.assert_array_equal(resized.trace.layers[1].hidden, expected.layers[1].hidden)
    assert resized.model_description == "random model 4,2 (seed 7)"
    from_file = load(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz"))
    with pytest.raises(WidthMismatch):  # a model from a file is never replaced behind the user's back
        load(OpenRequest(sequence_path=path / "one.npy"), from_file)


def test_an_empty_model_file_is_said_to_be_empty(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(Exception, match="model.pt: is empty"):
        load_model(tmp_path / "model.pt")


def test_a_what_if_computed_from_data_replaced_since_is_not_shown(files):
    path, x3, _ = files
    bench = Workbench()
    bench.open(OpenRequest(sequence_path=path / "three.npy", model_path=path / "model.npz")).now()
    late = bench.rerun([Clamp(layer=0, gate="forget", value=0.0, start=3, units=None)], {})
    result = late.run(lambda *_: None, lambda: False)  # computed ...
    bench.typed(values=np.zeros((4, 3))).now()  # ... while other data arrived
    events = recorder(bench)
    late.apply(result)
    assert bench.what_if is None and bench.trace.length == 4 and events == []


def test_a_kept_sequence_keeps_how_it_was_read_and_takes_a_new_model_s_vocabulary(tmp_path):
    (tmp_path / "gaps.csv").write_text("t,a,b\n0,1,2\n1,,4\n2,5,\n3,7,8\n", encoding="utf-8")
    options = SequenceOptions(fill="previous", normalize="zscore")
    first = load(OpenRequest(sequence_path=tmp_path / "gaps.csv", random=RandomSpec([3]), sequence_options=options))
    model = LSTM.random(2, [4], seed=1)
    save_model(model, tmp_path / "two.npz")
    with_model = load(OpenRequest(model_path=tmp_path / "two.npz"), first)  # only a model: the sequence stays
    assert with_model.request.sequence_options == options
    np.testing.assert_array_equal(with_model.sequence.values, first.sequence.values)
    again = load(with_model.request)  # reload reads the file the same way (gaps filled, z-scored)
    np.testing.assert_array_equal(again.sequence.values, first.sequence.values)
    save_model(LSTM.random(3, [2]), tmp_path / "three.npz")
    with pytest.raises(WidthMismatch) as caught:
        load(OpenRequest(model_path=tmp_path / "three.npz"), with_model)
    assert caught.value.request.sequence_options == options  # the offer reads it the same way too
    # text: a model with a vocabulary reads the kept text file again with that vocabulary
    (tmp_path / "mine.txt").write_text("abcab", encoding="utf-8")
    text = load(OpenRequest(sequence_path=tmp_path / "mine.txt", random=RandomSpec([3])))
    assert text.sequence.width == 3
    vocab_model = LSTM.random(4, [2], seed=0)
    vocab_model.metadata["vocabulary"] = ["x", "a", "b", "c"]
    save_model(vocab_model, tmp_path / "vocab.npz")
    reread = load(OpenRequest(model_path=tmp_path / "vocab.npz"), text)
    assert reread.sequence.width == 4 and reread.sequence.vocabulary == ["x", "a", "b", "c"]
    np.testing.assert_array_equal(reread.sequence.values[0].argmax(axis=1), [1, 2, 3, 1, 2])


def test_the_import_step_s_choices_fill_what_the_options_leave_open():
    table = {"roles": {"symbol": "id"}, "fill": "mean", "normalize": "zscore"}
    chosen = SequenceOptions().with_table(table)
    assert (chosen.table["roles"], chosen.fill, chosen.normalize) == ({"symbol": "id"}, "mean", "zscore")
    given = SequenceOptions(fill="previous", normalize="minmax").with_table(table)
    assert (given.fill, given.normalize) == ("previous", "minmax")  # the command line's own choices win
    assert SequenceOptions().with_table({"roles": {}, "normalize": "none"}).normalize is None  # the model's


def test_the_saturated_share_of_a_long_trace_is_measured_on_evenly_spaced_steps(monkeypatch):
    from lstm_viz.workbench import loading

    model = LSTM.random(3, [16], seed=3)
    x = (np.random.default_rng(4).normal(size=(1, 40_000, 3)) * 6).astype(np.float32)
    trace = model.run(x)
    g = (trace.layers[0].forget, trace.layers[0].input, trace.layers[0].output)
    whole = float(np.mean([np.mean((a < loading.SATURATED) | (a > 1 - loading.SATURATED)) for a in g]))
    monkeypatch.setattr(loading, "SATURATION_SAMPLE", 100_000)  # every 6th step of 640,000 values
    assert loading.saturated_share(trace) == pytest.approx(whole, abs=0.005)


def test_the_default_selection_is_the_units_whose_cell_spreads_most():
    from lstm_viz.engine.sequence import Sequence
    from lstm_viz.workbench.loading import Loaded, OpenRequest

    model = LSTM.random(3, [20], seed=5)
    x = np.random.default_rng(6).normal(size=(1, 5000, 3)).astype(np.float32)
    trace = model.run(x)
    core = Workbench()
    core.show(Loaded(model, Sequence(values=x), trace, "random", request=OpenRequest()))
    spread = np.ptp(trace.layers[0].cell[0].astype(np.float64), axis=0)  # by hand, over every step
    assert core.selected == sorted(int(u) for u in np.argsort(spread)[::-1][: Workbench.MAX_DEFAULT_SELECTION])
