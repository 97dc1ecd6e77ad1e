"""Fake torch for shim tests: what the shim patches, on an H100. Importing it imports pynvml
mid-load, as real libraries on top of torch do."""
import pynvml  # noqa: F401

from . import backends, cuda  # noqa: F401

__version__ = "0.0-fake"

uint8 = "uint8"


def empty(size, dtype=None, device=None):
    if device == "cuda":
        return cuda._allocate(size)
    return [0] * 0
