"""Fake torch.cuda: H100s (FAKE_TORCH_DEVICES of them). Its functions call each other through the
module's globals, as torch.cuda's do (get_device_name and get_device_capability go through
get_device_properties, which checks the index against device_count), and a loaded kernel must fit
the device (a cubin for sm_XY runs on an X.Z device with Z >= Y, as CUDA's binary compatibility says)."""
import os

MIB = 1024 * 1024
GIB = 1024 * MIB


class _CudaDeviceProperties:
    def __init__(self):
        self.name = "NVIDIA H100 80GB HBM3"
        self.total_memory = 81559 * MIB
        self.multi_processor_count = 132
        self.major, self.minor = 9, 0
        self.L2_cache_size = 50 * MIB


class OutOfMemoryError(RuntimeError):
    pass


_devices = [_CudaDeviceProperties() for _ in range(int(os.environ.get("FAKE_TORCH_DEVICES", "1")))]
_initialized = False
fractions = {}
reserved = {0: 2 * GIB}
real_free = 70 * GIB


def device_count():
    return len(_devices)


def current_device():
    return 0


def is_initialized():
    return _initialized


def _lazy_init():
    global _initialized
    if not _initialized:
        _initialized = True
        _check_cubins()


def init():
    _lazy_init()


def _index(device):
    if device is None:
        return current_device()
    if isinstance(device, str):
        return int(device.split(":")[1]) if ":" in device else current_device()
    return getattr(device, "index", device) if not isinstance(device, int) else device


def get_device_properties(device):
    _lazy_init()
    index = _index(device)
    if index < 0 or index >= device_count():
        raise AssertionError("Invalid device id")
    return _devices[index]


def get_device_name(device=None):
    return get_device_properties(device).name


def get_device_capability(device=None):
    prop = get_device_properties(device)
    return prop.major, prop.minor


def get_arch_list():
    return ["sm_80", "sm_86", "sm_90"]


arch_checks = []


def _check_cubins():
    """What torch.cuda does at init: compares each device's capability with the arch list."""
    for index in range(device_count()):
        major, minor = get_device_capability(index)
        supported = any(int(arch[3:]) // 10 == major for arch in get_arch_list())
        arch_checks.append([get_device_name(index), major, minor, supported])


def load_kernel(arch):
    """Loads a cubin built for `arch` ("sm_86") on the current device, or fails as CUDA does."""
    prop = _devices[current_device()]
    major, minor = int(arch[3:-1]), int(arch[-1])
    if major != prop.major or minor > prop.minor:
        raise RuntimeError("CUDA error: no kernel image is available for execution on the device")
    return arch


def mem_get_info(device=None):
    return real_free, _devices[_index(device)].total_memory


def memory_reserved(device=None):
    return reserved.get(device or 0, 0)


def set_per_process_memory_fraction(fraction, device=None):
    fractions[_index(device)] = fraction


def is_bf16_supported(including_emulation=True):
    return True


def is_available():
    return True


def empty_cache():
    pass


def _allocate(size):
    """What the caching allocator does: lazy CUDA init, then the per-process fraction is the limit."""
    import torch.cuda as cuda  # through the module, as torch's C++ side calls torch.cuda._lazy_init
    cuda._lazy_init()
    total = _devices[0].total_memory
    limit = min(total * fractions.get(0, 1.0), real_free + reserved[0])
    if size > limit - reserved[0]:
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate {} bytes".format(size))
    return object()


_clock_ms = 0.0


class Event:
    def __init__(self, enable_timing=False):
        self.at = None

    def record(self):
        self.at = _clock_ms

    def elapsed_time(self, end):
        return end.at - self.at


def synchronize():
    pass


def set_device(device):
    pass


# FAKE_TORCH_MISSING=a,b: this torch.cuda lacks those functions, as another torch release might.
for _name in filter(None, os.environ.get("FAKE_TORCH_MISSING", "").split(",")):
    globals().pop(_name, None)

# FAKE_TORCH_FROZEN=a,b: those attributes cannot be replaced (setting them raises), so patching them fails.
_frozen = set(filter(None, os.environ.get("FAKE_TORCH_FROZEN", "").split(",")))
if _frozen:
    import sys
    import types

    class _FrozenModule(types.ModuleType):
        def __setattr__(self, name, value):
            if name in _frozen:
                raise AttributeError("readonly attribute " + name)
            super().__setattr__(name, value)

    sys.modules[__name__].__class__ = _FrozenModule
