"""As torch's: without TORCH_CUDA_ARCH_LIST, -gencode flags for each visible device's capability,
clamped to the newest arch torch was built for, +PTX on the last."""
import os

import torch


def _get_cuda_arch_flags():
    if os.environ.get("TORCH_CUDA_ARCH_LIST"):
        arches = os.environ["TORCH_CUDA_ARCH_LIST"].split(";")
    else:
        newest = max(tuple(divmod(int(a[3:]), 10)) for a in torch.cuda.get_arch_list())
        arches = sorted({"{}.{}".format(*min(newest, torch.cuda.get_device_capability(i))) for i in range(torch.cuda.device_count())})
        arches[-1] += "+PTX"
    flags = []
    for arch in arches:
        number = arch.split("+")[0].replace(".", "")
        flags.append("-gencode=arch=compute_{0},code=sm_{0}".format(number))
        if arch.endswith("+PTX"):
            flags.append("-gencode=arch=compute_{0},code=compute_{0}".format(number))
    return flags
