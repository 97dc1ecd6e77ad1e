"""The arithmetic of bench.py, apart from torch: sizes, rates, medians."""
from typing import List, Sequence

from .target import Target

GEMM_PRECISIONS = (("fp32", "float32", 4), ("tf32", "float32", 4), ("fp16", "float16", 2), ("bf16", "bfloat16", 2))


def gemm_size(target: Target, element_bytes: int, share: float = 0.25, largest: int = 8192) -> int:
    """Square GEMM side: three n×n matrices in at most `share` of the target's memory, a multiple of 256."""
    n = int((share * target.vram_bytes / (3 * element_bytes)) ** 0.5)
    return max(256, min(largest, n - n % 256))


def copy_bytes(target: Target, share: float = 0.25, largest: int = 2 * 1024 ** 3) -> int:
    """Bytes per device-to-device copy: source and destination in at most `share` of the target's memory."""
    size = min(largest, int(share * target.vram_bytes / 2))
    return size - size % (1024 * 1024)


def gemm_tflops(n: int, milliseconds: float) -> float:
    return 2 * n ** 3 / (milliseconds * 1e-3) / 1e12


def copy_gbs(nbytes: int, milliseconds: float) -> float:
    """A copy reads and writes every byte."""
    return 2 * nbytes / (milliseconds * 1e-3) / 1e9


def median(samples: Sequence[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def skipped_precisions(target: Target) -> List[str]:
    """Tensor precisions the target does not have (FP32 always runs)."""
    return [p for p, _, _ in GEMM_PRECISIONS if p != "fp32" and p not in target.tensor]
