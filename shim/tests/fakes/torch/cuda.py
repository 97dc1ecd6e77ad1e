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
    _initialized = True


def init():
    _lazy_init()


def get_device_properties(device):
    return _devices[device]


def get_device_name(device=None):
    return _devices[device or 0].name


def get_device_capability(device=None):
    p = _devices[device or 0]
    return (p.major, p.minor)


def mem_get_info(device=None):
    return real_free, _devices[device or 0].total_memory


def memory_reserved(device=None):
    return reserved.get(device or 0, 0)


def set_per_process_memory_fraction(fraction, device=None):
    fractions[device or 0] = fraction


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
