"""The ``lstm-viz`` command: the window by default, headless sub-commands.

It parses the command line and calls the application core (:mod:`lstm_viz.workbench`)
or the window (:mod:`lstm_viz.ui.app`); nothing imports it.

lstm-viz [SEQUENCE] [--model MODEL | --random 32,32 --seed 0] [options]   open the window
lstm-viz trace SEQUENCE (--model MODEL | --random H1,H2) -o trace.npz
lstm-viz train --task NAME -o model.npz
lstm-viz tasks
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

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


def open_request(args):
    """The OpenRequest that the reading options on the command line describe (window and trace)."""
    from lstm_viz.io.tables import table_options_from_args
    from lstm_viz.workbench import ModelOptions, OpenRequest, RandomSpec, SequenceOptions

    table = table_options_from_args(args)
    return OpenRequest(
        sequence_path=getattr(args, "sequence", None),
        model_path=args.model,
        random=RandomSpec(args.random, args.seed) if args.random else None,
        sequence_options=SequenceOptions(
            normalize=args.normalize,
            fill=args.fill,
            text_mode="words" if args.words else "chars",
            table={"roles": dict(table.roles)} if table.roles else None,
        ),
        model_options=ModelOptions(
            prefix=args.prefix, forget_bias=args.forget_bias, cell_clip=args.cell_clip, proj_clip=args.proj_clip
        ),
        dtype="float64" if getattr(args, "float64", False) else "float32",
        store_dtype="float16" if getattr(args, "float16", False) else None,
    )


def trace_command(args) -> int:
    from tqdm import tqdm

    from lstm_viz.workbench import load, trace_meta
    from lstm_viz.workbench.why import readout_arrays, targets_for

    request = open_request(args)
    bars = []  # made at the first progress report, once the files are read
    with _interrupt_flag() as stop:

        def progress(done, total):
            if not bars:
                bars.append(tqdm(total=total, unit="step", unit_scale=True, desc="recording", disable=args.quiet))
            bars[0].n = done
            bars[0].refresh()

        try:
            loaded = load(request, None, progress, stop.is_set)
        finally:
            for bar in bars:
                bar.close()
    trace, model = loaded.trace, loaded.model
    trace.meta.update(trace_meta(loaded))
    extra, meta = readout_arrays(model, trace, targets_for(model, loaded.sequence, trace.x))
    trace.meta.update(meta)
    for note in loaded.notes:
        print(f"lstm-viz: note: {note}", file=sys.stderr)
    ext = os.path.splitext(args.output)[1].lower()
    if ext in (".csv", ".parquet"):  # a table: a row per step, a column per layer, quantity and unit
        from lstm_viz.workbench.data_out import write_trace_table

        with _interrupt_flag() as stop:
            write_trace_table(
                args.output, trace, loaded.sequence, extra.get("prediction"), extra.get("loss"), cancel=stop.is_set
            )
    elif os.path.isdir(args.output) or ext == "":  # a folder: LSTMVis's project files
        from lstm_viz.workbench.data_out import write_lstmvis

        write_lstmvis(args.output, trace, loaded.sequence, name=os.path.basename(os.path.normpath(args.output)))
    else:
        trace.save(args.output, extra)
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


def add_reading_options(p: argparse.ArgumentParser, window: bool = False) -> None:
    """The options for reading a sequence and a model: the same for the window and ``trace``."""
    from lstm_viz.io.formats import describe
    from lstm_viz.io.tables import add_table_arguments
    from lstm_viz.workbench.options import FILLS, NORMALIZATIONS

    if window:
        p.add_argument(
            "sequence",
            nargs="?",
            help="sequence file (the built-in demo opens when omitted), or a saved session (.lvz): "
            + describe("sequence"),
        )
    else:
        p.add_argument("sequence", help="sequence file: " + describe("sequence"))
    source = p.add_mutually_exclusive_group(required=not window)
    source.add_argument("--model", help="model file: " + describe("model"))
    source.add_argument("--random", type=_sizes, metavar="H1,H2,...", help="a random LSTM with these layer sizes")
    p.add_argument("--seed", type=int, default=0, help="seed of the random model (default 0)")
    p.add_argument("--prefix", help="which nn.LSTM of a PyTorch file to use, e.g. encoder.rnn.")
    p.add_argument(
        "--forget-bias", type=float, default=1.0, help="TF1 checkpoints: the cells' forget_bias (default 1.0)"
    )
    p.add_argument("--cell-clip", type=float, help="TF1 checkpoints: the cells' cell_clip")
    p.add_argument("--proj-clip", type=float, help="TF1 checkpoints: the cells' proj_clip")
    p.add_argument("--normalize", choices=NORMALIZATIONS, help="scale the features (default: the model's)")
    p.add_argument("--fill", choices=FILLS, help="fill (or drop) missing table values instead of refusing")
    p.add_argument("--words", action="store_true", help="read a text file as words instead of characters")
    add_table_arguments(p, fill=False)
    p.add_argument(
        "--max-memory",
        type=_memory_size,
        metavar="SIZE",
        help="memory budget, e.g. 16G (default 4G or LSTM_VIZ_MAX_MEMORY): a trace larger than this is recorded "
        "to a temporary file on disk; a file or sequence larger is refused",
    )
    p.add_argument(
        "--float16",
        action="store_true",
        help="store the recorded trace in half precision: half the memory, values kept to about 3 significant "
        "digits (the equations panel recomputes its step exactly)",
    )


def window_parser() -> argparse.ArgumentParser:
    """``lstm-viz [FILE] [options]``: the window."""
    parser = argparse.ArgumentParser(
        prog="lstm-viz",
        description="See inside an LSTM, one step at a time. With no FILE the window opens on a built-in demo.",
        epilog="Commands without a window: 'lstm-viz trace' records a trace file, 'lstm-viz train' trains a "
        "model on a built-in task, 'lstm-viz tasks' lists the tasks; add --help to any of them.",
    )
    add_reading_options(parser, window=True)
    parser.add_argument(
        "--example",
        metavar="NAME",
        help="open an example of the Examples menu: tutorial_cell, tutorial_stack, adding, brackets, sine, text",
    )
    parser.add_argument("--select", default="", metavar="UNITS", help="select these units, e.g. 3,5")
    parser.add_argument(
        "--screenshot",
        metavar="FILE",
        help="render the window (or --panel) to this picture and exit: .png, .jpg, or .svg and .pdf as vectors",
    )
    parser.add_argument(
        "--video",
        metavar="FILE",
        help="write a video of a range of steps (--steps), one frame a step, and exit: .mp4 or .gif "
        "(needs the extra: pip install 'lstm-viz[video]')",
    )
    parser.add_argument(
        "--steps", metavar="FIRST:LAST", help="the steps of --video, both included (default: the whole sequence)"
    )
    parser.add_argument("--fps", type=float, default=10.0, help="frames a second of --video (default 10)")
    parser.add_argument(
        "--panel", metavar="NAME", help="picture one panel, e.g. gates or heatmaps (with --screenshot or --video)"
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="pixels per window pixel of a PNG, e.g. 2 or 4 for print (default 1)"
    )
    parser.add_argument("--step", type=int, default=None, help="step to show (with --screenshot)")
    parser.add_argument(
        "--caption",
        action="store_true",
        help="put the panel's title, the step and the selected units above a --panel picture",
    )
    parser.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    parser.add_argument(
        "--raise",
        dest="raise_panels",
        default="",
        metavar="PANELS",
        help="bring these panels to the front of their tabs, e.g. diagram,equations (with --screenshot)",
    )
    parser.add_argument("--fresh-layout", action="store_true", help="ignore the saved window layout")
    parser.add_argument(
        "--install-desktop",
        action="store_true",
        help="add lstm-viz with its icon to the desktop's application menu (for this user) and exit",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-viz", description="See inside an LSTM, one step at a time.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("trace", help="record every gate and state of a model on a sequence")
    add_reading_options(p)
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="trace file to write: .npz (lstm-viz's own), .csv or .parquet (a table), "
        "or a folder (LSTMVis's project files)",
    )
    p.add_argument(
        "--float64", action="store_true", help="compute in float64 (stored as float32 input + float64 states)"
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
    from lstm_viz import limits

    args = window_parser().parse_args(argv)
    if args.install_desktop:
        from lstm_viz.desktop import install_desktop_entry

        for path in install_desktop_entry():
            print(f"wrote {path}")
        return 0
    session = args.sequence if args.sequence and args.sequence.lower().endswith(".lvz") else None
    if session is not None:
        args.sequence = None  # a session file names its own files and options
    args.session = session
    try:
        request = open_request(args) if (args.sequence or args.model or args.random) else None
    except LstmVizError as exc:
        print(f"lstm-viz: error: {exc}", file=sys.stderr)
        return 2
    from lstm_viz.ui.app import main as app_main

    with limits.using(args.max_memory):
        return app_main(args, request)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in SUBCOMMANDS:
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
        from lstm_viz.workbench import WidthMismatch

        advice = ""
        if isinstance(exc, WidthMismatch):
            advice = " (on the command line: --random H1,H2,... instead of --model)"
        print(f"lstm-viz: error: {exc}{advice}", file=sys.stderr)
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
