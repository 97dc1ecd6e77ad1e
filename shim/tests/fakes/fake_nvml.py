"""The NVML functions of the fake pynvml layouts: FAKE_NVML_DEVICES H100s (default 1), each with 1 GiB
in use, ECC on, MIG on; FAKE_NVML_MIG_DEVICES=N: N MIG devices of each are visible (slots 0, 2, 4, …
of 7; the others belong to other containers). FAKE_PYNVML_STR=1 returns names as str. Errors are raised as pynvml raises them:
NVMLError(code), whose __new__ picks the subclass (NVMLError_NotSupported, ...)."""
import os

MIB = 1024 * 1024
_calls = []

NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NOT_FOUND = 6
NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1
NVML_VOLATILE_ECC = 0


class NVMLError(Exception):
    _valClassMapping = {}
    _strings = {NVML_ERROR_UNINITIALIZED: "Uninitialized", NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
                NVML_ERROR_NOT_SUPPORTED: "Not Supported", NVML_ERROR_NOT_FOUND: "Not Found"}

    def __new__(typ, value):
        if typ == NVMLError:
            typ = NVMLError._valClassMapping.get(value, typ)
        obj = Exception.__new__(typ)
        obj.value = value
        return obj

    def __str__(self):
        return self._strings.get(self.value, "Unknown Error")


for _code, _text in NVMLError._strings.items():
    _name = "NVMLError_" + _text.replace(" ", "")
    NVMLError._valClassMapping[_code] = globals()[_name] = type(_name, (NVMLError,), {})


def nvmlDeviceGetCount():
    return int(os.environ.get("FAKE_NVML_DEVICES", "1"))


class c_nvmlMemory_t:
    def __init__(self, total, free, used, reserved=0):
        self.total, self.free, self.used, self.reserved = total, free, used, reserved


def nvmlInit():
    pass


def nvmlDeviceGetHandleByIndex(index):
    if not 0 <= index < nvmlDeviceGetCount():
        raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
    return ("handle", index)


def nvmlDeviceGetName(handle):
    name = "NVIDIA H100 80GB HBM3" + (" MIG 3g.40gb" if handle[0] == "mig" else "")
    return name if os.environ.get("FAKE_PYNVML_STR") else name.encode()


def nvmlDeviceGetMemoryInfo(handle, version=None):
    _calls.append(("memory", version))
    total = (40448 if handle[0] == "mig" else 81559) * MIB
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


def nvmlDeviceGetMaxMigDeviceCount(handle):
    return 7


def nvmlDeviceGetMigDeviceHandleByIndex(handle, index):
    visible = int(os.environ.get("FAKE_NVML_MIG_DEVICES", "0"))
    if index % 2 or index // 2 >= visible:
        raise NVMLError(NVML_ERROR_NOT_FOUND)
    return ("mig", handle[1], index)


def nvmlDeviceGetEccMode(handle):
    return [1, 1]


def nvmlDeviceGetTotalEccErrors(handle, errorType, counterType):
    return 0
