"""Inductor, reduced to what reads the device: each graph's kernels are compiled by Triton for the
capability DeviceProperties.create reports, loaded before the first run, and the Worker's recorded
properties go to the compile workers."""
import torch
from torch._inductor.runtime.hints import DeviceProperties

compiled_for = []


def compile_fx(model):
    def run(*args):
        import triton
        from triton.backends.compiler import GPUTarget
        device = torch.device("cuda", torch.cuda.current_device())
        props = DeviceProperties.create(device)
        kernel = triton.compile("triton_poi_fused_add_0", target=GPUTarget("cuda", props.cc, 32))
        kernel.load()
        from torch._dynamo.device_interface import CudaInterface
        worker = CudaInterface.Worker.get_device_properties(device.index)
        compiled_for.append({"arch": kernel.arch, "sms": props.multi_processor_count, "worker_name": worker.name})
        return model(*args)
    return run
