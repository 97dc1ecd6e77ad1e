"""As torch 2.x's: the CUTLASS backend's arch, from the first visible device."""
import torch


def get_cuda_arch():
    major, minor = torch.cuda.get_device_capability(0)
    return str(major * 10 + minor)
