"""Fake pynvml 11.x layout: a package whose __init__ star-imports pynvml.nvml (put pynvml11/ on the path)."""
from .nvml import *  # noqa: F401,F403
