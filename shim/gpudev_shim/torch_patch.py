"""torch as the target: names, properties, capability, memory, device count, BF16/TF32 policy and a
memory fraction per device. The compile stack keeps the real device (see compile_stack.py). Each patch
applies on its own: one that fails leaves that function real and says so in one line on stderr."""
import functools
import sys
import types
from typing import Any, Callable, Dict

from .compile_stack import compile_stack_asks
from .target import Target

PATCHED = "_gpudev_patched"
WRAPPED = "_gpudev_wrapped"  # on each wrapper
# What functools.lru_cache adds to a function (torch 1.13's device_count has it); kept on the wrapper.
CACHE_METHODS = ("cache_clear", "cache_info", "cache_parameters")


def warn(what: str, error: BaseException) -> None:
    sys.stderr.write("gpudev shim: {} left real ({}: {})\n".format(what, type(error).__name__, error))


class DeviceProperties:
    """The real device properties with the target's identity; passes isinstance checks on the real class
    and pickles (the real class does not) as a plain namespace of the values it shows."""

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

    def __dir__(self):
        return dir(self._real)

    def __reduce_ex__(self, protocol):
        fields = {}
        for name in dir(self._real):
            if not name.startswith("_"):
                value = getattr(self, name)
                if not callable(value):
                    fields[name] = value
        return types.SimpleNamespace(**fields).__reduce_ex__(protocol)

    def __repr__(self) -> str:
        return "_CudaDeviceProperties(name='{}', major={}, minor={}, total_memory={}MB, multi_processor_count={})".format(
            self.name, self.major, self.minor, self.total_memory // (1024 * 1024), self.multi_processor_count)


def _apply_memory_fraction(cuda: Any, real: Dict[str, Any], target: Target) -> None:
    """Caps every visible device at the target's memory, from the *real* count and mem_get_info."""
    try:
        for device in range(real["device_count"]()):
            _, total = real["mem_get_info"](device)
            cuda.set_per_process_memory_fraction(min(1.0, target.vram_bytes / total), device)
    except Exception as error:  # never break the first CUDA call
        warn("the memory fraction", error)


def _properties(cuda, real, target):
    def get_device_properties(*args, **kwargs):
        props = real["get_device_properties"](*args, **kwargs)
        return props if compile_stack_asks() else DeviceProperties(props, target)
    return get_device_properties


def _name(cuda, real, target):
    def get_device_name(device=None):
        props = real["get_device_properties"](device)  # the real errors for a bad device
        return props.name if compile_stack_asks() else target.name
    return get_device_name


def _capability(cuda, real, target):
    def get_device_capability(device=None):
        props = real["get_device_properties"](device)
        if target.compute_capability and not compile_stack_asks():
            return target.compute_capability
        return props.major, props.minor
    return get_device_capability


def _memory(cuda, real, target):
    def mem_get_info(device=None):
        free, _ = real["mem_get_info"](device)
        reserved = cuda.memory_reserved(device)
        return max(0, min(target.vram_bytes - reserved, free)), target.vram_bytes
    return mem_get_info


def _count(cuda, real, target):
    def device_count():
        return min(real["device_count"](), target.count)
    return device_count


def _bf16(cuda, real, target):
    def is_bf16_supported(*args, **kwargs):
        return "bf16" in target.tensor and real["is_bf16_supported"](*args, **kwargs)
    return is_bf16_supported


def _lazy_init(cuda, real, target):
    def lazy_init(*args, **kwargs):
        first = not cuda.is_initialized()
        real["_lazy_init"](*args, **kwargs)
        if first:
            _apply_memory_fraction(cuda, real, target)
    return lazy_init


# torch.cuda functions replaced by a wrapper with the real one's name, module, docstring and signature.
WRAPPERS: Dict[str, Callable] = {
    "get_device_properties": _properties,
    "get_device_name": _name,
    "get_device_capability": _capability,
    "mem_get_info": _memory,
    "device_count": _count,
    "is_bf16_supported": _bf16,
    "_lazy_init": _lazy_init,
}
# Functions that older torch releases lack: nothing to disguise, nothing to say.
OPTIONAL = ("is_bf16_supported", "mem_get_info")
# What each wrapper calls besides the function it replaces.
NEEDS = {"get_device_name": ("get_device_properties",), "get_device_capability": ("get_device_properties",),
         "mem_get_info": ("memory_reserved",), "_lazy_init": ("is_initialized",)}


def _wrapper(real: Callable, wrapper: Callable) -> Callable:
    """The wrapper with the real function's name, module, docstring, signature and cache methods."""
    functools.wraps(real)(wrapper)
    for method in CACHE_METHODS:
        if hasattr(real, method):
            setattr(wrapper, method, getattr(real, method))
    setattr(wrapper, WRAPPED, True)
    return wrapper


def _tf32_off(torch: Any) -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def patch_torch(torch: Any, target: Target) -> None:
    cuda = torch.cuda
    if getattr(cuda, PATCHED, False):
        return
    setattr(cuda, PATCHED, True)
    real = {name: getattr(cuda, name, None) for name in WRAPPERS}  # all captured before any is replaced
    for name, make in WRAPPERS.items():
        try:
            if real[name] is None:
                if name in OPTIONAL:
                    continue
                raise AttributeError("torch.cuda has no " + name)
            for needed in NEEDS.get(name, ()):
                if (real[needed] if needed in real else getattr(cuda, needed, None)) is None:
                    raise AttributeError("torch.cuda has no " + needed)
            setattr(cuda, name, _wrapper(real[name], make(cuda, real, target)))
        except Exception as error:
            warn("torch.cuda." + name, error)
    if "tf32" not in target.tensor:
        try:
            _tf32_off(torch)
        except Exception as error:
            warn("TF32 (allow_tf32)", error)
    try:
        initialized = cuda.is_initialized()
    except Exception as error:
        warn("the memory fraction", error)
        return
    if initialized:
        _apply_memory_fraction(cuda, real, target)
