"""Fake pynvml for shim tests: an H100 with 1 GiB in use. FAKE_PYNVML_STR=1 returns names as str."""
import os

MIB = 1024 * 1024
_calls = []


class c_nvmlMemory_t:
    def __init__(self, total, free, used, reserved=0):
        self.total, self.free, self.used, self.reserved = total, free, used, reserved


def nvmlInit():
    pass


def nvmlDeviceGetHandleByIndex(index):
    return ("handle", index)


def nvmlDeviceGetName(handle):
    name = "NVIDIA H100 80GB HBM3"
    return name if os.environ.get("FAKE_PYNVML_STR") else name.encode()


def nvmlDeviceGetMemoryInfo(handle, version=None):
    _calls.append(("memory", version))
    total = 81559 * MIB
    return c_nvmlMemory_t(total, total - 1024 * MIB, 1024 * MIB, 0 if version is None else 512 * MIB)


def nvmlDeviceGetPowerManagementLimit(handle):
    return 700000


def nvmlDeviceGetEnforcedPowerLimit(handle):
    return 700000


def nvmlDeviceGetPowerManagementLimitConstraints(handle):
    return (200000, 700000)


def nvmlDeviceGetNumGpuCores(handle):
    return 16896


def nvmlDeviceGetMigMode(handle):
    return [1, 1]
