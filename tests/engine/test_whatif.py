"""What-if re-runs: clamped gates and edited inputs, checked against full engine runs and
against the equations done by hand."""

import numpy as np
import pytest

from lstm_viz import LSTM, RNN, InputError, LSTMLayer
from lstm_viz.engine.whatif import Clamp, rerun

QUANTITIES = ("forget", "input", "candidate", "output", "cell", "hidden")


def rich_model():
    """Two layers with every option the equations have: peepholes, clips, projection, forget_bias."""
    return LSTM.random(
        3, [6, 5], seed=3, peepholes=True, proj_sizes=[4, None], cell_clip=0.9, gate_clip=2.5, forget_bias=0.7
    )


def test_an_unclamped_rerun_from_a_step_is_the_full_run():
    model = rich_model()
    x = np.random.default_rng(0).normal(size=(2, 40, 3))
    trace = model.run(x)
    again = rerun(model, trace, start=17)
    for a, b in zip(trace.layers, again.layers):
        for name in QUANTITIES:
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=2e-6, rtol=0)


def test_the_clamp_loop_follows_the_engine_when_nothing_is_clamped():
    """An empty unit list runs the step-by-step loop without changing anything: it must
    reproduce the engine's kernel with every option engaged."""
    model = rich_model()
    x = np.random.default_rng(1).normal(size=(2, 30, 3)) * 2
    trace = model.run(x, dtype=np.float64)
    assert np.abs(trace.layers[0].cell).max() == pytest.approx(0.9)  # cell_clip engaged
    again = rerun(model, trace, start=9, clamps=[Clamp(layer=0, gate="forget", value=0.0, start=9, units=())])
    for a, b in zip(trace.layers, again.layers):
        for name in QUANTITIES:
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=1e-12, rtol=0)


def test_keep_zero_write_one_forgets_and_overwrites():
    """The tutorial's thought experiment: from step s the cell is exactly the candidate."""
    model = LSTM.random(2, [4], seed=0)
    x = np.random.default_rng(2).normal(size=(1, 25, 2))
    trace = model.run(x, dtype=np.float64)
    s = 10
    clamps = [Clamp(0, "forget", 0.0, s, (2,)), Clamp(0, "input", 1.0, s, (2,))]
    changed = rerun(model, trace, start=s, clamps=clamps).layers[0]
    original = trace.layers[0]
    for name in QUANTITIES:  # the past is untouched
        np.testing.assert_array_equal(getattr(changed, name)[:, :s], getattr(original, name)[:, :s])
    np.testing.assert_array_equal(changed.forget[0, s:, 2], 0.0)
    np.testing.assert_array_equal(changed.input[0, s:, 2], 1.0)
    np.testing.assert_allclose(changed.cell[0, s:, 2], changed.candidate[0, s:, 2], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(changed.old[0, s:, 2], 0.0)
    assert np.abs(changed.cell[0, s:, 2] - original.cell[0, s:, 2]).max() > 0.05
    # the other units change only through the recurrent weights, from step s + 1
    np.testing.assert_array_equal(changed.cell[0, s, [0, 1, 3]], original.cell[0, s, [0, 1, 3]])


def test_a_held_keep_gate_freezes_the_cell_by_hand():
    """keep = 1, write = 0: c_t = c_{s-1} for every t >= s; h_t = o_t * tanh(c_{s-1})."""
    model = LSTM.random(2, [3], seed=1)
    x = np.random.default_rng(3).normal(size=(1, 20, 2))
    trace = model.run(x, dtype=np.float64)
    s = 6
    held = rerun(
        model, trace, start=s, clamps=[Clamp(0, "forget", 1.0, s, None), Clamp(0, "input", 0.0, s, None)]
    ).layers[0]
    frozen = trace.layers[0].cell[0, s - 1]
    np.testing.assert_array_equal(held.cell[0, s:], np.broadcast_to(frozen, (20 - s, 3)))
    np.testing.assert_allclose(held.hidden[0, s:], held.output[0, s:] * np.tanh(frozen), rtol=1e-15)
    # o_t by hand at the first held step, from the original h_{s-1} and x_s
    layer = model.layers[0]
    z = x[0, s] @ layer.W_x + trace.layers[0].hidden[0, s - 1] @ layer.W_h + layer.b
    o = 1 / (1 + np.exp(-z[9:12]))
    np.testing.assert_allclose(held.output[0, s], o, rtol=1e-12)


def test_an_edited_input_reruns_like_a_full_run_on_the_edited_sequence():
    model = LSTM.random(3, [5, 4], seed=2)
    x = np.random.default_rng(4).normal(size=(1, 30, 3)).astype(np.float32)
    trace = model.run(x)
    edited = x.copy()
    edited[0, 12] = [3.0, -2.0, 0.5]
    again = rerun(model, trace, edited, start=12)
    full = model.run(edited)
    for a, b, o in zip(full.layers, again.layers, trace.layers):
        for name in QUANTITIES:
            np.testing.assert_allclose(getattr(b, name), getattr(a, name), atol=2e-6, rtol=0)
            np.testing.assert_array_equal(getattr(b, name)[:, :12], getattr(o, name)[:, :12])
    assert np.abs(again.layers[1].cell[0, 12:] - trace.layers[1].cell[0, 12:]).max() > 1e-3


def test_rnn_edits_and_refusals():
    rnn = RNN.random(2, [3], seed=0)
    x = np.random.default_rng(5).normal(size=(1, 10, 2))
    trace = rnn.run(x)
    edited = x.copy()
    edited[0, 4] = 5.0
    np.testing.assert_allclose(
        rerun(rnn, trace, edited, start=4).layers[0].hidden, rnn.run(edited).layers[0].hidden, atol=2e-6
    )
    with pytest.raises(InputError, match="no gates"):
        rerun(rnn, trace, start=2, clamps=[Clamp(0, "forget", 0.0, 2)])
    model = LSTM.random(2, [3], seed=0)
    trace = model.run(x)
    with pytest.raises(InputError, match=r"values in \[0, 1\]"):
        rerun(model, trace, start=2, clamps=[Clamp(0, "forget", 1.5, 2)])
    with pytest.raises(InputError, match="units 0 to 2"):
        rerun(model, trace, start=2, clamps=[Clamp(0, "input", 1.0, 2, (3,))])
    with pytest.raises(InputError, match="outside the sequence"):
        rerun(model, trace, start=10)
    bi = LSTM.random(2, [3], seed=0, bidirectional=True)
    with pytest.raises(InputError, match="backward"):
        rerun(bi, bi.run(x), start=3)


def test_the_embedding_is_applied_to_edits():
    layer = LSTMLayer.random(4, 3, np.random.default_rng(0))
    model = LSTM([layer], embedding=np.random.default_rng(1).normal(size=(5, 4)))
    x = np.eye(5)[[0, 1, 2, 3, 4, 0, 1]][None]
    trace = model.run(x)
    edited = x.copy()
    edited[0, 3] = np.eye(5)[0]
    again = rerun(model, trace, edited, start=3, clamps=[Clamp(0, "output", 0.5, 5, (1,))])
    np.testing.assert_allclose(again.layer_input, model.run(edited).layer_input, atol=1e-6)
    assert np.all(again.layers[0].output[0, 5:, 1] == np.float32(0.5))
    full = model.run(edited).layers[0]
    np.testing.assert_allclose(again.layers[0].cell[0, :5], full.cell[0, :5], atol=2e-6)
