import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


# Property-based tests replay the same examples on every run, so CI cannot flake.
from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.load_profile("repeatable")


def mutated(data: bytes, position: int, value: int, cut: bool) -> bytes:
    """``data`` with one byte replaced, or cut short there (for property-based tests)."""
    buffer = bytearray(data)
    index = position % len(buffer)
    if cut:
        return bytes(buffer[:index])
    buffer[index] = value
    return bytes(buffer)


def point_external_data(model, location: str) -> None:
    """Make every external tensor of an ONNX ``model`` say its data is at ``location``."""
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
