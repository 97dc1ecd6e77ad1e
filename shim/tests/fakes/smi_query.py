"""The part of pynvml's nvidia_smi.DeviceQuery the shim is about, reading through the calling module's
globals (as the real one reads its module's star-imported functions); NotSupported reads "N/A"."""


def query(g):
    def value(fn, *args):
        try:
            return fn(*args)
        except g["NVMLError_NotSupported"]:
            return "N/A"
    gpus = []
    for index in range(g["nvmlDeviceGetCount"]()):
        handle = g["nvmlDeviceGetHandleByIndex"](index)
        name = g["nvmlDeviceGetName"](handle)
        ecc = value(g["nvmlDeviceGetEccMode"], handle)
        mig = value(g["nvmlDeviceGetMigMode"], handle)
        gpus.append({"product_name": name.decode() if isinstance(name, bytes) else name,
                     "fb_memory_usage": {"total": g["nvmlDeviceGetMemoryInfo"](handle).total / 1024 / 1024, "unit": "MiB"},
                     "ecc_mode": ecc if ecc == "N/A" else ("Enabled" if ecc[0] else "Disabled"),
                     "mig_mode": mig if mig == "N/A" else ("Enabled" if mig[0] else "Disabled")})
    return {"count": len(gpus), "gpu": gpus}
