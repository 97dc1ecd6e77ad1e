"""pynvml as the target: name, memory, power limits, core count, MIG mode."""
import functools
from typing import Any

from .target import Target

PATCHED = "_gpudev_patched"
# CUDA cores per SM by compute capability major (8.0 and 7.x: 64; the rest: 128).
CORES_PER_SM = {7: 64, 8: 128, 9: 128, 10: 128, 12: 128}


def _cores(target: Target):
    if not target.sm_count or not target.compute_capability:
        return None
    major, minor = target.compute_capability
    per_sm = 64 if (major, minor) == (8, 0) else CORES_PER_SM.get(major, 128)
    return target.sm_count * per_sm


def _wrap(module: Any, name: str, make) -> None:
    real = getattr(module, name, None)
    if real is not None:
        setattr(module, name, functools.wraps(real)(make(real)))


def patch_pynvml(pynvml: Any, target: Target) -> None:
    if getattr(pynvml, PATCHED, False):
        return
    setattr(pynvml, PATCHED, True)
    milliwatts = target.tdp_w * 1000 if target.tdp_w else None

    def name(real):
        def get(handle):
            original = real(handle)
            return target.name.encode() if isinstance(original, bytes) else target.name
        return get

    def memory(real):
        def get(handle, *args, **kwargs):
            info = real(handle, *args, **kwargs)
            info.total = target.vram_bytes
            info.free = max(0, target.vram_bytes - info.used - getattr(info, "reserved", 0))
            return info
        return get

    def limit(real):
        return lambda handle: milliwatts if milliwatts else real(handle)

    def constraints(real):
        def get(handle):
            low, high = real(handle)
            return (min(low, milliwatts), milliwatts) if milliwatts else (low, high)
        return get

    _wrap(pynvml, "nvmlDeviceGetName", name)
    _wrap(pynvml, "nvmlDeviceGetMemoryInfo", memory)
    for getter in ("nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementDefaultLimit"):
        _wrap(pynvml, getter, limit)
    _wrap(pynvml, "nvmlDeviceGetPowerManagementLimitConstraints", constraints)
    cores = _cores(target)
    if cores:
        _wrap(pynvml, "nvmlDeviceGetNumGpuCores", lambda real: (lambda handle: cores))
    _wrap(pynvml, "nvmlDeviceGetMigMode", lambda real: (lambda handle: [0, 0]))
