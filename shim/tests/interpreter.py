"""Runs code in a fresh interpreter with the shim (and chosen fakes) on PYTHONPATH, as a cosplay container's
Python starts; returns the JSON its last stdout line holds and its stderr."""
import json
import os
import subprocess
import sys
import textwrap

SHIM = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FAKES = os.path.join(SHIM, "tests", "fakes")
PYNVML11 = os.path.join(FAKES, "pynvml11")
GIB = 1024 ** 3
RTX3090 = {"GPUDEV_TARGET": "rtx3090", "GPUDEV_TARGET_NAME": "NVIDIA GeForce RTX 3090", "GPUDEV_VRAM_BYTES": str(24 * GIB),
           "GPUDEV_SM_COUNT": "82", "GPUDEV_COMPUTE_CAP": "8.6", "GPUDEV_TDP_W": "350", "GPUDEV_TENSOR": "bf16,fp16,tf32",
           "GPUDEV_ECC": "0", "GPUDEV_MIG_CAPABLE": "0"}


def run_python(code, env=None, path=(SHIM, FAKES), executable=sys.executable):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GPUDEV_", "FAKE_"))}
    done = subprocess.run([executable, "-c", textwrap.dedent(code)], env=dict(clean, PYTHONPATH=os.pathsep.join(path), **(env or {})),
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr
