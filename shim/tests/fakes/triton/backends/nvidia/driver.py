from triton.backends.compiler import GPUTarget
from triton.backends.driver import GPUDriver


class CudaDriver(GPUDriver):
    def get_current_target(self):
        device = self.get_current_device()
        capability = self.get_device_capability(device)
        return GPUTarget("cuda", capability[0] * 10 + capability[1], 32)
