"""As pynvml 11.x's pynvml/nvml.py: the NVML functions."""
from fake_nvml import *  # noqa: F401,F403
