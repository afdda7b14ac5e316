"""Rebuild the trained examples of the Examples menu (the tutorial's own examples are made
from TensorFlow by tests/fixtures/generate_fixtures.py).

    python resources/make_examples.py                 # train every example again
    python resources/make_examples.py --notes text    # the notes only, from the saved models

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


NOTES_ONLY = False  # --notes: the notes are made again from the saved models, nothing is trained


class Trained:
    """What a note quotes of a training: its final loss."""

    def __init__(self, final_loss: float):
        self.final_loss = final_loss


def trained(slug: str, make):
    """``make()`` -> (model, result), or with --notes the saved model of ``slug`` and the
    final loss its metadata records."""
    if not NOTES_ONLY:
        return make()
    from lstm_viz.io import load_model

    model = load_model(HERE / slug / "model.npz")
    return model, Trained(float(model.metadata["training"]["final_loss"]))


def write(slug: str, model, sequence_name: str, sequence_text: str, info: dict) -> None:
    folder = HERE / slug
    folder.mkdir(parents=True, exist_ok=True)
    if not NOTES_ONLY:  # the notes only: the model and its sequence stay as they are
        save_model(model, folder / "model.npz")
        (folder / sequence_name).write_text(sequence_text, encoding="utf-8")
    info = {"model": "model.npz", "sequence": sequence_name, **info}
    (folder / "example.json").write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{slug}: {info['claim']}")


def brackets() -> None:
    task = get_task("brackets", 40)

    def make():
        model = LSTM.random(task.input_size, [8], seed=2)
        result = train(model, task, steps=1500, seed=2)
        model.metadata["vocabulary"] = list(task.feature_names)
        return model, result

    model, result = trained("brackets", make)
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

    def make():
        model = LSTM.random(task.input_size, [12], seed=3)
        return model, train(model, task, steps=1500, seed=3)

    model, result = trained("sine", make)
    rng = np.random.default_rng(11)
    T, omega, phase = 80, 0.3, 0.5
    clean = np.sin(omega * np.arange(T + 1) + phase)
    signal = (clean[:T] + rng.normal(0, 0.1, T)).astype(np.float32)
    lt = model.run(signal[:, None]).layers[0]
    upcoming = clean[1:]  # the value the model is asked for
    r = [corr(lt.hidden[0, 5:, k], upcoming[5:]) for k in range(12)]
    unit = int(np.argmax(np.abs(r)))
    # the memory cell swings with the wave's period: its best correlation with a sine of that
    # period over phases 0.00, 0.01, ... (the tests search the same way)
    cell = lt.cell[0, 5:, unit]
    t = np.arange(5, T)
    swing = max(abs(corr(cell, np.sin(omega * t + k / 100))) for k in range(629))
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
                f"curve. Its memory cell swings with the same period, between {cell.min():+.2f} and "
                f"{cell.max():+.2f} (|r| = {swing:.2f} with a sine of that period, at its best phase)."
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
                "cell_swing": round(swing, 4),
                "cell_swing_threshold": 0.9,
            },
        },
    )


def text() -> None:
    task = get_task("text", 50)

    def make():
        model = LSTM.random(task.input_size, [48], seed=4)
        result = train(model, task, steps=2500, lr=5e-3, seed=4)
        model.metadata["vocabulary"] = list(task.vocabulary)
        return model, result

    model, result = trained("text", make)
    start = task.text.find("Alice was beginning")
    passage = task.text[start : start + 300]
    x = task.encode(passage)
    lt = model.run(x).layers[0]
    # Which unit knows where a word is? Its write gate against "this character is a space".
    space = np.array([ch == " " for ch in passage], float)
    r = [corr(lt.input[0, :, k], space) for k in range(48)]
    unit = int(np.argmax(np.abs(r)))
    letter = np.array([ch.isalpha() for ch in passage])
    at_space, on_letter = lt.input[0, space > 0, unit].mean(), lt.input[0, letter, unit].mean()
    mostly, other = ("mostly shut", "open") if r[unit] < 0 else ("mostly open", "shut")
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
                f"word boundaries</b>: its write gate is {mostly} at a space and {other} inside words: "
                f"{at_space:.2f} on average at a space against {on_letter:.2f} on a letter "
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


def fresh_error(model, length: int, sequences: int, seed: int) -> float:
    """Squared error at the last step on fresh adding sequences, over that of always
    answering the mean sum (1.0; its squared error is 1/6)."""
    batch = get_task("adding", length).batch(np.random.default_rng(seed), sequences)
    answer = model.readout.logits(model.run(batch.x).output)[:, -1, 0]
    return float(np.mean((answer - batch.targets[:, -1, 0]) ** 2) / (1 / 6))


def number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def claim_of(quantity, unit, steps, stat, value, digits=2, **limits) -> dict:
    """A number the note quotes, and how it is measured on the trace (see examples.py)."""
    found = {"quantity": quantity, "unit": unit, "steps": steps, "stat": stat, "value": float(value), "digits": digits}
    return found | limits


def adding() -> None:
    """The built-in demo (resources/demo, made by make_demo.py), explained as a walk: the
    first mark written, held between the marks, the second added, the sum read out."""
    from lstm_viz.io import load_model, load_sequence
    from lstm_viz.workbench.loading import OpenRequest
    from lstm_viz.workbench.workbench import Workbench

    demo = HERE.parent / "demo"
    model = load_model(demo / "adding_model.npz")
    sequence = load_sequence(demo / "adding_sequence.json")
    trace = model.run(sequence.values)
    lt = trace.layers[0]
    x = sequence.values[0]
    marked = x[:, 1] > 0.5
    write_gate = lt.input[0]
    contrast = write_gate[marked].mean(axis=0) - write_gate[~marked].mean(axis=0)
    unit = int(np.argmax(contrast))
    first, second = (int(t) for t in np.flatnonzero(marked))
    last = len(x) - 1
    keep, write_, cell = lt.forget[0, :, unit], write_gate[:, unit], lt.cell[0, :, unit]
    between = slice(first + 1, second)
    low, high = model.metadata["training"]["lengths"]
    longer = 4 * low
    error = fresh_error(model, longer, 2000, seed=longer)
    answer = float(model.readout.logits(trace.output)[0, last, 0])
    total = float(x[marked, 0].sum())
    core = Workbench()
    core.open(
        OpenRequest(sequence_path=str(demo / "adding_sequence.json"), model_path=str(demo / "adding_model.npz"))
    ).now()
    found, _ = core.analyze(
        "attribution", {"target": "prediction", "step": last, "method": "integrated_gradients"}
    ).now()
    size = np.abs(found.per_step)
    share = float(size[marked].sum() / size.sum())
    span = f"{first + 1}:{second}"  # the steps strictly between the marks

    walk = [
        {
            "step": 0,
            "select": [unit],
            "text": (
                "An LSTM of 12 units trained to add the two values marked with * and give their sum at the last "
                f"step, on sequences of {low} to {high} steps. On 2,000 fresh sequences of {longer} steps (four times "
                f"the shortest it was trained on) its squared error is {100 * error:.1f}% of that of always answering "
                f"the mean sum. <b>Unit {unit} holds the marked values</b>: it is selected. Page Down (or Next) "
                "follows it through the sequence."
            ),
            "claims": [
                {
                    "kind": "fresh_error",
                    "length": longer,
                    "sequences": 2000,
                    "seed": longer,
                    "value": error,
                    "digits": 1,
                    "percent": True,
                    "at_most": 0.05,
                }
            ],
        },
        {
            "step": first,
            "select": [unit],
            "text": (
                f"t = {first}, the first mark ({sequence.labels[first]}): unit {unit}'s write gate opens to "
                f"{number(write_[first])} and its keep gate falls to {number(keep[first])}, so little of the old "
                f"memory is kept and the marked value goes in: the cell goes from {number(cell[first - 1])} to "
                f"{number(cell[first])}."
            ),
            "claims": [
                claim_of("input", unit, [first], "value", write_[first], at_least=0.9),
                claim_of("forget", unit, [first], "value", keep[first], at_most=0.5),
                claim_of("cell", unit, [first - 1], "value", cell[first - 1]),
                claim_of("cell", unit, [first], "value", cell[first]),
            ],
        },
        {
            "step": (first + second) // 2,
            "select": [unit],
            "text": (
                f"Between the marks (t = {first + 1} to {second - 1}) the keep gate of unit {unit} stays near 1: it "
                f"averages {number(keep[between].mean(), 3)} and never falls below {number(keep[between].min(), 3)}, "
                f"while its write gate stays below 0.01. The memory holds: in {second - first - 1} steps the cell "
                f"only drifts from {number(cell[first])} to {number(cell[second - 1])}."
            ),
            "claims": [
                claim_of("forget", unit, span, "mean", keep[between].mean(), 3, at_least=0.99),
                claim_of("forget", unit, span, "min", keep[between].min(), 3, at_least=0.95),
                claim_of("input", unit, span, "max", write_[between].max(), 3, at_most=0.01, shown=False),
                claim_of("cell", unit, [first], "value", cell[first]),
                claim_of("cell", unit, [second - 1], "value", cell[second - 1]),
            ],
        },
        {
            "step": second,
            "select": [unit],
            "text": (
                f"t = {second}, the second mark ({sequence.labels[second]}): the write gate opens again, to "
                f"{number(write_[second])}, while the keep gate stays at {number(keep[second])}: the second value is "
                f"added to the first, and the cell goes from {number(cell[second - 1])} to {number(cell[second])}."
            ),
            "claims": [
                claim_of("input", unit, [second], "value", write_[second], at_least=0.5),
                claim_of("forget", unit, [second], "value", keep[second], at_least=0.9),
                claim_of("cell", unit, [second - 1], "value", cell[second - 1]),
                claim_of("cell", unit, [second], "value", cell[second]),
            ],
        },
        {
            "step": last,
            "select": [unit],
            "text": (
                f"t = {last}, the last step: the cell still holds {number(cell[last])}, and the readout answers "
                f"{number(answer, 3)}; the true sum is {number(total, 3)}. The answer rests on the marks: integrated "
                f"gradients of it (the Attribution tab, at t = {last}) put {100 * share:.0f}% of their size on the "
                "two marked steps."
            ),
            "claims": [
                claim_of("cell", unit, [last], "value", cell[last]),
                {"kind": "prediction", "step": last, "value": answer, "digits": 3},
                {"kind": "target", "value": total, "digits": 3},
                {
                    "kind": "attribution_share",
                    "step": last,
                    "value": share,
                    "digits": 0,
                    "percent": True,
                    "at_least": 0.6,
                },
            ],
        },
    ]
    folder = HERE / "adding"
    folder.mkdir(parents=True, exist_ok=True)
    info = {
        "model": "../../demo/adding_model.npz",
        "sequence": "../../demo/adding_sequence.json",
        "title": "The adding problem (the built-in demo)",
        "note": walk[0]["text"],
        "select": [unit],
        "step": 0,
        "claim": {
            "unit": unit,
            "quantity": "input",
            "against": "marked steps",
            "contrast": round(float(contrast[unit]), 4),
            "threshold": 0.3,
        },
        "walk": walk,
    }
    (folder / "example.json").write_text(json.dumps(info, indent=1, ensure_ascii=False), encoding="utf-8")
    for note in walk:
        print(f"t = {note['step']}: {note['text']}")


def main(argv=None) -> None:
    import sys

    global NOTES_ONLY
    args = list(argv if argv is not None else sys.argv[1:])
    NOTES_ONLY = "--notes" in args
    wanted = [a for a in args if a != "--notes"] or ["adding", "brackets", "sine", "text"]
    for name in wanted:  # e.g. "python resources/make_examples.py adding" for the demo's notes only
        {"adding": adding, "brackets": brackets, "sine": sine, "text": text}[name]()


if __name__ == "__main__":
    main()
