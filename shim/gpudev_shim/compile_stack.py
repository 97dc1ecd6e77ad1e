"""Who is asking: user code gets the target's identity, the compile stack gets the real device.

torch.compile's stack builds machine code for the GPU it is told about: Inductor reads the capability
through torch._dynamo.device_interface (CudaInterface.get_compute_capability calls
torch.cuda.get_device_capability; DeviceProperties.create in torch._inductor.runtime.hints reads
get_device_properties), Triton's CudaDriver.get_current_target calls the torch.cuda.get_device_capability
it stored at driver start (triton.backends.driver.GPUDriver), torch.utils.cpp_extension picks -gencode
flags from each device's capability, and torch.cuda's own _check_capability/_check_cubins compare it
with get_arch_list(). Told 8.6 on an sm_90 GPU they build sm_86 cubins that cannot load. So each
patched identity function looks at the module of its immediate caller (one frame up: a dict lookup
and a startswith, well under a microsecond) and answers with the real device when that module belongs
to the compile stack. One frame only: user code run *by* the stack (a compiled model's forward, called
from torch._dynamo.eval_frame) is still the user asking, and still sees the target."""
import sys

# Packages whose own calls get the real device (the module itself or anything under it).
COMPILE_STACK = ("torch._inductor", "torch._dynamo", "triton", "torch.utils.cpp_extension")
_EXACT = frozenset(COMPILE_STACK)
_UNDER = tuple(name + "." for name in COMPILE_STACK)
# torch.cuda's checks that compare the device with the arch list torch was built for.
ARCH_CHECKS = frozenset(("_check_capability", "_check_cubins"))


def compile_stack_asks(depth: int = 2) -> bool:
    """True when the caller `depth` frames up (default: the caller of the function that calls this)
    is part of the compile stack."""
    try:
        frame = sys._getframe(depth)
    except ValueError:  # no such frame: called from the top level
        return False
    name = frame.f_globals.get("__name__") or ""
    if name in _EXACT or name.startswith(_UNDER):
        return True
    return name == "torch.cuda" and frame.f_code.co_name in ARCH_CHECKS
