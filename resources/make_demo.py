"""Rebuild the built-in demo: an LSTM trained on the adding problem and an example sequence.

    python resources/make_demo.py

The model is trained by lstm-viz's own trainer (seeded, so the result is reproducible);
the sequence is one draw of the task, saved as JSON with a label for every step
("0.53*" marks the values to add).
"""

from __future__ import annotations

import json
from pathlib import Path

from lstm_viz.engine import LSTM
from lstm_viz.engine.tasks import get_task
from lstm_viz.engine.train import train
from lstm_viz.io import save_model

HERE = Path(__file__).resolve().parent / "demo"


def main() -> None:
    HERE.mkdir(exist_ok=True)
    task = get_task("adding", 30)
    model = LSTM.random(task.input_size, [12], seed=0)
    result = train(model, task, steps=5000, lr=5e-3, seed=0)
    model.metadata["demo"] = "adding"
    save_model(model, HERE / "adding_model.npz")
    example = task.example(seed=7)
    sequence = {
        "values": example.x.tolist(),
        "labels": example.labels,
        "features": task.feature_names,
    }
    (HERE / "adding_sequence.json").write_text(json.dumps(sequence, indent=1), encoding="utf-8")
    print(f"final training loss {result.final_loss:.5f}; target sum {float(example.targets[-1, 0]):.3f}")


if __name__ == "__main__":
    main()
