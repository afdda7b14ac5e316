"""How a sequence and a model are read: plain data, the same for the window and the command line.

Every option ``lstm-viz trace`` has for reading sequences and models lives here, so the
window offers the same ones and a session file can record them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from lstm_viz.errors import InputError
from lstm_viz.io.sequences import NORMALIZATIONS  # noqa: E402 - one definition, in the loaders
from lstm_viz.io.tables import FILLS  # noqa: E402

TEXT_MODES = ("chars", "words")


class PlainData:
    """Options that are plain data: ``to_dict`` and ``from_dict`` round-trip through JSON."""

    what = "options"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InputError(f"{cls.what} must be a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"{cls.what} has unknown options: {', '.join(unknown)}")
        return cls(**data)


@dataclass
class SequenceOptions(PlainData):
    """``normalize``: none, zscore, minmax, or None for the model's own recorded scale.
    ``fill``: how to fill missing table values (None refuses them with line and column).
    ``text_mode``: a text file as characters or words. ``table``: column roles and other
    table choices (see :mod:`lstm_viz.io.tables`), as a plain dict."""

    what = "sequence options"

    normalize: str | None = None
    fill: str | None = None
    text_mode: str = "chars"
    table: dict | None = None

    def __post_init__(self):
        if self.normalize not in (None, *NORMALIZATIONS):
            raise InputError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}")
        if self.fill not in (None, *FILLS):
            raise InputError(f"fill must be one of {', '.join(FILLS)}, got {self.fill!r}")
        if self.text_mode not in TEXT_MODES:
            raise InputError(f"text_mode must be one of {', '.join(TEXT_MODES)}, got {self.text_mode!r}")

    def with_table(self, table: dict) -> SequenceOptions:
        """These options with a table import step's choices: its column roles always, its missing
        values and normalisation where these options leave them open (the command line's
        ``--fill`` and ``--normalize`` win)."""
        from dataclasses import replace

        fill = self.fill or table.get("fill")
        normalize = self.normalize
        if normalize is None and table.get("normalize") not in (None, "none"):
            normalize = table["normalize"]
        return replace(self, table=dict(table), fill=fill, normalize=normalize)


@dataclass
class ModelOptions(PlainData):
    """``prefix``: which nn.LSTM of a PyTorch file. TensorFlow 1 checkpoints do not store
    ``forget_bias`` (TensorFlow's default 1.0), ``cell_clip`` or ``proj_clip``."""

    prefix: str | None = None
    forget_bias: float = 1.0
    cell_clip: float | None = None
    proj_clip: float | None = None

    def loader_options(self) -> dict:
        return asdict(self)


@dataclass
class RandomSpec(PlainData):
    """A random LSTM with these layer sizes, sized to the sequence it is opened with."""

    sizes: list[int] = field(default_factory=lambda: [32])
    seed: int = 0

    MAX_UNITS = 4096
    what = "random model"

    def __post_init__(self):
        self.sizes = [int(s) for s in self.sizes]
        if not self.sizes or any(s <= 0 or s > self.MAX_UNITS for s in self.sizes):
            raise InputError(
                f"layer sizes {self.sizes}: give positive whole numbers up to {self.MAX_UNITS}, one per layer"
            )
        self.seed = int(self.seed)

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> RandomSpec:
        """``"32,16"`` -> two layers of 32 and 16 units."""
        try:
            sizes = [int(part) for part in str(text).replace(" ", "").split(",") if part]
        except ValueError:
            sizes = []
        if not sizes:
            raise InputError(f"layer sizes {text!r}: give positive whole numbers, one per layer, such as 32,16")
        return cls(sizes, seed)

    def describe(self) -> str:
        return f"random model {','.join(map(str, self.sizes))} (seed {self.seed})"
