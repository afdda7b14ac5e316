"""Rebuild the trained examples of the Examples menu (the tutorial's own examples are made
from TensorFlow by tests/fixtures/generate_fixtures.py).

    python resources/make_examples.py

Each model is trained by lstm-viz's own trainer (seeded, so the result is reproducible).
Then the example sequence is run and searched for the unit that shows the task's idea most
clearly; the guided note names that unit and states the measured figure, and
``example.json`` records the claim (which unit, which quantity, against what, the
threshold) so the tests can check it against a fresh trace.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lstm_viz.engine import LSTM
from lstm_viz.engine.tasks import get_task
from lstm_viz.engine.train import train
from lstm_viz.io import save_model

HERE = Path(__file__).resolve().parent / "examples"


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def write(slug: str, model, sequence_name: str, sequence_text: str, info: dict) -> None:
    folder = HERE / slug
    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, folder / "model.npz")
    (folder / sequence_name).write_text(sequence_text, encoding="utf-8")
    info = {"model": "model.npz", "sequence": sequence_name, **info}
    (folder / "example.json").write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"{slug}: {info['claim']}")


def brackets() -> None:
    task = get_task("brackets", 40)
    model = LSTM.random(task.input_size, [8], seed=2)
    result = train(model, task, steps=1500, seed=2)
    model.metadata["vocabulary"] = list(task.feature_names)
    text = "a(a(()a)(a(aa))a)a((()))(a)a(((a)a)(()a))aa(a)((a(a)))a"
    x = np.eye(3, dtype=np.float32)[["()a".index(ch) for ch in text]]
    depth = np.cumsum([1 if ch == "(" else -1 if ch == ")" else 0 for ch in text])
    run = model.run(x).layers[0]
    cell = run.cell[0]
    r = [corr(cell[:, k], depth) for k in range(cell.shape[1])]
    unit = int(np.argmax(np.abs(r)))
    # how far the cell moves in a step, on 'a' and at a bracket (the note quotes both)
    moved = np.abs(np.diff(np.concatenate([run.initial_cell[0, unit : unit + 1], cell[:, unit]])))
    on_a = np.array([ch == "a" for ch in text])
    sign = "rise" if r[unit] > 0 else "fall"
    other = "fall" if r[unit] > 0 else "rise"
    write(
        "brackets",
        model,
        "brackets.txt",
        text,
        {
            "title": "Counting brackets (nesting depth)",
            "note": (
                f"An LSTM of 8 units trained (loss {result.final_loss:.3f}) to report how deeply nested "
                f"each step is. <b>Unit {unit} counts the open brackets</b>: watch its memory cell {sign} at "
                f"every '(' and {other} at every ')', and change little on 'a': it moves by "
                f"{moved[on_a].mean():.2f} a step there on average, against {moved[~on_a].mean():.2f} at a bracket. "
                f"Over this sequence its cell correlates with the depth at r = {r[unit]:+.2f}. "
                "Try: type your own brackets in 'Your input', or clamp its keep gate to 0 in 'What if…' "
                "and see the count forgotten."
            ),
            "select": [unit],
            "step": int(np.argmax(depth)),
            "claim": {
                "unit": unit,
                "quantity": "cell",
                "against": "bracket depth",
                "correlation": round(r[unit], 4),
                "threshold": 0.9,
            },
        },
    )


def sine() -> None:
    task = get_task("sine", 60)
    model = LSTM.random(task.input_size, [12], seed=3)
    result = train(model, task, steps=1500, seed=3)
    rng = np.random.default_rng(11)
    T, omega, phase = 80, 0.3, 0.5
    clean = np.sin(omega * np.arange(T + 1) + phase)
    signal = (clean[:T] + rng.normal(0, 0.1, T)).astype(np.float32)
    lt = model.run(signal[:, None]).layers[0]
    upcoming = clean[1:]  # the value the model is asked for
    r = [corr(lt.hidden[0, 5:, k], upcoming[5:]) for k in range(12)]
    unit = int(np.argmax(np.abs(r)))
    values = {"values": [[float(v)] for v in signal], "labels": [f"{v:+.2f}" for v in signal], "features": ["signal"]}
    write(
        "sine",
        model,
        "sine.json",
        json.dumps(values, indent=1),
        {
            "title": "Predicting a sine wave",
            "note": (
                f"An LSTM of 12 units trained (loss {result.final_loss:.4f}) to predict the next value of a noisy "
                f"sine wave. <b>Unit {unit} follows the wave one step ahead</b>: its output h correlates "
                f"with the next clean value at r = {r[unit]:+.2f} (after the first five steps, which the model "
                "needs to find the frequency). Switch the trajectories to h(t) and compare it with the input "
                "curve; its memory cell swings with the phase."
            ),
            "select": [unit],
            "step": 20,
            "claim": {
                "unit": unit,
                "quantity": "hidden",
                "against": "next clean value",
                "correlation": round(r[unit], 4),
                "threshold": 0.8,
                "omega": omega,
                "phase": phase,
            },
        },
    )


def text() -> None:
    task = get_task("text", 50)
    model = LSTM.random(task.input_size, [48], seed=4)
    result = train(model, task, steps=2500, lr=5e-3, seed=4)
    model.metadata["vocabulary"] = list(task.vocabulary)
    start = task.text.find("Alice was beginning")
    passage = task.text[start : start + 300]
    x = task.encode(passage)
    lt = model.run(x).layers[0]
    # Which unit knows where a word is? Its write gate against "this character is a space".
    space = np.array([ch == " " for ch in passage], float)
    r = [corr(lt.input[0, :, k], space) for k in range(48)]
    unit = int(np.argmax(np.abs(r)))
    verb, other = ("shuts", "opens again") if r[unit] < 0 else ("opens", "closes again")
    write(
        "text",
        model,
        "alice.txt",
        passage,
        {
            "title": "A character model of Alice in Wonderland",
            "note": (
                f"An LSTM of 48 units trained (loss {result.final_loss:.2f} nats per character) to predict the "
                f"next character of Alice's Adventures in Wonderland (public domain). <b>Unit {unit} notices "
                f"word boundaries</b>: its write gate {verb} at every space and {other} inside words "
                f"(r = {r[unit]:+.2f} with 'this character is a space'). Watch its write bar in the gates panel "
                "and its row in the write heatmap as you step; type your own sentence in 'Your input'."
            ),
            "select": [unit],
            "step": 40,
            "claim": {
                "unit": unit,
                "quantity": "input",
                "against": "is a space",
                "correlation": round(r[unit], 4),
                "threshold": 0.7,
            },
        },
    )


def adding() -> None:
    """The built-in demo (resources/demo, made by make_demo.py), explained."""
    from lstm_viz.io import load_model, load_sequence

    demo = HERE.parent / "demo"
    model = load_model(demo / "adding_model.npz")
    sequence = load_sequence(demo / "adding_sequence.json")
    lt = model.run(sequence.values).layers[0]
    marks = sequence.values[0, :, 1] > 0.5
    write_gate = lt.input[0]
    contrast = write_gate[marks].mean(axis=0) - write_gate[~marks].mean(axis=0)
    unit = int(np.argmax(contrast))
    first = int(np.argmax(marks))
    second = int(np.flatnonzero(marks)[1])
    between = lt.forget[0, first + 1 : second, unit]  # the keep gate while it holds the first value
    folder = HERE / "adding"
    folder.mkdir(parents=True, exist_ok=True)
    info = {
        "model": "../../demo/adding_model.npz",
        "sequence": "../../demo/adding_sequence.json",
        "title": "The adding problem (the built-in demo)",
        "note": (
            "An LSTM of 12 units trained to add the two values marked with * and report the sum at the last "
            f"step. <b>Unit {unit} writes at the marks</b>: its write gate averages "
            f"{write_gate[marks, unit].mean():.2f} at the two marked steps and {write_gate[~marks, unit].mean():.2f} "
            "elsewhere, so the marked values go into memory. Its keep gate keeps them only in part: it averages "
            f"{between.mean():.2f} between the two marks (never below {between.min():.2f}), so each step keeps about "
            f"{round(100 * between.mean())}% of the memory, and the read gate lets the sum out at the end. "
            "Step to a mark (t = "
            f"{first}) and watch the write bar jump."
        ),
        "select": [unit],
        "step": first,
        "claim": {
            "unit": unit,
            "quantity": "input",
            "against": "marked steps",
            "contrast": round(float(contrast[unit]), 4),
            "threshold": 0.3,
        },
    }
    (folder / "example.json").write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"adding: {info['claim']}")


def main() -> None:
    adding()
    brackets()
    sine()
    text()


if __name__ == "__main__":
    main()
