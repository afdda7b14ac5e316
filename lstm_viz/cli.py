"""The ``lstm-viz`` command: the window by default, headless sub-commands.

lstm-viz [SEQUENCE] [--model MODEL | --random 32,32 --seed 0]   open the window
lstm-viz trace SEQUENCE (--model MODEL | --random H1,H2) -o trace.npz
lstm-viz train --task NAME -o model.npz
lstm-viz tasks
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

import numpy as np

from lstm_viz.errors import Cancelled, InputError, LstmVizError

SUBCOMMANDS = ("trace", "train", "tasks")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 32,32, got {text!r}") from None
    if not sizes or any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers, got {text!r}")
    return sizes


def _memory_size(text: str) -> int:
    from lstm_viz.limits import parse_size

    try:
        return parse_size(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@contextlib.contextmanager
def _interrupt_flag():
    """An event set by Ctrl-C while the block runs, so long work stops cleanly."""
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping (press Ctrl-C again to abort at once)...", file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def trace_command(args) -> int:
    from tqdm import tqdm

    from lstm_viz.engine import LSTM
    from lstm_viz.io import load_model, load_sequence

    model = None
    if args.model:
        model = load_model(
            args.model,
            prefix=args.prefix,
            forget_bias=args.forget_bias,
            cell_clip=args.cell_clip,
            proj_clip=args.proj_clip,
        )
    metadata = model.metadata if model is not None else {}
    normalize = args.normalize or metadata.get("normalization") or "none"
    sequence = load_sequence(
        args.sequence,
        normalize=normalize,
        fill=args.fill,
        text_mode="words" if args.words else "chars",
        vocabulary=metadata.get("vocabulary"),
    )
    if model is not None:
        source = args.model
    else:
        model = LSTM.random(sequence.width, args.random, seed=args.seed)
        source = f"random {','.join(map(str, args.random))} seed {args.seed}"
    if sequence.width != model.input_size:
        raise InputError(
            f"{args.sequence} has {sequence.width} features per step but the model ({source}) expects "
            f"{model.input_size}; pick a model made for this data or use --random"
        )
    total = sequence.length * len(model.all_layers())
    with (
        _interrupt_flag() as stop,
        tqdm(total=total, unit="step", unit_scale=True, desc="recording", disable=args.quiet) as bar,
    ):

        def progress(done, total):
            bar.n = done
            bar.refresh()

        trace = model.run(
            sequence.values,
            dtype=np.float64 if args.float64 else np.float32,
            progress=progress,
            cancel=stop.is_set,
        )
    trace.meta.update(
        sequence=str(args.sequence),
        model_source=source,
        encoding=sequence.encoding,
        feature_names=sequence.feature_names,
        labels=sequence.labels[:100_000],
        lengths=sequence.lengths.tolist(),
        normalization=sequence.normalization,
    )
    trace.save(args.output)
    if not args.quiet:
        sizes = ", ".join(str(h) for h in model.hidden_sizes)
        print(
            f"wrote {args.output}: {trace.batch_size} x {trace.length} steps, layers of {sizes} units "
            f"({trace.nbytes / 2**20:.1f} MiB)"
        )
    return 0


def train_command(args) -> int:
    from tqdm import tqdm

    from lstm_viz.engine import LSTM
    from lstm_viz.engine.tasks import get_task
    from lstm_viz.engine.train import train
    from lstm_viz.io import save_model

    task = get_task(args.task, args.length)
    model = LSTM.random(task.input_size, args.hidden, seed=args.seed)
    with (
        _interrupt_flag() as stop,
        tqdm(total=args.steps, unit="step", desc=f"training {task.name}", disable=args.quiet) as bar,
    ):

        def callback(p):
            bar.update(1)
            if p.step % 10 == 0 or p.step == p.steps:
                bar.set_postfix(loss=f"{p.loss:.4f}")

        result = train(
            model,
            task,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            clip=args.clip,
            seed=args.seed,
            callback=callback,
            cancel=stop.is_set,
        )
    save_model(model, args.output)
    if not args.quiet:
        state = "stopped early, " if result.cancelled else ""
        print(f"wrote {args.output}: {state}{result.steps_done} steps, final loss {result.final_loss:.4g}")
    return 0


def tasks_command(args) -> int:
    from lstm_viz.engine.tasks import DEFAULT_LENGTHS, TASKS

    for name, cls in TASKS.items():
        print(f"{name:10s} {cls.description} (default length {DEFAULT_LENGTHS[name]})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-viz", description="See inside an LSTM, one step at a time.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("trace", help="record every gate and state of a model on a sequence")
    p.add_argument("sequence", help="sequence file: .npy/.npz, CSV/TSV, JSON, text or FASTA")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model", help="model: native .npz, PyTorch .pt/.safetensors, Keras .keras/.h5, ONNX, TF1 checkpoint"
    )
    source.add_argument("--random", type=_sizes, metavar="H1,H2,...", help="a random LSTM with these layer sizes")
    p.add_argument("--seed", type=int, default=0, help="seed of the random model (default 0)")
    p.add_argument("--prefix", help="which nn.LSTM of a PyTorch file to use, e.g. encoder.rnn.")
    p.add_argument(
        "--forget-bias", type=float, default=1.0, help="TF1 checkpoints: the cells' forget_bias (default 1.0)"
    )
    p.add_argument("--cell-clip", type=float, help="TF1 checkpoints: the cells' cell_clip")
    p.add_argument("--proj-clip", type=float, help="TF1 checkpoints: the cells' proj_clip")
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")
    p.add_argument(
        "--normalize", choices=["none", "zscore", "minmax"], help="scale the features (default: the model's)"
    )
    p.add_argument("--fill", choices=["previous", "zero", "mean"], help="fill missing table values instead of refusing")
    p.add_argument("--words", action="store_true", help="read a text file as words instead of characters")
    p.add_argument(
        "--float64", action="store_true", help="compute in float64 (stored as float32 input + float64 states)"
    )
    p.add_argument(
        "--max-memory",
        type=_memory_size,
        metavar="SIZE",
        help="largest memory a file, sequence or trace may take, e.g. 16G (default 4G or LSTM_VIZ_MAX_MEMORY)",
    )
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=trace_command)

    p = sub.add_parser("train", help="train an LSTM on a built-in task and save it")
    p.add_argument("--task", required=True, help="adding, brackets, sine or text (see 'lstm-viz tasks')")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.add_argument("--hidden", type=_sizes, default=[16], metavar="H1,H2,...", help="layer sizes (default 16)")
    p.add_argument("--steps", type=int, default=800, help="training updates (default 800)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 0.01)")
    p.add_argument("--clip", type=float, default=1.0, help="gradient clipping by global norm (default 1.0)")
    p.add_argument("--length", type=int, default=None, help="sequence length (default: the task's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=train_command)

    p = sub.add_parser("tasks", help="list the built-in training tasks")
    p.set_defaults(func=tasks_command)
    return parser


def gui_main(argv: list[str]) -> int:
    try:
        from lstm_viz.ui.app import main as app_main
    except ImportError as exc:
        if "lstm_viz.ui.app" not in str(exc):
            raise
        print(
            "lstm-viz: the window is not part of this build yet; the headless commands are "
            f"{', '.join(SUBCOMMANDS)} (see 'lstm-viz trace --help')",
            file=sys.stderr,
        )
        return 2
    return app_main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in (*SUBCOMMANDS, "-h", "--help"):
        return gui_main(argv)
    from lstm_viz import limits

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with limits.using(getattr(args, "max_memory", None)):
            return args.func(args)
    except Cancelled:
        print("lstm-viz: stopped", file=sys.stderr)
        return 130
    except LstmVizError as exc:
        print(f"lstm-viz: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lstm-viz: error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except MemoryError:
        files = " and ".join(str(f) for f in (getattr(args, "model", None), getattr(args, "sequence", None)) if f)
        print(
            f"lstm-viz: error: {files or 'the input'}: not enough memory to read or run it; "
            "lower the memory limit (--max-memory) so that such inputs are refused up front",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
