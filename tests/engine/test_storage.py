"""Traces stored in float16 or in a file, exact states from checkpoints, and streaming runs."""

import gc
import os
import subprocess
import sys
from collections import namedtuple

import numpy as np
import pytest

from lstm_viz import LSTM, RNN, LSTMLayer, limits
from lstm_viz.engine import storage
from lstm_viz.engine.explain import unit_step
from lstm_viz.engine.storage import CHECKPOINT_STEPS, Store, exact_states, exact_values
from lstm_viz.engine.trace import load_trace
from lstm_viz.errors import Cancelled, InputError, ModelError

NAMES = ("forget", "input", "candidate", "output", "cell", "hidden")

MODELS = {
    "2-layer": lambda: LSTM.random(3, [16, 24], seed=2),
    "bidirectional": lambda: LSTM.random(3, [12, 8], seed=3, bidirectional=True),
    "options": lambda: LSTM.random(
        3, [6, 5], seed=7, peepholes=True, proj_sizes=[4, None], cell_clip=1.5, gate_clip=3.0, forget_bias=1.0
    ),
    "go_backwards": lambda: LSTM(
        [
            LSTMLayer.random(3, 10, np.random.default_rng(5)),
            LSTMLayer.random(10, 7, np.random.default_rng(6), go_backwards=True),
        ]
    ),
}


def _input(B=2, T=3000, D=3, seed=0):
    return np.random.default_rng(seed).normal(size=(B, T, D)).astype(np.float32)


def _directions(trace):
    return [
        (index, d, direction)
        for index, layer in enumerate(trace.layers)
        for d, direction in enumerate(layer.directions())
    ]


@pytest.fixture(params=["0", "2"], ids=["layers-in-one-thread", "layers-in-threads"])
def layer_threads(request, monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_LAYER_THREADS", request.param)
    return request.param


def test_a_run_without_a_store_says_where_its_trace_lives():
    trace = LSTM.random(3, 8).run(_input(T=50))
    assert trace.meta["storage"] == {"where": "memory", "dtype": "float32"}
    assert trace.computed == 50 and trace.layers[0].checkpoints is None


def test_a_re_run_from_checkpoints_uses_the_blas_threads_of_the_run(monkeypatch, tmp_path):
    """Layers run in threads hold BLAS to one thread; a product on one thread and on two may
    differ in the last bit (OpenBLAS's Haswell kernels on an AMD EPYC did), so the re-run of
    a stored segment holds BLAS to one thread too."""
    from lstm_viz.engine import blas

    opened = []
    single = blas.single_thread
    monkeypatch.setattr(blas, "single_thread", lambda: (opened.append(1), single())[1])
    model, x = MODELS["2-layer"](), _input(T=2100)
    monkeypatch.setenv("LSTM_VIZ_LAYER_THREADS", "2")
    together = model.run(x, store=Store(dtype="float16"))
    assert together.meta.get("blas_one_thread") is True
    monkeypatch.setenv("LSTM_VIZ_LAYER_THREADS", "1")
    apart = model.run(x, store=Store(dtype="float16"))
    assert "blas_one_thread" not in apart.meta
    opened.clear()
    exact_states(model, apart, 1, 0, 1500)
    assert opened == []  # as its run: BLAS as configured
    exact_states(model, together, 1, 0, 1500)
    assert opened  # held to one thread, as the run that made it
    together.save(tmp_path / "t.npz")
    assert load_trace(tmp_path / "t.npz").meta["blas_one_thread"] is True  # a saved trace says so too


@pytest.mark.parametrize("name", MODELS)
def test_float16_values_are_the_float32_run_rounded_once(name, layer_threads):
    model, x = MODELS[name](), _input()
    exact = model.run(x)
    half = model.run(x, store=Store(dtype="float16"))
    assert half.meta["storage"] == {"where": "memory", "dtype": "float16"}
    for (_, _, a), (_, _, b) in zip(_directions(exact), _directions(half)):
        for name_ in NAMES:
            stored = getattr(b, name_)
            assert stored.dtype == np.float16
            np.testing.assert_array_equal(stored, getattr(a, name_).astype(np.float16))
        np.testing.assert_array_equal(b.initial_hidden, a.initial_hidden)


def test_a_float16_rnn_is_the_float32_run_rounded_once():
    model, x = RNN.random(3, [10, 6], seed=4, bidirectional=True), _input(T=2000)
    exact, half = model.run(x), model.run(x, store=Store(dtype="float16"))
    for (_, _, a), (_, _, b) in zip(_directions(exact), _directions(half)):
        np.testing.assert_array_equal(b.hidden, a.hidden.astype(np.float16))


def test_nbytes_counts_the_stored_dtype_and_the_checkpoints():
    model, x = MODELS["bidirectional"](), _input(T=2000)
    exact, half = model.run(x), model.run(x, store=Store(dtype="float16"))
    recorded = sum(getattr(d, n).nbytes for _, _, d in _directions(exact) for n in NAMES)
    assert exact.nbytes == x.nbytes + recorded
    checkpoints = sum(d.checkpoints.nbytes for _, _, d in _directions(half))
    assert half.nbytes == x.nbytes + recorded // 2 + checkpoints
    for _, _, d in _directions(half):  # every K <= CHECKPOINT_STEPS steps: (H_out + H) x B float32 each
        cp = d.checkpoints
        assert CHECKPOINT_STEPS // 2 < cp.steps <= CHECKPOINT_STEPS
        assert cp.hidden.shape == (-(-2000 // cp.steps), d.output_size, 2) and cp.hidden.dtype == np.float32


@pytest.mark.parametrize("name", MODELS)
def test_exact_states_of_a_float16_trace_are_the_float32_runs(name, layer_threads):
    model, x = MODELS[name](), _input()
    exact = model.run(x)
    half = model.run(x, store=Store(dtype="float16"))
    steps = {0, 1, 2999, 1500}
    cp = half.layers[1].checkpoints
    steps |= {cp.steps - 1, cp.steps, cp.steps + 1, 2 * cp.steps}  # either side of a checkpoint
    for index, d, direction in _directions(exact):
        for step in sorted(steps):
            for batch in (0, 1):
                h_prev, c_prev, x_t = exact_states(model, half, index, batch, step, reverse=bool(d))
                previous = step + 1 if direction.reverse_time else step - 1
                if 0 <= previous < 3000:
                    np.testing.assert_array_equal(h_prev, direction.hidden[batch, previous])
                    np.testing.assert_array_equal(c_prev, direction.cell[batch, previous])
                else:
                    np.testing.assert_array_equal(h_prev, direction.initial_hidden[batch])
                    np.testing.assert_array_equal(c_prev, direction.initial_cell[batch])
                below = (
                    [x[batch, step]] if index == 0 else [v.hidden[batch, step] for v in exact.layers[0].directions()]
                )
                np.testing.assert_array_equal(x_t, np.concatenate(below))
                values = exact_values(model, half, index, batch, step, reverse=bool(d))
                for name_ in NAMES:
                    np.testing.assert_array_equal(values[name_], getattr(direction, name_)[batch, step])
                assert h_prev.dtype == np.float32


def test_exact_states_of_a_float32_trace_are_read_from_it():
    model, x = MODELS["2-layer"](), _input(T=100)
    trace = model.run(x)
    h_prev, c_prev, x_t = exact_states(model, trace, 1, 1, 40)
    np.testing.assert_array_equal(h_prev, trace.layers[1].hidden[1, 39])
    np.testing.assert_array_equal(x_t, trace.layers[0].hidden[1, 40])
    with pytest.raises(InputError, match="no backward direction"):
        exact_states(model, trace, 0, 0, 0, reverse=True)


@pytest.mark.parametrize("name", ["options", "bidirectional"])
def test_explain_on_a_float16_trace_gives_the_float32_runs_figures(name):
    model, x = MODELS[name](), _input(T=2500) * 2
    exact = model.run(x)
    half = model.run(x, store=Store(dtype="float16"))
    for layer in (0, 1):
        lt = exact.layers[layer]
        for step in (0, 700, 1100, 2499):
            for unit in range(lt.hidden_size):
                u = unit_step(model, half, layer=layer, unit=unit, step=step, batch=1)
                for gate, terms in u.gates.items():
                    assert terms.value == pytest.approx(float(getattr(lt, gate)[1, step, unit]), abs=1e-6)
                    assert terms.recorded == float(getattr(lt, gate)[1, step, unit])
                assert u.cell_prev == float(lt.cell[1, step - 1, unit] if step else lt.initial_cell[1, unit])
                assert u.cell == float(lt.cell[1, step, unit])


def test_a_state_beyond_float16s_range_is_refused_naming_the_step():
    # i, f, g saturated: the cell grows by one a step and passes 65504 near step 65504
    H = 2
    b = np.concatenate([np.full(H, 30.0), np.full(H, 30.0), np.full(H, 30.0), np.zeros(H)])
    model = LSTM([LSTMLayer(np.zeros((1, 4 * H)), np.zeros((H, 4 * H)), b)])
    x = np.zeros((1, 66_000, 1), np.float32)
    assert np.isfinite(model.run(x).layers[0].cell).all()
    with pytest.raises(ModelError, match=r"at step 655\d\d of sequence 0, layer 0, beyond what float16 holds"):
        model.run(x, store=Store(dtype="float16"))


@pytest.mark.parametrize("store", [Store(budget=1), Store(dtype="float16")], ids=["on disk", "float16"])
def test_a_staged_run_refuses_states_that_overflow_float32(store):
    b = np.array([10.0, 0.0, 10.0, 10.0]).repeat(4)  # a projection of 3e38 makes h infinite at step 0
    model = LSTM([LSTMLayer(np.zeros((1, 16)), np.zeros((2, 16)), b, W_proj=np.full((4, 2), 3e38))])
    with pytest.raises(ModelError, match="infinite or NaN at step 0 of sequence 0, layer 0: the inputs or weights"):
        model.run(np.zeros((1, 20, 1), np.float32), store=store)


def test_a_trace_over_the_budget_is_recorded_into_a_file_deleted_with_the_trace(tmp_path):
    model, x = MODELS["bidirectional"](), _input(T=2000)
    exact = model.run(x)
    seen = {}

    def started(trace):
        seen["path"] = trace.meta["storage"]["path"]
        seen["exists"] = os.path.isfile(seen["path"])

    trace = model.run(x, store=Store(budget=1 << 16, folder=str(tmp_path)), started=started)
    path = trace.meta["storage"]["path"]
    assert trace.meta["storage"] == {"where": "disk", "dtype": "float32", "path": path} and path == seen["path"]
    assert seen["exists"] and os.path.dirname(os.path.dirname(path)) == str(tmp_path)
    assert isinstance(trace.layers[0].hidden.base, np.memmap) or isinstance(trace.layers[0].hidden, np.memmap)
    assert os.path.getsize(path) >= trace.nbytes - x.nbytes
    for (_, _, a), (_, _, b) in zip(_directions(exact), _directions(trace)):
        for name_ in NAMES:
            np.testing.assert_array_equal(getattr(b, name_), getattr(a, name_))
    assert trace.nbytes == exact.nbytes
    del trace
    gc.collect()
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


def test_float16_on_disk_holds_the_float16_values(tmp_path):
    model, x = MODELS["2-layer"](), _input(T=2000)
    half = model.run(x, store=Store(dtype="float16"))
    on_disk = model.run(x, store=Store(dtype="float16", budget=1 << 16, folder=str(tmp_path)))
    assert on_disk.meta["storage"]["where"] == "disk" and on_disk.meta["storage"]["dtype"] == "float16"
    for (_, _, a), (_, _, b) in zip(_directions(half), _directions(on_disk)):
        for name_ in NAMES:
            np.testing.assert_array_equal(getattr(b, name_), getattr(a, name_))
    assert exact_states(model, on_disk, 1, 0, 1234).hidden_prev.dtype == np.float32


def test_a_run_over_the_memory_limit_with_a_store_goes_to_disk_instead_of_being_refused(tmp_path):
    model, x = LSTM.random(2, [64, 64], seed=0), np.zeros((2, 5000, 2), np.float32)  # 29 MiB
    with limits.using("8M"):
        with pytest.raises(InputError, match="more than the 8.0 MiB limit"):
            model.run(x)
        trace = model.run(x, store=Store(folder=str(tmp_path)))
    assert trace.meta["storage"]["where"] == "disk"
    np.testing.assert_array_equal(trace.layers[1].hidden[:, -1], model.run(x).layers[1].hidden[:, -1])


def test_too_little_disk_space_is_refused_naming_the_folder_the_size_and_the_space_free(tmp_path, monkeypatch):
    # 2 x 2000 steps x (96 + 144) features x 4 bytes = 3.7 MiB
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(storage.shutil, "disk_usage", lambda folder: usage(1 << 30, (1 << 30) - 5000, 5000))
    model = MODELS["2-layer"]()
    with pytest.raises(InputError) as info:
        model.run(_input(T=2000), store=Store(budget=1 << 16, folder=str(tmp_path)))
    message = str(info.value)
    assert f"on disk in {tmp_path}" in message and "needs 3.7 MiB" in message and "only 4.9 KiB is free" in message
    assert os.listdir(tmp_path) == []


def test_a_cancelled_run_on_disk_leaves_no_file(tmp_path):
    model, seen = MODELS["2-layer"](), {}
    with pytest.raises(Cancelled):
        model.run(
            _input(T=5000),
            store=Store(budget=1 << 16, folder=str(tmp_path)),
            started=lambda trace: seen.setdefault("path", trace.meta["storage"]["path"]),
            cancel=lambda: True,
        )
    assert seen["path"].startswith(str(tmp_path)) and os.listdir(tmp_path) == []


def test_the_file_of_a_trace_still_alive_is_deleted_at_interpreter_exit(tmp_path):
    script = (
        "import numpy as np\n"
        "from lstm_viz import LSTM\n"
        "from lstm_viz.engine.storage import Store\n"
        f"store = Store(budget=1, folder={str(tmp_path)!r})\n"
        "trace = LSTM.random(2, 8).run(np.zeros((1, 3000, 2), np.float32), store=store)\n"
        "print(trace.meta['storage']['path'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().startswith(str(tmp_path)) and os.listdir(tmp_path) == []


def test_a_saved_float16_trace_loads_as_a_trace_in_memory(tmp_path):
    half = MODELS["2-layer"]().run(_input(T=300), store=Store(dtype="float16", budget=1, folder=str(tmp_path)))
    half.save(tmp_path / "t.npz")
    loaded = load_trace(tmp_path / "t.npz")
    assert loaded.meta["storage"] == {"where": "memory", "dtype": "float16"}
    np.testing.assert_array_equal(loaded.layers[1].cell, half.layers[1].cell)


@pytest.mark.parametrize("name", ["2-layer", "one layer"])
def test_a_streamed_run_grows_computed_steadily_with_final_rows(name, layer_threads):
    model = MODELS["2-layer"]() if name == "2-layer" else LSTM.random(3, 16, seed=5)
    x, T = _input(T=6000), 6000
    seen, snapshots = {}, []

    def started(trace):
        seen["trace"], seen["at_start"] = trace, trace.computed

    def progress(done, total):
        trace = seen["trace"]
        computed = trace.computed
        snapshots.append(computed)
        if 0 < computed < T and len(snapshots) % 3 == 0:
            snapshots.append([np.array(d.hidden[:, :computed]) for _, _, d in _directions(trace)])
            snapshots.append([np.array(d.forget[:, :computed]) for _, _, d in _directions(trace)])

    trace = model.run(x, started=started, progress=progress)
    assert seen["trace"] is trace and seen["at_start"] == 0 and trace.computed == T
    computed = [c for c in snapshots if isinstance(c, int)]
    assert computed == sorted(computed) and computed[-1] == T
    # grows during the run, not only at the end (with layers in threads the lower one may
    # run ahead first, so the growth can come late in the reports: any report will do)
    assert any(0 < c < T for c in computed)
    rows = [s for s in snapshots if isinstance(s, list)]
    assert rows
    for hidden in rows[::2]:
        for seen_rows, (_, _, d) in zip(hidden, _directions(trace)):
            np.testing.assert_array_equal(seen_rows, d.hidden[:, : seen_rows.shape[1]])
    exact = model.run(x)
    for (_, _, a), (_, _, b) in zip(_directions(exact), _directions(trace)):
        np.testing.assert_array_equal(a.hidden, b.hidden)


def test_a_streamed_float16_stack_advances_its_layers_together(monkeypatch):
    monkeypatch.setenv("LSTM_VIZ_LAYER_THREADS", "0")
    model, x, T = LSTM.random(3, [8, 32, 16], seed=1), _input(B=1, T=20_000), 20_000
    seen, computed = {}, []
    trace = model.run(
        x,
        store=Store(dtype="float16"),
        started=lambda trace: seen.setdefault("trace", trace),
        progress=lambda done, total: computed.append((done, seen["trace"].computed)),
    )
    # in one thread the layers take turns chunk by chunk: after a third of the work, a good part is final
    done_third = next(c for done, c in computed if done >= 3 * T // 3)
    assert done_third >= T // 4 and computed[-1][1] == T == trace.computed
    exact = model.run(x)
    np.testing.assert_array_equal(trace.layers[2].hidden, exact.layers[2].hidden.astype(np.float16))


def test_a_model_with_a_backward_direction_reports_nothing_computed_until_the_end():
    model, seen, computed = MODELS["bidirectional"](), {}, []
    trace = model.run(
        _input(T=3000),
        started=lambda trace: seen.setdefault("trace", trace),
        progress=lambda done, total: computed.append(seen["trace"].computed),
    )
    assert set(computed) == {0} and trace.computed == 3000
