"""Fake nvidia-ml-py (12.x/13.x layout): one top-level pynvml module holding the NVML functions."""
from fake_nvml import *  # noqa: F401,F403
from fake_nvml import _calls  # noqa: F401
