"""As torch 2.x's: GEMM templates need a big GPU (68 SMs or more)."""
from torch._inductor.runtime.hints import DeviceProperties


def is_big_gpu(index=0):
    import torch
    return DeviceProperties.create(torch.device("cuda", index)).multi_processor_count >= 68
