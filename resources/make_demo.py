"""Rebuild the built-in demo: an LSTM trained on the adding problem and an example sequence.

    python resources/make_demo.py

The model is trained by lstm-viz's own trainer (seeded, so the result is reproducible) on
sequences of 20 to 60 steps, a length drawn for each batch: trained on one length, it
learnt a decay tuned to that length (2.6 times worse than predicting the mean at twice
its length); on many lengths it holds the marked values (its keep gate stays near 1
between the marks) and adds them on sequences longer than any it saw. The sequence is one
draw of the task at 30 steps, saved as JSON with a label for every step ("0.53*" marks
the values to add). resources/make_examples.py then writes the guide's notes.
"""

from __future__ import annotations

import json
from pathlib import Path

from lstm_viz.engine import LSTM
from lstm_viz.engine.tasks import get_task
from lstm_viz.engine.train import train
from lstm_viz.io import save_model

HERE = Path(__file__).resolve().parent / "demo"
MIN_LENGTH, MAX_LENGTH = 20, 60  # the lengths trained on (one drawn for each batch)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    task = get_task("adding", MAX_LENGTH, min_length=MIN_LENGTH)
    model = LSTM.random(task.input_size, [12], seed=1)
    result = train(model, task, steps=8000, lr=5e-3, seed=1)
    model.metadata["demo"] = "adding"
    model.metadata["training"]["lengths"] = [MIN_LENGTH, MAX_LENGTH]
    save_model(model, HERE / "adding_model.npz")
    example = get_task("adding", 30).example(seed=7)
    sequence = {
        "values": example.x.tolist(),
        "labels": example.labels,
        "features": task.feature_names,
    }
    (HERE / "adding_sequence.json").write_text(json.dumps(sequence, indent=1), encoding="utf-8")
    target = get_task("adding", 30).example(seed=7).targets[-1, 0]
    print(f"final training loss {result.final_loss:.5f}; target sum {float(target):.3f}")


if __name__ == "__main__":
    main()
