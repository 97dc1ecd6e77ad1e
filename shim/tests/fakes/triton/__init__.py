"""Fake Triton, laid out as Triton 3.x and reading the device as it does: the active driver
(triton.backends.nvidia.driver.CudaDriver) stores torch.cuda.get_device_capability when it starts and
calls it in get_current_target; compile builds a cubin for that target's arch."""
from .compiler import compile  # noqa: F401
from .runtime.jit import jit  # noqa: F401
