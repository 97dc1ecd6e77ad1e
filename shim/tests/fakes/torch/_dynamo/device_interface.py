"""As torch 2.x's: CudaInterface binds torch.cuda functions when this module is imported (staticmethod),
and reads the capability through torch.cuda.get_device_capability."""
import torch

caching_worker_device_properties = {}


class CudaInterface:
    get_device_properties = staticmethod(torch.cuda.get_device_properties)
    device_count = staticmethod(torch.cuda.device_count)

    class Worker:
        @staticmethod
        def get_device_properties(device=None):
            # Recorded in the main process for the compile workers, one entry per device.
            if "cuda" not in caching_worker_device_properties:
                caching_worker_device_properties["cuda"] = [torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count())]
            return caching_worker_device_properties["cuda"][device or 0]

    @staticmethod
    def get_compute_capability(device=None):
        major, minor = torch.cuda.get_device_capability(device)
        return major * 10 + minor


def get_interface_for_device(device):
    return CudaInterface
