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


def target(name, vram_mib, tdp_w):
    return Target(key="t", name=name, vram_bytes=vram_mib * 1024 * 1024, sm_count=82, compute_capability=(8, 6),
                  tdp_w=tdp_w, tensor=("bf16", "fp16", "tf32"), expect_clock_mhz=None, expect_power_w=None)


TARGETS = [
    target("NVIDIA GeForce RTX 3090", 24576, 350),
    target("NVIDIA L4", 23034, 72),
    target("NVIDIA RTX 6000 Ada Generation", 49152, 300),
    target("Tesla T4", 15360, 70),
]
