"""Cases worked out by hand, including the tutorial's own thought experiments."""

import math

import numpy as np
import pytest

from lstm_viz import LSTM, LSTMLayer

BIG = 60.0  # sigmoid(60) == 1 and sigmoid(-60) == 0 to well below float32 resolution


def one_unit(*, keep, write, read=BIG, candidate_from_x=1.0, forget_bias=0.0):
    """A one-unit LSTM whose gates are fixed by their biases and whose candidate is tanh(x)."""
    W_x = np.zeros((1, 4))
    W_x[0, 2] = candidate_from_x
    b = np.array([write, keep, 0.0, read])
    return LSTM([LSTMLayer(W_x, np.zeros((1, 4)), b, forget_bias=forget_bias)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keep_zero_write_one_overwrites_the_cell_with_the_candidate(dtype):
    model = one_unit(keep=-BIG, write=BIG)
    x = np.array([[0.3], [-1.2], [0.8], [2.0]])
    trace = model.run(x, [(np.array([[0.0]]), np.array([[5.0]]))], dtype=dtype)
    lt = trace.layers[0]
    np.testing.assert_array_equal(lt.forget[0, :, 0], 0.0)
    np.testing.assert_array_equal(lt.input[0, :, 0], 1.0)
    np.testing.assert_allclose(lt.cell[0, :, 0], np.tanh(x[:, 0]), rtol=1e-6)
    np.testing.assert_allclose(lt.old[0, :, 0], 0.0)
    np.testing.assert_allclose(lt.new[0, :, 0], np.tanh(x[:, 0]), rtol=1e-6)
    # The old memory (5.0) is gone after the very first step.
    assert lt.cell_prev[0, 0, 0] == 5.0 and abs(lt.cell[0, 0, 0] - math.tanh(0.3)) < 1e-6


def test_keep_one_write_zero_holds_the_cell_forever():
    model = one_unit(keep=BIG, write=-BIG)
    x = np.random.default_rng(0).normal(size=(500, 1)) * 3
    trace = model.run(x, [(np.array([[0.0]]), np.array([[0.731]]))])
    lt = trace.layers[0]
    np.testing.assert_array_equal(lt.cell[0, :, 0], np.float32(0.731))
    np.testing.assert_allclose(lt.hidden[0, :, 0], np.tanh(np.float32(0.731)), rtol=1e-6)
    np.testing.assert_array_equal(lt.new[0, :, 0], 0.0)


def test_one_step_by_hand():
    """Two inputs, one unit, every number computed on paper."""
    W_x = np.array([[0.5, -0.25, 1.0, 0.75], [0.1, 0.2, -0.3, 0.4]])
    W_h = np.array([[0.2, 0.3, -0.1, 0.6]])
    b = np.array([0.1, 0.2, 0.0, -0.1])
    model = LSTM([LSTMLayer(W_x, W_h, b, forget_bias=1.0)])
    h0, c0 = 0.5, -0.4
    x = np.array([[1.0, 2.0]])
    trace = model.run(x, [(np.array([[h0]]), np.array([[c0]]))], dtype=np.float64)
    lt = trace.layers[0]
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    z_i = 1.0 * 0.5 + 2.0 * 0.1 + 0.5 * 0.2 + 0.1  # 0.9
    z_f = 1.0 * -0.25 + 2.0 * 0.2 + 0.5 * 0.3 + 0.2 + 1.0  # 1.5 with forget_bias
    z_g = 1.0 * 1.0 + 2.0 * -0.3 + 0.5 * -0.1 + 0.0  # 0.35
    z_o = 1.0 * 0.75 + 2.0 * 0.4 + 0.5 * 0.6 - 0.1  # 1.75
    i, f, g, o = sig(z_i), sig(z_f), math.tanh(z_g), sig(z_o)
    c = f * c0 + i * g
    assert lt.input[0, 0, 0] == pytest.approx(i, abs=1e-14)
    assert lt.forget[0, 0, 0] == pytest.approx(f, abs=1e-14)
    assert lt.candidate[0, 0, 0] == pytest.approx(g, abs=1e-14)
    assert lt.output[0, 0, 0] == pytest.approx(o, abs=1e-14)
    assert lt.old[0, 0, 0] == pytest.approx(f * c0, abs=1e-14)
    assert lt.new[0, 0, 0] == pytest.approx(i * g, abs=1e-14)
    assert lt.cell[0, 0, 0] == pytest.approx(c, abs=1e-14)
    assert lt.tanh_cell[0, 0, 0] == pytest.approx(math.tanh(c), abs=1e-14)
    assert lt.hidden[0, 0, 0] == pytest.approx(o * math.tanh(c), abs=1e-14)
    assert (i, f, g, o) == pytest.approx((0.710949502625, 0.817574476194, 0.336375544336, 0.851952801968), abs=1e-11)


def test_peephole_on_output_reads_the_new_cell():
    W_x = np.zeros((1, 4))
    W_x[0, 2] = 1.0
    peepholes = np.array([[0.0], [0.0], [2.0]])
    model = LSTM([LSTMLayer(W_x, np.zeros((1, 4)), np.array([BIG, -BIG, 0.0, 0.0]), peepholes=peepholes)])
    trace = model.run(np.array([[0.5]]), dtype=np.float64)
    c = math.tanh(0.5)  # written fully, nothing kept
    assert trace.layers[0].output[0, 0, 0] == pytest.approx(1 / (1 + math.exp(-2.0 * c)), abs=1e-14)


def test_cell_clip_and_gate_clip_bound_what_they_should():
    W_x = np.zeros((1, 4))
    W_x[0, 2] = 1.0
    model = LSTM([LSTMLayer(W_x, np.zeros((1, 4)), np.array([BIG, BIG, 0.0, 0.0]), cell_clip=1.5)])
    trace = model.run(np.full((10, 1), 5.0), dtype=np.float64)
    cells = trace.layers[0].cell[0, :, 0]
    assert cells[0] == pytest.approx(math.tanh(5.0)) and cells[1] == 1.5 and cells[-1] == 1.5
    assert trace.layers[0].cell_unclipped[0, 1, 0] == pytest.approx(2 * math.tanh(5.0))
    assert trace.layers[0].cell_unclipped[0, 2, 0] == pytest.approx(1.5 + math.tanh(5.0))

    clamp = LSTM([LSTMLayer(W_x, np.zeros((1, 4)), np.array([BIG, BIG, 0.0, BIG]), gate_clip=2.0)])
    lt = clamp.run(np.array([[5.0]]), dtype=np.float64).layers[0]
    assert lt.input[0, 0, 0] == pytest.approx(1 / (1 + math.exp(-2.0)), abs=1e-14)
    assert lt.candidate[0, 0, 0] == pytest.approx(math.tanh(2.0), abs=1e-14)


def test_projection_and_proj_clip():
    W_x = np.zeros((1, 8))
    W_x[0, 4:6] = 1.0
    b = np.zeros(8)
    b[:2] = BIG
    b[6:] = BIG
    W_proj = np.array([[1.0], [2.0]])
    model = LSTM([LSTMLayer(W_x, np.zeros((1, 8)), b, W_proj=W_proj, proj_clip=0.9)])
    lt = model.run(np.array([[0.2], [2.0]]), dtype=np.float64).layers[0]
    first = 3 * math.tanh(math.tanh(0.2))
    assert lt.hidden[0, 0, 0] == pytest.approx(first, abs=1e-12)
    assert lt.hidden[0, 1, 0] == 0.9
    assert lt.hidden_unprojected.shape == (1, 2, 2)


def test_reverse_direction_is_time_aligned():
    layer = LSTMLayer(np.ones((1, 4)), np.zeros((1, 4)), np.array([BIG, BIG, 0.0, BIG]))
    model = LSTM([(layer, layer.copy())])
    x = np.array([[1.0], [0.0], [-1.0]])
    lt = model.run(x, dtype=np.float64).layers[0]
    # Keep 1, write 1: the cell sums tanh(x) in reading order.
    t = np.tanh(x[:, 0])
    np.testing.assert_allclose(lt.cell[0, :, 0], np.cumsum(t), atol=1e-12)
    np.testing.assert_allclose(lt.reverse.cell[0, :, 0], np.cumsum(t[::-1])[::-1], atol=1e-12)
    assert lt.layer_output.shape == (1, 3, 2)
    np.testing.assert_allclose(lt.reverse.cell_prev[0, :, 0], [np.tanh(-1.0), np.tanh(-1.0), 0.0], atol=1e-12)
