"""The arithmetic of bench.py, apart from torch: GEMM shapes, rates, medians, the best of a sweep, and
all-reduce bus bandwidth."""
import re
from typing import List, Optional, Sequence, Tuple

from .target import Target

GEMM_PRECISIONS = (("fp32", "float32", 4), ("tf32", "float32", 4), ("fp16", "float16", 2), ("bf16", "bfloat16", 2))

Shape = Tuple[int, int, int]

# mamf-finder style (stas00/ml-engineering, compute/accelerator/benchmarks/mamf-finder.py): a few square
# M=N=K sizes and the non-square shapes that were best on A100 SXM (1024x10240x5120) and H100 SXM
# (2048x2048x13312), as M, N, K; the bench keeps the best.
SQUARE_SIDES = (2048, 4096, 6144, 8192)
NON_SQUARE = ((1024, 10240, 5120), (2048, 2048, 13312), (4096, 4096, 16384))


def gemm_bytes(shape: Shape, element_bytes: int) -> int:
    """A (M×K), B (K×N) and C (M×N)."""
    m, n, k = shape
    return (m * k + k * n + m * n) * element_bytes


def gemm_size(target: Target, element_bytes: int, share: float = 0.25, largest: int = 8192) -> int:
    """Square GEMM side: three n×n matrices in at most `share` of the target's memory, a multiple of 256."""
    n = int((share * target.vram_bytes / (3 * element_bytes)) ** 0.5)
    return max(256, min(largest, n - n % 256))


def gemm_shapes(target: Target, element_bytes: int, share: float = 0.25) -> List[Shape]:
    """The sweep's shapes whose three matrices fit in `share` of the target's memory; at least the
    largest square one that fits."""
    budget = share * target.vram_bytes
    candidates = [(s, s, s) for s in SQUARE_SIDES] + list(NON_SQUARE)
    fitting = [shape for shape in candidates if gemm_bytes(shape, element_bytes) <= budget]
    if fitting:
        return fitting
    side = gemm_size(target, element_bytes, share)
    return [(side, side, side)]


def copy_bytes(target: Target, share: float = 0.25, largest: int = 2 * 1024 ** 3) -> int:
    """Bytes per device-to-device copy: source and destination in at most `share` of the target's memory."""
    size = min(largest, int(share * target.vram_bytes / 2))
    return size - size % (1024 * 1024)


def allreduce_bytes(target: Target, share: float = 0.1, largest: int = 512 * 1024 ** 2) -> int:
    """Bytes per all-reduce on each GPU: large enough to reach the bus bandwidth plateau (nccl-tests
    reach it from a few hundred MB), within `share` of the target's memory."""
    size = min(largest, int(share * target.vram_bytes))
    return size - size % (1024 * 1024)


def gemm_tflops(shape: Shape, milliseconds: float) -> float:
    m, n, k = shape
    return 2 * m * n * k / (milliseconds * 1e-3) / 1e12


def copy_gbs(nbytes: int, milliseconds: float) -> float:
    """A copy reads and writes every byte."""
    return 2 * nbytes / (milliseconds * 1e-3) / 1e9


def bus_gbs(nbytes: int, milliseconds: float, ranks: int) -> float:
    """nccl-tests' bus bandwidth of an all-reduce (doc/PERFORMANCE.md): algbw = bytes / time, busbw =
    algbw × 2(n-1)/n, the rate each link carries, comparable with the hardware's link bandwidth."""
    return nbytes / (milliseconds * 1e-3) / 1e9 * 2 * (ranks - 1) / ranks


def median(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def best_of(sweep: Sequence[dict]) -> dict:
    """The sweep entry with the highest median (the first of equals): what the GPU can achieve."""
    return max(sweep, key=lambda entry: entry["median"])


def skipped_precisions(target: Target) -> List[str]:
    """Tensor precisions the target does not have (FP32 always runs)."""
    return [p for p, _, _ in GEMM_PRECISIONS if p != "fp32" and p not in target.tensor]


def allreduce_skip_reason(has_distributed: bool, has_nccl: bool, devices: int) -> Optional[str]:
    """Why the all-reduce is not measured, or None when it can be."""
    if not has_distributed:
        return "torch.distributed is not available in this torch build"
    if not has_nccl:
        return "torch.distributed has no NCCL backend in this torch build"
    if devices < 2:
        return "{} GPU visible: an all-reduce needs at least 2".format(devices)
    return None


def driver_version(query_output: str, table: str) -> Optional[str]:
    """The driver version from `nvidia-smi --query-gpu=driver_version` or, where that field is not
    answered, from the default table's header ("Driver Version: 535.104.12")."""
    first = query_output.strip().split("\n")[0].strip() if query_output.strip() else ""
    if re.match(r"^\d+(\.\d+)+$", first):
        return first
    found = re.search(r"Driver Version:\s*(\d+(?:\.\d+)+)", table)
    return found.group(1) if found else None
