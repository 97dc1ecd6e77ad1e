"""The GPU a container pretends to be, read from the GPUDEV_* variables the extension sets."""
import os
from typing import Mapping, NamedTuple, Optional, Tuple

MIB = 1024 * 1024


class Target(NamedTuple):
    key: str
    name: str
    vram_bytes: int
    sm_count: Optional[int]
    compute_capability: Optional[Tuple[int, int]]
    tdp_w: Optional[int]
    tensor: Tuple[str, ...]
    expect_clock_mhz: Optional[int]
    expect_power_w: Optional[int]

    @property
    def vram_mib(self) -> int:
        return self.vram_bytes // MIB


def _int(env: Mapping[str, str], name: str) -> Optional[int]:
    value = env.get(name, "").strip()
    return int(value) if value.isdigit() else None


def target_from_env(env: Mapping[str, str] = os.environ) -> Optional[Target]:
    """The target, or None when the container is not a cosplay (no name or no memory size)."""
    name = env.get("GPUDEV_TARGET_NAME", "").strip()
    vram = _int(env, "GPUDEV_VRAM_BYTES")
    if not name or not vram:
        return None
    cc = env.get("GPUDEV_COMPUTE_CAP", "").strip().split(".")
    capability = (int(cc[0]), int(cc[1])) if len(cc) == 2 and all(p.isdigit() for p in cc) else None
    return Target(
        key=env.get("GPUDEV_TARGET", "").strip(),
        name=name,
        vram_bytes=vram,
        sm_count=_int(env, "GPUDEV_SM_COUNT"),
        compute_capability=capability,
        tdp_w=_int(env, "GPUDEV_TDP_W"),
        tensor=tuple(t for t in env.get("GPUDEV_TENSOR", "").replace(" ", "").split(",") if t),
        expect_clock_mhz=_int(env, "GPUDEV_EXPECT_CLOCK_MHZ"),
        expect_power_w=_int(env, "GPUDEV_EXPECT_POWER_W"),
    )
