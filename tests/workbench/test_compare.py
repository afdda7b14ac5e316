"""Two models on one sequence: units matched by the correlation of their cells, checked
against a brute-force search of every assignment and against NumPy's corrcoef."""

from __future__ import annotations

import itertools
import os
import shutil

import numpy as np
import pytest

from lstm_viz.engine import LSTM
from lstm_viz.errors import InputError
from lstm_viz.workbench import Workbench
from lstm_viz.workbench.compare import correlations, match_units
from lstm_viz.workbench.loading import OpenRequest

pytest.importorskip("scipy", reason="comparing needs the compare extra (SciPy)")
DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "resources", "demo")


def test_correlations_are_pearsons():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 4)), rng.normal(size=(50, 3))
    b[:, 2] = 1.0  # does not vary: correlates with nothing
    with np.errstate(invalid="ignore", divide="ignore"):  # the constant column: NaN in NumPy
        expected = np.corrcoef(a.T, b.T)[:4, 4:]
    expected[:, 2] = 0
    assert np.allclose(correlations(a, b), expected, atol=1e-12)


def test_a_shuffled_and_sign_flipped_copy_is_matched_back():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 6))
    perm = np.array([3, 0, 5, 1, 4, 2])  # B's unit perm[i] is A's unit i
    signs = np.array([1, -1, 1, 1, -1, 1])
    b = np.empty_like(a)
    b[:, perm] = a * signs + 0.05 * rng.normal(size=a.shape)
    match = match_units(a, b)
    assert list(match.order) == list(perm)
    assert np.array_equal(np.sign(match.r), signs) and match.quality > 0.99


def test_the_assignment_is_the_best_of_all_by_brute_force():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(40, 5)), rng.normal(size=(40, 5))
    b += 0.6 * a[:, [2, 4, 0, 1, 3]]
    r = np.abs(correlations(a, b))
    best = max(itertools.permutations(range(5)), key=lambda p: sum(r[i, p[i]] for i in range(5)))
    match = match_units(a, b)
    assert tuple(match.order) == best
    assert match.quality == pytest.approx(np.mean([r[i, best[i]] for i in range(5)]))


def test_fewer_units_in_b_leave_some_of_a_unmatched():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(60, 4))
    match = match_units(a, a[:, [1, 3]])
    assert list(match.order) == [-1, 0, -1, 1] and np.isnan(match.r[[0, 2]]).all()
    assert match.quality == pytest.approx(1.0)


def open_demo(tmp_path):
    for name in ("adding_model.npz", "adding_sequence.json"):
        shutil.copy(os.path.join(DEMO, name), tmp_path / name)
    core = Workbench()
    core.open(
        OpenRequest(sequence_path=str(tmp_path / "adding_sequence.json"), model_path=str(tmp_path / "adding_model.npz"))
    ).now()
    return core


def test_the_same_model_twice_matches_every_unit_to_itself(tmp_path):
    core = open_demo(tmp_path)
    shutil.copy(tmp_path / "adding_model.npz", tmp_path / "again.npz")
    changes = []
    core.comparison_changed.connect(lambda: changes.append(1))
    core.compare_with(OpenRequest(model_path=str(tmp_path / "again.npz"))).now()
    match = core.comparison.match(0)
    assert list(match.order) == list(range(12)) and np.allclose(match.r, 1.0)
    assert match.quantity == "cell" and changes == [1]
    assert np.array_equal(core.comparison.loaded.trace.x, core.trace.x)  # B read A's sequence


def test_a_tanh_rnn_is_matched_by_its_outputs_and_another_sequence_drops_the_comparison(tmp_path):
    core = open_demo(tmp_path)
    core.compare_with(rnn_seed=3).now()
    assert core.comparison.match(0).quantity == "hidden"
    assert not core.comparison.loaded.trace.layers[0].is_lstm
    np.save(tmp_path / "other.npy", np.zeros((9, 2), np.float32))
    core.open(OpenRequest(sequence_path=str(tmp_path / "other.npy"))).now()
    assert core.comparison is None


def test_a_model_that_reads_other_inputs_is_refused_by_name(tmp_path):
    core = open_demo(tmp_path)
    from lstm_viz.io import save_model

    save_model(LSTM.random(5, [4], seed=0), str(tmp_path / "wide.npz"))
    with pytest.raises(InputError, match="reads 5: the second model cannot read this sequence"):
        core.compare_with(OpenRequest(model_path=str(tmp_path / "wide.npz"))).now()
    assert core.comparison is None


def test_without_scipy_the_message_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(InputError, match=r"SciPy.*lstm-viz\[compare\]"):
        match_units(np.zeros((3, 2)), np.zeros((3, 2)))


def test_units_that_do_unrelated_things_are_a_weak_match_and_copies_are_not():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(400, 6)), rng.normal(size=(400, 6))
    unrelated = match_units(a, b)
    assert unrelated.quality < 0.2 and unrelated.weak
    same = match_units(a, a[:, ::-1])
    assert same.quality == pytest.approx(1.0) and not same.weak
