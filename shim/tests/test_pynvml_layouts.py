"""pynvml as each release lays it out, with fakes of those layouts: 11.x (pynvml.nvml, pynvml.smi),
nvidia-ml-py 12.x/13.x (one pynvml module) and pynvml 12.x's pynvml_utils.smi on top of it."""
import unittest

from tests.interpreter import FAKES, PYNVML11, RTX3090, SHIM, run_python

PROBE = """
import json, importlib
nvml = importlib.import_module({module!r})
smi = importlib.import_module({smi!r}).nvidia_smi.getInstance().DeviceQuery()

def error(fn, *args):
    try:
        return fn(*args)
    except nvml.NVMLError as e:
        return type(e).__name__

handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
print(json.dumps({{
    "count": nvml.nvmlDeviceGetCount(), "smi": smi, "handles": handles,
    "names": [nvml.nvmlDeviceGetName(h).decode() for h in handles],
    "totals": [nvml.nvmlDeviceGetMemoryInfo(h).total for h in handles],
    "power": [nvml.nvmlDeviceGetPowerManagementLimit(h) for h in handles],
    "ecc": error(nvml.nvmlDeviceGetEccMode, handles[0]),
    "ecc_errors": error(nvml.nvmlDeviceGetTotalEccErrors, handles[0], 1, 0),
    "mig": error(nvml.nvmlDeviceGetMigMode, handles[0]),
    "beyond": error(nvml.nvmlDeviceGetHandleByIndex, len(handles)),
}}))
"""
LAYOUTS = {
    "pynvml 11.x: pynvml.nvml": ("pynvml.nvml", "pynvml.smi", (SHIM, PYNVML11, FAKES)),
    "pynvml 11.x: the package": ("pynvml", "pynvml.smi", (SHIM, PYNVML11, FAKES)),
    "nvidia-ml-py 12.x/13.x + pynvml_utils": ("pynvml", "pynvml_utils.smi", (SHIM, FAKES)),
}
TWO = dict(RTX3090, GPUDEV_GPU_COUNT="2", FAKE_NVML_DEVICES="4")
GIB = 1024 ** 3


class PynvmlLayoutsTest(unittest.TestCase):
    def test_every_layout_shows_n_target_gpus_without_ecc_or_mig(self):
        for layout, (module, smi, path) in LAYOUTS.items():
            with self.subTest(layout):
                seen, stderr = run_python(PROBE.format(module=module, smi=smi), TWO, path=path)
                self.assertEqual(seen["count"], 2, "4 visible host GPUs, a 2-GPU session")
                self.assertEqual(seen["names"], ["NVIDIA GeForce RTX 3090"] * 2)
                self.assertEqual(seen["totals"], [24 * GIB] * 2)
                self.assertEqual(seen["power"], [350000] * 2)
                self.assertEqual((seen["ecc"], seen["ecc_errors"], seen["mig"]), ("NVMLError_NotSupported",) * 3,
                                 "an RTX 3090 has neither ECC nor MIG")
                self.assertEqual(seen["beyond"], "NVMLError_InvalidArgument")
                gpu = {"product_name": "NVIDIA GeForce RTX 3090", "fb_memory_usage": {"total": 24576.0, "unit": "MiB"},
                       "ecc_mode": "N/A", "mig_mode": "N/A"}
                self.assertEqual(seen["smi"], {"count": 2, "gpu": [gpu, gpu]})
                self.assertEqual(stderr, "")

    def test_a_target_with_ecc_and_mig_keeps_ecc_and_shows_mig_off(self):
        a100 = dict(RTX3090, GPUDEV_TARGET_NAME="NVIDIA A100-SXM4-80GB", GPUDEV_ECC="1", GPUDEV_MIG_CAPABLE="1")
        for layout, (module, smi, path) in LAYOUTS.items():
            with self.subTest(layout):
                seen, _ = run_python(PROBE.format(module=module, smi=smi), a100, path=path)
                self.assertEqual((seen["ecc"], seen["mig"]), ([1, 1], [0, 0]))
                self.assertEqual(seen["smi"]["gpu"][0]["mig_mode"], "Disabled")

    def test_two_mig_slices_of_one_gpu_are_two_target_gpus(self):
        # A container given two MIG slices sees their parent GPU in NVML; its MIG devices are the session's GPUs.
        slices = dict(RTX3090, GPUDEV_GPU_COUNT="2", FAKE_NVML_DEVICES="1", FAKE_NVML_MIG_DEVICES="2")
        for layout, (module, smi, path) in LAYOUTS.items():
            with self.subTest(layout):
                seen, _ = run_python(PROBE.format(module=module, smi=smi), slices, path=path)
                self.assertEqual(seen["handles"], [["mig", 0, 0], ["mig", 0, 2]])
                self.assertEqual((seen["count"], seen["names"], seen["totals"]), (2, ["NVIDIA GeForce RTX 3090"] * 2, [24 * GIB] * 2))
                self.assertEqual(seen["smi"]["count"], 2)
                self.assertEqual(seen["beyond"], "NVMLError_InvalidArgument")

    def test_without_a_target_every_layout_is_the_real_gpu(self):
        for layout, (module, smi, path) in LAYOUTS.items():
            with self.subTest(layout):
                seen, _ = run_python(PROBE.format(module=module, smi=smi), {"FAKE_NVML_DEVICES": "4"}, path=path)
                self.assertEqual((seen["count"], seen["names"][0], seen["ecc"], seen["mig"]), (4, "NVIDIA H100 80GB HBM3", [1, 1], [1, 1]))


if __name__ == "__main__":
    unittest.main()
