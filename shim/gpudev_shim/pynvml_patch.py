"""pynvml as the target, in each module that holds the NVML functions (pynvml 11.x's pynvml, pynvml.nvml
and pynvml.smi; nvidia-ml-py's pynvml; pynvml_utils.smi): name, memory, power limits, core count, device
count and handles, MIG mode and ECC as the target has them."""
import functools
import sys
from typing import Any

from .target import Target

PATCHED = "_gpudev_patched"
WRAPPED = "_gpudev_wrapped"  # on each wrapper: a star import copies wrappers, which are not wrapped again
# CUDA cores per SM by compute capability major (8.0 and 7.x: 64; the rest: 128).
CORES_PER_SM = {7: 64, 8: 128, 9: 128, 10: 128, 12: 128}
# What a GPU without ECC answers NotSupported to.
ECC_GETTERS = ("nvmlDeviceGetEccMode", "nvmlDeviceGetDefaultEccMode", "nvmlDeviceGetTotalEccErrors",
               "nvmlDeviceGetDetailedEccErrors", "nvmlDeviceGetMemoryErrorCounter")
MIG_GETTERS = ("nvmlDeviceGetMigMode",)


def _cores(target: Target):
    if not target.sm_count or not target.compute_capability:
        return None
    major, minor = target.compute_capability
    per_sm = 64 if (major, minor) == (8, 0) else CORES_PER_SM.get(major, 128)
    return target.sm_count * per_sm


def _wrap(module: Any, name: str, make) -> None:
    real = getattr(module, name, None)
    if real is None or getattr(real, WRAPPED, False):
        return
    try:
        wrapper = functools.wraps(real)(make(real))
        setattr(wrapper, WRAPPED, True)
        setattr(module, name, wrapper)
    except Exception as error:
        sys.stderr.write("gpudev shim: {}.{} left real ({}: {})\n".format(module.__name__, name, type(error).__name__, error))


def _real(fn):
    """The original NVML function under our wrappers (a star import may have copied a wrapper here)."""
    while getattr(fn, WRAPPED, False):
        fn = fn.__wrapped__
    return fn


class _Units:
    """The session's GPUs as NVML shows them: the visible host GPUs, each replaced by its visible MIG devices
    where MIG is on (a container given MIG slices sees their parent GPU), so target GPU i is unit i.
    Read once, on first use after nvmlInit: MIG devices cannot change while the container runs."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self._units = None

    def get(self):
        if self._units is None:
            m = self._module
            count, by_index = _real(m.nvmlDeviceGetCount), _real(m.nvmlDeviceGetHandleByIndex)
            units = []
            for index in range(count()):
                handle = by_index(index)
                units.extend(self._mig_devices(handle) or [handle])
            self._units = units
        return self._units

    def _mig_devices(self, handle):
        m = self._module
        needed = ("nvmlDeviceGetMigMode", "nvmlDeviceGetMaxMigDeviceCount", "nvmlDeviceGetMigDeviceHandleByIndex", "NVMLError")
        if not all(hasattr(m, name) for name in needed):
            return []
        try:
            if _real(m.nvmlDeviceGetMigMode)(handle)[0] != 1:
                return []
            slots = _real(m.nvmlDeviceGetMaxMigDeviceCount)(handle)
        except m.NVMLError:
            return []
        devices = []
        for slot in range(slots):
            try:
                devices.append(_real(m.nvmlDeviceGetMigDeviceHandleByIndex)(handle, slot))
            except m.NVMLError:  # an empty slot, or a slice not given to this container
                pass
        return devices


def _error(module: Any, code_name: str, fallback: int) -> BaseException:
    """NVMLError(code) as the module raises it (its __new__ picks the subclass, e.g. NVMLError_NotSupported)."""
    return module.NVMLError(getattr(module, code_name, fallback))


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

    units = _Units(pynvml)

    def count(real):
        return lambda: min(len(units.get()), target.count)

    def handle_by_index(real):
        def get(index):
            shown = units.get()
            if not isinstance(index, int) or not 0 <= index < min(len(shown), target.count):
                raise _error(pynvml, "NVML_ERROR_INVALID_ARGUMENT", 2)
            return shown[index]
        return get

    def not_supported(real):
        def get(*args, **kwargs):
            raise _error(pynvml, "NVML_ERROR_NOT_SUPPORTED", 3)
        return get

    _wrap(pynvml, "nvmlDeviceGetName", name)
    _wrap(pynvml, "nvmlDeviceGetMemoryInfo", memory)
    for getter in ("nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetPowerManagementDefaultLimit"):
        _wrap(pynvml, getter, limit)
    _wrap(pynvml, "nvmlDeviceGetPowerManagementLimitConstraints", constraints)
    _wrap(pynvml, "nvmlDeviceGetCount", count)
    _wrap(pynvml, "nvmlDeviceGetHandleByIndex", handle_by_index)
    cores = _cores(target)
    if cores:
        _wrap(pynvml, "nvmlDeviceGetNumGpuCores", lambda real: (lambda handle: cores))
    has_errors = hasattr(pynvml, "NVMLError")
    if target.mig_capable is False and has_errors:
        for getter in MIG_GETTERS:
            _wrap(pynvml, getter, not_supported)
    else:  # a MIG-capable target, or one the plan says nothing about: MIG off
        _wrap(pynvml, "nvmlDeviceGetMigMode", lambda real: (lambda handle: [0, 0]))
    if target.has_ecc is False and has_errors:
        for getter in ECC_GETTERS:
            _wrap(pynvml, getter, not_supported)
