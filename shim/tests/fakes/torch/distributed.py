"""Fake torch.distributed for bench tests: an all-reduce advances the CUDA clock as a ring at
FAKE_BUS_GBS of bus bandwidth would (busbw = algbw × 2(n-1)/n); FAKE_TORCH_NO_NCCL=1 takes NCCL away."""
import os

from . import cuda

BUS_BYTES_PER_S = float(os.environ.get("FAKE_BUS_GBS", "400")) * 1e9
_ELEMENT_BYTES = {"float32": 4, "uint8": 1}
_world = {}


def is_available():
    return True


def is_nccl_available():
    return os.environ.get("FAKE_TORCH_NO_NCCL") != "1"


def init_process_group(backend, rank=None, world_size=None, **_):
    assert backend == "nccl" and os.environ.get("MASTER_ADDR") and os.environ.get("MASTER_PORT")
    _world.update(rank=rank, size=world_size)


def all_reduce(tensor):
    n = _world["size"]
    cuda._clock_ms += tensor.n * _ELEMENT_BYTES[tensor.dtype] * 2 * (n - 1) / n / BUS_BYTES_PER_S * 1e3


def destroy_process_group():
    _world.clear()
