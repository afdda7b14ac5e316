"""The headless command line: lstm-viz train, trace, tasks."""

import subprocess
import sys

import numpy as np
import pytest

from lstm_viz import load_model, load_trace
from lstm_viz.cli import main


def test_train_then_trace_with_the_trained_model(tmp_path, capsys):
    model_path = tmp_path / "adding.npz"
    assert main(["train", "--task", "adding", "--steps", "20", "--hidden", "6,5", "-o", str(model_path), "-q"]) == 0
    model = load_model(model_path)
    assert model.hidden_sizes == [6, 5] and model.metadata["task"] == "adding"
    assert model.readout is not None and model.readout.output_size == 1

    x = np.random.default_rng(0).uniform(size=(3, 12, 2)).astype(np.float32)
    np.save(tmp_path / "seq.npy", x)
    trace_path = tmp_path / "trace.npz"
    assert main(["trace", str(tmp_path / "seq.npy"), "--model", str(model_path), "-o", str(trace_path)]) == 0
    out = capsys.readouterr().out
    assert "3 x 12 steps" in out
    trace = load_trace(trace_path)
    expected = model.run(x)
    np.testing.assert_array_equal(trace.layers[1].cell, expected.layers[1].cell)
    np.testing.assert_array_equal(trace.x, x)


def test_trace_with_a_random_model_is_reproducible(tmp_path):
    np.save(tmp_path / "seq.npy", np.ones((8, 3), np.float32))
    for name in ("a.npz", "b.npz"):
        assert (
            main(
                ["trace", str(tmp_path / "seq.npy"), "--random", "4,2", "--seed", "5", "-o", str(tmp_path / name), "-q"]
            )
            == 0
        )
    a, b = load_trace(tmp_path / "a.npz"), load_trace(tmp_path / "b.npz")
    assert [lt.hidden_size for lt in a.layers] == [4, 2]
    np.testing.assert_array_equal(a.layers[1].hidden, b.layers[1].hidden)


def test_errors_are_one_clear_line(tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.zeros((5, 7), np.float32))
    main(["train", "--task", "sine", "--steps", "2", "-o", str(tmp_path / "m.npz"), "-q"])
    assert (
        main(["trace", str(tmp_path / "wide.npy"), "--model", str(tmp_path / "m.npz"), "-o", str(tmp_path / "t.npz")])
        == 2
    )
    err = capsys.readouterr().err
    assert "wide.npy has 7 features per step but the model (m.npz) reads 1" in err
    assert "--random H1,H2,... instead of --model" in err
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    assert main(["trace", str(tmp_path / "junk.npy"), "--random", "3", "-o", str(tmp_path / "t.npz")]) == 2
    assert "junk.npy: has the .npy extension but is not a NumPy file" in capsys.readouterr().err
    assert main(["train", "--task", "juggling", "-o", str(tmp_path / "m.npz")]) == 2
    assert "unknown task 'juggling'" in capsys.readouterr().err
    assert not (tmp_path / "t.npz").exists()


def test_tasks_listing_and_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "lstm_viz", "tasks"], capture_output=True, text=True, check=True).stdout
    for name in ("adding", "brackets", "sine", "text"):
        assert name in out


def test_bad_sizes_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        main(["trace", "x.npy", "--random", "0,3", "-o", "t.npz"])
    assert "sizes must be positive" in capsys.readouterr().err


def test_trace_reads_text_with_the_models_vocabulary(tmp_path, capsys):
    model_path = tmp_path / "text.npz"
    assert main(["train", "--task", "text", "--steps", "3", "--hidden", "8", "-o", str(model_path), "-q"]) == 0
    vocabulary = load_model(model_path).metadata["vocabulary"]
    (tmp_path / "note.txt").write_text("Alice was here", encoding="utf-8")
    assert (
        main(["trace", str(tmp_path / "note.txt"), "--model", str(model_path), "-o", str(tmp_path / "t.npz"), "-q"])
        == 0
    )
    trace = load_trace(tmp_path / "t.npz")
    assert trace.x.shape == (1, 14, len(vocabulary))
    assert trace.meta["labels"][:5] == list("Alice") and trace.meta["feature_names"] == vocabulary
    first = trace.x[0, 0]
    assert first[vocabulary.index("A")] == 1.0 and first.sum() == 1.0


def test_trace_of_a_csv_with_missing_values(tmp_path, capsys):
    (tmp_path / "m.csv").write_text("t,a,b\n0,1,2\n1,,3\n2,4,5\n", encoding="utf-8")
    out = str(tmp_path / "t.npz")
    assert main(["trace", str(tmp_path / "m.csv"), "--random", "3", "-o", out, "-q"]) == 2
    assert "line 3, column 'a': missing" in capsys.readouterr().err
    assert main(["trace", str(tmp_path / "m.csv"), "--random", "3", "--fill", "previous", "-o", out, "-q"]) == 0
    trace = load_trace(out)
    np.testing.assert_array_equal(trace.x[0, :, 0], [1, 1, 4])
    assert trace.meta["labels"] == ["0", "1", "2"]


def test_trace_of_tables_with_column_roles(tmp_path, capsys):
    lines = ["symbol,date,price,weather"]
    for symbol, days in (("AAPL", 3), ("GOOG", 2)):
        lines += [f"{symbol},2024-01-0{k + 1},{100 + k},{'sun' if k % 2 else 'rain'}" for k in range(days)]
    (tmp_path / "stock.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = str(tmp_path / "t.npz")
    args = ["trace", str(tmp_path / "stock.csv"), "--random", "3", "-o", out, "-q"]
    assert main(args) == 0
    trace = load_trace(out)
    assert trace.meta["names"] == ["AAPL", "GOOG"] and trace.meta["lengths"] == [3, 2]
    assert trace.meta["batch_labels"][1] == ["2024-01-01", "2024-01-02", ""]
    assert trace.meta["feature_names"] == ["price", "weather=rain", "weather=sun"]
    roles = trace.meta["read_options"]["table"]["roles"]
    assert roles == {"symbol": "id", "date": "time", "price": "feature", "weather": "categorical"}
    np.testing.assert_array_equal(trace.x[1, :2], [[100, 1, 0], [101, 0, 1]])
    assert main([*args, "--ignore", "weather,symbol", "--time", "date"]) == 0
    trace = load_trace(out)
    assert trace.x.shape == (1, 5, 1) and trace.meta["read_options"]["table"]["roles"]["weather"] == "ignore"
    assert main([*args, "--id", "nothing"]) == 2
    assert "has no column 'nothing'" in capsys.readouterr().err


def test_trace_of_a_table_with_gaps_dropped(tmp_path):
    (tmp_path / "g.csv").write_text("day,a\n0,1\n1,\n2,3\n", encoding="utf-8")
    out = str(tmp_path / "t.npz")
    assert main(["trace", str(tmp_path / "g.csv"), "--random", "2", "--fill", "drop", "-o", out, "-q"]) == 0
    trace = load_trace(out)
    np.testing.assert_array_equal(trace.x[0, :, 0], [1, 3])
    assert trace.meta["labels"] == ["0", "2"] and trace.meta["read_options"]["table"]["fill"] == "drop"


def test_trace_with_framework_models(tmp_path, fixtures):
    ref = np.load(fixtures / "tf_lstmcell_peephole_clip_proj.npz")
    np.save(tmp_path / "x.npy", ref["x"])
    ckpt = str(fixtures / "tf_checkpoints" / "tf_lstmcell")
    assert (
        main(
            [
                "trace",
                str(tmp_path / "x.npy"),
                "--model",
                ckpt,
                "--cell-clip",
                "0.6",
                "-o",
                str(tmp_path / "t.npz"),
                "-q",
            ]
        )
        == 0
    )
    assert load_trace(tmp_path / "t.npz").layers[0].cell.shape == (2, 9, 6)
    seq2seq = str(fixtures / "torch_seq2seq.pt")
    x = np.load(fixtures / "torch_seq2seq_reference.npz")["x"]
    np.save(tmp_path / "s.npy", x)
    args = [
        "trace",
        str(tmp_path / "s.npy"),
        "--model",
        seq2seq,
        "--prefix",
        "encoder.rnn.",
        "-o",
        str(tmp_path / "u.npz"),
    ]
    assert main([*args, "-q"]) == 0
    expected = np.load(fixtures / "torch_seq2seq_reference.npz")["output"]
    np.testing.assert_allclose(load_trace(tmp_path / "u.npz").output, expected, atol=1e-5)


def test_a_trace_carries_the_readouts_predictions_targets_and_losses(tmp_path):
    """The adding model's file trace holds, beside the states, the prediction at every step
    and the task's target and squared error at the last one (checked by hand here)."""
    from lstm_viz.workbench.resources import resource

    model_path = resource("demo", "adding_model.npz")
    model = load_model(model_path)
    rng = np.random.default_rng(5)
    x = np.zeros((2, 15, 2), np.float32)
    x[:, :, 0] = rng.uniform(size=(2, 15))
    x[:, [2, 9], 1] = 1.0
    np.save(tmp_path / "seq.npy", x)
    out = tmp_path / "trace.npz"
    assert main(["trace", str(tmp_path / "seq.npy"), "--model", str(model_path), "-o", str(out), "-q"]) == 0
    with np.load(out, allow_pickle=False) as saved:
        expected = model.run(x).output.astype(np.float64) @ model.readout.W + model.readout.b
        np.testing.assert_allclose(saved["prediction"], expected, rtol=1e-5)
        sums = x[:, 2, 0] + x[:, 9, 0]
        np.testing.assert_allclose(saved["target"][:, -1, 0], sums, rtol=1e-6)
        assert saved["target_mask"].sum() == 2 and saved["target_mask"][:, -1].all()
        np.testing.assert_allclose(saved["loss"][:, -1], (expected[:, -1, 0] - sums) ** 2, rtol=1e-4)
        assert np.isnan(saved["loss"][:, :-1]).all()
    meta = load_trace(out).meta
    assert meta["prediction"]["target"] == "the sum of the marked values, at the last step"


def test_trace_writes_a_table_or_an_lstmvis_folder_by_the_output_name(tmp_path):
    import pandas as pd

    x = np.random.default_rng(2).normal(size=(9, 3)).astype(np.float32)
    np.save(tmp_path / "seq.npy", x)
    args = ["trace", str(tmp_path / "seq.npy"), "--random", "4", "--seed", "1", "-q", "-o"]
    assert main(args + [str(tmp_path / "t.npz")]) == 0
    expected = load_trace(tmp_path / "t.npz")
    assert main(args + [str(tmp_path / "t.csv")]) == 0
    table = pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 9 and list(table.columns[:6]) == ["sequence", "step", "label", "x.x0", "x.x1", "x.x2"]
    assert np.array_equal(table["layer0.cell.3"].to_numpy(np.float32), expected.layers[0].cell[0, :, 3])
    assert main(args + [str(tmp_path / "project")]) == 0
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == [
        "lstm.yml",
        "states.h5",
        "train.h5",
        "words.dict",
    ]


def test_a_trained_brackets_model_reads_a_text_of_brackets_only(tmp_path):
    """The model keeps the task's vocabulary: a text without an 'a' still has 3 features."""
    model_path = tmp_path / "b.npz"
    assert main(["train", "--task", "brackets", "--steps", "3", "--hidden", "4", "-o", str(model_path), "-q"]) == 0
    assert load_model(model_path).metadata["vocabulary"] == ["(", ")", "a"]
    (tmp_path / "only.txt").write_text("(()())")
    out = tmp_path / "t.npz"
    assert main(["trace", str(tmp_path / "only.txt"), "--model", str(model_path), "-o", str(out), "-q"]) == 0
    x = load_trace(out).x[0]
    assert x.shape == (6, 3) and list(x.argmax(axis=1)) == [0, 0, 1, 0, 1, 1]
