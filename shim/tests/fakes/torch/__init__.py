"""Fake torch for shim tests: what the shim patches, on an H100. Importing it imports pynvml
mid-load, as real libraries on top of torch do. torch.compile is wired as in torch 2.x: Dynamo's
frame evaluation (torch._dynamo.eval_frame) around Inductor (torch._inductor), which compiles
kernels with Triton (the fake `triton` package next to this one) for the capability it reads."""
import os
import subprocess

import pynvml  # noqa: F401

from . import backends, cuda, version  # noqa: F401

__version__ = "0.0-fake"

uint8 = "uint8"


class device:
    def __init__(self, type, index=None):
        if ":" in type:
            type, index = type.split(":")[0], int(type.split(":")[1])
        self.type, self.index = type, index


def compile(model):
    from torch._dynamo.eval_frame import optimize
    return optimize(model)


def empty(size, dtype=None, device=None):
    if device == "cuda":
        cuda._allocate(size)
    return Tensor(size, dtype)

# A device with a clock: each operation advances it by work / rate, so CUDA events measure
# exactly the rates below (TFLOPS for matmul by dtype, GB/s for copies).
float32, float16, bfloat16 = "float32", "float16", "bfloat16"
RATES = {"float32": 50e12, "tf32": 400e12, "float16": 800e12, "bfloat16": 800e12}
COPY_BYTES_PER_S = 3e12
BOOST_MHZ = 1980


def _clock_scale():
    """With FAKE_TORCH_CLOCK_FROM_SMI=1 (cosplay containers in the extension's tests), matmul rates follow
    the graphics clock `nvidia-smi` reports against the H100's boost clock, as a locked clock slows a GPU."""
    if os.environ.get("FAKE_TORCH_CLOCK_FROM_SMI") != "1":
        return 1.0
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=clocks.sm", "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=30).stdout
        return float(out.split()[0]) / BOOST_MHZ
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return 1.0


_SCALE = _clock_scale()


class Tensor:
    def __init__(self, n, dtype, shape=None):
        self.n, self.dtype = n, dtype
        self.shape = tuple(shape) if shape else (n, n)

    def copy_(self, other):
        cuda._clock_ms += 2 * other.n / COPY_BYTES_PER_S * 1e3
        return self


def randn(*shape, device=None, dtype=None):
    return Tensor(shape[0], dtype, shape)


def matmul(a, b):
    rate = RATES["tf32"] if a.dtype == "float32" and backends.cuda.matmul.allow_tf32 else RATES[a.dtype]
    (m, k), n = a.shape, b.shape[1]
    cuda._clock_ms += 2 * m * n * k / (rate * _SCALE) * 1e3
    return Tensor(m, a.dtype, (m, n))


def empty_like(tensor):
    return Tensor(tensor.n, tensor.dtype)


if os.environ.get("FAKE_TORCH_NO_CUDA_ATTRIBUTE") == "1":  # a torch the shim cannot patch at all
    del cuda
