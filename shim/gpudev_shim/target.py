"""The GPU a container pretends to be, read from the GPUDEV_* variables the extension sets."""
from __future__ import annotations

MIB = 1024 * 1024

_FIELDS = ("key", "name", "vram_bytes", "sm_count", "compute_capability", "tdp_w", "tensor", "expect_clock_mhz",
           "expect_power_w", "count", "has_ecc", "mig_capable")
# Fields a caller may leave out: one GPU, and ECC/MIG support unknown (None: the cells keep the host's).
_DEFAULTS = {"count": 1, "has_ecc": None, "mig_capable": None}


class Target:
    """key, NVML name, memory in bytes, SM count, (major, minor), TDP in W, tensor precisions, the
    clock and power limit that verify expects on the host (None where the plan sets none), how many
    target GPUs the session shows (the i-th visible host GPU or MIG slice is target GPU i), and whether
    the target has ECC and MIG (None where the plan does not say).

    A plain class rather than a namedtuple: this module loads at every interpreter start, and importing
    `collections` alone costs about 2 ms there."""

    __slots__ = _FIELDS

    def __init__(self, **fields) -> None:
        for field in _FIELDS:
            setattr(self, field, fields.pop(field) if field in fields or field not in _DEFAULTS else _DEFAULTS[field])
        if fields:
            raise TypeError(f"unknown Target fields: {', '.join(fields)}")

    def _replace(self, **changes) -> Target:
        return Target(**{**{field: getattr(self, field) for field in _FIELDS}, **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and all(getattr(self, f) == getattr(other, f) for f in _FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in _FIELDS))

    def __repr__(self) -> str:
        return "Target(" + ", ".join(f"{f}={getattr(self, f)!r}" for f in _FIELDS) + ")"

    @property
    def vram_mib(self) -> int:
        return self.vram_bytes // MIB


def _int(env, name: str) -> int | None:
    value = env.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _flag(env, name: str) -> bool | None:
    value = env.get(name, "").strip()
    return True if value == "1" else False if value == "0" else None


def target_from_env(env=None) -> Target | None:
    """The target, or None when the container is not a cosplay (no name or no memory size); `env`
    defaults to the process's (imported here only then: nvidia-smi's shim starts without `os`)."""
    if env is None:
        import os

        env = os.environ
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
        count=max(1, _int(env, "GPUDEV_GPU_COUNT") or 1),
        has_ecc=_flag(env, "GPUDEV_ECC"),
        mig_capable=_flag(env, "GPUDEV_MIG_CAPABLE"),
    )
