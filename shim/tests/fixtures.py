"""The verbatim nvidia-smi fixtures of the repository and a few targets to rewrite them to."""
import glob
import json
import os

from gpudev_shim.target import Target

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "nvidia-smi")


def fixtures(prefix):
    for path in sorted(glob.glob(os.path.join(FIXTURES, prefix + "*.txt"))):
        name = os.path.basename(path)[:-4]
        with open(path, encoding="utf-8") as text, open(path[:-4] + ".meta.json", encoding="utf-8") as meta:
            yield name, text.read().split("\n")[:-1], json.load(meta)


def target(name, vram_mib, tdp_w, **features):
    return Target(key="t", name=name, vram_bytes=vram_mib * 1024 * 1024, sm_count=82, compute_capability=(8, 6),
                  tdp_w=tdp_w, tensor=("bf16", "fp16", "tf32"), expect_clock_mhz=None, expect_power_w=None, **features)


def units(meta):
    """How many target GPUs a table fixture holds: each MIG device, and each GPU without one."""
    devices = meta["expected"].get("mig_devices") or []
    return sum(max(1, sum(1 for d in devices if d["gpu"] == g["index"])) for g in meta["expected"]["gpus"])


TARGETS = [
    target("NVIDIA GeForce RTX 3090", 24576, 350),
    target("NVIDIA L4", 23034, 72),
    target("NVIDIA RTX 6000 Ada Generation", 49152, 300),
    target("Tesla T4", 15360, 70),
]
# The same with the features the plan sets: a GeForce has neither ECC nor MIG; an A100 has both.
GEFORCE = target("NVIDIA GeForce RTX 3090", 24576, 350, has_ecc=False, mig_capable=False)
A100 = target("NVIDIA A100-PCIE-40GB", 40960, 250, has_ecc=True, mig_capable=True)
L4_NO_MIG = target("NVIDIA L4", 23034, 72, has_ecc=True, mig_capable=False)
