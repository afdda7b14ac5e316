"""The parts of each pre-activation add up to the recorded gates (every option engaged)."""

import math

import numpy as np
import pytest

from lstm_viz import LSTM, LSTMLayer
from lstm_viz.engine.explain import unit_step


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parts_add_up_to_the_recorded_gates(dtype):
    model = LSTM.random(
        3, [5, 4], seed=7, peepholes=True, proj_sizes=[3, None], cell_clip=1.1, gate_clip=3.0, forget_bias=1.0
    )
    x = np.random.default_rng(0).normal(size=(2, 12, 3)) * 2
    trace = model.run(x, dtype=dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-6
    for layer in (0, 1):
        for step in (0, 5, 11):
            for unit in range(trace.layers[layer].hidden_size):
                u = unit_step(model, trace, layer=layer, unit=unit, step=step, batch=1)
                for terms in u.gates.values():
                    assert terms.value == pytest.approx(terms.recorded, abs=tol)
                lt = trace.layers[layer]
                # old and new from the recorded gates, against the trace's own derived quantities
                assert u.old == pytest.approx(float(lt.old[1, step, unit]), abs=tol)
                assert u.new == pytest.approx(float(lt.new[1, step, unit]), abs=tol)
                assert u.cell == pytest.approx(float(np.clip(u.cell_unclipped, -1.1, 1.1)), abs=tol)
                assert u.hidden_unprojected == pytest.approx(lt.hidden_unprojected[1, step, unit], abs=tol)
                assert (u.hidden is None) == (layer == 0)
    assert any(  # the clip really was engaged somewhere
        abs(unit_step(model, trace, layer=0, unit=u, step=s, batch=b).gates[g].total) > 3.0
        for u in range(5)
        for s in range(12)
        for b in range(2)
        for g in ("input", "forget", "candidate", "output")
    )


def test_one_step_by_hand():
    W_x = np.array([[0.5, -0.25, 1.0, 0.75], [0.1, 0.2, -0.3, 0.4]])
    W_h = np.array([[0.2, 0.3, -0.1, 0.6]])
    b = np.array([0.1, 0.2, 0.0, -0.1])
    model = LSTM([LSTMLayer(W_x, W_h, b, forget_bias=1.0)])
    trace = model.run(np.array([[1.0, 2.0]]), [(np.array([[0.5]]), np.array([[-0.4]]))], dtype=np.float64)
    u = unit_step(model, trace, layer=0, unit=0, step=0)
    f = u.gates["forget"]
    assert (f.input_part, f.recurrent_part, f.bias, f.forget_bias) == pytest.approx((0.15, 0.15, 0.2, 1.0))
    assert f.total == pytest.approx(1.5) and f.value == pytest.approx(1 / (1 + math.exp(-1.5)))
    g = u.gates["candidate"]
    assert g.total == pytest.approx(0.35) and g.value == pytest.approx(math.tanh(0.35))
    assert u.cell_prev == -0.4 and u.old == pytest.approx(f.value * -0.4)
