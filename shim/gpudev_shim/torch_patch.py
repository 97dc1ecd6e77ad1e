"""torch as the target: names, properties, capability, memory, BF16/TF32 policy, memory fraction."""
import functools
from typing import Any

from .target import Target

PATCHED = "_gpudev_patched"


class DeviceProperties:
    """The real device properties with the target's identity; passes isinstance checks on the real class."""

    def __init__(self, real: Any, target: Target) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_target", target)

    @property
    def __class__(self):  # isinstance(props, torch._C._CudaDeviceProperties) stays True
        return type(self._real)

    def __getattr__(self, name: str) -> Any:
        target = self._target
        if name == "name":
            return target.name
        if name == "total_memory":
            return min(self._real.total_memory, target.vram_bytes)
        if name == "multi_processor_count" and target.sm_count:
            return target.sm_count
        if name in ("major", "minor") and target.compute_capability:
            return target.compute_capability[0 if name == "major" else 1]
        return getattr(self._real, name)

    def __repr__(self) -> str:
        return "_CudaDeviceProperties(name='{}', major={}, minor={}, total_memory={}MB, multi_processor_count={})".format(
            self.name, self.major, self.minor, self.total_memory // (1024 * 1024), self.multi_processor_count)


def _apply_memory_fraction(cuda: Any, original_mem_get_info: Any, target: Target) -> None:
    """Caps every visible device at the target's memory, from the *original* mem_get_info."""
    for device in range(cuda.device_count()):
        _, total = original_mem_get_info(device)
        cuda.set_per_process_memory_fraction(min(1.0, target.vram_bytes / total), device)


def patch_torch(torch: Any, target: Target) -> None:
    cuda = getattr(torch, "cuda", None)
    if cuda is None or getattr(cuda, PATCHED, False):
        return
    setattr(cuda, PATCHED, True)
    real_properties = cuda.get_device_properties
    real_mem_get_info = cuda.mem_get_info
    real_is_bf16_supported = getattr(cuda, "is_bf16_supported", None)

    @functools.wraps(real_properties)
    def get_device_properties(device=None):
        return DeviceProperties(real_properties(device) if device is not None else real_properties(cuda.current_device()), target)

    @functools.wraps(cuda.get_device_name)
    def get_device_name(device=None):
        return target.name

    real_capability = cuda.get_device_capability

    @functools.wraps(real_capability)
    def get_device_capability(device=None):
        return target.compute_capability or real_capability(device)

    @functools.wraps(real_mem_get_info)
    def mem_get_info(device=None):
        free, _ = real_mem_get_info(device)
        reserved = cuda.memory_reserved(device)
        return max(0, min(target.vram_bytes - reserved, free)), target.vram_bytes

    cuda.get_device_properties = get_device_properties
    cuda.get_device_name = get_device_name
    cuda.get_device_capability = get_device_capability
    cuda.mem_get_info = mem_get_info
    if real_is_bf16_supported is not None:
        @functools.wraps(real_is_bf16_supported)
        def is_bf16_supported(*args, **kwargs):
            return "bf16" in target.tensor and real_is_bf16_supported(*args, **kwargs)
        cuda.is_bf16_supported = is_bf16_supported
    if "tf32" not in target.tensor:
        backends = getattr(torch, "backends", None)
        if backends is not None:
            backends.cuda.matmul.allow_tf32 = False
            backends.cudnn.allow_tf32 = False
    real_lazy_init = cuda._lazy_init

    @functools.wraps(real_lazy_init)
    def lazy_init():
        first = not cuda.is_initialized()
        real_lazy_init()
        if first:
            _apply_memory_fraction(cuda, real_mem_get_info, target)

    cuda._lazy_init = lazy_init
    if cuda.is_initialized():
        _apply_memory_fraction(cuda, real_mem_get_info, target)
